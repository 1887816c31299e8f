"""Time `scs impact` against one `scs score` on the same ledger (issue 25: within 2.5×).

    python benchmarks/bench_impact.py                      # 200,000 events (development size)
    python benchmarks/bench_impact.py --events 5000000     # the issue's figure (the lead's run)

Generates events for the bundled Rongcheng 2016 catalogue with the demo generator
(``--events`` events, one resident per 10; the 2021 version scores only residents who
consent, and generated ledgers record no consents, so it would score no one), adopts it
into a ledger, then times, as
subprocesses (what an office runs) and alternating so that the machine's load falls on
both alike: `scs score LEDGER --as-of 2024-12-31` (its summary table) and `scs impact
LEDGER --reform rongcheng-2016 --as-of 2024-12-31 --format json` (the reform judges every
event by the 2016 rules: the same work as any reform). Then, in this process,
where the impact's time goes: reading the ledger, each side's `prepare` and `evaluate`,
and the figures. Prints medians and the ratio; writes
benchmarks/results/impact-<UTC stamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2024-12-31"


def _scs(*args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scs_cli", *args], capture_output=True,
                          text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"scs {' '.join(args[:3])} … failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def _breakdown(ledger: Path) -> dict[str, float | int]:
    """Where `impact_ledger`'s time goes, step by step (the same calls it makes)."""
    from scs_cli.engine.kernel import evaluate, prepare
    from scs_cli.impact.figures import Side, impact_figures
    from scs_cli.ledger.store import Ledger
    from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path
    from scs_cli.scoring.batch import what_if_history

    steps: dict[str, float | int] = {}
    scored: dict[str, int] = {}
    t = time.perf_counter()
    with Ledger.open(ledger) as led:
        known = datetime.now(UTC)
        history = led.history(known)
        data = led.scoring_data(known)
    steps["read the ledger"] = time.perf_counter() - t
    reform = what_if_history(load_catalogue(resolve_catalogue_path("rongcheng-2016")))
    sides = []
    for name, hist in (("baseline", history), ("reform", reform)):
        t = time.perf_counter()
        prepared = prepare(data, hist)
        steps[f"{name}: prepare"] = time.perf_counter() - t
        t = time.perf_counter()
        sides.append(Side(name, evaluate(prepared, date.fromisoformat(AS_OF), detail=False,
                                         tally=True)))
        steps[f"{name}: evaluate"] = time.perf_counter() - t
        scored[name] = sides[-1].result.residents.height
    steps["events"] = data.events.height
    steps.update({f"{k}: residents scored": v for k, v in scored.items()})
    t = time.perf_counter()
    impact_figures(sides[0], sides[1])
    steps["figures"] = time.perf_counter() - t
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-impact-"))
    work.mkdir(parents=True, exist_ok=True)
    # named by size: a work folder reused at another size never times the wrong ledger
    events, ledger = work / f"events-{args.events}.csv", work / f"city-{args.events}.db"
    if not ledger.exists():
        _scs("demo", "generate", "-c", "rongcheng-2016", "--output",
             str(events), "--residents", str(args.events // 10), "--events",
             str(args.events), "--seed", "1")
        _scs("ledger", "init", str(ledger), "--catalogue", "rongcheng-2016")
        _scs("ledger", "import", str(ledger), str(events))
    score, impact = [], []
    for _ in range(args.runs):  # alternating: a burst of load hits both
        score.append(_scs("score", str(ledger), "--as-of", AS_OF))
        impact.append(_scs("impact", str(ledger), "--reform", "rongcheng-2016", "--as-of",
                           AS_OF, "--format", "json"))
    steps = _breakdown(ledger)
    s, i = statistics.median(score), statistics.median(impact)
    result = {
        "events": args.events, "residents": args.events // 10, "runs": args.runs,
        "score_seconds": score, "impact_seconds": impact, "score_median": s,
        "impact_median": i, "ratio": i / s, "impact_steps": steps,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load": os.getloadavg()},
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{args.events:,} events: scs score {s:.2f} s, scs impact {i:.2f} s "
          f"(median of {args.runs}): {i / s:.2f}×")
    for name, seconds in steps.items():
        print(f"  {name:<28} " + (f"{seconds:.2f} s" if isinstance(seconds, float)
                                    else f"{seconds:,}"))
    out = ROOT / "benchmarks" / "results" / (
        "impact-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
