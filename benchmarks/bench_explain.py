"""`scs explain` of two builds, interleaved on one ledger: a typical resident, the busiest and
an unknown id (issue 23).

Each round runs every resident once with build A, then once with build B, each a fresh
`python -m scs_cli` whose PYTHONPATH is the build's source folder (run from a folder holding
neither, so that the current directory does not shadow them); the medians are compared.
The residents are picked from the ledger's `events` table as `benchmarks/run.py` picks them.

    python benchmarks/bench_explain.py --a /path/to/main --b . \\
        --ledger /tmp/bench-final/ledger-5M.sqlite --rounds 7
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2024-12-31"


def residents(ledger: str) -> dict[str, str]:
    """The median resident by number of events, the busiest, and an id no one has."""
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    counts = conn.execute("SELECT resident_id, count(*) AS n FROM events "
                          "GROUP BY resident_id ORDER BY n, resident_id").fetchall()
    conn.close()
    return {f"typical ({counts[len(counts) // 2][1]} events)": counts[len(counts) // 2][0],
            f"busiest ({counts[-1][1]} events)": counts[-1][0], "unknown id": "NO-SUCH-ID"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="build A's source folder (PYTHONPATH)")
    parser.add_argument("--b", required=True, help="build B's source folder (PYTHONPATH)")
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    builds = {"A": str(Path(args.a).resolve()), "B": str(Path(args.b).resolve())}
    who = residents(args.ledger)
    load = [os.getloadavg()]
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as elsewhere:
        for _ in range(args.rounds):
            for label, resident in who.items():
                for name, path in builds.items():
                    start = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "scs_cli", "explain", args.ledger,
                                    resident, "--as-of", AS_OF], cwd=elsewhere,
                                   env={**os.environ, "PYTHONPATH": path},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    times.setdefault((label, name), []).append(time.perf_counter() - start)
    load.append(os.getloadavg())
    print(f"load average {load[0][0]:.1f} at start, {load[1][0]:.1f} at end; "
          f"medians of {args.rounds}")
    print("| resident | A median s | B median s | B ÷ A |")
    print("|---|---|---|---|")
    for label in who:
        a = statistics.median(times[(label, "A")])
        b = statistics.median(times[(label, "B")])
        print(f"| {label} | {a:.3f} | {b:.3f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
