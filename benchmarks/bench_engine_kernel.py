"""Quick in-memory benchmark of the scoring kernel (`scs_cli.engine.kernel.score`) on generated frames.

Not a test: it prints timings. The end-to-end benchmark (ledger on disk, sqlite3 baselines)
is benchmarks/run.py. Usage:

    python benchmarks/bench_engine_kernel.py --events 1000000 [--residents N] [--catalogue F]
        [--repeat 3] [--profile]

The catalogue defaults to the bundled Rongcheng one when present, else examples/tiny.toml.
Events get random residents, indicators and dates over eight years; points for
points_range indicators; 0.5% are voided, 0.2% lifted, 0.1% objected to.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from scs_cli.rules.model import CatalogueHistory, cents
from scs_cli.rules.schema import load_catalogue
from scs_cli.engine.kernel import evaluate, prepare, score, score_series
from scs_cli.core.frames import LedgerData

ROOT = Path(__file__).resolve().parent.parent


def default_catalogue() -> Path:
    bundled = ROOT / "catalogues" / "rongcheng-2016.toml"
    return bundled if bundled.exists() else ROOT / "examples" / "tiny.toml"


def generate(n_events: int, n_residents: int, history: CatalogueHistory,
             seed: int = 7) -> LedgerData:
    rng = np.random.default_rng(seed)
    cat = history.versions[-1]
    ids = list(cat.indicators)
    # a few common indicators, a long tail: like real ledgers
    weights = 1.0 / np.arange(1, len(ids) + 1)
    weights /= weights.sum()
    ind = rng.choice(len(ids), n_events, p=weights)
    start = max(v.effective_from for v in history.versions[:1])
    first = (start - date(1970, 1, 1)).days
    days = rng.integers(first, first + 8 * 365, n_events)
    residents = rng.integers(0, n_residents, n_events)
    points = np.zeros(n_events, dtype=np.int64)
    has_points = np.zeros(n_events, dtype=bool)
    for k, iid in enumerate(ids):
        rng_ = cat.indicators[iid].points_range
        if rng_:
            mask = ind == k
            lo, hi = cents(rng_[0]), cents(rng_[1])
            points[mask] = rng.integers(lo, hi + 1, int(mask.sum()))
            has_points |= mask
    events = pl.DataFrame({
        "event_id": np.arange(1, n_events + 1, dtype=np.int64),
        "resident_id": pl.Series(residents).cast(pl.String).str.zfill(7).str.replace(
            "^", "R"),
        "indicator": pl.Series(ids, dtype=pl.String).gather(ind),
        "occurred_on": pl.Series(days, dtype=pl.Int32).cast(pl.Date),
        "points": pl.Series(np.where(has_points, points, 0)),
        "agency": pl.Series([None] * n_events, dtype=pl.String),
    }).with_columns(points=pl.when(pl.Series(has_points)).then(pl.col("points")))
    pick = lambda share: np.sort(rng.choice(n_events, int(n_events * share),  # noqa: E731
                                            replace=False)) + 1
    voids = pl.DataFrame({"event_id": pick(0.005)})
    lift_ids = pick(0.002)
    lifts = events.filter(pl.col("event_id").is_in(lift_ids)).select(
        "event_id", lifted_on=pl.col("occurred_on").dt.offset_by("200d"))
    obj_ids = pick(0.001)
    objections = events.filter(pl.col("event_id").is_in(obj_ids)).select(
        objection_id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), event_id="event_id",
        filed_on=pl.col("occurred_on").dt.offset_by("30d"),
        decided_on=pl.when(pl.col("event_id") % 2 == 0).then(
            pl.col("occurred_on").dt.offset_by("60d")),
        outcome=pl.when(pl.col("event_id") % 4 == 0).then(pl.lit("upheld")).when(
            pl.col("event_id") % 2 == 0).then(pl.lit("rejected")))
    return LedgerData.build(events, voids, lifts, objections)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--residents", type=int, default=0, help="default: events / 10")
    ap.add_argument("--catalogue", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--series", action="store_true", help="also time score_series (12 dates)")
    ap.add_argument("--profile", action="store_true", help="cProfile one run")
    args = ap.parse_args(argv)
    cat_path = args.catalogue or default_catalogue()
    history = CatalogueHistory([load_catalogue(cat_path)])
    n_res = args.residents or max(args.events // 10, 1)
    t0 = time.perf_counter()
    data = generate(args.events, n_res, history)
    print(f"catalogue {cat_path.name}; generated {args.events:,} events / {n_res:,} residents "
          f"in {time.perf_counter() - t0:.2f}s", file=sys.stderr)
    as_of = date(history.versions[-1].effective_from.year + 8, 12, 31)
    # Wall time suffers when the machine is shared; CPU time (all threads) is steadier.
    best: dict[str, tuple[float, float]] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        took = (time.perf_counter() - w, time.process_time() - c)
        best[name] = min(best.get(name, took), took)
        return out

    for _ in range(args.repeat):
        prepared = timed("prepare", lambda: prepare(data, history))
        timed("evaluate (residents only)",
              lambda p=prepared: evaluate(p, as_of, detail=False))
        result = timed("evaluate (with events)", lambda p=prepared: evaluate(p, as_of))
    print(f"{args.events:,} events, {result.residents.height:,} residents, "
          f"{(result.events['points'] != 0).sum():,} events counting; best of {args.repeat}:")
    for name, (wall, cpu) in best.items():
        print(f"  {name:<28} {wall:6.3f}s wall  {cpu:6.3f}s cpu")
    wall = best["prepare"][0] + best["evaluate (residents only)"][0]
    cpu = best["prepare"][1] + best["evaluate (residents only)"][1]
    print(f"  {'score (as `scs score` runs)':<28} {wall:6.3f}s wall  {cpu:6.3f}s cpu")
    if args.series:
        months = [date(as_of.year - 1 + (m + 1) // 12, (m + 1) % 12 + 1, 1) for m in range(12)]
        t0, c0 = time.perf_counter(), time.process_time()
        score_series(data, history, months)
        print(f"  score_series(12 dates)       {time.perf_counter() - t0:6.3f}s wall  "
              f"{time.process_time() - c0:6.3f}s cpu")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (generation included): {peak:.0f} MB")
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("score(data, history, as_of)", {"score": score}, locals(),
                        "/tmp/kernel.prof")
        pstats.Stats("/tmp/kernel.prof").sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
