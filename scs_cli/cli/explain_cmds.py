"""`scs explain LEDGER RESIDENT`: every point of one resident's score, with its rule and reason.

The table view is built once as blocks (lines, grids, titled tables) and laid out by rich,
or, into a file or pipe, by `_plain`: the bytes rich would print there, without loading
rich (rich took about 0.6 ms a table row and 30 ms to import, most of `explain`'s time after
its own work; measured, issue 23). Anything rich lays out otherwise (a terminal, colour,
text whose width or emoji rich knows and `_plain` does not) goes to rich.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from scs_cli.cli.common import (
    PIPED_WIDTH,
    AsOfOpt,
    KnownAtOpt,
    SourceArg,
    emit,
    formats,
    out,
    parse_date,
    parse_timestamp,
)
from scs_cli.core.output import Format

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from rich.table import Table

    from scs_cli.explain.explain import Explanation
    from scs_cli.ledger.source import Source


ResidentArg = Annotated[str, typer.Argument(help="The resident's pseudonymous id.",
                                            show_default=False)]
ExplainFormatOpt = Annotated[Format, formats(
    Format.table, Format.json, help="table (for people) or json (one object; its keys are "
    "listed in docs/explain.md, section JSON).")]


def explain_cmd(ledger: SourceArg, resident: ResidentArg, as_of: AsOfOpt = None,
                known_at: KnownAtOpt = None,
                fmt: ExplainFormatOpt = Format.table) -> None:
    """Explain one resident's score and tier: every event with its status, points, rule and
    reason; the caps; the main reasons the score is not higher; each reward and sanction;
    and what the score will be when each negative event stops counting."""
    from scs_cli.cli.start import loading
    from scs_cli.ledger.early import EarlyRead  # no Polars: it starts before it loads

    day = parse_date(as_of, "--as-of")
    ts = parse_timestamp(known_at, "--known-at")
    # The resident's batches are read, checked and their rows found on a thread while
    # Polars loads (measured, issue 23). A dataset folder is read as ever, and anything but
    # a regular file (a pipe would hold the thread) is left to the usual read to refuse.
    early = EarlyRead(ledger, resident, ts) if ledger.is_file() else None
    if early is not None and "polars" not in sys.modules:
        # Polars then works on one resident's rows, a few hundred at most: its second
        # worker, idle and waiting for work, only took the second core from the read
        # (measured, issue 23). A dataset folder's Parquet files keep both.
        os.environ.setdefault("POLARS_MAX_THREADS", "1")
    try:
        with loading():
            if early is not None:  # loads Polars; the thread then makes the rows a frame
                early.decode()
            from scs_cli.core.output import to_json
            from scs_cli.explain.explain import explain_source
            if early is not None:  # a file: the dataset reader (scale) need not load
                from scs_cli.ledger.source import LedgerFile

                opened: Callable[[Path], Source] = LedgerFile.open
            else:
                from scs_cli.scale.source import open_source as opened

        with opened(ledger) as source:
            result = explain_source(source, resident, day, ts, early=early)
    finally:
        if early is not None:
            early.result()  # its thread ends first: a quick exit waits for no thread
    if fmt is Format.json:
        emit(to_json(result.to_record()), nl=True)
        return
    _print(result)


EVENTS_TITLE = "Events (oldest first)"


@dataclass(frozen=True)
class Column:
    """A column of a grid or table: its header, justification and how its cells wrap on a
    terminal ("fold": break anywhere; "ratio": fold, and take the spare width)."""

    header: str = ""
    justify: Literal["left", "right"] = "left"
    wrap: Literal["no_wrap", "fold", "ratio"] = "no_wrap"


Cell = str | tuple[str, str]  # text, or (text, style)
Block = (tuple[Literal["line"], str, str] | tuple[Literal["blank"]]
         | tuple[Literal["grid"], tuple[Column, ...], list[tuple[Cell, ...]]]
         | tuple[Literal["table"], str, tuple[Column, ...], list[tuple[Cell, ...]]])

EVENT_COLUMNS = (Column("event", "right"), Column("occurred"), Column("indicator"),
                 Column("nominal", "right"), Column("points", "right"), Column("status"),
                 Column("reason", wrap="ratio"))


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_cmd)


def _blocks(x: Explanation) -> list[Block]:
    """What the table view shows, in order."""
    from scs_cli.core.text import num, signed

    blocks: list[Block] = [(
        "line", f"Resident {x.resident_id} — {x.city} catalogue {x.version}, as of {x.as_of}"
        + (f", as known at {x.known_at.isoformat()}" if x.known_at else ""), "bold")]
    if x.scored:
        blocks.append(("line", f"Score {num(x.score)}, tier {x.tier}", "bold"))
        why: list[tuple[Cell, ...]] = [("  score:", x.score_reason), ("  tier:", x.tier_reason)]
        if x.assumptions:
            why.append(("  assumed:", "rests on catalogue values no source gives: "
                        + ", ".join(x.assumptions)))
        blocks.append(("grid", (Column(), Column(wrap="ratio")), why))
    else:
        blocks.append(("line", x.score_reason, "bold"))

    if x.scored:
        blocks.append(("blank",))
        if x.reasons:
            blocks.append(("line", "Main reasons the score is not higher (largest cost first)",
                           "bold"))
            ranked: list[tuple[Cell, ...]] = [(f"  {i}.", f"-{num(f.cost)}", f.text)
                                              for i, f in enumerate(x.reasons, 1)]
            blocks.append(("grid", (Column(justify="right"), Column(justify="right"),
                                    Column(wrap="ratio")), ranked))
        else:
            blocks.append(("line", "Nothing takes points off this score.", "bold"))

    blocks.append(("table", EVENTS_TITLE, EVENT_COLUMNS, [
        (str(e.event_id), e.occurred_on.isoformat(), e.indicator, signed(e.nominal_points),
         signed(e.points), e.status, e.reason) for e in x.events]))

    # Each rule once, with the version that judged its events: its legal basis and source.
    seen = dict.fromkeys((e.indicator, e.version, e.basis, e.source) for e in x.events)
    blocks.append(("table", "Rules that judged these events", (
        Column("indicator"), Column("version"), Column("basis", wrap="ratio"),
        Column("source", wrap="ratio")), [
        (indicator, version or "no rule in force", basis or ("none given", "bold"),
         source or "—") for indicator, version, basis, source in seen]))

    if x.adjustments:
        blocks.append(("table", "Caps and adjustments", (
            Column("scope"), Column("key"), Column("points", "right"),
            Column("why", wrap="ratio")), [
            (a.scope, a.key or "", signed(a.amount), a.reason) for a in x.adjustments]))

    if x.rewards or x.sanctions:
        blocks.append(("table", "Rewards and sanctions", (
            Column("kind"), Column("id"), Column("applies"), Column("why", wrap="ratio")), [
            (kind, r.id, "yes" if r.applies else "no", r.reason)
            for kind, items in (("reward", x.rewards), ("sanction", x.sanctions))
            for r in items]))

    if x.lists:
        blocks.append(("table", "Lists (beside the score: they change no point and no tier)", (
            Column("list"), Column("until"), Column("measures in force", wrap="fold"),
            Column("why", wrap="ratio")), [
            (f"{item.list} ({item.kind})", str(item.until or "no end known"), "; ".join(
                m.name + (f" ({m.agency})" if m.agency else "")
                + (f" until {m.until}" if m.until else "") for m in item.measures) or "none",
             item.reason) for item in x.lists]))

    if x.projection:
        blocks.append(("table", "If nothing else happens", (
            Column("from"), Column("score", "right"), Column("tier"),
            Column("because", wrap="ratio")), [
            (p.date.isoformat(), num(p.score), p.tier or "—", p.reason)
            for p in x.projection]))
    elif x.scored:
        blocks.append(("blank",))
        blocks.append(("line", "If nothing else happens, the score stays as it is: no counting "
                       "event that lowers or caps it is due to stop counting.", ""))
    return blocks


def _print(x: Explanation) -> None:
    blocks = _blocks(x)
    text = _plain(blocks) if _piped() else None
    if text is not None:
        emit(text, nl=True)
    else:
        _rich(blocks)


def _rich(blocks: Sequence[Block]) -> None:
    """The blocks laid out by rich (on a terminal they fit its width)."""
    from rich.table import Table
    from rich.text import Text

    def cell(value: Cell) -> str | Text:
        return value if isinstance(value, str) else Text(value[0], style=value[1])

    for block in blocks:
        if block[0] == "line":  # wrapped at the terminal's width
            out.print(Text(block[1], style=block[2]), soft_wrap=False)
        elif block[0] == "blank":
            out.print()
        elif block[0] == "grid":
            grid = Table.grid(padding=(0, 1))
            for column in block[1]:
                grid.add_column(**_options(column))
            for row in block[2]:
                grid.add_row(*map(cell, row))
            out.print(grid)
        else:
            out.print()
            title, columns, rows = block[1:]
            if title == EVENTS_TITLE:
                out.print(_events_table(_titled(title), [
                    tuple(c if isinstance(c, str) else c[0] for c in row) for row in rows]))
                continue
            table = _titled(title)
            for column in columns:
                table.add_column(column.header, **_options(column))
            for row in rows:
                table.add_row(*map(cell, row))
            out.print(table)


def _options(column: Column) -> dict[str, Any]:
    return {"justify": column.justify, **(
        {"no_wrap": True} if column.wrap == "no_wrap" else
        {"overflow": "fold"} if column.wrap == "fold" else {"overflow": "fold", "ratio": 1})}


def _titled(title: str) -> Table:
    """An empty table of the explanation's kind, titled."""
    from rich import box
    from rich.table import Table

    # Full width on a terminal; in a file or pipe the console has no width to fill.
    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left",
                 expand=out.width < PIPED_WIDTH,
                 show_edge=False, padding=(0, 1, 0, 0), title_style="bold")


