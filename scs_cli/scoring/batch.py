"""Scoring a whole ledger: what `scs score` and `scs eligible` do, as library calls.

Reads the ledger at known-at, chooses the rules (the adopted versions, or a what-if
catalogue), runs the kernel, and returns a result object with a summary a person reads;
optionally compares with a baseline catalogue and saves the run. No printing here: the
CLI renders what these functions return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from scs_cli.core.errors import LedgerError, ScsError, UsageError
from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import ScoreResult, evaluate, scheme_at, score
from scs_cli.ledger.chain import Head
from scs_cli.ledger.schema import parse_stamp
from scs_cli.ledger.source import LedgerFile, Source
from scs_cli.rules.model import (
    AdoptedCatalogue,
    Catalogue,
    CatalogueHistory,
    Reward,
    from_cents,
)
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path
from scs_cli.scoring import runs as runs
from scs_cli.scoring.prepared import prepared_rows

Progress = Callable[[str], None]
QUANTILES = (("min", 0.0), ("10%", 0.1), ("25%", 0.25), ("median", 0.5), ("75%", 0.75),
             ("90%", 0.9), ("max", 1.0))


@dataclass(frozen=True)
class Summary:
    """What `scs score --format table` shows: counts, shares and quantiles."""

    residents: int
    tiers: tuple[tuple[str, int], ...]              # every tier of the scheme, best first
    quantiles: tuple[tuple[str, Decimal], ...]      # score at min, 10%, 25%, median, …
    rewards: tuple[tuple[str, str, int], ...]       # id, name, residents granted
    sanctions: tuple[tuple[str, str, int], ...]     # id, name, residents it applies to

    def share(self, count: int) -> float:
        return count / self.residents if self.residents else 0.0


@dataclass(frozen=True)
class Comparison:
    """A baseline catalogue against the current rules, on the same ledger and date."""

    baseline: str                                   # the baseline catalogue's label
    rows: tuple[str, ...]                           # baseline tiers, best first
    columns: tuple[str, ...]                        # current tiers, best first
    matrix: tuple[tuple[int, ...], ...]             # residents per (baseline, current) tier
    up: int
    down: int
    unmoved: int
    movers: pl.DataFrame  # resident_id, baseline_score, baseline_tier, score, tier


@dataclass(frozen=True)
class ScoreRun:
    """The outcome of `score_ledger`."""

    ledger: str
    city: str
    as_of: date
    known_at: datetime
    rules: str                                      # what judged the events, for people
    catalogue_sha256s: tuple[str, ...]              # adopted versions seen at known-at
    result: ScoreResult
    summary: Summary
    comparison: Comparison | None = None
    run_id: int | None = None
    what_if: bool = False
    head: Head | None = None  # the ledger head (as known at known-at) the scores come from


@dataclass(frozen=True)
class Eligibility:
    """The residents a reward applies to (resident_id, score, tier)."""

    reward: Reward
    scheme: Catalogue
    as_of: date
    known_at: datetime
    residents: pl.DataFrame
    scored: int


def what_if_history(catalogue: Catalogue) -> CatalogueHistory:
    """A catalogue that is not adopted judges every event and is the scheme on any date."""
    return CatalogueHistory([replace(catalogue, effective_from=date.min)])


def score_ledger(path: str | Path, as_of: date, known_at: datetime | None = None, *,
                 catalogue: str | Path | None = None, baseline: str | Path | None = None,
                 save: bool = False, progress: Progress | None = None) -> ScoreRun:
    """Score every resident of a ledger file (SPEC §4); optionally compare, or save the run."""
    with LedgerFile.open(path) as source:
        return score_source(source, as_of, known_at, catalogue=catalogue, baseline=baseline,
                            save=save, progress=progress)


@dataclass(frozen=True)
class Rules:
    """One source's rules, chosen and checked before any of its events is read."""

    source: Source
    adopted: tuple[AdoptedCatalogue, ...]
    history: CatalogueHistory
    what_if: Catalogue | None
    baseline: Catalogue | None
    words: str  # what judges the events, for people

    @property
    def catalogues(self) -> tuple[str, ...] | None:
        """The SHA-256s of the versions that judge (None for a what-if: not cached)."""
        return None if self.what_if else tuple(a.sha256 for a in self.adopted)


