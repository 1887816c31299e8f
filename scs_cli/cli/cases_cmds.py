"""`scs catalogue test`: a catalogue's worked examples, run as cases (SPEC §2).

Added to the `catalogue` group of catalogue_cmds when this module is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scs_cli.cli.catalogue_cmds import catalogue_app
from scs_cli.cli.common import emit, err, formats, out
from scs_cli.core.output import Format

CasesArg = Annotated[list[Path] | None, typer.Argument(
    help="Case files, or bundled catalogue names (rongcheng-2016: its shipped cases).",
    show_default=False,
    metavar="CASES")]
BundledOpt = Annotated[bool, typer.Option(
    "--bundled", help="Add every bundled catalogue's cases (catalogues/*.cases.toml).")]
CasesFormatOpt = Annotated[Format, formats(Format.table, Format.json)]

_COLOUR = {"pass": "green", "fail": "red", "disputed": "yellow", "error": "red"}


@catalogue_app.command("test")
def test_cmd(files: CasesArg = None, bundled: BundledOpt = False,
             fmt: CasesFormatOpt = Format.table) -> None:
    """Run catalogue cases: each worked example of a catalogue's sources, scored in memory
    by the same kernel as `scs score`, is reported as pass, fail (expected against got) or
    disputed (the catalogue follows another source, and the case says why).

    Exit status 1 when any case fails or cannot run, else 0. docs/catalogue.md gives the
    format.
    """
    from scs_cli.core.errors import UsageError
    from scs_cli.core.output import to_json
    from scs_cli.scoring.cases import bundled_case_paths, run_case_files

    chosen = list(files or []) + (bundled_case_paths() if bundled else [])
    if not chosen:
        raise UsageError("no case file given", "give case files, or --bundled")
    outcomes = run_case_files(chosen)
    if fmt is Format.json:
        emit(to_json([o.record() for o in outcomes]))
    else:
        _table(outcomes)
    counts = {r: sum(o.result == r for o in outcomes)
              for r in ("pass", "fail", "disputed", "error")}
    err.print(f"{len(outcomes)} case{'' if len(outcomes) == 1 else 's'}: "
              + ", ".join(f"{n} {r}" for r, n in counts.items() if n), highlight=False)
    if counts["fail"] or counts["error"]:
        raise typer.Exit(1)


def _table(outcomes) -> None:  # type: ignore[no-untyped-def]
    """One line per case; what was expected and what came out only where they matter (a
    case that passes says no more than that)."""
    from rich.table import Table
    from rich.text import Text

    from scs_cli.scoring.cases import outcome_lines

    t = Table()
    for col in ("file", "case", "result", "source", "why"):
        t.add_column(col, overflow="fold")
    for o in outcomes:
        why = ""
        if o.result in ("fail", "error"):
            why = o.reason or ""
            if o.result == "fail":
                why += ("\n" if why else "") + "expected: " + outcome_lines(
                    o.expected).replace("\n", "; ") + "\ngot: " + outcome_lines(
                    o.got).replace("\n", "; ")
        elif o.result == "disputed":
            why = o.disputed or ""
        t.add_row(Text(Path(o.file).name.removesuffix(".cases.toml")), Text(o.name),
                  Text(o.result, style=_COLOUR[o.result]), Text(o.source), Text(why))
    out.print(t)


def register(app: typer.Typer) -> None:
    """Nothing to add: the command joins the `catalogue` group when this module is imported."""
