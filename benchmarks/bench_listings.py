"""Listings (SPEC §4a) against scoring on one generated ledger: the issue asks listings to
cost at most 10 % of `scs score`'s time. Run:

    .venv/bin/python benchmarks/bench_listings.py DIR [EVENTS]

Makes a ledger of EVENTS (default 200,000) generated events for Wuxi (every indicator enters
a list: the worst case for black lists) and times the listings on the kernel's prepared
events given the scoring's own evaluation (best of 5), against `scs score` itself (median of
3 processes, the prepared frame kept, as after an import) and against `score_ledger` in
process (best of 5); then the same with Shijiazhuang, whose red list is granted like a
reward (by that one evaluation), and with Rongcheng 2016 plus a court's list entered by its
three judgment rows (typical).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from scs_cli.engine.kernel import evaluate, prepare
from scs_cli.engine.listings import listings
from scs_cli.ledger.store import Ledger
from scs_cli.rules.taxonomy import bundled_dir
from scs_cli.scoring.batch import score_ledger

AS_OF = date(2024, 6, 30)
# the scs beside this Python (a venv's), else the one on PATH
SCS = str(Path(sys.executable).with_name("scs")) if Path(sys.executable).with_name(
    "scs").exists() else "scs"


def best(fn, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# A typical city: Rongcheng's 2016 catalogue (dozens of indicators) with the court's list
# entered by its three judgment rows.
COURT = """
[lists.court-judgments]
name = "Judgment debtors"
kind = "black"
entry = { indicators = ["contract-breach-judgment", "debt-judgment", "public-fee-judgment"] }
lasts = "2y"
"""


def main(folder: Path, events: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # kept prepared frames in the folder, never the user's cache (docs/ledger.md)
    os.environ.setdefault("SCS_CACHE_DIR", str(folder.resolve() / "prepared-cache"))
    rongcheng = folder / "rongcheng-listed.toml"
    rongcheng.write_text((bundled_dir() / "rongcheng-2016.toml").read_text(encoding="utf-8")
                         + COURT, encoding="utf-8")
    for name in ("wuxi-2019", "shijiazhuang-2020", str(rongcheng)):
        # named by size: a folder reused at another size never times the wrong ledger
        stem = f"{Path(name).stem}-{events}"
        csv, db = folder / f"{stem}.csv", folder / f"{stem}.db"
        if not db.exists():
            subprocess.run([SCS, "demo", "generate", "--catalogue", name, "--output", csv,
                            "--residents", str(events // 10), "--events", str(events)],
                           check=True)
            subprocess.run([SCS, "ledger", "init", db, "--catalogue", name], check=True)
            subprocess.run([SCS, "ledger", "import", db, csv], check=True)
        measure(Path(name).stem, db)


def measure(name: str, db: Path) -> None:
    """Best-of-5 times of scoring and of listings on one ledger."""
    score_ledger(db, AS_OF)  # the first score keeps the prepared frame (as an import does)
    t_ledger = best(lambda: score_ledger(db, AS_OF))  # what `scs score` computes
    t_command = median_command([SCS, "score", str(db), "--as-of", str(AS_OF), "--output",
                                str(db.with_suffix(".scores.csv"))])
    with Ledger.open(db) as ledger:
        data, history = ledger.scoring_data(), ledger.history()
    prep = prepare(data, history)
    scored = evaluate(prep, AS_OF, detail=False, lists=True)
    t_lists = best(lambda: listings(prep, data.repairs, AS_OF, scored=scored))
    listed = listings(prep, data.repairs, AS_OF, scored=scored).height
    print(f"{name}: {data.events.height:,} events, {listed:,} listings; listings "
          f"{t_lists:.3f} s = {100 * t_lists / t_command:.0f} % of `scs score` "
          f"({t_command:.3f} s, median of 3 processes), {100 * t_lists / t_ledger:.0f} % of "
          f"score_ledger in process ({t_ledger:.3f} s)", flush=True)


def median_command(cmd: list[str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 200_000)
