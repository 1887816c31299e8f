"""The benchmark suite for SPEC §8: `scs` against plain SQLite, DuckDB and a pandas peer.

For each size it generates an event file with `scs demo generate` (bundled Rongcheng
catalogue, 10 events per resident on average), imports it with `scs ledger import`, builds a
plain SQLite copy of the same events, and measures, each as the median of several runs of a
separate process (wall time, and peak RSS from the kernel's rusage of that process):

- `scs score` (every rule) against (a) the naive ``SUM(points) … JOIN … GROUP BY`` query run
  by the `sqlite3` shell, (b) the pandas peer (benchmarks/peer_pandas.py) and (c) the bare
  SQLite scan of the same columns, (d) DuckDB's naive sum in a fresh process on a
  DuckDB file of the same events (benchmarks/peer_duckdb.py), the columnar peer, and (e) the
  rules of the pandas peer written in DuckDB SQL on that file (peer_duckdb.py `rules`), whose
  scores are checked against `scs score` resident by resident as the pandas peer's are;
- `scs ledger import` (rows/s), `scs explain` for one resident, `scs report`, `scs --help`.

It writes benchmarks/results/<stamp>.json and .md (the machine, every figure, the ratios
for each SPEC §6 bar with PASS/FAIL) and prints the Markdown.

    python benchmarks/run.py --events 100000 1000000
    python benchmarks/run.py --events 1000000 5000000 10000000 --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CATALOGUE = "rongcheng-2016"
AS_OF = "2024-12-31"
SEED = 1

# SPEC §8 bars.
BAR_SQL_RATIO = 3.0  # naive SQL time / scs score time, at least
BAR_SCAN_RATIO = 1.5  # scs score time / bare scan time, at most
BAR_MEMORY = 1.5e9  # bytes, peak RSS of scs score
BAR_SCALING = 2.2  # score time at 10M / at 5M, at most
BAR_EXPLAIN = 0.3  # seconds
BAR_IMPORT = 30.0  # seconds for 5,000,000 rows
BAR_HELP = 0.3  # seconds
BAR_DUCKDB_RATIO = 2.0  # scs score time / DuckDB naive time, at most
BAR_REPORT_RATIO = 2.0  # scs report time / scs score time, at most
REFERENCE = 5_000_000  # the reference ledger


@dataclass
class Run:
    """One process run: wall seconds and peak resident memory (bytes)."""

    seconds: float
    max_rss: int


@dataclass
class Measure:
    """Several runs of one command, summarised by the median."""

    name: str
    command: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(r.max_rss for r in self.runs)

    def summary(self) -> dict[str, object]:
        return {"command": self.command, "median_s": round(self.median, 4),
                "runs_s": [round(r.seconds, 4) for r in self.runs],
                "peak_rss_mb": round(self.peak_rss / 1e6, 1)}


GNU_TIME = "/usr/bin/time"


def timed(cmd: list[str], *, stdin: Path | None = None, cwd: Path | None = None) -> Run:
    """Run ``cmd`` to completion: its wall time, and its own peak RSS.

    The peak comes from GNU time (``%M``), which forks the command from its own small
    process: the kernel's ru_maxrss of a child forked straight from this Python process
    would include this process's memory at the fork (Linux keeps the pre-exec high-water
    mark), inflating every figure by the runner's size.
    """
    wrap = os.path.exists(GNU_TIME)
    with tempfile.TemporaryFile() as errf, tempfile.NamedTemporaryFile("r") as rss, \
            (stdin.open("rb") if stdin else open(os.devnull, "rb")) as inf:
        full = [GNU_TIME, "-f", "%M", "-o", rss.name, *cmd] if wrap else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdin=inf, stdout=subprocess.DEVNULL, stderr=errf,
                                cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errf.seek(0)
            tail = errf.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"benchmark step failed (exit {proc.returncode}): "
                             f"{' '.join(cmd)}\n{tail}")
        lines = rss.read().split()
        kb = int(lines[-1]) if wrap and lines else usage.ru_maxrss
    return Run(seconds, kb * 1024)  # both report kilobytes


def measure(name: str, cmd: list[str], runs: int, *, stdin: Path | None = None,
            before: list[str] | None = None, log: bool = True) -> Measure:
    m = Measure(name, " ".join(cmd) + (f" < {stdin.name}" if stdin else ""))
    for _ in range(runs):
        if before:
            subprocess.run(before, check=True, stdout=subprocess.DEVNULL)
        m.runs.append(timed(cmd, stdin=stdin))
    if log:
        print(f"  {name}: median {m.median:.3f} s of {runs}, peak {m.peak_rss / 1e6:.0f} MB",
              file=sys.stderr, flush=True)
    return m


def measure_beside(first: tuple[str, list[str]], second: tuple[str, list[str]], runs: int
                   ) -> tuple[Measure, Measure]:
    """Two commands timed in turn, ``runs`` times each (a, b, a, b, …): a ratio of their
    medians is not moved by the shared machine's load drifting between two blocks of runs."""
    ma = Measure(first[0], " ".join(first[1]))
    mb = Measure(second[0], " ".join(second[1]))
    for _ in range(runs):
        ma.runs.append(timed(first[1]))
        mb.runs.append(timed(second[1]))
    for m in (ma, mb):
        print(f"  {m.name}: median {m.median:.3f} s of {runs}, peak {m.peak_rss / 1e6:.0f} MB",
              file=sys.stderr, flush=True)
    return ma, mb


