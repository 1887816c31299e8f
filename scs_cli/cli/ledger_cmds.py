"""`scs ledger …`: create a city's ledger, record what happened, and read it back."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from scs_cli.cli.common import (
    AsOfOpt,
    FormatOpt,
    LedgerArg,
    ScsGroup,
    check_id,
    emit,
    err,
    fits,
    formats,
    out,
    parse_date,
    progress_enabled,
)
from scs_cli.core.errors import ScsError
from scs_cli.core.output import Format

ledger_app = typer.Typer(cls=ScsGroup, no_args_is_help=True, rich_markup_mode=None,
                         help="Create a city's ledger; import events; record consents, "
                         "voids and lifts; read back what happened and when.")

ResidentArg = Annotated[str, typer.Argument(help="The resident's pseudonymous id.",
                                            show_default=False)]
EventArg = Annotated[int, typer.Argument(help="The event id.", show_default=False,
                                         callback=check_id)]
OnOpt = Annotated[str, typer.Option("--on", metavar="YYYY-MM-DD",
                                    help="The date, not in the future.",
                                    show_default=False)]


@contextlib.contextmanager
def progress_callback() -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal, else no callback at all."""
    if not progress_enabled():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@ledger_app.command("init")
def init(
    ledger: LedgerArg,
    catalogue: Annotated[Path, typer.Option("--catalogue", help="The city's catalogue "
                                            "(a TOML file or a bundled name such as "
                                            "rongcheng-2016).", show_default=False)],
) -> None:
    """Create a ledger bound to the catalogue's city, with that catalogue adopted."""
    from scs_cli.ledger.store import Ledger

    with Ledger.create(ledger, catalogue) as opened:
        adopted = opened.adopted()[0]
        cat = adopted.catalogue
        err.print(f"created {ledger} for {opened.city_name} ({opened.city_id}); adopted "
                  f"catalogue version {cat.version} in force from {cat.effective_from} "
                  f"(sha256 {adopted.sha256[:12]}…)", highlight=False, markup=False)


@ledger_app.command("adopt")
def adopt(
    ledger: LedgerArg,
    catalogue: Annotated[Path, typer.Argument(help="Another version of the same city's "
                                              "catalogue.", show_default=False)],
) -> None:
    """Adopt another version of the ledger's city catalogue (another city is refused)."""
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as opened:
        adopted = opened.adopt(catalogue)
    cat = adopted.catalogue
    err.print(f"{ledger}: adopted {cat.city.id} catalogue version {cat.version}, in force "
              f"from {cat.effective_from} (sha256 {adopted.sha256[:12]}…)",
              highlight=False, markup=False)


@ledger_app.command("import")
def import_events(
    ledger: LedgerArg,
    file: Annotated[Path, typer.Argument(help="Events as CSV (with a header row) or JSON "
                                         "Lines (.jsonl, .json-lines, .ndjson).",
                                         show_default=False)],
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the good rows and write the bad ones to the rejects "
        "file, instead of importing nothing.")] = False,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="Where --skip-invalid writes the bad rows, with an error column "
        "(default: <FILE>.rejects.csv beside the input).", show_default=False)] = None,
    again: Annotated[bool, typer.Option(
        "--again", help="Import a file whose exact bytes were imported before (refused "
        "otherwise, naming the earlier import).")] = False,
    allow_repeats: Annotated[bool, typer.Option(
        "--allow-repeats", help="Import rows without a reference that are identical to "
        "another row or a recorded event (refused otherwise as possible repeats): they are "
        "separate occurrences.")] = False,
) -> None:
    """Validate an event file against the catalogue in force on each event's date and
    record it in one transaction.

    Columns: resident_id, indicator and occurred_on (YYYY-MM-DD) are required; agency,
    reference, note, city and points are optional (points: a value within an indicator's
    range, for indicators scored by a range). CSV has a header row naming its columns, in
    any order; JSON Lines has one object per line (.jsonl, .json-lines, .ndjson). Empty
    cells and null are missing values. docs/ledger.md says what is checked.

    Any bad row: nothing is imported, every problem is listed as FILE:LINE: COLUMN: reason,
    exit status 1. Rows whose (agency, reference) is already recorded are skipped as
    duplicates, each listed with the event it duplicates. The same file twice is refused
    (--again), and so are rows without a reference identical (resident, indicator, date,
    agency, points) to another (--allow-repeats).
    """
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as opened, progress_callback() as callback:
        result = opened.import_file(file, skip_invalid=skip_invalid, rejects=rejects,
                                    progress=callback, again=again,
                                    allow_repeats=allow_repeats)
        history = opened.history()
    ids = (f" (event ids {result.first_event_id}–{result.last_event_id})"
           if result.imported else "")
    line = (f"{file}: imported {_n(result.imported, 'event')}{ids} as import "
            f"{result.import_id}; {_n(result.duplicates, 'duplicate')} skipped; "
            f"{_n(result.rejected, 'row')} rejected")
    if result.rejects_file:
        line += f", written with their errors to {result.rejects_file}"
    if result.skipped.height:  # maybe millions of lines: formatted at once, written plainly
        import polars as pl

        lines = result.skipped.select(pl.concat_str(
            pl.lit(f"{file}:"), pl.col("line").cast(pl.String),
            pl.lit(": skipped: duplicates event "), pl.col("event_id").cast(pl.String),
            pl.lit(" (same agency and reference)\n"))).to_series()
        sys.stderr.write("".join(lines.to_list()))
        sys.stderr.flush()
    err.print(line, highlight=False, markup=False)
    for notice in result.notices:
        err.print(f"warning: {file}: {notice}", highlight=False, markup=False)
    _warn_forbidden(history, result.indicators)
    if result.imported:
        _keep_prepared(ledger)


