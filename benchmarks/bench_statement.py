"""Time `scs statement` for many residents: the HTML letters alone, then with their PDFs.

    python benchmarks/bench_statement.py                  # 1,000 letters (the issue's figure)
    python benchmarks/bench_statement.py --letters 100 --residents 2000

Generates a synthetic ledger for the bundled Rongcheng catalogue with the demo generator
(``--residents`` residents, 10 events each), picks ``--letters`` resident ids (the first
ones in sorted order), and runs `scs statement` as a subprocess (what an office runs) twice
into fresh folders: with ``--no-pdf`` (HTML only) and with PDFs (one headless Chromium
prints every letter). Prints wall times, letters per second and the output sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
        sys.exit(f"scs {' '.join(args[:3])} … failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done


def _size(folder: Path, suffix: str) -> tuple[int, int]:
    files = list(folder.glob(f"*{suffix}"))
    return len(files), sum(f.stat().st_size for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2024-12-31")
    parser.add_argument("--keep", type=Path, help="directory to keep the files in")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import polars as pl

    from scs_cli.demo.generate import generate_file

    work = args.keep or Path(tempfile.mkdtemp(prefix="scs-bench-statement-"))
    work.mkdir(parents=True, exist_ok=True)
    events = work / f"events-{args.residents}.csv"
    ledger = work / f"ledger-{args.residents}.db"
    if not ledger.exists():
        generate_file([ROOT / "catalogues" / "rongcheng-2016.toml"], args.residents,
                      args.residents * 10, args.seed, events)
        _scs("ledger", "init", str(ledger), "--catalogue",
             str(ROOT / "catalogues" / "rongcheng-2016.toml"))
        _scs("ledger", "import", str(ledger), str(events))
    ids = sorted(pl.read_csv(events, columns=["resident_id"])["resident_id"].unique()
                 .to_list())[: args.letters]

    figures: dict[str, object] = {
        "letters": len(ids), "residents": args.residents, "events": args.residents * 10,
        "as_of": args.as_of, "python": platform.python_version(),
        "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
    }
    for name, extra in (("html", ["--no-pdf"]), ("html+pdf", [])):
        out = work / f"out-{name}"
        if out.exists():
            for f in out.iterdir():
                f.unlink()
        seconds, done = _scs("statement", str(ledger), *ids, "--as-of", args.as_of,
                             "--output", str(out), *extra)
        if "PDFs skipped" in done.stderr:
            sys.exit("no chromium: " + done.stderr.strip().splitlines()[-2])
        html_n, html_bytes = _size(out, ".html")
        pdf_n, pdf_bytes = _size(out, ".pdf")
        figures[name] = {"seconds": round(seconds, 2),
                         "letters_per_second": round(len(ids) / seconds, 1),
                         "html_files": html_n, "html_mb": round(html_bytes / 1e6, 2),
                         "pdf_files": pdf_n, "pdf_mb": round(pdf_bytes / 1e6, 2)}
        print(f"{name:9} {len(ids):,} letters in {seconds:7.2f} s "
              f"({len(ids) / seconds:6.1f}/s); {html_n} HTML ({html_bytes / 1e6:.1f} MB), "
              f"{pdf_n} PDF ({pdf_bytes / 1e6:.1f} MB)")
    pdf_only = figures["html+pdf"]["seconds"] - figures["html"]["seconds"]  # type: ignore[index]
    figures["pdf_seconds_per_letter"] = round(pdf_only / len(ids), 4)
    figures["load_after"] = os.getloadavg()[0]
    print(f"printing alone: {pdf_only:.2f} s, {1000 * pdf_only / len(ids):.0f} ms a letter; "
          f"load average {figures['load_before']:.1f} → {figures['load_after']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