def scs_bin() -> str:
    beside = Path(sys.executable).with_name("scs")
    return str(beside) if beside.exists() else (shutil.which("scs") or "scs")


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                      .splitlines() if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    import sqlite3

    import numpy
    import pandas
    import polars

    shell = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True)
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1), "os": platform.platform(),
        "python": platform.python_version(), "polars": polars.__version__,
        "numpy": numpy.__version__, "pandas": pandas.__version__,
        "sqlite_library": sqlite3.sqlite_version,
        "duckdb": _version("duckdb"),
        "sqlite_shell": shell.stdout.split()[0] if shell.stdout else "missing",
        "scs_commit": commit,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def _version(module: str) -> str:
    try:
        return str(__import__(module).__version__)
    except ImportError:
        return "missing"


def indicator_rows() -> list[tuple[str, float | None]]:
    """(indicator, fixed points) of the catalogue, for the plain `indicators` table."""
    sys.path.insert(0, str(ROOT))
    from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path

    cat = load_catalogue(resolve_catalogue_path(CATALOGUE))
    rows = []
    for ind in cat.indicators.values():
        fixed = ind.points if ind.points is not None else (
            ind.escalation[0] if ind.escalation else None)
        rows.append((ind.id, float(fixed) if fixed is not None else None))
    return rows


