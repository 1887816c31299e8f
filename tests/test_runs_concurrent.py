"""Runs saved while imports run verify later (SPEC §7 "Saved runs and stamps", issue 19
item 6): a run's known-at never covers a write it could not see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

from scs_cli.ledger.store import Ledger
from scs_cli.scoring.batch import score_ledger
from scs_cli.scoring.runs import verify_run

ROOT = Path(__file__).resolve().parent.parent


def event_file(path: Path, rows: int, prefix: str) -> Path:
    i = pl.int_range(0, rows)
    pl.select(
        resident_id=pl.format("R{}", i % 997),
        indicator=pl.when(i % 2 == 0).then(pl.lit("blood-donation")).otherwise(
            pl.lit("red-light")),
        occurred_on=(pl.lit(date(2021, 1, 1)) + pl.duration(days=i % 700)
                     ).dt.to_string("%Y-%m-%d"),
        agency=pl.lit("police"),
        reference=pl.format(f"{prefix}-{{}}", i),
    ).write_csv(path)
    return path


def test_runs_saved_during_imports_all_verify(tmp_path: Path, tiny_catalogue: Path) -> None:
    ledger = tmp_path / "city.db"
    Ledger.create(ledger, tiny_catalogue).close()
    files = [event_file(tmp_path / f"e{n}.csv", 40_000, f"F{n}") for n in range(4)]
    script = ("import sys\nfrom scs_cli.ledger.store import Ledger\n"
              "for f in sys.argv[2:]:\n"
              "    with Ledger.open(sys.argv[1]) as l:\n        l.import_file(f)\n")
    importer = subprocess.Popen([sys.executable, "-c", script, ledger, *files], cwd=ROOT,
                                env={**os.environ, "SCS_LOCK_TIMEOUT": "300"},
                                stderr=subprocess.PIPE, text=True)
    saved = []
    try:
        while importer.poll() is None or len(saved) < 3:
            run = score_ledger(ledger, date(2022, 12, 31), save=True)
            assert run.run_id is not None
            saved.append(run.run_id)
            time.sleep(0.01)
    finally:
        _, errors = importer.communicate(timeout=300)
    assert importer.returncode == 0, errors
    assert len(saved) >= 3
    with Ledger.open(ledger) as opened:
        assert opened._conn.execute("SELECT count(*) FROM events").fetchone()[0] == 160_000
    for run_id in saved:
        verification = verify_run(ledger, run_id)
        assert verification.unchanged, (run_id, verification)


def test_a_run_saved_inside_an_imports_window_verifies(tmp_path: Path, tiny_catalogue: Path,
                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The import is stamped when it takes the write lock and committed later; a run
    scored in between must not claim a known-at that covers the import's rows."""
    import threading

    from scs_cli.ledger import schema

    ledger = tmp_path / "city.db"
    Ledger.create(ledger, tiny_catalogue).close()
    first = event_file(tmp_path / "a.csv", 2_000, "A")
    with Ledger.open(ledger) as opened:
        opened.import_file(first)
    stamped = threading.Event()
    release = threading.Event()
    real = schema.next_stamp

    def slow_stamp(conn):  # type: ignore[no-untyped-def]
        value = real(conn)
        if threading.current_thread().name == "importer":
            stamped.set()
            release.wait(30)  # the rows become visible only after the reader has read
        return value

    monkeypatch.setattr(schema, "next_stamp", slow_stamp)
    second = event_file(tmp_path / "b.csv", 2_000, "B")

    def importing() -> None:
        with Ledger.open(ledger) as opened:
            opened.import_file(second)

    worker = threading.Thread(target=importing, name="importer")
    worker.start()
    assert stamped.wait(30)
    time.sleep(0.01)  # the reader's clock is past the import's stamp
    timer = threading.Timer(0.5, release.set)  # let the import commit while the run waits
    timer.start()
    run = score_ledger(ledger, date(2022, 12, 31), save=True)
    worker.join(60)
    assert run.run_id is not None
    verification = verify_run(ledger, run.run_id)
    assert verification.unchanged, verification
