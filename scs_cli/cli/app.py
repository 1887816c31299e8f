"""The `scs` application: the root command and its groups.

Command modules are imported here once; each keeps its heavy imports (Polars,
matplotlib) inside the command functions so that `scs --help` starts fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scs_cli import __version__
from scs_cli.cli.common import SHOW_TRACEBACK, ScsGroup
from scs_cli.cli.examples import attach as attach_examples

app = typer.Typer(
    cls=ScsGroup,
    name="scs",
    help="Municipal points-scoring systems: catalogues, ledgers, transparent scores, "
    "audits and reports. One ledger per city; nothing is ever joined across cities.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scs {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    traceback: Annotated[bool, typer.Option("--traceback", help="Show Python tracebacks "
                                            "for errors (for developers).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    SHOW_TRACEBACK["on"] = traceback


def _register() -> None:
    import importlib

    for name in ("catalogue_cmds", "authoring_cmds", "audit_cmds", "cases_cmds",
                 "ledger_cmds", "objection_cmds", "score_cmds", "explain_cmds", "report_cmds",
                 "impact_cmds", "lists_cmds", "statement_cmds", "demo_cmds"):
        importlib.import_module(f"scs_cli.cli.{name}").register(app)


_register()
attach_examples(app)


def main() -> None:
    app()