def build_plain(events_csv: Path, plain: Path) -> float:
    """The same events as a plain SQLite table (no index), loaded by the sqlite3 shell."""
    plain.unlink(missing_ok=True)
    values = ", ".join(f"('{iid}', {'NULL' if p is None else p})" for iid, p in
                       indicator_rows())
    script = f"""PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
CREATE TABLE staging(resident_id TEXT, indicator TEXT, occurred_on TEXT, agency TEXT,
                     reference TEXT, points TEXT);
.import --csv --skip 1 {events_csv} staging
CREATE TABLE plain_events(resident_id TEXT NOT NULL, indicator TEXT NOT NULL,
                          occurred_on TEXT NOT NULL, points REAL);
INSERT INTO plain_events SELECT resident_id, indicator, occurred_on,
    CAST(NULLIF(points, '') AS REAL) FROM staging;
DROP TABLE staging;
CREATE TABLE indicators(indicator TEXT PRIMARY KEY, points REAL);
INSERT INTO indicators VALUES {values};
VACUUM;
"""
    start = time.perf_counter()
    subprocess.run(["sqlite3", str(plain)], input=script, text=True, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def naive_sql(out: Path) -> str:
    # SPEC §6: the hand-written SUM … JOIN … GROUP BY, writing every resident's total as CSV
    # (as `scs score --output` writes every resident's score).
    return f""".mode csv
.headers on
.output {out}
SELECT e.resident_id, 1000 + SUM(COALESCE(e.points, i.points)) AS score
FROM plain_events AS e JOIN indicators AS i ON i.indicator = e.indicator
GROUP BY e.resident_id;
"""


SCAN_SQL = """SELECT count(*), sum(length(resident_id)), sum(length(indicator)), max(occurred_on)
FROM plain_events;
"""


def pick_residents(plain: Path) -> dict[str, str]:
    """A typical resident (median event count) and the busiest, for `scs explain`."""
    import sqlite3

    con = sqlite3.connect(plain)
    counts = con.execute("SELECT resident_id, count(*) AS n FROM plain_events "
                         "GROUP BY resident_id ORDER BY n, resident_id").fetchall()
    con.close()
    return {"typical": counts[len(counts) // 2][0], "busiest": counts[-1][0],
            "typical_events": counts[len(counts) // 2][1], "busiest_events": counts[-1][1]}


def compare_scores(scs_csv: Path, peer_csv: Path) -> dict[str, int]:
    """How many residents a peer (pandas, DuckDB rules) scores as scs does (same score and
    tier)."""
    import polars as pl

    a = pl.read_csv(scs_csv, schema_overrides={"score": pl.String})
    b = pl.read_csv(peer_csv, schema_overrides={"score": pl.String})
    j = a.join(b, on="resident_id", how="full", suffix="_peer", coalesce=True)
    same = j.filter((pl.col("score") == pl.col("score_peer"))
                    & (pl.col("tier") == pl.col("tier_peer"))).height
    return {"residents": a.height, "peer_residents": b.height, "agree": same}


def bench_size(events: int, args: argparse.Namespace, scs: str) -> dict[str, Any]:
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    residents = events // 10
    tag = f"{events // 1000}k" if events < 1_000_000 else f"{events / 1e6:g}M"
    csv_path = work / f"events-{tag}.csv"
    ledger = work / f"ledger-{tag}.sqlite"
    plain = work / f"plain-{tag}.sqlite"
    print(f"== {events:,} events, {residents:,} residents", file=sys.stderr, flush=True)
    res: dict[str, Any] = {"events": events, "residents": residents}
    m: dict[str, Measure] = {}

    m["generate"] = measure("generate", [
        scs, "demo", "generate", "--catalogue", CATALOGUE, "--residents", str(residents),
        "--events", str(events), "--seed", str(SEED), "--output", str(csv_path)], 1)

    init = [scs, "ledger", "init", str(ledger), "--catalogue", CATALOGUE]
    import_runs = args.import_runs or (3 if events <= 1_000_000 else 1)
    m["import"] = Measure("import", f"{scs} ledger import {ledger} {csv_path}")
    for _ in range(import_runs):
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{ledger}{suffix}").unlink(missing_ok=True)
        subprocess.run(init, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        m["import"].runs.append(timed([scs, "ledger", "import", str(ledger), str(csv_path)]))
    print(f"  import: median {m['import'].median:.2f} s of {import_runs} "
          f"({events / m['import'].median:,.0f} rows/s)", file=sys.stderr, flush=True)

    res["plain_build_s"] = round(build_plain(csv_path, plain), 2)
    sql_file = work / f"naive-{tag}.sql"
    sql_file.write_text(naive_sql(work / f"naive-scores-{tag}.csv"))
    scan_file = work / "scan.sql"
    scan_file.write_text(SCAN_SQL)
    runs = args.runs
    m["naive_sql"] = measure("naive SQL (sqlite3 shell)", ["sqlite3", str(plain)], runs,
                             stdin=sql_file)
    m["scan"] = measure("bare scan (sqlite3 shell)", ["sqlite3", str(plain)], runs,
                        stdin=scan_file)
    duck = work / f"duck-{tag}.duckdb"
    duck_rules_out = work / f"duck-rules-scores-{tag}.csv"
    if not (args.skip_duckdb and args.skip_duckdb_rules):
        from scs_cli.rules.schema import resolve_catalogue_path

        subprocess.run([sys.executable, str(HERE / "peer_duckdb.py"), "build", str(csv_path),
                        str(resolve_catalogue_path(CATALOGUE)), str(duck)], check=True)
    if not args.skip_duckdb:
        m["duckdb"] = measure("DuckDB naive (fresh process)", [
            sys.executable, str(HERE / "peer_duckdb.py"), "naive", str(duck),
            str(work / f"duck-scores-{tag}.csv")], runs)
    if not args.skip_duckdb_rules:
        m["duckdb_rules"] = measure("DuckDB rules (fresh process)", [
            sys.executable, str(HERE / "peer_duckdb.py"), "rules", str(duck),
            str(resolve_catalogue_path(CATALOGUE)), "--as-of", AS_OF, str(duck_rules_out)],
            args.peer_runs or runs)
    scores = work / f"scores-{tag}.csv"
    score_cmd = [scs, "score", str(ledger), "--as-of", AS_OF, "--output", str(scores)]
    # `scs ledger import` kept the prepared frame: the score an office runs after an import
    m["score"] = measure("scs score", score_cmd, runs)
    # the first score of rows no frame was kept for (after a void, say): prepares and keeps
    m["score_cold"] = measure("scs score, nothing kept (prepares, keeps)", score_cmd, runs,
                              before=["rm", "-rf", os.environ["SCS_CACHE_DIR"]])
    if not args.skip_pandas:
        peer_out = work / f"pandas-scores-{tag}.csv"
        from scs_cli.rules.schema import resolve_catalogue_path

        m["pandas"] = measure("pandas peer", [
            sys.executable, str(HERE / "peer_pandas.py"), str(plain),
            str(resolve_catalogue_path(CATALOGUE)), "--as-of", AS_OF, "--output",
            str(peer_out)], args.peer_runs or runs)
        res["pandas_agreement"] = compare_scores(scores, peer_out)
    if "duckdb_rules" in m:
        res["duckdb_rules_agreement"] = compare_scores(scores, duck_rules_out)

    who = pick_residents(plain)
    res["explain_residents"] = who
    explain_runs = max(9, runs)  # a third of a second each: more runs, a steadier median
    m["explain"] = measure(f"scs explain ({who['typical_events']} events)", [
        scs, "explain", str(ledger), str(who["typical"]), "--as-of", AS_OF], explain_runs)
    m["explain_busiest"] = measure(f"scs explain busiest ({who['busiest_events']} events)", [
        scs, "explain", str(ledger), str(who["busiest"]), "--as-of", AS_OF], explain_runs)
    report_dir = work / f"report-{tag}"
    if not args.skip_report:
        report_cmd = [scs, "report", str(ledger), "--as-of", AS_OF, "--output", str(report_dir)]
        # the frame the cold scores kept has no data-quality counts beside it (`scs ledger
        # import` keeps both): the first report counts them, once
        m["report_first"] = measure("scs report, counting data quality (first after a "
                                    "score)", report_cmd, 1)
        # timed in turn with score, so the ratio the bar reads is of the same minutes
        m["score_beside_report"], m["report"] = measure_beside(
            ("scs score (in turn with report)", score_cmd), ("scs report", report_cmd),
            args.report_runs or runs)
    res["measures"] = {k: v.summary() for k, v in m.items()}
    res["import_rows_per_s"] = round(events / m["import"].median)
    res["ledger_mb"] = round(ledger.stat().st_size / 1e6, 1)
    res["plain_mb"] = round(plain.stat().st_size / 1e6, 1)
    res["events_csv_mb"] = round(csv_path.stat().st_size / 1e6, 1)
    if not args.keep:
        for p in (csv_path, plain, sql_file):
            p.unlink(missing_ok=True)
    return res


def report_ratio(s: dict[str, Any]) -> float:
    """Report ÷ score, from the scores timed in turn with the reports (older results: the
    score measured before them)."""
    beside = "score_beside_report" if "score_beside_report" in s["measures"] else "score"
    return float(s["measures"]["report"]["median_s"]) / float(
        s["measures"][beside]["median_s"])


def verdicts(sizes: list[dict[str, Any]], help_s: float) -> list[dict[str, object]]:
    """Each SPEC §8 bar: the figure, the bar, PASS/FAIL (at the reference size if measured)."""
    by_size = {int(s["events"]): s for s in sizes}
    out: list[dict[str, object]] = []

    def med(s: dict[str, Any], key: str) -> float:
        return float(s["measures"][key]["median_s"])

    for n, s in sorted(by_size.items()):
        score = med(s, "score")
        sql_ratio = med(s, "naive_sql") / score
        scan_ratio = score / med(s, "scan")
        rss = float(s["measures"]["score"]["peak_rss_mb"]) * 1e6
        label = f"{n:,} events"
        out += [
            {"size": label, "bar": "score ≥ 3× faster than naive SQL",
             "figure": f"SQL takes {sql_ratio:.2f}× score's time",
             "pass": sql_ratio >= BAR_SQL_RATIO},
            {"size": label, "bar": "score within 1.5× of bare scan",
             "figure": f"score takes {scan_ratio:.2f}× the scan's time",
             "pass": scan_ratio <= BAR_SCAN_RATIO},
            *([{"size": label, "bar": "score within 2× of DuckDB's naive sum",
                "figure": f"score takes {score / med(s, 'duckdb'):.2f}× DuckDB's time",
                "pass": score / med(s, "duckdb") <= BAR_DUCKDB_RATIO}]
              if "duckdb" in s["measures"] else []),
            *([{"size": label, "bar": "report within 2× of score",
                "figure": f"report takes {report_ratio(s):.2f}× score's time (timed in turn)",
                "pass": report_ratio(s) <= BAR_REPORT_RATIO}]
              if "report" in s["measures"] else []),
            {"size": label, "bar": "score peak memory < 1.5 GB",
             "figure": f"{rss / 1e9:.2f} GB", "pass": rss < BAR_MEMORY},
            {"size": label, "bar": "explain one resident < 0.3 s",
             "figure": f"{med(s, 'explain'):.3f} s", "pass": med(s, "explain") < BAR_EXPLAIN},
        ]
        rate = float(s["import_rows_per_s"])
        projected = REFERENCE / rate
        out.append({"size": label, "bar": "import 5M rows < 30 s",
                    "figure": (f"{med(s, 'import'):.1f} s" if n == REFERENCE else
                               f"{rate:,.0f} rows/s → {projected:.1f} s for 5M (projected)"),
                    "pass": projected < BAR_IMPORT})
    if REFERENCE in by_size and 2 * REFERENCE in by_size:
        ratio = med(by_size[2 * REFERENCE], "score") / med(by_size[REFERENCE], "score")
        out.append({"size": "10M vs 5M", "bar": "10M events ≤ 2.2× the time of 5M",
                    "figure": f"{ratio:.2f}×", "pass": ratio <= BAR_SCALING})
    out.append({"size": "—", "bar": "scs --help < 0.3 s", "figure": f"{help_s:.3f} s",
                "pass": help_s < BAR_HELP})
    return out


def markdown(result: dict[str, Any]) -> str:
    mach = result["machine"]
    lines = [f"# scs benchmark, {result['stamp']}", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items()),
             "", f"Command: `{result['command']}`", "",
             "Median wall time in seconds (peak RSS in MB) of separate processes:", "",
             "| events | import (rows/s) | scs score | score, nothing kept | naive SQL "
             "| DuckDB naive | DuckDB rules | pandas peer "
             "| bare scan | SQL ÷ score (bar ≥ 3) | score ÷ scan (bar ≤ 1.5) "
             "| score ÷ DuckDB (bar ≤ 2) | score ÷ DuckDB rules "
             "| explain | explain busiest | report | score in turn with report "
             "| first report after a score |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in result["sizes"]:
        ms = s["measures"]

        def cell(key: str, rss: bool = False, ms: dict[str, Any] = ms) -> str:
            if key not in ms:
                return "—"
            text = f"{ms[key]['median_s']:.3f}"
            return text + (f" ({ms[key]['peak_rss_mb']:.0f} MB)" if rss else "")

        sql_ratio = ms["naive_sql"]["median_s"] / ms["score"]["median_s"]
        scan_ratio = ms["score"]["median_s"] / ms["scan"]["median_s"]
        duck_ratio = (f"{ms['score']['median_s'] / ms['duckdb']['median_s']:.2f}"
                      if "duckdb" in ms else "—")
        rules_ratio = (f"{ms['score']['median_s'] / ms['duckdb_rules']['median_s']:.2f}"
                       if "duckdb_rules" in ms else "—")
        lines.append(
            f"| {s['events']:,} | {ms['import']['median_s']:.2f} ({s['import_rows_per_s']:,}) "
            f"| {cell('score', True)} | {cell('score_cold', True)} "
            f"| {cell('naive_sql', True)} | {cell('duckdb', True)} "
            f"| {cell('duckdb_rules', True)} "
            f"| {cell('pandas', True)} | {cell('scan')} | {sql_ratio:.2f} | {scan_ratio:.2f} "
            f"| {duck_ratio} | {rules_ratio} "
            f"| {cell('explain')} | {cell('explain_busiest')} | {cell('report', True)} "
            f"| {cell('score_beside_report')} | {cell('report_first')} |")
    lines += ["", f"`scs --help`: {result['help_s']:.3f} s (median of "
              f"{result['help_runs']})", "", "| size | bar (SPEC §8) | figure | verdict |",
              "|---|---|---|---|"]
    for v in result["verdicts"]:
        lines.append(f"| {v['size']} | {v['bar']} | {v['figure']} | "
                     f"{'PASS' if v['pass'] else 'FAIL'} |")
    for s in result["sizes"]:
        for key, peer in (("pandas_agreement", "pandas peer"),
                          ("duckdb_rules_agreement", "DuckDB rules peer")):
            if key in s:
                a = s[key]
                lines.append(f"\n{peer} at {s['events']:,} events: same score and tier as "
                             f"`scs score` for {a['agree']:,} of {a['residents']:,} residents.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description="Benchmark scs against SQLite, DuckDB and "
                                 "pandas (SPEC §8).")
    ap.add_argument("--events", type=int, nargs="+", default=[100_000],
                    help="ledger sizes in events (10 per resident)")
    ap.add_argument("--runs", type=int, default=3, help="runs per timing (median)")
    ap.add_argument("--import-runs", type=int, default=0,
                    help="import runs (default 3 up to 1M events, else 1)")
    ap.add_argument("--peer-runs", type=int, default=0,
                    help="pandas and DuckDB rules runs (default --runs)")
    ap.add_argument("--report-runs", type=int, default=0, help="report runs (default --runs)")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--skip-report", action="store_true")
    ap.add_argument("--skip-duckdb", action="store_true",
                    help="leave out the DuckDB naive peer (needs `pip install duckdb`)")
    ap.add_argument("--skip-duckdb-rules", action="store_true",
                    help="leave out the DuckDB rules peer (needs `pip install duckdb`)")
    ap.add_argument("--workdir", default=str(HERE / "work"),
                    help="where ledgers and files go (gigabytes at 10M events)")
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--keep", action="store_true", help="keep event files and plain tables")
    args = ap.parse_args()
    if shutil.which("sqlite3") is None:
        raise SystemExit("the sqlite3 shell is needed (apt-get install sqlite3)")

    scs = scs_bin()
    # Kept prepared frames go to the work folder (never the user's cache), for every timed
    # process this script starts (docs/ledger.md, "The prepared-frame cache").
    os.environ["SCS_CACHE_DIR"] = str(Path(args.workdir).resolve() / "prepared-cache")
    os.environ.pop("SCS_CACHE", None)
    # An installed package has its bytecode compiled; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE (as on this project's machines) would otherwise recompile
    # scs's modules in every timed process (about 0.1 s each).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "scs_cli")],
                   check=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result: dict[str, Any] = {"stamp": stamp, "command": " ".join(["python", *sys.argv]),
                                 "machine": machine(), "as_of": AS_OF,
                                 "catalogue": CATALOGUE, "seed": SEED}
    help_runs = 10
    result["help_s"] = round(measure("scs --help", [scs, "--help"], help_runs).median, 4)
    result["help_runs"] = help_runs
    sizes = [bench_size(n, args, scs) for n in args.events]
    result["sizes"] = sizes
    result["verdicts"] = verdicts(sizes, float(result["help_s"]))
    result["machine"]["load_average_end"] = [
        round(x, 2) for x in os.getloadavg()]
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (results / f"{stamp}.md").write_text(md)
    print(md)
    print(f"results: {results / stamp}.json and .md", file=sys.stderr)


if __name__ == "__main__":
    main()
