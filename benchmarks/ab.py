"""Two builds of scs, timed interleaved on the same ledgers: is the new one slower?

Each round runs every step once with build A, then once with build B, so that load on a
shared machine falls on both alike; the medians are compared. Each build scores its own
copy of the same generated events (made by `benchmarks/run.py --keep`-style work folders).

    python benchmarks/ab.py --a OLD_VENV/bin/scs --a-ledger OLD.sqlite \
        --b .venv/bin/scs --b-ledger NEW.sqlite --resident R0000042 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

AS_OF = "2024-12-31"


def steps(ledger: str, resident: str, out: Path) -> dict[str, list[str]]:
    return {
        "score": ["score", ledger, "--as-of", AS_OF, "--format", "csv"],
        "explain": ["explain", ledger, resident, "--as-of", AS_OF],
        "report": ["report", ledger, "--as-of", AS_OF, "--output", str(out)],
    }


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="build A's scs executable")
    parser.add_argument("--a-ledger", required=True)
    parser.add_argument("--b", required=True, help="build B's scs executable")
    parser.add_argument("--b-ledger", required=True)
    parser.add_argument("--resident", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        builds = {"A": (args.a, args.a_ledger), "B": (args.b, args.b_ledger)}
        times: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for name, (scs, ledger) in builds.items():
                out = Path(tmp) / f"{name}{round_}"
                for step, argv in steps(ledger, args.resident, out).items():
                    times.setdefault((name, step), []).append(timed([scs, *argv]))
        print("| step | A median s | B median s | B ÷ A |")
        print("|---|---|---|---|")
        for step in ("score", "explain", "report"):
            a = statistics.median(times[("A", step)])
            b = statistics.median(times[("B", step)])
            print(f"| {step} | {a:.3f} | {b:.3f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