def _events_table(events: Table, rows: Sequence[tuple[str, ...]]) -> Table:
    """The events table, laid out by rich (on a terminal it fits the width)."""
    from rich.cells import cell_len
    from rich.text import Text

    # A resident may have hundreds of events: the no-wrap columns get their width up front
    # (the widest cell, as rich would measure it) so rich does not measure every cell, and
    # cells are Text, not markup to parse (a reason may hold brackets).
    # Ids, dates and numbers never wrap; only the reason folds.
    fixed = [max([cell_len(head)] + [cell_len(r[i]) for r in rows])
             for i, head in ((0, "event"), (1, "occurred"), (2, "indicator"), (3, "nominal"),
                             (4, "points"), (5, "status"))]
    # On a narrow terminal (80 columns and long indicator ids) a reason column would be a
    # few letters wide: the reason goes under the indicator instead, folding in its width.
    narrow = sum(fixed) + len(fixed) + 24 > out.width
    events.add_column("event", justify="right", no_wrap=True, width=fixed[0])
    events.add_column("occurred", no_wrap=True, width=fixed[1])
    if narrow:
        events.add_column("indicator: reason", overflow="fold", ratio=1, min_width=fixed[2])
    else:
        events.add_column("indicator", no_wrap=True, width=fixed[2])
    events.add_column("nominal", justify="right", no_wrap=True, width=fixed[3])
    events.add_column("points", justify="right", no_wrap=True, width=fixed[4])
    events.add_column("status", no_wrap=True, width=fixed[5])
    if not narrow:
        events.add_column("reason", overflow="fold", ratio=1)
    for row in rows:
        if narrow:
            what = Text(row[2] + "\n")
            what.append(row[6], style="dim")
            events.add_row(Text(row[0]), Text(row[1]), what, *(Text(c) for c in row[3:6]))
        else:
            events.add_row(*(Text(cell) for cell in row))
    return events


