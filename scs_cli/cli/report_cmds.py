"""`scs report`: the monthly batch report of one or more city ledgers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scs_cli.cli.common import AsOfOpt, KnownAtOpt, emit, err, parse_date, parse_timestamp

LedgersArg = Annotated[list[Path], typer.Argument(
    metavar="LEDGER...", help="One per city: its ledger file (SQLite) or its dataset folder "
    "(made by `scs ledger export LEDGER --format parquet --output DIR`).", show_default=False)]
OutputOpt = Annotated[Path, typer.Option(
    "--output", "-o", help="Directory to write into (created if missing).",
    show_default=False)]
TemplatesOpt = Annotated[Path | None, typer.Option(
    "--templates", help="A folder of the office's own templates (report.html, report.css…): "
    "each file found there replaces the bundled one.", show_default=False)]
PublicOpt = Annotated[bool, typer.Option(
    "--public", help="For publication: hide every count below 5 (and any count that would "
    "give one away); list no single objection.")]


def report(ledgers: LedgersArg, output: OutputOpt, as_of: AsOfOpt = None,
           known_at: KnownAtOpt = None, public: PublicOpt = False,
           templates: TemplatesOpt = None) -> None:
    """Write the batch report of each city ledger: HTML (self-contained, charts inline),
    Markdown and JSON in OUTPUT/<city-id>/, and OUTPUT/index.html comparing the cities.

    Prints the paths written, one per line, on standard output.
    """
    from scs_cli.cli.common import progress_enabled
    from scs_cli.report.batch import write_reports
    from scs_cli.scale.source import open_source

    day = parse_date(as_of, "--as-of")
    ts = parse_timestamp(known_at, "--known-at")
    if progress_enabled():
        from rich.progress import Progress

        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("report", total=None)

            def show(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            result = write_reports(ledgers, day, output, public=public, known_at=ts,
                                   progress=show, open_source=open_source, templates=templates)
    else:
        result = write_reports(ledgers, day, output, public=public, known_at=ts,
                               open_source=open_source, templates=templates)
    for path in result.files:
        emit(str(path), nl=True)
    cities = ", ".join(c.city_name for c in result.cities)
    err.print(f"Report as of {result.as_of} for {cities}"
              f"{' (public: counts below 5 hidden)' if result.public else ''}: "
              f"open {result.output / 'index.html'}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
