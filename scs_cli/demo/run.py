"""`scs demo`: the whole job on a bundled catalogue, in one directory, in seconds.

`run_demo` generates a synthetic event file (`demo.generate`), makes a ledger that adopts
the bundled Rongcheng catalogues (2016 and, when bundled, 2021), imports the events,
records what a credit office records besides events (consents, voids, lifts, objections
and their decisions), scores the ledger and saves the run, explains one resident whose
score shows the rules at work, and writes the batch report. It returns a `DemoResult`
that names every file and the commands to try next; the CLI prints it as a tour.

Everything is dated on or before `AS_OF` (2024-12-31), so the same seed gives the same
ledger contents on any day (only `recorded_at` differs).
"""

from __future__ import annotations

import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from scs_cli.core.errors import UsageError
from scs_cli.core.output import to_json, write_text
from scs_cli.demo.generate import DEFAULT_UNTIL, check_versions, generate_events, write_events
from scs_cli.engine.kernel import score
from scs_cli.explain.explain import explain_ledger
from scs_cli.ledger.store import Ledger
from scs_cli.report.batch import write_reports
from scs_cli.rules.model import Catalogue, CatalogueHistory, cents
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path
from scs_cli.scoring.batch import score_ledger
from scs_cli.scoring.files import result_frame, write

AS_OF = DEFAULT_UNTIL  # the demo's "today": the last date of the synthetic history
DEFAULT_CATALOGUES = ("rongcheng-2016", "rongcheng-2021")
EVENTS_PER_RESIDENT = 10

# What the demo writes into its directory (and all that --force replaces).
LEDGER = "ledger.sqlite"
EVENTS = "events.csv"
SCORES = "scores.csv"
REPORT = "report"
MADE = (LEDGER, f"{LEDGER}-wal", f"{LEDGER}-shm", EVENTS, SCORES, REPORT)
EXPLAIN_GLOBS = ("explain-*.json", "explain-*.txt")

# Shares of the office's own records (chosen so a 2,000-resident demo shows each of them).
CONSENT_SHARE = 0.85  # residents who consent under a consent-based version
WITHDRAW_SHARE = 0.05  # of those, who later withdraw
VOID_SHARE = 0.002  # events voided as recorded in error
LIFT_SHARE = 0.10  # of lift-able debts (finance and contract conduct), lifted after repair
OBJECTION_SHARE = 0.02  # of offences, contested by the resident
LIFTABLE_DOMAINS = ("finance", "contract")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """Everything `scs demo` made, and what to try next."""

    directory: Path
    ledger: Path
    events_file: Path
    scores_file: Path
    report_dir: Path
    report_files: tuple[Path, ...]
    explain_file: Path
    catalogues: tuple[str, ...]  # "rongcheng 2016", …
    catalogue_refs: tuple[str, ...]  # as a command takes them: bundled names or paths
    residents: int
    events: int
    scored: int
    participation_note: str | None
    consents: int
    withdrawals: int
    voids: int
    lifts: int
    objections: int
    pending_objections: int
    run_id: int | None
    as_of: date
    tiers: dict[str, int]
    resident: str
    resident_why: str
    explanation: Any = field(repr=False)  # scs_cli.explain.explain.Explanation
    seconds: float = 0.0

    @property
    def report_index(self) -> Path:
        return self.report_dir / "index.html"

    def next_commands(self) -> list[str]:
        led, day = _quote(self.ledger), self.as_of.isoformat()
        commands = [
            f"scs explain {led} {self.resident} --as-of {day}",
            f"scs score {led} --as-of {day} --format table",
            f"scs objection list {led} --as-of {day}",
            f"scs ledger stats {led}",
            f"scs catalogue show {self.catalogue_refs[-1]}",
        ]
        if len(self.catalogue_refs) > 1:
            commands.append(f"scs catalogue diff {' '.join(self.catalogue_refs[:2])}")
            # what the newest rules would do to everyone the first version scores
            commands.append(f"scs impact {led} --baseline {self.catalogue_refs[0]} "
                            f"--reform {self.catalogue_refs[-1]} --as-of {day}")
        if self.run_id is not None:
            commands.append(f"scs runs verify {led} {self.run_id}")
        return commands

    def tour(self, explain_text: Path | None = None) -> list[str]:
        """The short tour the CLI prints: what was made, where, and what to try next.

        ``explain_text``: the explanation as a person reads it, when the CLI wrote one.
        """
        explained = explain_text or self.explain_file
        beside = " (JSON beside it)" if explain_text else ""
        tiers = ", ".join(f"{t} {n:,}" for t, n in self.tiers.items())
        lines = [
            f"scs demo: a synthetic ledger for {' and '.join(self.catalogues)}, scored as of "
            f"{self.as_of} (made in {self.seconds:.1f} s) in {self.directory}/",
            "",
            f"  {_rel(self.events_file, self.directory):<22} {self.events:,} synthetic events "
            f"of {self.residents:,} residents (pseudonyms R0000001…)",
            f"  {_rel(self.ledger, self.directory):<22} the city's ledger: events imported, "
            + (f"{self.consents:,} consents and {self.withdrawals:,} withdrawals, "
               if self.consents else "")
            + f"{self.voids:,} voids, {self.lifts:,} lifts, {self.objections:,} objections "
            f"({self.pending_objections:,} still pending)",
            f"  {_rel(self.scores_file, self.directory):<22} {self.scored:,} scores as of "
            f"{self.as_of}" + (f" (saved as run {self.run_id})" if self.run_id else "")
            + f"; tiers: {tiers}",
            f"  {_rel(explained, self.directory):<22} why resident {self.resident} "
            f"has their score: {self.resident_why}{beside}",
            f"  {_rel(self.report_index, self.directory):<22} the batch report (HTML; "
            f"Markdown and JSON beside it)",
        ]
        if self.participation_note:
            lines += ["", "  " + self.participation_note]
        lines += ["", "Next, try:"] + [f"  {c}" for c in self.next_commands()]
        return lines


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _quote(path: Path) -> str:
    return shlex.quote(str(path))


