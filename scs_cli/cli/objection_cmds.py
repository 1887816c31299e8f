"""`scs objection file|decide|list`: a resident contests an event; the office decides."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from scs_cli.cli.common import (
    AsOfOpt,
    FormatOpt,
    LedgerArg,
    ScsGroup,
    check_id,
    emit,
    err,
    out,
    parse_date,
)
from scs_cli.core.output import Format

objection_app = typer.Typer(cls=ScsGroup, no_args_is_help=True, rich_markup_mode=None,
                            help="File, decide and list residents' objections to events.")

OnOpt = Annotated[str, typer.Option("--on", metavar="YYYY-MM-DD",
                                    help="The date, not in the future.",
                                    show_default=False)]


@objection_app.command("file")
def file_objection(
    ledger: LedgerArg,
    event: Annotated[int, typer.Argument(help="The contested event's id.",
                                         show_default=False, callback=check_id)],
    on: OnOpt,
    grounds: Annotated[str, typer.Option("--grounds", help="What the resident contests.",
                                         show_default=False)],
) -> None:
    """Record an objection to an event; print the new objection's id, alone, on stdout.

    While pending (and with objection_suspends = true) the event does not count.
    """
    from scs_cli.ledger.store import Ledger

    day = parse_date(on, "--on")
    with Ledger.open(ledger) as opened:
        number = opened.file_objection(event, day, grounds)
    typer.echo(str(number))
    err.print(f"{ledger}: objection {number} to event {event} filed on {day}",
              highlight=False, markup=False)


@objection_app.command("decide")
def decide(
    ledger: LedgerArg,
    objection: Annotated[int, typer.Argument(help="The objection id.", show_default=False,
                                             callback=check_id)],
    on: OnOpt,
    upheld: Annotated[bool, typer.Option("--upheld", help="The objection is upheld: the "
                                         "event is void.")] = False,
    rejected: Annotated[bool, typer.Option("--rejected", help="The objection is rejected: "
                                           "the event counts again.")] = False,
) -> None:
    """Record the decision on an objection: --upheld voids the event, --rejected lets it
    count again."""
    from scs_cli.ledger.store import Ledger

    if upheld == rejected:
        raise typer.BadParameter("give exactly one of --upheld and --rejected")
    day = parse_date(on, "--on")
    outcome: Literal["upheld", "rejected"] = "upheld" if upheld else "rejected"
    with Ledger.open(ledger) as opened:
        opened.decide_objection(objection, outcome, day)
    err.print(f"{ledger}: objection {objection} {outcome} on {day}", highlight=False,
              markup=False)


@objection_app.command("list")
def list_objections(ledger: LedgerArg, as_of: AsOfOpt = None,
                    fmt: FormatOpt = Format.table) -> None:
    """List objections pending on --as-of (default today) with their age in days; those
    past the policy's objection_deadline are flagged overdue."""
    from scs_cli.ledger.store import Ledger, utc_today

    day = parse_date(as_of, "--as-of", utc_today())
    with Ledger.open(ledger) as opened:
        pending = opened.objections(day)
    records = [{"objection_id": o.objection_id, "event_id": o.event_id,
                "resident_id": o.resident_id, "indicator": o.indicator,
                "filed_on": o.filed_on, "age_days": o.age_days, "due_on": o.due_on,
                "overdue": o.overdue, "grounds": o.grounds} for o in pending]
    if fmt is not Format.table:
        from scs_cli.core.output import render

        columns = ["objection_id", "event_id", "resident_id", "indicator", "filed_on",
                   "age_days", "due_on", "overdue", "grounds"]
        emit(render(records, columns, fmt.value))
        return
    if not records:
        err.print(f"{ledger}: no objection pending on {day}", highlight=False, markup=False)
        return
    from rich.table import Table

    overdue = sum(o.overdue for o in pending)
    table = Table(title=f"Objections pending on {day}: {len(pending)}, {overdue} overdue")
    # Ids, dates and numbers never wrap; only the grounds fold.
    for column in ("objection", "event", "resident", "indicator", "filed", "age (days)",
                   "due", "overdue"):
        table.add_column(column, no_wrap=True)
    table.add_column("grounds", overflow="fold")
    for o in pending:
        table.add_row(str(o.objection_id), str(o.event_id), o.resident_id, o.indicator,
                      str(o.filed_on), str(o.age_days), str(o.due_on or "no deadline"),
                      "OVERDUE" if o.overdue else "", o.grounds)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(objection_app, name="objection")