def _keep_prepared(ledger: Path) -> None:
    """Prepare the engine's frame of the grown ledger now, so that the next `scs score`
    finds it kept (docs/ledger.md, "The prepared-frame cache"). The import is recorded
    whatever happens here: a failure is a warning, and the next score prepares."""
    import polars as pl

    from scs_cli.scoring.prepared import keep_prepared

    status = (err.status("preparing the engine's frame for the next score")
              if progress_enabled() else contextlib.nullcontext())
    with status:
        try:
            keep_prepared(ledger)
        except (ScsError, OSError, pl.exceptions.PolarsError) as exc:
            err.print(f"warning: {ledger}: the events are imported, but their frame was not "
                      f"prepared for the next score ({exc}); it will be then",
                      highlight=False, markup=False)


def _warn_forbidden(history: Any, indicators: tuple[str, ...]) -> None:
    """A warning for each imported indicator that lint finds an error in (such as SCS101,
    data that must not be collected): the import stands, the office should know."""
    if not indicators:
        return
    from scs_cli.audit.lint import lint

    wanted = set(indicators)
    seen: set[tuple[str, str]] = set()
    for version in history:
        for finding in lint(version):
            if (finding.severity == "error" and finding.indicator in wanted
                    and (finding.code, finding.indicator) not in seen):
                seen.add((finding.code, finding.indicator))
                err.print(f"warning: events of indicator '{finding.indicator}' were imported, "
                          f"but lint finds {finding.code} in catalogue version "
                          f"{version.version}: {finding.message}", highlight=False,
                          markup=False)


@ledger_app.command("consent")
def consent(
    ledger: LedgerArg,
    resident: ResidentArg,
    on: OnOpt,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Record the withdrawal of "
                                           "consent from that date instead.")] = False,
) -> None:
    """Record a resident's consent to be scored from a date (or, with --withdraw, its
    withdrawal), for catalogues with participation = "consent"."""
    from scs_cli.ledger.store import Ledger

    day = parse_date(on, "--on")
    with Ledger.open(ledger) as opened:
        number = opened.consent(resident, day, withdraw=withdraw)
    what = "withdrawal of consent" if withdraw else "consent"
    err.print(f"{ledger}: recorded {what} of {resident} from {day} (consent row {number})",
              highlight=False, markup=False)


@ledger_app.command("void")
def void(
    ledger: LedgerArg,
    event: EventArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the event was recorded in "
                                        "error.", show_default=False)],
) -> None:
    """Void an event recorded in error: it never counts. Voiding twice is refused."""
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as opened:
        number = opened.void(event, reason)
    err.print(f"{ledger}: voided event {event} (void {number})", highlight=False,
              markup=False)


@ledger_app.command("lift")
def lift(ledger: LedgerArg, event: EventArg, on: OnOpt) -> None:
    """Lift an event: it stops counting from a date (a debt paid, credit repaired)."""
    from scs_cli.ledger.store import Ledger

    day = parse_date(on, "--on")
    with Ledger.open(ledger) as opened:
        number = opened.lift(event, day)
    err.print(f"{ledger}: lifted event {event} from {day} (lift {number})", highlight=False,
              markup=False)


