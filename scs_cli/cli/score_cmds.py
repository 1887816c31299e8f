"""`scs score`, `scs eligible` and `scs runs list|verify`: scores, rewards, saved runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scs_cli.cli.common import (
    AsOfOpt,
    KnownAtOpt,
    LedgerArg,
    MasterOpt,
    ScsGroup,
    SourceArg,
    check_id,
    emit,
    err,
    formats,
    out,
    parse_date,
    parse_timestamp,
    progress_enabled,
)
from scs_cli.core.output import MACHINE_FORMATS, Format

if TYPE_CHECKING:
    from scs_cli.scoring.batch import Comparison, ScoreRun


class Engine(StrEnum):
    local = "local"
    spark = "spark"


OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the rows to this file; the format follows the suffix "
    "(.csv, .json, .jsonl, .parquet).", show_default=False)]

runs_app = typer.Typer(cls=ScsGroup, no_args_is_help=True, rich_markup_mode=None,
                       help="List and verify saved score runs.")


@contextmanager
def _spinner() -> Iterator[Callable[[str], None] | None]:
    """A spinner on stderr naming the current step, only when stderr is a terminal."""
    if not progress_enabled():
        yield None
        return
    with err.status("starting") as status:
        yield lambda what: status.update(what)


def score(
    ledgers: Annotated[list[Path], typer.Argument(
        metavar="LEDGER...", help="One or more cities, each a ledger file (SQLite) or a "
        "dataset folder (made by `scs ledger export LEDGER --format parquet --output DIR`).",
        show_default=False)],
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: Annotated[Format, formats(Format.table, *MACHINE_FORMATS, help="table: a summary "
                                   "for people; csv, json, jsonl: one row per resident (with "
                                   "--baseline: the residents who change tier).")
                   ] = Format.table,
    output: OutputOpt = None,
    save: Annotated[bool, typer.Option("--save", help="Record the run in the ledger (as-of, "
                                       "known-at, catalogue hashes, digest); prints its id "
                                       "on stderr.")] = False,
    catalogue: Annotated[Path | None, typer.Option(
        "--catalogue", help="What-if: score with this catalogue (not adopted) instead of the "
        "adopted versions; it judges every event.", show_default=False)] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="Compare with this catalogue of the same city: tier transitions "
        "from the baseline to the current rules.", show_default=False)] = None,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="Where datasets are scored: local (this machine) or spark "
        "(Apache Spark, with the same kernel; needs the scs[spark] extra and Java 17; "
        "docs/scale.md).")] = Engine.local,
    master: MasterOpt = None,
    head: Annotated[str | None, typer.Option(
        "--head", help="With a dataset: the ledger head the office published (ROWS:HASH): "
        "recompute the chain from the files and prove they hold that history before "
        "scoring.", show_default=False)] = None,
) -> None:
    """Score every resident of one or more cities, each a ledger file or an exported
    dataset, at a date (docs/scoring.md, docs/scale.md).

    Rows recorded after --known-at are not seen, so a past run can be reproduced exactly.
    csv columns: resident_id,score,tier,rewards (sorted by resident id, scores as exact
    decimals, reward ids ';'-separated).
    """
    from scs_cli.core.errors import UsageError

    day = parse_date(as_of, "--as-of")
    stamp = parse_timestamp(known_at, "--known-at")
    if master is not None and engine is not Engine.spark:
        raise UsageError("--master goes with --engine spark", "add --engine spark")
    several = len(ledgers) > 1
    if several and output is None and fmt is not Format.table:
        raise UsageError(f"{len(ledgers)} cities' rows are never written into one stream",
                         "give --output FOLDER: each city gets its own file there")
    if several and output is not None and not output.is_dir():
        raise UsageError(f"--output {output} is not a folder; with several inputs each "
                         "city gets its own file in it", "create the folder first")
    if head is not None and several:
        raise UsageError("--head is one ledger's published head; with several inputs it "
                         "cannot be checked", "score one dataset with its own --head")
    inputs: dict[str, Path | None] = {(f"the dataset {p}" if p.is_dir() else
               f"the ledger {p}" if several else "the ledger"): p for p in ledgers}
    if output is not None and not several:  # refuse a bad suffix or target before the work
        _check_output(output, {**inputs, "the --catalogue file": catalogue,
                               "the --baseline file": baseline})
    with _spinner() as tick:
        if engine is Engine.spark:  # Spark is its own engine path, over dataset folders
            from scs_cli.scale.spark import score_on_spark

            for path in ledgers:
                if not path.is_dir():
                    what = "a ledger file" if path.exists() else "not there"
                    raise UsageError(f"--engine spark scores exported datasets, and {path} "
                                     f"is {what}", "export it first with `scs ledger export "
                                     "LEDGER --format parquet --output DIR`, then score DIR")
            runs = score_on_spark(ledgers, day, stamp, master=master, catalogue=catalogue,
                                  baseline=baseline, head=head, progress=tick)
        else:
            from scs_cli.scale.source import open_source
            from scs_cli.scoring.batch import score_sources

            with ExitStack() as stack:
                sources = [stack.enter_context(open_source(p, head=head)) for p in ledgers]
                runs = score_sources(sources, day, stamp, catalogue=catalogue,
                                     baseline=baseline, save=save, progress=tick)
    for run in runs:
        target = output
        if several and output is not None:
            from scs_cli.core.output import safe_child

            suffix = "csv" if fmt is Format.table else fmt.value
            target = safe_child(output, f"{run.result.scheme.city.id}.{suffix}", "the city id")
            _check_output(target, inputs)
        _render(run, fmt, target)
        if run.run_id is not None:
            err.print(f"saved run {run.run_id}", highlight=False)


def _render(run: ScoreRun, fmt: Format, output: Path | None) -> None:
    """One city's result: rows to --output or stdout, or the summary table."""
    frame = _rows(run)
    if output is not None:
        from scs_cli.scoring.files import write

        kind = write(frame, output, _points(run))
        err.print(f"wrote {frame.height:,} rows to {output} ({kind})", highlight=False)
    if fmt is Format.table:
        _table(run)
    elif output is None:
        from scs_cli.scoring.files import render

        emit(render(frame, fmt.value, _points(run)), nl=False)


