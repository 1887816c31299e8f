"""`scs lists` (who is on which list, SPEC §4a) and `scs repair file|decide|list` (§3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from scs_cli.cli.common import (
    AsOfOpt,
    FormatOpt,
    KnownAtOpt,
    LedgerArg,
    MasterOpt,
    ScsGroup,
    check_id,
    emit,
    err,
    formats,
    out,
    parse_date,
    parse_timestamp,
)
from scs_cli.cli.score_cmds import Engine
from scs_cli.core.errors import UsageError
from scs_cli.core.output import MACHINE_FORMATS, Format

repair_app = typer.Typer(cls=ScsGroup, no_args_is_help=True, rich_markup_mode=None,
                         help="File, decide and list residents' applications for credit "
                         "repair (off a black list).")

OnOpt = Annotated[str, typer.Option("--on", metavar="YYYY-MM-DD",
                                    help="The date, not in the future.", show_default=False)]


def lists(
    source: Annotated[Path, typer.Argument(
        help="The city's ledger file (SQLite), or a dataset folder made by `scs ledger "
        "export LEDGER --format parquet --output DIR`.", show_default=False)],
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    only: Annotated[str | None, typer.Option("--list", help="Only this list.",
                                             show_default=False)] = None,
    public: Annotated[bool, typer.Option(
        "--public", help="For publication: only lists marked published, and never one of "
        "minor severity.")] = False,
    fmt: Annotated[Format, formats(Format.table, *MACHINE_FORMATS)] = Format.table,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the rows to this file; the format follows the suffix "
        "(.csv, .json, .jsonl, .parquet).", show_default=False)] = None,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="Where a dataset's listings are computed: local (this machine) or "
        "spark (Apache Spark, with the same engine; needs the scs[spark] extra and Java 17; "
        "docs/scale.md).")] = Engine.local,
    master: MasterOpt = None,
) -> None:
    """Who is on which list on --as-of (docs/lists.md): since when, until when (empty
    while no end is known), the entering events and the repair that ended a listing.

    csv columns: list,resident_id,since,until,entered_by,repair (sorted by list, then
    resident id; entered_by ';'-separated event ids).
    """
    from scs_cli.core.output import check_output_path, render_frame, write_frame

    day = parse_date(as_of, "--as-of")
    stamp = parse_timestamp(known_at, "--known-at")
    if master is not None and engine is not Engine.spark:
        raise UsageError("--master goes with --engine spark", "add --engine spark")
    if engine is Engine.spark and not source.is_dir():
        what = "a ledger file" if source.exists() else "not there"
        raise UsageError(f"--engine spark lists exported datasets, and {source} is {what}",
                         "export it first with `scs ledger export LEDGER --format parquet "
                         "--output DIR`, then list DIR")
    if output is not None:
        check_output_path(output, {"the ledger": source})
    if engine is Engine.spark:
        from scs_cli.scale.spark import listings_on_spark

        run = listings_on_spark(source, day, stamp, only=only, public=public, master=master)
    elif source.is_dir():
        from scs_cli.scale.batch import dataset_listings

        run = dataset_listings(source, day, stamp, only=only, public=public)
    else:
        from scs_cli.scoring.lists import ledger_listings

        run = ledger_listings(source, day, stamp, only=only, public=public)
    frame = run.listings.select("list", "resident_id", "since", "until", "entered_by", "repair")
    if output is not None:
        kind = write_frame(frame, output)
        err.print(f"wrote {frame.height:,} rows to {output} ({kind})", highlight=False)
    if fmt is not Format.table:
        if output is None:
            typer.echo(render_frame(frame, fmt.value), nl=False)  # jsonl of no rows: nothing
        return
    _table(run)


def _table(run: object) -> None:
    from rich.table import Table

    from scs_cli.scoring.lists import ListsRun

    assert isinstance(run, ListsRun)
    scope = " (published lists only)" if run.public else ""
    if not run.listings.height:
        err.print(f"{run.source}: nobody is listed on {run.as_of}{scope}", highlight=False,
                  markup=False)
        return
    table = Table(title=f"Listed on {run.as_of}{scope}: {run.listings.height} listing(s)")
    for column in ("list", "resident", "since", "until", "entered by", "repair", "measures"):
        table.add_column(column, overflow="fold", no_wrap=column in ("since", "until"))
    for row in run.listings.iter_rows(named=True):
        table.add_row(row["list"], row["resident_id"], str(row["since"]),
                      str(row["until"] or "no end known"),
                      ", ".join(str(e) for e in row["entered_by"]) or "(a red list)",
                      str(row["repair"] or ""), ", ".join(row["measures"]))
    out.print(table)


@repair_app.command("file")
def file_repair(
    ledger: LedgerArg,
    resident: Annotated[str, typer.Argument(help="The resident's id.", show_default=False)],
    on: OnOpt,
    list_id: Annotated[str, typer.Option("--list", help="The black list to come off.",
                                         show_default=False)],
    grounds: Annotated[str, typer.Option("--grounds", help="How the conduct was corrected.",
                                         show_default=False)],
) -> None:
    """Record an application for credit repair; print its id, alone, on stdout.

    Refused unless the resident is on the list on the filing date.
    """
    from scs_cli.scoring.lists import file_repair as file_one

    day = parse_date(on, "--on")
    number = file_one(ledger, resident, list_id, day, grounds)
    typer.echo(str(number))
    err.print(f"{ledger}: repair {number} for {resident} on list {list_id} filed on {day}",
              highlight=False, markup=False)


@repair_app.command("decide")
def decide(
    ledger: LedgerArg,
    repair: Annotated[int, typer.Argument(help="The repair id.", show_default=False,
                                          callback=check_id)],
    on: OnOpt,
    granted: Annotated[bool, typer.Option("--granted", help="Granted: the resident is off "
                                          "the list from this date.")] = False,
    refused: Annotated[bool, typer.Option("--refused", help="Refused: nothing "
                                          "changes.")] = False,
) -> None:
    """Record the decision on a repair: --granted takes the resident off the list on its
    date (refused before the list's repair_after has passed since entry)."""
    from scs_cli.scoring.lists import decide_repair

    if granted == refused:
        raise typer.BadParameter("give exactly one of --granted and --refused")
    day = parse_date(on, "--on")
    outcome: Literal["granted", "refused"] = "granted" if granted else "refused"
    resident, list_id = decide_repair(ledger, repair, outcome, day)
    err.print(f"{ledger}: repair {repair} ({resident}, list {list_id}) {outcome} on {day}",
              highlight=False, markup=False)


@repair_app.command("list")
def list_repairs(ledger: LedgerArg, as_of: AsOfOpt = None,
                 fmt: FormatOpt = Format.table) -> None:
    """List repair applications pending on --as-of (default today) with their age."""
    from scs_cli.ledger.repairs import pending_repairs
    from scs_cli.ledger.store import Ledger, utc_today

    day = parse_date(as_of, "--as-of", utc_today())
    with Ledger.open(ledger) as opened:
        pending = pending_repairs(opened, day)
    records = [{"repair_id": r.repair_id, "resident_id": r.resident_id, "list": r.list_id,
                "filed_on": r.filed_on, "age_days": r.age_days, "grounds": r.grounds}
               for r in pending]
    if fmt is not Format.table:
        from scs_cli.core.output import render

        text = render(records, ["repair_id", "resident_id", "list", "filed_on", "age_days",
                                "grounds"], fmt.value)
        if text:  # jsonl of no rows: nothing at all
            emit(text)
        return
    if not records:
        err.print(f"{ledger}: no repair pending on {day}", highlight=False, markup=False)
        return
    from rich.table import Table

    table = Table(title=f"Repairs pending on {day}: {len(records)}")
    for column in ("repair", "resident", "list", "filed", "age (days)"):
        table.add_column(column, no_wrap=True)
    table.add_column("grounds", overflow="fold")
    for r in pending:
        table.add_row(str(r.repair_id), r.resident_id, r.list_id, str(r.filed_on),
                      str(r.age_days), r.grounds)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("lists")(lists)
    app.add_typer(repair_app, name="repair")