def choose_rules(source: Source, as_of: date, known_at: datetime, *,
                 catalogue: str | Path | None = None, baseline: str | Path | None = None
                 ) -> Rules:
    """The adopted versions as known at known-at, or a what-if catalogue of the same city;
    refuse, in one line, a source with no version in force on as-of."""
    adopted = tuple(source.adopted(known_at))
    if not adopted:
        raise LedgerError(source.path, f"no catalogue was adopted by {known_at.isoformat()}",
                          "score with a later --known-at")
    what_if = _foreign_check(source, catalogue)
    base = _foreign_check(source, baseline)
    history = what_if_history(what_if) if what_if else CatalogueHistory(
        a.catalogue for a in adopted)
    scheme_at(history, as_of, str(source.path))  # fail before reading events
    words = (f"what-if {what_if.label} ({catalogue})" if what_if else
             "adopted " + ", ".join(f"{v.version} (from {v.effective_from})"
                                    for v in history.versions))
    return Rules(source, adopted, history, what_if, base, words)


def score_sources(sources: Sequence[Source], as_of: date, known_at: datetime | None = None, *,
                  catalogue: str | Path | None = None, baseline: str | Path | None = None,
                  save: bool = False, progress: Progress | None = None) -> list[ScoreRun]:
    """Score several cities one after the other, each with its own rules and result; every
    city's rules are checked before any events are read, and two sources of one city are
    refused."""
    _no_what_if_saved(save, catalogue)
    seen: dict[str, Source] = {}
    for source in sources:
        other = seen.setdefault(source.city_id, source)
        if other is not source:
            both = (f"both {source.kind}s" if other.kind == source.kind else
                    f"a {source.kind} and a {other.kind}")
            raise UsageError(f"{source.path} and {other.path} are {both} of city "
                             f"{source.city_id!r}", f"score one {source.kind} per city in a run"
                             if other.kind == source.kind else
                             "score one ledger or dataset per city in a run")
    known_at = known_at or datetime.now(UTC)
    chosen = [choose_rules(s, as_of, known_at, catalogue=catalogue, baseline=baseline)
              for s in sources]
    return [_score(rules, as_of, known_at, save, progress) for rules in chosen]


def score_source(source: Source, as_of: date, known_at: datetime | None = None, *,
                 catalogue: str | Path | None = None, baseline: str | Path | None = None,
                 save: bool = False, progress: Progress | None = None) -> ScoreRun:
    """Score every resident of a ledger file or dataset (SPEC §4); optionally compare with
    a baseline catalogue, or save the run (a ledger file only)."""
    _no_what_if_saved(save, catalogue)
    known_at = known_at or datetime.now(UTC)  # the actual timestamp, so a run can be redone
    rules = choose_rules(source, as_of, known_at, catalogue=catalogue, baseline=baseline)
    return _score(rules, as_of, known_at, save, progress)


def _no_what_if_saved(save: bool, catalogue: str | Path | None) -> None:
    if save and catalogue is not None:
        raise UsageError("--save records runs under the adopted catalogues; a what-if "
                         "(--catalogue) cannot be saved", "drop --save or --catalogue")


def _score(rules: Rules, as_of: date, known_at: datetime, save: bool,
           progress: Progress | None) -> ScoreRun:
    source = rules.source
    if save and source.ledger is None:
        raise UsageError(f"--save records a run in a ledger; a {source.kind} is a read-only "
                         "copy", "score the ledger itself with --save")
    tick = progress or (lambda what: None)
    tick(f"reading {source.path}")
    ledger = source.ledger
    with ledger.snapshot() if ledger is not None else nullcontext(None) as seen:
        # every read below sees the same rows
        head = source.head(known_at)  # the history the scores are computed from
        # kept while the residents are scored; with a baseline, the events too: it is
        # prepared from them (another rule book)
        rows = prepared_rows(source, known_at, rules.history, rules.catalogues,
                             events=rules.baseline is not None, background=True)
    # A saved run keeps the known-at its rows truly have: no later than the last row it
    # saw, so an import in flight (stamped later) never joins it on verification.
    saved_at = known_at if seen is None else min(known_at, parse_stamp(seen))
    tick(f"scoring {rows.prepared.frame.height:,} events of {source.city_id} at {as_of}"
         + (" (prepared earlier: cache)" if rows.kept else ""))
    result = evaluate(rows.prepared, as_of, detail=False)
    shas = tuple(a.sha256 for a in rules.adopted)
    run_id = None
    if save and ledger is not None:
        tick("saving the run")
        run_id = runs.save_run(ledger, result.residents, as_of, saved_at, list(shas), head)
    comparison = None
    if rules.baseline is not None:
        tick(f"scoring with the baseline {rules.baseline.label}")
        comparison = compare(rows.data, what_if_history(rules.baseline), result, as_of)
    summary = summarize(result)
    rows.settle()
    return ScoreRun(str(source.path), source.city_name or source.city_id, as_of, known_at,
                    rules.words, shas, result, summary, comparison, run_id,
                    rules.what_if is not None, head)


