"""Beyond one machine, measured: `scs score` on a ledger, on its dataset, and on Spark.

For each size it generates an event file with `scs demo generate` (bundled Rongcheng
catalogue, 10 events per resident), imports it, exports the dataset
(`scs ledger export --format parquet`), checks that the three ways give byte-identical CSV,
and times, each as the median of several runs of a separate process (wall time and peak
RSS, as benchmarks/run.py does):

- `scs score LEDGER` (this machine, both cores);
- `scs score DIR` (this machine, reading the dataset);
- `scs score DIR --engine spark --master local[2]` (a whole Spark application: JVM start,
  session, one job, stop);
- Spark's fixed overhead: the same command on a dataset of 100 events;
- the Spark job alone, warm: inside one application, the second job of the same city
  (what each further city of a multi-city run costs), from which the per-core throughput
  on Spark follows.

The machine is shared: the load average is recorded before and after every measure.
It writes benchmarks/results/spark-<stamp>.json and .md and prints the Markdown.

    python benchmarks/bench_spark.py --events 1000000
    python benchmarks/bench_spark.py --events 1000000 5000000 --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import Measure, machine, scs_bin, timed  # noqa: E402

AS_OF = "2024-12-31"
CATALOGUE = "rongcheng-2016"
SEED = 1
CORES = 2  # local[2], and the cores `scs score` uses on this machine

WARM_JOB = """
import sys, time
from datetime import date, datetime, UTC
from scs_cli.scale.spark import score_on_spark, spark_session
spark = spark_session("local[2]", app="scs bench")
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    score_on_spark([sys.argv[1]], date.fromisoformat(sys.argv[3]), datetime.now(UTC),
                   spark=spark)
    times.append(time.perf_counter() - start)
