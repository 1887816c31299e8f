"""Time `scs ledger import` (full validation) of a synthetic CSV of N events.

    python benchmarks/bench_import.py --events 500000
    python benchmarks/bench_import.py --events 5000000 --keep /tmp/bench

Generates N valid rows for the bundled Rongcheng catalogue with the demo generator
(`scs_cli.demo.generate`, 10 events per resident), creates a fresh ledger, and runs
`scs ledger import` as a subprocess (what a user runs), then a second import of the same
file (every row a duplicate) and `scs ledger verify`. Prints wall times, rows/s, the
ledger's size and the time `Ledger.scoring_data()` takes to read every event back.
SPEC §6 asks for 5,000,000 rows in under 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _scs(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scs_cli", *args], capture_output=True,
                          text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"scs {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--catalogue", default="rongcheng-2016")
    parser.add_argument("--keep", type=Path, help="directory to keep the files in")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from scs_cli.demo.generate import generate_file
    from scs_cli.ledger.store import Ledger

    work = args.keep or Path(tempfile.mkdtemp(prefix="scs-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    events_csv = work / f"events-{args.events}.csv"
    ledger = work / f"ledger-{args.events}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ledger}{suffix}").unlink(missing_ok=True)

    if not events_csv.exists():
        start = time.perf_counter()
        generate_file([args.catalogue], max(1, args.events // 10), args.events, args.seed,
                      events_csv)
        print(f"generated {events_csv} ({events_csv.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)

    _scs("ledger", "init", str(ledger), "--catalogue", args.catalogue)
    first, done = _scs("ledger", "import", str(ledger), str(events_csv))
    print(done.stderr.strip(), file=sys.stderr)
    # the same bytes again: refused unless --again, then every row a listed duplicate
    again, done = _scs("ledger", "import", str(ledger), str(events_csv), "--again")
    print(done.stderr.strip().splitlines()[-1], file=sys.stderr)
    verify, _ = _scs("ledger", "verify", str(ledger))

    with Ledger.open(ledger) as opened:
        start = time.perf_counter()
        data = opened.scoring_data()
        read = time.perf_counter() - start
    conn = sqlite3.connect(ledger)
    start = time.perf_counter()
    conn.execute("SELECT resident_id, indicator, occurred_on, points, agency FROM events"
                 ).fetchall()
    sql_read = time.perf_counter() - start
    conn.close()

    figures = {
        "events": args.events,
        "import_s": round(first, 2),
        "rows_per_s": round(args.events / first),
        "reimport_all_duplicates_s": round(again, 2),
        "verify_s": round(verify, 2),
        "scoring_data_s": round(read, 3),
        "sql_fetch_scoring_columns_s": round(sql_read, 2),
        "ledger_mb": round(ledger.stat().st_size / 1e6, 1),
        "csv_mb": round(events_csv.stat().st_size / 1e6, 1),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    assert data.events.height == args.events
    for key, value in figures.items():
        print(f"{key:30s} {value}")
    print(f"SPEC §6 import bar (5,000,000 rows < 30 s): "
          f"{args.events / first * 30 / 5e6:.2f}× the needed rate")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