def prepare_directory(directory: Path, force: bool) -> None:
    """Refuse to write over an earlier demo unless forced; then remove only its files."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory",
                         "give --output a directory (it is created if missing)")
    earlier = [directory / name for name in MADE if (directory / name).exists()]
    if directory.is_dir():
        earlier += sorted(p for pattern in EXPLAIN_GLOBS for p in directory.glob(pattern))
    if earlier and not force:
        raise UsageError(f"{directory}: already holds an earlier demo's "
                         f"{_rel(earlier[0], directory)}",
                         "add --force to replace it, or give another --output directory")
    for path in earlier:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def load_versions(names: Sequence[str | Path] | None
                  ) -> tuple[list[Catalogue], list[Path], list[str]]:
    """The catalogues to adopt, oldest first: given ones, or the bundled Rongcheng versions
    that exist; with their paths and their names as a command takes them."""

    refs = [str(n) for n in names] if names else [
        n for n in DEFAULT_CATALOGUES if resolve_catalogue_path(n).exists()]
    paths = [resolve_catalogue_path(n) for n in refs]
    loaded = [load_catalogue(p) for p in paths]
    versions = check_versions(loaded, refs)
    order = sorted(range(len(loaded)), key=lambda i: loaded[i].effective_from)
    return versions, [paths[i] for i in order], [refs[i] for i in order]


def _offset(start: Sequence[date], rng: np.random.Generator, low: int, high: int
            ) -> list[date]:
    """Each start date plus a random number of days in [low, high], never after AS_OF."""
    days = rng.integers(low, high + 1, size=len(start))
    return [min(s + timedelta(days=int(d)), AS_OF) for s, d in zip(start, days, strict=True)]


@dataclass
class _Records:
    consents: int = 0
    withdrawals: int = 0
    voids: int = 0
    lifts: int = 0
    objections: int = 0
    pending: int = 0


def record_office_work(ledger: Any, frame: pl.DataFrame, first_event_id: int,
                       versions: Sequence[Catalogue], seed: int) -> _Records:
    """Consents, voids, lifts and objections, as a credit office would record them.

    ``frame`` is the imported file; its row i is event ``first_event_id + i``.
    """
    rng = np.random.default_rng(seed + 1)
    done = _Records()
    events = frame.with_row_index("row").with_columns(
        (pl.col("row").cast(pl.Int64) + first_event_id).alias("event_id"))
    negative = {i.id for c in versions for i in c.indicators.values() if i.is_negative}
    liftable = {i.id for c in versions for i in c.indicators.values()
                if i.is_negative and (i.behavior or "").split(".")[0] in LIFTABLE_DOMAINS}

    # Consent, where a version asks for it: most residents, dated after it takes effect.
    consent_from = [c.effective_from for c in versions if c.policy.participation == "consent"]
    if consent_from:
        start = min(consent_from)
        residents = events["resident_id"].unique().sort().to_numpy()
        chosen = residents[rng.random(len(residents)) < CONSENT_SHARE]
        span = (AS_OF - start).days
        on = [start + timedelta(days=int(d)) for d in rng.integers(0, span + 1, len(chosen))]
        withdraw = rng.random(len(chosen)) < WITHDRAW_SHARE
        for resident, day, leaves in zip(chosen, on, withdraw, strict=True):
            ledger.consent(str(resident), day)
            done.consents += 1
            if leaves and day < AS_OF:
                later = day + timedelta(days=int(rng.integers(1, (AS_OF - day).days + 1)))
                ledger.consent(str(resident), later, withdraw=True)
                done.withdrawals += 1

    # Voids: a few events recorded in error (any kind).
    n_void = max(3, round(events.height * VOID_SHARE))
    voided = set(rng.choice(events["event_id"].to_numpy(), size=min(n_void, events.height),
                            replace=False).tolist())
    for event_id in sorted(voided):
        ledger.void(event_id, "recorded in error: the agency sent the wrong resident id "
                    "(synthetic demo record)")
        done.voids += 1

    # Lifts: some debts repaid, so the record stops counting months later.
    debts = events.filter(pl.col("indicator").is_in(list(liftable))
                          & ~pl.col("event_id").is_in(list(voided)))
    lifted = debts.filter(pl.Series(rng.random(debts.height) < LIFT_SHARE))
    for event_id, day in zip(lifted["event_id"],
                             _offset(lifted["occurred_on"].to_list(), rng, 30, 720),
                             strict=True):
        ledger.lift(int(event_id), day)
        done.lifts += 1

    # Objections to offences: most decided (upheld voids the event, rejected lets it count
    # again); those filed in the last weeks are still pending on the as-of date.
    offences = events.filter(pl.col("indicator").is_in(list(negative))
                             & ~pl.col("event_id").is_in(list(voided))
                             & ~pl.col("event_id").is_in(lifted["event_id"].implode()))
    contested = offences.filter(pl.Series(rng.random(offences.height) < OBJECTION_SHARE))
    recent = offences.filter(pl.col("occurred_on") >= AS_OF - timedelta(days=60))
    late = recent.sample(min(recent.height, max(3, contested.height // 5)), seed=seed,
                         shuffle=True) if recent.height else recent
    contested = pl.concat([contested, late]).unique("event_id", keep="first",
                                                     maintain_order=True)
    filed = _offset(contested["occurred_on"].to_list(), rng, 3, 45)
    outcome = rng.random(contested.height)
    decided_after = rng.integers(3, 40, contested.height)
    grounds = ("the resident says the agency recorded the wrong date and contests the event "
               "(synthetic demo record)")
    for event_id, day, u, after in zip(contested["event_id"], filed, outcome, decided_after,
                                       strict=True):
        objection = ledger.file_objection(int(event_id), day, grounds)
        done.objections += 1
        decided_on = day + timedelta(days=int(after))
        if decided_on > AS_OF:
            done.pending += 1
            continue
        ledger.decide_objection(objection, "upheld" if u < 0.4 else "rejected", decided_on)
    return done


def pick_resident(events: pl.DataFrame, scored: pl.DataFrame, scheme: Catalogue
                  ) -> tuple[str, str]:
    """A scored resident whose events show the most kinds of rule at work, and why.

    Counts suspended, over-limit, capped, lifted, expired and voided events, and a tier
    held below the score's band by an event's tier_cap; among residents with a short
    record (an easier read) the one showing most kinds wins, ties to the first id.
    """
    interesting = ("suspended", "over-limit", "capped", "lifted", "expired", "voided")
    mine = events.filter(pl.col("resident_id").is_in(scored["resident_id"].implode()))
    kinds = (mine.filter(pl.col("status").is_in(interesting))
             .group_by("resident_id").agg(pl.col("status").unique().sort().alias("kinds")))
    # The tier the score band alone gives (scores are hundredths), to spot a capped tier.
    band = pl.lit(scheme.tiers[-1].name)
    for tier in reversed(scheme.tiers[:-1]):
        floor = cents(tier.min) if tier.min is not None else 0
        band = pl.when(pl.col("score") >= floor).then(pl.lit(tier.name)).otherwise(band)
    held = scored.filter(band != pl.col("tier")).select("resident_id")
    sizes = mine.group_by("resident_id").len()
    ranked = (sizes.join(kinds, on="resident_id", how="left")
              .with_columns(pl.col("kinds").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                            pl.col("resident_id").is_in(held["resident_id"].implode())
                            .alias("held"))
              .with_columns((pl.col("kinds").list.len() + pl.col("held").cast(pl.Int64) * 2)
                            .alias("n")))
    for longest in (15, 30, None):
        short = ranked if longest is None else ranked.filter(pl.col("len") <= longest)
        short = short.filter(pl.col("n") > 0).sort(["n", "resident_id"],
                                                   descending=[True, False])
        if not short.is_empty():
            best = short.row(0, named=True)
            what = [k for k in best["kinds"]]
            why = ("a tier held down by an event's tier cap" if best["held"] else "")
            if what:
                why += ("; " if why else "") + ", ".join(what[:-1]) + (
                    " and " if len(what) > 1 else "") + what[-1] + " events"
            return str(best["resident_id"]), why
    return str(scored["resident_id"][0]), "an ordinary record"


def run_demo(directory: str | Path, *, residents: int = 2000,
             catalogues: Sequence[str | Path] | None = None, seed: int = 2024,
             force: bool = False, progress: Progress | None = None) -> DemoResult:
    """Make, import, score, explain and report a synthetic ledger in ``directory``."""


    started = time.perf_counter()
    say = progress or (lambda message: None)
    directory = Path(directory)
    versions, paths, refs = load_versions(catalogues)
    prepare_directory(directory, force)

    say(f"generating {residents * EVENTS_PER_RESIDENT:,} events for {residents:,} residents")
    frame = generate_events(versions, residents, residents * EVENTS_PER_RESIDENT, seed,
                            until=AS_OF)
    events_file = directory / EVENTS
    write_events(frame, events_file)

    say("creating the ledger and importing the events")
    ledger_path = directory / LEDGER
    with Ledger.create(ledger_path, paths[0]) as ledger:
        for path in paths[1:]:
            ledger.adopt(path)
        imported = ledger.import_file(events_file)
        say("recording consents, voids, lifts and objections")
        done = record_office_work(ledger, frame, int(imported.first_event_id or 1), versions,
                                  seed)

    say("scoring")
    scores_file = directory / SCORES
    scored, run_id, detail = score_and_save(ledger_path, AS_OF, scores_file)
    tiers = {t: n for t, n in (scored.group_by("tier").len().sort("tier")
                               .iter_rows())} if scored.height else {}
    scheme = CatalogueHistory(versions).in_force(AS_OF) or versions[0]
    tiers = {t: tiers.get(t, 0) for t in scheme.tier_names}

    say("explaining one resident")
    resident, why = pick_resident(detail, scored, scheme)
    explanation = explain_ledger(ledger_path, resident, AS_OF)
    explain_file = directory / f"explain-{resident}.json"
    write_text(explain_file, to_json(explanation.to_record()) + "\n")

    say("writing the report")
    report = write_reports([ledger_path], AS_OF, directory / REPORT)

    note = None
    consent_versions = [c for c in versions if c.policy.participation == "consent"]
    if consent_versions:
        c = consent_versions[0]
        note = (f"Rongcheng's {c.version} rules score only residents who consent: "
                f"{scored.height:,} of {residents:,} residents have consent in force on "
                f"{AS_OF}; the others' records are kept but not scored. Events before "
                f"{c.effective_from} are judged by the {versions[0].version} rules."
                if c.city.id == "rongcheng" else
                f"Catalogue {c.label} scores only residents who consent: {scored.height:,} "
                f"of {residents:,} have consent in force on {AS_OF}.")
    return DemoResult(
        directory=directory, ledger=ledger_path, events_file=events_file,
        scores_file=scores_file, report_dir=directory / REPORT,
        report_files=tuple(report.files), explain_file=explain_file,
        catalogues=tuple(f"{c.city.id} {c.version}" for c in versions),
        catalogue_refs=tuple(refs),
        residents=residents, events=imported.imported, scored=scored.height,
        participation_note=note, consents=done.consents, withdrawals=done.withdrawals,
        voids=done.voids, lifts=done.lifts, objections=done.objections,
        pending_objections=done.pending, run_id=run_id, as_of=AS_OF, tiers=tiers,
        resident=resident, resident_why=why, explanation=explanation,
        seconds=time.perf_counter() - started,
    )


def score_and_save(ledger_path: Path, as_of: date, output: Path
                   ) -> tuple[pl.DataFrame, int | None, pl.DataFrame]:
    """Score the ledger as `scs score --save` does and write the scores file; return the
    residents, the saved run's id, and every event's status (to pick whom to explain)."""

    run = score_ledger(ledger_path, as_of, save=True)
    residents = run.result.residents
    write(result_frame(residents), output)
    # The batch leaves out per-event detail; the demo's ledger is small, so score it again
    # with detail, at the same known-at, for the statuses.
    with Ledger.open(ledger_path) as ledger:
        data = ledger.scoring_data(run.known_at)
        history = ledger.history(run.known_at)
    return residents, run.run_id, score(data, history, as_of).events
