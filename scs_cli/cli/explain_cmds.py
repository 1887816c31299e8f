"""`scs explain LEDGER RESIDENT`: every point of one resident's score, with its rule and reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
    from collections.abc import Sequence

    from rich.table import Table

    from scs_cli.explain.explain import Explanation


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
    from scs_cli.core.output import to_json
    from scs_cli.explain.explain import explain_source
    from scs_cli.scale.source import open_source

    day = parse_date(as_of, "--as-of")
    ts = parse_timestamp(known_at, "--known-at")
    with open_source(ledger) as source:
        result = explain_source(source, resident, day, ts)
    if fmt is Format.json:
        emit(to_json(result.to_record()), nl=True)
        return
    _render(result)


EVENTS_TITLE = "Events (oldest first)"
# The events table's columns and how each is justified.
EVENT_COLUMNS = (("event", "right"), ("occurred", "left"), ("indicator", "left"),
                 ("nominal", "right"), ("points", "right"), ("status", "left"),
                 ("reason", "left"))


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_cmd)


def _render(x: Explanation) -> None:
    from rich.table import Table
    from rich.text import Text

    from scs_cli.core.text import num, signed

    def plain(text: str, style: str = "") -> None:
        out.print(Text(text, style=style), soft_wrap=False)  # wrap at the terminal's width

    plain(f"Resident {x.resident_id} — {x.city} catalogue {x.version}, as of {x.as_of}"
          + (f", as known at {x.known_at.isoformat()}" if x.known_at else ""), "bold")
    if x.scored:
        plain(f"Score {num(x.score)}, tier {x.tier}", "bold")
        why = Table.grid(padding=(0, 1))
        why.add_column(no_wrap=True)
        why.add_column(overflow="fold", ratio=1)
        why.add_row("  score:", x.score_reason)
        why.add_row("  tier:", x.tier_reason)
        if x.assumptions:
            why.add_row("  assumed:", "rests on catalogue values no source gives: "
                        + ", ".join(x.assumptions))
        out.print(why)
    else:
        plain(x.score_reason, "bold")

    if x.scored:
        out.print()
        if x.reasons:
            plain("Main reasons the score is not higher (largest cost first)", "bold")
            grid = Table.grid(padding=(0, 1))
            grid.add_column(justify="right", no_wrap=True)
            grid.add_column(justify="right", no_wrap=True)
            grid.add_column(overflow="fold", ratio=1)
            for i, f in enumerate(x.reasons, 1):
                grid.add_row(f"  {i}.", f"-{num(f.cost)}", f.text)
            out.print(grid)
        else:
            plain("Nothing takes points off this score.", "bold")

    def table(title: str) -> Table:
        out.print()
        return _titled(title)

    rows = [(str(e.event_id), e.occurred_on.isoformat(), e.indicator, signed(e.nominal_points),
             signed(e.points), e.status, e.reason) for e in x.events]
    piped = _piped_events(rows)
    if piped is not None:
        out.print()
        out.print(Text(piped), soft_wrap=True)
    else:
        out.print(_events_table(table(EVENTS_TITLE), rows))

    # Each rule once, with the version that judged its events: its legal basis and source.
    rules = table("Rules that judged these events")
    rules.add_column("indicator", no_wrap=True)
    rules.add_column("version", no_wrap=True)
    rules.add_column("basis", overflow="fold", ratio=1)
    rules.add_column("source", overflow="fold", ratio=1)
    seen = dict.fromkeys((e.indicator, e.version, e.basis, e.source) for e in x.events)
    for indicator, version, basis, source in seen:
        rules.add_row(indicator, version or "no rule in force",
                      basis or Text("none given", style="bold"), source or "—")
    out.print(rules)

    if x.adjustments:
        adj = table("Caps and adjustments")
        adj.add_column("scope", no_wrap=True)
        adj.add_column("key", no_wrap=True)
        adj.add_column("points", justify="right", no_wrap=True)
        adj.add_column("why", overflow="fold", ratio=1)
        for a in x.adjustments:
            adj.add_row(a.scope, a.key or "", signed(a.amount), a.reason)
        out.print(adj)

    if x.rewards or x.sanctions:
        sch = table("Rewards and sanctions")
        sch.add_column("kind", no_wrap=True)
        sch.add_column("id", no_wrap=True)
        sch.add_column("applies", no_wrap=True)
        sch.add_column("why", overflow="fold", ratio=1)
        for kind, items in (("reward", x.rewards), ("sanction", x.sanctions)):
            for r in items:
                sch.add_row(kind, r.id, "yes" if r.applies else "no", r.reason)
        out.print(sch)

    if x.lists:
        lst = table("Lists (beside the score: they change no point and no tier)")
        lst.add_column("list", no_wrap=True)
        lst.add_column("until", no_wrap=True)
        lst.add_column("measures in force", overflow="fold")
        lst.add_column("why", overflow="fold", ratio=1)
        for item in x.lists:
            measures = "; ".join(
                m.name + (f" ({m.agency})" if m.agency else "")
                + (f" until {m.until}" if m.until else "") for m in item.measures)
            lst.add_row(f"{item.list} ({item.kind})", str(item.until or "no end known"),
                        measures or "none", item.reason)
        out.print(lst)

    if x.projection:
        proj = table("If nothing else happens")
        proj.add_column("from", no_wrap=True)
        proj.add_column("score", justify="right", no_wrap=True)
        proj.add_column("tier", no_wrap=True)
        proj.add_column("because", overflow="fold", ratio=1)
        for p in x.projection:
            proj.add_row(p.date.isoformat(), num(p.score), p.tier or "—", p.reason)
        out.print(proj)
    elif x.scored:
        out.print()
        plain("If nothing else happens, the score stays as it is: no counting negative event "
              "is due to stop counting.")


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


def _piped_events(rows: Sequence[tuple[str, ...]]) -> str | None:
    """The events table as rich prints it into a file or pipe (no colour, every column as
    wide as its widest cell, one line a row), laid out here: rich takes about 0.6 ms a row
    to lay a table out (half a second for a resident with 833 events, measured). None on a
    terminal, with colour, or for a cell not all printable ASCII (whose width rich knows
    and this does not) or with spaces around it: rich lays those out."""
    if out.is_terminal or out.color_system is not None or out.width < PIPED_WIDTH:
        return None
    if not all(cell.isascii() and cell.isprintable() and cell.strip() == cell
               for row in rows for cell in row):  # rich trims a cell's outer spaces
        return None
    widths = [max([len(head)] + [len(row[i]) for row in rows])
              for i, (head, _) in enumerate(EVENT_COLUMNS)]

    def line(cells: tuple[str, ...]) -> str:
        # each cell padded to its column's width, one space after it and one between
        return "  ".join(cell.rjust(width) if justify == "right" else cell.ljust(width)
                         for cell, width, (_, justify) in zip(cells, widths, EVENT_COLUMNS,
                                                              strict=True)) + " "

    head = line(tuple(name for name, _ in EVENT_COLUMNS))
    return "\n".join([EVENTS_TITLE, head, "\u2500" * len(head), *map(line, rows)])
