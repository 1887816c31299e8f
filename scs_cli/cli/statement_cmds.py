"""`scs statement`: the letters an office hands or posts to residents (HTML and PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scs_cli.cli.common import (
    AsOfOpt,
    KnownAtOpt,
    LedgerArg,
    emit,
    err,
    parse_date,
    parse_timestamp,
)

ResidentsArg = Annotated[list[str] | None, typer.Argument(
    help="Resident ids (pseudonymous), one letter each. Leave out with --changed-since.",
    show_default=False)]
OutputOpt = Annotated[Path, typer.Option(
    "--output", "-o", help="Directory to write the letters into (created if missing).",
    show_default=False)]
ChangedSinceOpt = Annotated[int | None, typer.Option(
    "--changed-since", help="A saved run's id: write a letter (with what changed and why) "
    "for every resident whose tier or rewards differ from that run.", show_default=False)]
PdfOpt = Annotated[bool, typer.Option(
    "--pdf/--no-pdf", help="Also print each letter to PDF with headless Chromium.")]
TemplatesOpt = Annotated[Path | None, typer.Option(
    "--templates", help="A folder of the office's own templates (statement.html, "
    "letterhead.html, statement.css…): each file found there replaces the bundled one.",
    show_default=False)]


def statement(ledger: LedgerArg, output: OutputOpt, residents: ResidentsArg = None,
              as_of: AsOfOpt = None, known_at: KnownAtOpt = None,
              changed_since: ChangedSinceOpt = None, pdf: PdfOpt = True,
              templates: TemplatesOpt = None) -> None:
    """Write each resident's statement: OUTPUT/<resident-id>.html (self-contained,
    printable on A4, readable on a phone) and the same page as OUTPUT/<resident-id>.pdf.

    A letter holds the score, tier and rewards; every record that counts or once counted,
    with its rule, legal basis, source, agency, points and when it stops counting; what is
    under objection; the four main reasons; the score on each date a record stops counting;
    and how to object. Prints the paths written on standard output. Without Chromium the
    HTML letters are written, a line on standard error says why there are no PDFs, and the
    exit status is 0.
    """
    from scs_cli.cli.common import progress_enabled
    from scs_cli.statement.batch import write_statements

    day = parse_date(as_of, "--as-of")
    ts = parse_timestamp(known_at, "--known-at")
    ids = residents or []
    if not ids and changed_since is None:
        raise typer.BadParameter("no resident given: name resident ids, or give "
                                 "--changed-since RUN")
    if ids and changed_since is not None:
        raise typer.BadParameter("give resident ids or --changed-since RUN, not both "
                                 "(--changed-since picks the residents itself)")
    if progress_enabled():
        from rich.progress import Progress

        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("statements", total=None)

            def show(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            result = write_statements(ledger, ids, day, output, changed_since=changed_since,
                                      known_at=ts, pdf=pdf, progress=show,
                                      templates=templates)
    else:
        result = write_statements(ledger, ids, day, output, changed_since=changed_since,
                                  known_at=ts, pdf=pdf, templates=templates)
    for path in result.files:
        emit(str(path), nl=True)
    for w in result.letters:
        if w.notice is not None:
            err.print(f"{w.resident_id}: {w.notice.summary()}", highlight=False, markup=False)
    for warning in result.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False)
    if result.pdf_skipped:
        err.print(f"warning: PDFs skipped, HTML letters written: {result.pdf_skipped}",
                  highlight=False, markup=False)
    if result.run_id is not None and not result.letters:
        err.print(f"No resident's tier or rewards changed since run {result.run_id}: "
                  "no letter written.", highlight=False, markup=False)
    elif result.letters:
        err.print(f"{len(result.letters)} statement{'s' * (len(result.letters) != 1)} as of "
                  f"{result.as_of} in {result.output}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("statement")(statement)
