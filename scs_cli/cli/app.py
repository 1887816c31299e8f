"""The `scs` application: the root command and its groups.

Command modules are imported here; each keeps its heavy imports (Polars, matplotlib) inside
the command functions so that `scs --help` starts fast. `main` goes further: a process that
runs one command imports and builds only that command's module (`COMMANDS`), not all 36
commands (about 0.1 s of `scs explain`'s start-up, measured). `app`, the whole tree, is built
on first use, for `--help`, completion and tests.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer

from scs_cli import __version__
from scs_cli.cli.common import SHOW_TRACEBACK, ScsGroup
from scs_cli.cli.examples import attach as attach_examples

# The modules that register commands, in the order `scs --help` lists what they add.
MODULES = ("catalogue_cmds", "authoring_cmds", "audit_cmds", "cases_cmds", "ledger_cmds",
           "objection_cmds", "score_cmds", "explain_cmds", "report_cmds", "impact_cmds",
           "lists_cmds", "statement_cmds", "demo_cmds")
# Each top-level command or group and the modules that add it or its subcommands
# (tests/test_cli_startup.py checks this against what the modules register).
COMMANDS: dict[str, tuple[str, ...]] = {
    "catalogue": ("catalogue_cmds", "authoring_cmds", "audit_cmds", "cases_cmds"),
    "ledger": ("ledger_cmds",),
    "objection": ("objection_cmds",),
    "score": ("score_cmds",), "eligible": ("score_cmds",), "runs": ("score_cmds",),
    "explain": ("explain_cmds",),
    "report": ("report_cmds",),
    "impact": ("impact_cmds",),
    "lists": ("lists_cmds",), "repair": ("lists_cmds",),
    "statement": ("statement_cmds",),
    "demo": ("demo_cmds",),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scs {__version__}")
        raise typer.Exit()


def root(
    traceback: Annotated[bool, typer.Option("--traceback", help="Show Python tracebacks "
                                            "for errors (for developers).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    SHOW_TRACEBACK["on"] = traceback


def build(modules: tuple[str, ...] = MODULES) -> typer.Typer:
    """The `scs` application with the commands of ``modules`` (all of them by default)."""
    built = typer.Typer(
        cls=ScsGroup,
        name="scs",
        help="Municipal points-scoring systems: catalogues, ledgers, transparent scores, "
        "audits and reports. One ledger per city; nothing is ever joined across cities.",
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    built.callback()(root)
    for name in modules:
        importlib.import_module(f"scs_cli.cli.{name}").register(built)
    attach_examples(built)
    return built


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole tree, built once
        globals()["app"] = whole = build()
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Commands that hold large frames (a whole ledger's; explain's engine and one resident's)
# when they end, and start no other process: once their output is flushed, the process
# ends without freeing them one by one.
QUICK_EXIT = ("score", "eligible", "lists", "explain")


def main() -> None:
    # Only a command named first gets the short tree: root options, `--help`, no command
    # and shell completion (which passes the words in the environment) get the whole one.
    command = sys.argv[1] if len(sys.argv) > 1 else None
    modules = COMMANDS.get(command) if command else None
    if modules is None or "_SCS_COMPLETE" in os.environ:
        __getattr__("app")()
        return
    try:
        build(modules)()
    except SystemExit as done:
        if command in QUICK_EXIT:
            _quick_exit(done)
        raise


def _quick_exit(done: SystemExit) -> None:
    """End the process now that everything is written: freeing a 5M-event ledger's frames
    object by object and unloading the modules took 0.1 s of `scs score`'s 1.0 s (measured,
    BENCHMARKS.md). Only when nothing else runs: no other thread (a frame still being kept
    finishes first) and no Spark gateway (its process is stopped at exit)."""
    import threading

    if threading.active_count() > 1 or "pyspark" in sys.modules:
        return
    if not isinstance(done.code, int | None):  # a message to print: the usual exit does
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the usual exit says nothing more
        return
    os._exit(done.code or 0)
