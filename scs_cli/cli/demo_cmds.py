"""`scs demo` (the whole job on a bundled catalogue) and `scs demo generate` (event files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scs_cli.cli.common import ScsGroup, err, out, parse_date, progress_enabled

demo_app = typer.Typer(cls=ScsGroup, rich_markup_mode=None, invoke_without_command=True)

CatalogueOpt = Annotated[list[str] | None, typer.Option(
    "--catalogue", "-c", metavar="FILE", show_default=False,
    help="Catalogue file or bundled name; repeat to adopt several versions of one city.")]


def _status(message: str) -> None:
    # People's progress goes to stderr, and only when someone is watching.
    if progress_enabled():
        err.print(f"… {message}", highlight=False, markup=False)


@demo_app.callback()
def demo(
    ctx: typer.Context,
    residents: Annotated[int, typer.Option("--residents", "-n", min=1,
                                           help="Synthetic residents (about 10 events each).")
                         ] = 2000,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the "
                                         "demo into.")] = Path("scs-demo"),
    force: Annotated[bool, typer.Option("--force", help="Replace the files of an earlier "
                                        "demo in the directory.")] = False,
    catalogue: CatalogueOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same ledger "
                                      "contents).")] = 2024,
) -> None:
    """Run the whole job on a synthetic ledger: make events for the bundled Rongcheng
    catalogues (2016 and 2021), import them with consents, voids, lifts and objections,
    score, explain one resident, write the report, and print where everything is.

    Refuses a directory that already holds a demo unless --force is given.
    `scs demo generate` writes a synthetic event file only.
    """
    if ctx.invoked_subcommand is not None:
        return
    import time
    from dataclasses import replace

    started = time.perf_counter()
    from scs_cli.core.output import write_text
    from scs_cli.demo.run import run_demo

    result = run_demo(output, residents=residents, catalogues=catalogue or None, seed=seed,
                      force=force, progress=_status)
    text = result.explain_file.with_suffix(".txt")
    write_text(text, _explain_text(result.ledger, result.resident, result.as_of.isoformat()))
    result = replace(result, seconds=time.perf_counter() - started)
    for line in result.tour(explain_text=text):
        err.print(line, highlight=False, markup=False, soft_wrap=True)


def _explain_text(ledger: Path, resident: str, as_of: str) -> str:
    """What `scs explain` shows for the resident, as text for a file (120 columns)."""
    from scs_cli.cli.explain_cmds import explain_cmd
    from scs_cli.core.output import Format

    width = out.width
    out.width = 120
    try:
        with out.capture() as captured:
            explain_cmd(ledger, resident, as_of=as_of, known_at=None, fmt=Format.table)
    finally:
        out.width = width
    return "\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n"


@demo_app.command("generate")
def generate(
    output: Annotated[Path, typer.Option("--output", "-o", help="Event file to write "
                                         "(.csv or .jsonl).", show_default=False)],
    catalogue: CatalogueOpt = None,
    residents: Annotated[int, typer.Option("--residents", "-n", min=1,
                                           help="Number of residents.")] = 1000,
    events: Annotated[int | None, typer.Option(
        "--events", "-m", min=1, help="Number of events (default: 10 per resident).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives a "
                                      "byte-identical file.")] = 1,
    until: Annotated[str, typer.Option(
        "--until", metavar="YYYY-MM-DD", help="Last date events may fall on (never after today)."
    )] = "2024-12-31",
    since: Annotated[str | None, typer.Option(
        "--since", metavar="YYYY-MM-DD", show_default=False,
        help="First date (default: the first catalogue's effective date, at most 10 years "
        "before --until).")] = None,
) -> None:
    """Write a reproducible synthetic event file that `scs ledger import` accepts.

    Events follow each adopted version's indicators by date, their reporters and points
    ranges; resident ids are pseudonyms (R0000001…); (agency, reference) pairs are unique.
    Default catalogue: rongcheng-2016.
    """
    from scs_cli.demo.generate import generate_file

    result = generate_file(
        catalogue or ["rongcheng-2016"], residents=residents,
        events=events if events is not None else residents * 10, seed=seed, output=output,
        until=parse_date(until, "--until"),
        since=parse_date(since, "--since") if since else None, progress=_status)
    versions = ", ".join(f"{v}: {n:,}" for v, n in result.per_version.items())
    err.print(
        f"wrote {result.events:,} events for {result.residents:,} residents to {result.path} "
        f"({result.first} … {result.last}; {result.good_deeds:,} good deeds, "
        f"{result.offences:,} offences, {result.with_points:,} with points set by the agency; "
        f"by catalogue version {versions})", highlight=False, markup=False)
    out.print(str(result.path), highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
