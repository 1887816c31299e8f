"""`scs impact`: what a reform would do to a city's residents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from scs_cli.cli.common import (
    AsOfOpt,
    KnownAtOpt,
    complete_catalogue,
    err,
    formats,
    out,
    parse_date,
    parse_timestamp,
    progress_enabled,
)
from scs_cli.core.output import Format

IMPACT_FORMATS = (Format.table, Format.json, Format.markdown, Format.html)


def impact(
    ledger: Annotated[Path, typer.Argument(help="The city's ledger file (SQLite).",
                                           show_default=False)],
    reform: Annotated[Path, typer.Option(
        "--reform", help="The reform: a catalogue of the same city (a file or a bundled "
        "name) that judges every event, as `scs score --catalogue` does.",
        autocompletion=complete_catalogue, show_default=False)],
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="Compare with this catalogue instead of the adopted versions.",
        autocompletion=complete_catalogue, show_default=False)] = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: Annotated[Format, formats(*IMPACT_FORMATS, help="table: for people at a terminal; "
                                   "json (SPEC keys, exact numbers), markdown, html (a "
                                   "self-contained page).")] = Format.table,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write impact.html, impact.md and impact.json into this "
        "directory (created if missing).", show_default=False)] = None,
    public: Annotated[bool, typer.Option(
        "--public", help="For publication: show every count from 1 to 4 as <5 (null in "
        "JSON).")] = False,
) -> None:
    """Score every resident under the baseline (the adopted rules, or --baseline) and
    under the reform, and say what changes: tier transitions, winners and losers by tier,
    the change in score, rewards and sanctions gained and lost (and what rewards with a
    value cost), and the indicators that drive it.
    """
    from scs_cli.impact.batch import impact_ledger, write_impact

    day = parse_date(as_of, "--as-of")
    stamp = parse_timestamp(known_at, "--known-at")
    if progress_enabled():
        with err.status("starting") as status:
            result = impact_ledger(ledger, reform, day, stamp, baseline=baseline,
                                   public=public, progress=lambda what: status.update(what))
    else:
        result = impact_ledger(ledger, reform, day, stamp, baseline=baseline, public=public)
    if output is not None:
        for path in write_impact(result, output):
            typer.echo(str(path))
        err.print(f"open {Path(output) / 'impact.html'}", highlight=False, markup=False)
        return
    _render(result.figures, fmt)


def _render(doc: dict[str, Any], fmt: Format) -> None:
    from scs_cli.impact import render

    if fmt is Format.json:
        typer.echo(render.impact_json(doc), nl=False)
    elif fmt is Format.markdown:
        typer.echo(render.impact_markdown(doc), nl=False)
    elif fmt is Format.html:
        typer.echo(render.impact_html(doc), nl=False)
    else:
        _table(doc)


def _table(doc: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from scs_cli.impact import render

    out.print(Text(render.summary_text(doc)))
    out.print(Text("; ".join(f"{k}: {v}" for k, v in render.headline(doc))))
    for t in render.tables(doc):
        if not t.rows:
            continue
        table = Table(title=t.title)
        for i, head in enumerate(t.header):
            table.add_column(Text(head), justify="right" if i in t.numeric else "left",
                             no_wrap=i != 1 or t.key not in ("rewards", "sanctions"),
                             overflow="fold")
        for row in t.rows:
            table.add_row(*(Text(c) for c in row))
        out.print(table)


def register(app: typer.Typer) -> None:
    app.command("impact")(impact)