def eligible(
    ledger: SourceArg,
    reward: Annotated[str, typer.Argument(help="A reward id of the catalogue in force on "
                                          "the as-of date.", show_default=False)],
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: Annotated[Format, formats(*MACHINE_FORMATS)] = Format.csv,
    output: OutputOpt = None,
) -> None:
    """The residents a reward applies to: resident_id, score, tier (sorted by id)."""
    from scs_cli.scoring.batch import eligible as find

    if output is not None:
        _check_output(output, {"the ledger": ledger})
    from scs_cli.scale.source import open_source

    with _spinner() as tick, open_source(ledger) as source:
        found = find(source, reward, parse_date(as_of, "--as-of"),
                     parse_timestamp(known_at, "--known-at"), tick)
    if output is not None:
        from scs_cli.scoring.files import write

        write(found.residents, output)
    else:
        from scs_cli.scoring.files import render

        emit(render(found.residents, fmt.value), nl=False)
    err.print(f"{found.residents.height:,} of {found.scored:,} residents eligible for "
              f"{found.reward.id} ({found.reward.name}) on {found.as_of}", highlight=False,
              markup=False)


@runs_app.command("list")
def list_runs(
    ledger: LedgerArg,
    fmt: Annotated[Format, formats(Format.table, *MACHINE_FORMATS)] = Format.table,
) -> None:
    """List the saved score runs: id, as-of, known-at, residents, digest, catalogues."""
    from scs_cli.core.output import render, to_json
    from scs_cli.scoring.runs import list_runs as read

    rows: list[dict[str, Any]] = [
        {"run_id": r.run_id, "as_of": r.as_of, "known_at": r.known_at.isoformat(),
         "residents": r.residents, "digest": r.digest,
         "catalogue_sha256s": list(r.catalogue_sha256s), "recorded_at": r.recorded_at}
        for r in read(ledger)]
    if fmt is Format.json:
        emit(to_json(rows), nl=True)
    elif fmt is not Format.table:
        emit(render(rows, list(rows[0]) if rows else ["run_id"], fmt.value), nl=False)
    elif not rows:
        err.print(f"{ledger}: no saved runs (`scs score {ledger} --save` saves one)",
                  highlight=False)
    else:
        from rich.table import Table

        table = Table(title=f"Saved runs of {ledger}")
        for col in ("run", "as-of", "known-at (UTC)", "residents", "digest", "catalogues"):
            table.add_column(col, no_wrap=True)
        for r in rows:
            table.add_row(str(r["run_id"]), str(r["as_of"]), r["known_at"][:19].replace(
                "T", " "), f"{r['residents']:,}", r["digest"][:12],
                ", ".join(s[:8] for s in r["catalogue_sha256s"]))
        out.print(table)