def _piped() -> bool:
    """Whether rich would print to stdout without colour at `PIPED_WIDTH` (a file or pipe),
    told without loading rich while `out` is not yet made (rich's own test: no terminal
    forced by FORCE_COLOR or TTY_COMPATIBLE, and stdout is no terminal)."""
    made = getattr(out, "_console", None)
    if made is not None:
        return bool(not made.is_terminal and made.color_system is None
                    and made.width >= PIPED_WIDTH)
    return not ("FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ
                or sys.stdout.isatty())


# A `:name:` rich might turn into an emoji in a text cell (Text cells are left alone).
EMOJI = re.compile(r":\S*?:")


def _plain(blocks: Sequence[Block]) -> str | None:
    """The blocks as rich prints them into a file or pipe, or None where rich must lay them
    out: a cell with a character other than printable ASCII and a few one-column marks,
    spaces after it (rich trims them), or a `:name:`; a title wider than its table."""
    lines: list[str] = []
    for block in blocks:
        if block[0] == "line":
            if not _simple(block[1]):
                return None
            lines.append(block[1])
        elif block[0] == "blank":
            lines.append("")
        else:
            title = block[1] if block[0] == "table" else None
            columns, rows = (block[2], block[3]) if block[0] == "table" else (block[1], block[2])
            texts = [tuple(c if isinstance(c, str) else c[0] for c in row) for row in rows]
            if not all(_simple(text) and text.rstrip() == text
                       and (title == EVENTS_TITLE or not EMOJI.search(text))
                       for row in texts for text in row):
                return None
            widths = [max([len(c.header) if title else 0] + [len(row[i]) for row in texts])
                      for i, c in enumerate(columns)]
            if not texts and not title or 0 in widths:  # rich's own sizes for empty ones
                return None
            if title is None:
                lines += _grid_lines(columns, widths, texts)
                continue
            table = _table_lines(columns, widths, texts)
            if len(title) > len(table[0]) or not _simple(title):
                return None
            lines += ["", title, *table]
    return "\n".join(lines)


# Beyond ASCII, only marks the explanation uses that are one column wide everywhere.
ONE_COLUMN = frozenset("—–≤≥<→…·“”‘’")


def _simple(text: str) -> bool:
    return len(text) < PIPED_WIDTH and all(
        " " <= c <= "~" or c in ONE_COLUMN for c in text)


def _table_lines(columns: Sequence[Column], widths: Sequence[int],
                 rows: Sequence[tuple[str, ...]]) -> list[str]:
    """A SIMPLE_HEAD table without edges: each cell padded to its column's width with one
    space after it and one between columns; a rule under the header."""

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) if c.justify == "right" else cell.ljust(width)
                         for cell, width, c in zip(cells, widths, columns, strict=True)) + " "

    head = line([c.header for c in columns])
    return [head, "\u2500" * len(head), *map(line, rows)]


def _grid_lines(columns: Sequence[Column], widths: Sequence[int],
                rows: Sequence[tuple[str, ...]]) -> list[str]:
    """A grid: cells padded to their column's width, one space between columns."""
    return [" ".join(cell.rjust(width) if c.justify == "right" else cell.ljust(width)
                     for cell, width, c in zip(row, widths, columns, strict=True))
            for row in rows]