spark.stop()
print(" ".join(f"{t:.4f}" for t in times))
"""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measured(name: str, cmd: list[str], runs: int) -> dict[str, Any]:
    before = load()
    m = Measure(name, " ".join(cmd))
    for _ in range(runs):
        m.runs.append(timed(cmd))
    print(f"  {name}: median {m.median:.2f} s of {runs} (load {before} → {load()})",
          file=sys.stderr, flush=True)
    return {**m.summary(), "load_before": before, "load_after": load()}


def prepare(work: Path, events: int, scs: str) -> tuple[Path, Path, dict[str, float]]:
    """Generate, import and export one size; return (ledger, dataset, seconds taken)."""
    csv, ledger, dataset = work / f"e{events}.csv", work / f"l{events}.db", work / f"d{events}"
    took: dict[str, float] = {}
    for name, cmd in (
        ("generate", [scs, "demo", "generate", "-c", CATALOGUE, "-n", str(events // 10),
                      "-m", str(events), "--seed", str(SEED), "-o", str(csv)]),
        ("init", [scs, "ledger", "init", str(ledger), "--catalogue", CATALOGUE]),
        ("import", [scs, "ledger", "import", str(ledger), str(csv)]),
        ("export", [scs, "ledger", "export", str(ledger), "--format", "parquet",
                    "--output", str(dataset)]),
    ):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took[name] = round(time.perf_counter() - start, 2)
    csv.unlink()
    return ledger, dataset, took


def same_csv(scs: str, ledger: Path, dataset: Path) -> bool:
    outputs = []
    for target, extra in ((ledger, []), (dataset, []),
                          (dataset, ["--engine", "spark", "--master", "local[2]"])):
        done = subprocess.run([scs, "score", str(target), "--as-of", AS_OF, "-f", "csv",
                               *extra], check=True, capture_output=True)
        outputs.append(done.stdout)
    return outputs[0] == outputs[1] == outputs[2]


def warm_jobs(dataset: Path, runs: int) -> list[float]:
    done = subprocess.run([sys.executable, "-c", WARM_JOB, str(dataset), str(runs + 1), AS_OF],
                          check=True, capture_output=True, text=True)
    return [float(t) for t in done.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder (default: a temporary one, removed after)")
    args = parser.parse_args()
    scs = scs_bin()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "scs_cli")],
                   check=True)
    report: dict[str, Any] = {"machine": machine(), "as_of": AS_OF, "sizes": []}
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        tiny_ledger, tiny, _ = prepare(work, 100, scs)
        print("Spark's fixed overhead (100 events):", file=sys.stderr)
        overhead = measured("spark, 100 events", [scs, "score", str(tiny), "--as-of", AS_OF,
                                                  "-f", "csv", "--engine", "spark",
                                                  "--master", "local[2]"], args.runs)
        report["spark_overhead"] = overhead
        for events in args.events:
            print(f"{events:,} events:", file=sys.stderr)
            ledger, dataset, took = prepare(work, events, scs)
            size: dict[str, Any] = {"events": events, "residents": events // 10,
                                    "prepare_s": took,
                                    "dataset_mb": round(sum(f.stat().st_size for f in
                                                            dataset.rglob("*")) / 1e6, 1),
                                    "ledger_mb": round(ledger.stat().st_size / 1e6, 1)}
            size["identical_csv"] = same_csv(scs, ledger, dataset)
            base = [scs, "score"]
            tail = ["--as-of", AS_OF, "-f", "csv", "-o", str(work / "out.csv")]
            size["ledger"] = measured("scs score LEDGER", [*base, str(ledger), *tail],
                                      args.runs)
            size["dataset"] = measured("scs score DIR", [*base, str(dataset), *tail],
                                       args.runs)
            size["spark"] = measured("scs score DIR --engine spark (local[2])",
                                     [*base, str(dataset), *tail, "--engine", "spark",
                                      "--master", "local[2]"], args.runs)
            jobs = warm_jobs(dataset, args.runs)
            size["spark_jobs_s"] = jobs  # the first is cold (workers start, import Polars)
            warm = sorted(jobs[1:])[len(jobs[1:]) // 2]
            size["spark_warm_job_s"] = warm
            for key in ("ledger", "dataset", "spark"):
                size[key]["events_per_s_per_core"] = round(
                    events / size[key]["median_s"] / CORES)
            size["spark_warm_events_per_s_per_core"] = round(events / warm / CORES)
            print(f"  warm Spark jobs: {jobs}", file=sys.stderr, flush=True)
            report["sizes"].append(size)
            for path in (ledger, ledger.with_name(ledger.name + "-wal")):
                path.unlink(missing_ok=True)
    report["load_end"] = load()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"spark-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# scs on Spark: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB",
             "", f"Load average at start {m['load_average_start']}, at end "
             f"{report['load_end']} (a shared machine: other work ran too).", "",
             f"Spark's fixed overhead (a whole `--engine spark` run on 100 events): "
             f"{report['spark_overhead']['median_s']:.1f} s.", "",
             "| events | way | median s | events/s/core | peak RSS MB | load before → after |",
             "|---:|---|---:|---:|---:|---|"]
    for s in report["sizes"]:
        for key, name in (("ledger", "`scs score LEDGER`"), ("dataset", "`scs score DIR`"),
                          ("spark", "`--engine spark` local[2], whole run")):
            r = s[key]
            lines.append(f"| {s['events']:,} | {name} | {r['median_s']:.2f} | "
                         f"{r['events_per_s_per_core']:,} | {r['peak_rss_mb']:.0f} | "
                         f"{r['load_before']} → {r['load_after']} |")
        lines.append(f"| {s['events']:,} | Spark job alone, warm (median of "
                     f"{len(s['spark_jobs_s']) - 1}) | {s['spark_warm_job_s']:.2f} | "
                     f"{s['spark_warm_events_per_s_per_core']:,} | | |")
    lines.append("")
    for s in report["sizes"]:
        lines.append(f"- {s['events']:,} events: ledger {s['ledger_mb']} MB, dataset "
                     f"{s['dataset_mb']} MB; import {s['prepare_s']['import']} s, export "
                     f"{s['prepare_s']['export']} s; identical CSV on all three: "
                     f"{s['identical_csv']}; Spark jobs in one application "
                     f"{s['spark_jobs_s']} s (first cold).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