@ledger_app.command("stats")
def stats(ledger: LedgerArg, as_of: AsOfOpt = None,
          fmt: Annotated[Format, formats(Format.table, Format.json, Format.jsonl)
                         ] = Format.table) -> None:
    """Residents, events by indicator and year, date range, imports, voids, lifts,
    consents, objections pending and overdue (as of --as-of, default today)."""
    from scs_cli.core.output import to_json
    from scs_cli.ledger.store import Ledger, utc_today

    day = parse_date(as_of, "--as-of", utc_today())
    with Ledger.open(ledger) as opened:
        result = opened.stats(day)
    if fmt is not Format.table:
        emit(to_json(result, indent=2 if fmt is Format.json else None))
        return
    from rich.table import Table

    first = result.first_occurred_on or "—"
    last = result.last_occurred_on or "—"
    summary = Table(title=f"{result.city_name} ({result.city_id}) ledger {ledger}",
                    show_header=False)
    summary.add_column("what", no_wrap=True)
    summary.add_column("value", justify="right", overflow="fold")
    for label, value in (
        ("created", result.created),
        ("catalogue versions", ", ".join(f"{c['version']} (from {c['effective_from']})"
                                         for c in result.catalogues)),
        ("residents", f"{result.residents:,}"),
        ("events", f"{result.events:,}"),
        ("events occurred", f"{first} to {last}"),
        ("imports", f"{result.imports:,} ({result.duplicates_skipped:,} duplicates skipped, "
                    f"{result.rows_rejected:,} rows rejected)"),
        ("voids", f"{result.voids:,}"),
        ("lifts", f"{result.lifts:,}"),
        ("consents / withdrawals", f"{result.consents:,} / {result.withdrawals:,}"),
        ("objections filed", f"{result.objections:,}"),
        (f"pending on {result.as_of}", f"{result.objections_pending:,}"),
        ("overdue", f"{result.objections_overdue:,}"),
        ("saved runs", f"{result.runs:,}"),
        ("last row recorded", result.last_recorded_at or "—"),
    ):
        summary.add_row(label, str(value))
    out.print(summary)
    years = sorted({r["year"] for r in result.events_by_indicator_year})
    if years:
        grid = Table(title="Events by indicator and year (of occurrence)")
        grid.add_column("indicator", no_wrap=True)
        for year in years:
            grid.add_column(str(year), justify="right", no_wrap=True)
        grid.add_column("total", justify="right", no_wrap=True)
        counts: dict[str, dict[int, int]] = {}
        for r in result.events_by_indicator_year:
            counts.setdefault(r["indicator"], {})[r["year"]] = r["events"]
        for indicator, by_year in counts.items():
            grid.add_row(indicator, *(f"{by_year.get(y, 0):,}" for y in years),
                         f"{sum(by_year.values()):,}")
        if not fits(grid):
            # Too many years for the terminal: each indicator's counts as one folding line
            # of numbers (each whole), rather than one record per indicator.
            grid = Table(title="Events by indicator and year (of occurrence)")
            grid.add_column("indicator", no_wrap=True)
            grid.add_column("total", justify="right", no_wrap=True)
            grid.add_column(f"by year, {years[0]} to {years[-1]}", overflow="fold")
            for indicator, by_year in counts.items():
                grid.add_row(indicator, f"{sum(by_year.values()):,}",
                             "  ".join(f"{by_year.get(y, 0):,}" for y in years))
        out.print(grid)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    parquet = "parquet"


@ledger_app.command("export")
def export(
    ledger: LedgerArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (.csv, "
                                         ".parquet, .jsonl or .json); with --format "
                                         "parquet, the dataset's folder.",
                                         show_default=False)],
    fmt: Annotated[ExportFormat | None, typer.Option(
        "--format", "-f", metavar="[csv|json|jsonl|parquet]",
        help="parquet: the city's self-describing dataset (a folder: "
        "events partitioned by resident hash, voids, lifts, objections, decisions, "
        "consents, catalogues; docs/scale.md), which `scs score DIR` scores. Others: one "
        "events file (default: the format of the --output suffix).",
        show_default=False)] = None,
    buckets: Annotated[int, typer.Option(
        "--buckets", help="With --format parquet: how many resident-hash buckets the "
        "events are partitioned into.")] = 32,
) -> None:
    """Export every event with its status columns (voided, lifted_on, objections and the rest), or
    with --format parquet the whole ledger as a dataset for `scs score DIR`."""
    from scs_cli.core.output import check_output_path, format_for_path
    from scs_cli.ledger.store import Ledger

    if fmt is ExportFormat.parquet:
        from scs_cli.ledger.dataset import export_dataset

        with Ledger.open(ledger) as opened, progress_callback() as callback:
            done = export_dataset(opened, output, buckets, callback)
        err.print(f"{ledger}: exported {_n(done.rows['events'], 'event')} of "
                  f"{done.city_id} in {_n(done.buckets, 'bucket')} to {output} "
                  f"({_n(done.files, 'file')})", highlight=False, markup=False)
        return
    suffix = format_for_path(output)  # refuse an unknown suffix or a precious target
    if fmt is not None and fmt.value != suffix:  # before reading anything
        from scs_cli.core.errors import UsageError

        raise UsageError(f"--format {fmt.value} but --output {output} names a {suffix} file",
                         "make them agree, or give --format parquet and a folder for the "
                         "dataset")
    check_output_path(output, {"the ledger": ledger})
    with Ledger.open(ledger) as opened, progress_callback() as callback:
        result = opened.export(output, callback)
    err.print(f"{ledger}: exported {_n(result.events, 'event')} to {output}",
              highlight=False, markup=False)