@runs_app.command("verify")
def verify(
    ledger: LedgerArg,
    run: Annotated[int, typer.Argument(help="The run id (`scs runs list`).",
                                       show_default=False, callback=check_id)],
) -> None:
    """Recompute a saved run with its as-of, known-at and adopted catalogues.

    Exit status 0 and "unchanged" when the digest is the same; 1 with what differs.
    """
    from scs_cli.scoring.runs import RunChangedError, verify_run

    with _spinner() as tick:
        checked = verify_run(ledger, run, tick)
    if not checked.unchanged:
        raise RunChangedError(str(ledger), checked)
    r = checked.run
    out.print(f"run {r.run_id} unchanged: as-of {r.as_of}, known-at {r.known_at.isoformat()}, "
              f"{r.residents:,} residents, digest {r.digest}", highlight=False, markup=False)


def _check_output(output: Path, inputs: dict[str, Path | None]) -> None:
    from scs_cli.core.output import check_output_path, format_for_path

    format_for_path(output)
    check_output_path(output, inputs)


def _rows(run: ScoreRun) -> Any:
    """The rows csv/json/--output carry: every resident, or the movers of a comparison."""
    from scs_cli.scoring.files import result_frame

    if run.comparison is not None:
        return run.comparison.movers
    return result_frame(run.result.residents)


def _points(run: ScoreRun) -> tuple[str, ...]:
    return ("baseline_score", "score") if run.comparison is not None else ("score",)


def _table(run: ScoreRun) -> None:
    from rich.table import Table

    from scs_cli.core.output import decimal_text

    s = run.summary
    out.print(f"{run.city}: {s.residents:,} residents scored on {run.as_of} "
              f"(ledger rows known at {run.known_at.isoformat(timespec='seconds')})",
              highlight=False, markup=False, soft_wrap=False)  # wraps at words on a terminal
    out.print(f"Rules: {run.rules}; scheme {run.result.scheme.label}", highlight=False,
              markup=False, soft_wrap=False)
    tiers = Table(title="Tiers")
    for col, justify in (("tier", "left"), ("residents", "right"), ("share", "right")):
        tiers.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for name, count in s.tiers:
        tiers.add_row(name, f"{count:,}", f"{s.share(count):.1%}")
    out.print(tiers)
    if s.quantiles:
        out.print("Scores: " + ", ".join(f"{k} {decimal_text(v)}" for k, v in s.quantiles),
                  highlight=False, markup=False, soft_wrap=False)
    if s.rewards or s.sanctions:
        table = Table(title="Rewards and sanctions")
        for col, justify in (("kind", "left"), ("id", "left"), ("name", "left"),
                             ("residents", "right"), ("share", "right")):
            # Only the name folds: an id or a number is never cut.
            table.add_column(col, justify=justify,  # type: ignore[arg-type]
                             no_wrap=col != "name", overflow="fold")
        for kind, items in (("reward", s.rewards), ("sanction", s.sanctions)):
            for rid, name, count in items:
                table.add_row(kind, rid, name, f"{count:,}", f"{s.share(count):.1%}")
        out.print(table)
    if run.comparison is not None:
        _transitions(run.comparison)


def _transitions(c: Comparison) -> None:
    from rich.table import Table

    table = Table(title=f"Tier transitions: rows {c.baseline} (baseline), columns current")
    table.add_column("baseline \\ current", no_wrap=True)
    for name in c.columns:
        table.add_column(name, justify="right", no_wrap=True)
    for name, counts in zip(c.rows, c.matrix, strict=True):
        table.add_row(name, *(f"{n:,}" for n in counts))
    out.print(table)
    out.print(f"Moving up: {c.up:,}; moving down: {c.down:,}; same tier: {c.unmoved:,}",
              highlight=False)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("eligible")(eligible)
    app.add_typer(runs_app, name="runs")