def eligible(source: Source | str | Path, reward_id: str, as_of: date,
             known_at: datetime | None = None, progress: Progress | None = None
             ) -> Eligibility:
    """The residents a reward of the scheme in force on as-of applies to (of a ledger file,
    by path, or of any `Source`)."""

    if isinstance(source, str | Path):
        with LedgerFile.open(source) as opened:
            return eligible(opened, reward_id, as_of, known_at, progress)
    tick = progress or (lambda what: None)
    known_at = known_at or datetime.now(UTC)
    path = source.path
    tick(f"reading {path}")
    history = source.history(known_at)
    scheme = scheme_at(history, as_of, str(path))
    if reward_id not in scheme.rewards:
        known = ", ".join(sorted(scheme.rewards)) or "none"
        raise ScsError(f"{path}: no reward {reward_id!r} in catalogue {scheme.label} "
                       f"in force on {as_of} (its rewards: {known})")
    rows = prepared_rows(source, known_at, history,
                         tuple(a.sha256 for a in source.adopted(known_at)))
    tick(f"scoring {rows.prepared.frame.height:,} events at {as_of}")
    result = evaluate(rows.prepared, as_of, detail=False)
    chosen = result.residents.filter(pl.col("rewards").list.contains(reward_id)).select(
        "resident_id", "score", "tier")
    return Eligibility(scheme.rewards[reward_id], scheme, as_of, known_at, chosen,
                       result.residents.height)


def summarize(result: ScoreResult) -> Summary:
    """Counts per tier, score quantiles (actual scores, never interpolated), rewards."""
    res, scheme = result.residents, result.scheme
    counts = dict(res.group_by("tier").len().iter_rows()) if res.height else {}
    quantiles: tuple[tuple[str, Decimal], ...] = ()
    if res.height:
        ordered = res["score"].sort()
        quantiles = tuple((name, from_cents(int(ordered[round(q * (res.height - 1))])))
                          for name, q in QUANTILES)
    granted = _list_counts(res, "rewards")
    applied = _list_counts(res, "sanctions")
    return Summary(
        res.height,
        tuple((t, int(counts.get(t, 0))) for t in scheme.tier_names),
        quantiles,
        tuple((r.id, r.name, granted.get(r.id, 0)) for r in
              sorted(scheme.rewards.values(), key=lambda r: r.id)),
        tuple((s.id, s.name, applied.get(s.id, 0)) for s in
              sorted(scheme.sanctions.values(), key=lambda s: s.id)),
    )


def compare(data: LedgerData, baseline: CatalogueHistory, current: ScoreResult,
            as_of: date) -> Comparison:
    """Tier transitions from the baseline catalogue's scores to the current ones."""
    base = score(data, baseline, as_of, detail=False)
    old_scheme, new_scheme = base.scheme, current.scheme
    both = base.residents.select("resident_id", baseline_score="score",
                                 baseline_tier="tier").join(
        current.residents.select("resident_id", "score", "tier"), on="resident_id",
        how="full", coalesce=True).sort("resident_id")
    rows, columns = old_scheme.tier_names, new_scheme.tier_names
    counts = {(a, b): n for a, b, n in both.group_by("baseline_tier", "tier").len().iter_rows()}
    matrix = tuple(tuple(int(counts.get((a, b), 0)) for b in columns) for a in rows)
    # Direction: compare the tiers' lower bounds (the last tier's is -infinity), so that
    # catalogues with different tier names can still be compared.
    def low(scheme: Catalogue, name: str) -> tuple[int, Decimal]:
        bound = scheme.tiers[scheme.tier_rank(name)].min
        return (0, Decimal(0)) if bound is None else (1, bound)

    up = down = 0
    for (a, b), n in counts.items():
        if a is None or b is None or a == b:
            continue
        old, new = low(old_scheme, a), low(new_scheme, b)
        up += n if new > old else 0
        down += n if new < old else 0
    movers = both.filter(pl.col("baseline_tier").ne_missing(pl.col("tier")))
    return Comparison(old_scheme.label, rows, columns, matrix, up, down,
                      both.height - movers.height, movers)


def _list_counts(res: pl.DataFrame, column: str) -> dict[str, int]:
    if res.height == 0:
        return {}
    flat = res.select(pl.col(column).explode().drop_nulls())
    return {k: int(v) for k, v in flat.group_by(column).len().iter_rows()}


def _foreign_check(source: Source, path: str | Path | None) -> Catalogue | None:
    """Load a what-if or baseline catalogue; refuse another city's, in one line."""
    if path is None:
        return None

    catalogue = load_catalogue(resolve_catalogue_path(path))
    if catalogue.city.id != source.city_id:
        raise LedgerError(source.path, f"{path} is a catalogue of city "
                          f"{catalogue.city.id!r}, but this {source.kind} belongs to "
                          f"{source.city_id!r}", f"a {source.kind} is only ever scored with "
                          "its own city's catalogue")
    return catalogue
