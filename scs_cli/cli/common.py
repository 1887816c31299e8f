"""What every command shares: consoles, option types, date parsing, error mapping."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from scs_cli.errors import ScsError, UsageError
from scs_cli.output import Format

# Data goes to stdout, everything for people to stderr.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

SHOW_TRACEBACK = {"on": False}


class ScsGroup(TyperGroup):
    """The one place library errors become exit codes: ScsError → one line each, exit 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except ScsError as exc:
            if SHOW_TRACEBACK["on"]:
                raise
            for line in exc.lines():
                click.echo(f"error: {line}", err=True)
            ctx.exit(exc.exit_code)


def parse_date(value: str | None, option: str, default: date | None = None) -> date:
    """An ISO date from the command line (``2024-03-31``)."""
    if value is None:
        return default or date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date", "write YYYY-MM-DD") from None


def parse_timestamp(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 timestamp; UTC when it has no offset."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a timestamp",
                         "write e.g. 2024-03-31T12:00:00Z") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def progress_enabled() -> bool:
    return sys.stderr.isatty()


LedgerArg = Annotated[Path, typer.Argument(help="The city's ledger file (SQLite).",
                                           show_default=False)]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Valid date (default: today).",
                                              show_default=False)]
KnownAtOpt = Annotated[str | None, typer.Option(
    "--known-at", help="Only ledger rows recorded by this ISO timestamp (UTC if no offset).",
    show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