@ledger_app.command("history")
def history(ledger: LedgerArg, resident: ResidentArg, fmt: FormatOpt = Format.table) -> None:
    """Every row about one resident (events, voids, lifts, objections, decisions,
    consents) in the order recorded, with recorded_at."""
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as opened:
        entries = opened.resident_history(resident)
    records = [{"recorded_at": e.recorded_at, "kind": e.kind, "event_id": e.event_id,
                "objection_id": e.objection_id, "on": e.on, "details": e.details}
               for e in entries]
    if fmt in (Format.json, Format.jsonl):
        from scs_cli.core.output import render

        full = [{**r, "fields": e.fields} for r, e in zip(records, entries, strict=True)]
        emit(render(full, list(full[0]), fmt.value))
        return
    if fmt in (Format.csv, Format.markdown):
        from scs_cli.core.output import render

        emit(render(records, list(records[0]), fmt.value))
        return
    from rich.table import Table

    table = Table(title=f"Resident {resident} in {ledger}")
    # Ids, dates and times never wrap; only the details fold. The time is shown to the
    # second here (CSV and JSON keep every digit).
    for column in ("recorded at (UTC)", "what", "event", "objection", "on"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", overflow="fold")
    for r in records:
        table.add_row(str(r["recorded_at"])[:19].replace("T", " "), r["kind"],
                      str(r["event_id"] or ""),
                      str(r["objection_id"] or ""), str(r["on"] or ""), r["details"])
    out.print(table)


@ledger_app.command("verify")
def verify(
    ledger: LedgerArg,
    head: Annotated[str | None, typer.Option(
        "--head", help="A head published earlier (ROWS:HASH or HASH, as `scs ledger head` "
        "printed it): prove the ledger still extends it.", show_default=False)] = None,
) -> None:
    """Check the ledger: recompute its hash chain and name the first row that breaks;
    check each batch's checksums, that the events table and the batches hold the same
    events, that no row is recorded in the future, SQLite integrity and the append-only
    triggers. With --head, prove the ledger extends that published head. A dataset folder
    (`scs ledger export --format parquet`) is proven from its files the same way.
    """
    from scs_cli.ledger.stats import VerifyError
    from scs_cli.ledger.store import Ledger

    if ledger.is_dir():  # an exported dataset: its chain and rows recomputed from the files
        from scs_cli.scale.proof import prove

        proven = prove(ledger, head)
        extends = f"; holds the published head {proven.published[:12]}…" \
            if proven.published else ""
        err.print(f"{ledger}: ok (dataset: exactly the files its manifest lists; chain of "
                  f"{_n(proven.head.rows, 'row')} recomputed from its files, head "
                  f"{proven.head.hash[:12]}…{extends}; {_n(proven.events, 'event')} and "
                  "every other row are what the chain holds)", highlight=False, markup=False)
        return
    with Ledger.open(ledger) as opened:
        result = opened.verify(head)
    if not result.ok:
        raise VerifyError(result)
    extends = (f"; extends the published head {result.published[:12]}…"
               if result.published else "")
    err.print(f"{ledger}: ok (chain of {_n(result.head.rows, 'row')} intact, head "
              f"{result.head.hash[:12]}…{extends}; {_n(result.events, 'event')} in "
              f"{_n(result.batches, 'batch')} agree with their checksums and the events "
              "table; every table append-only; recorded_at never goes back or into the "
              "future)", highlight=False, markup=False)


@ledger_app.command("head")
def head(ledger: LedgerArg,
         fmt: Annotated[Format, formats(Format.table, Format.json, Format.jsonl)
                        ] = Format.table) -> None:
    """Print the ledger's head, ROWS:HASH, for the office to publish: the number of rows
    appended and the hash that chains them all. Anyone holding it can later check the
    ledger with `scs ledger verify LEDGER --head ROWS:HASH`.
    """
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as opened:
        result = opened.head()
    if fmt in (Format.json, Format.jsonl):
        from scs_cli.core.output import to_json

        emit(to_json({"rows": result.rows, "hash": result.hash},
                     indent=2 if fmt is Format.json else None))
        return
    out.print(f"{result.rows}:{result.hash}", highlight=False, markup=False, soft_wrap=True)
    # `head` appends nothing: it says how many rows the ledger holds, so far
    err.print(f"{ledger}: {_n(result.rows, 'row')} in the ledger so far; publish this head, "
              "and check the ledger against it with `scs ledger verify LEDGER --head "
              "ROWS:HASH`",
              highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
