"""Real processes against one ledger: two imports at once, and an import killed midway."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from scs_cli.ledger.store import Ledger

ROOT = Path(__file__).resolve().parent.parent


def event_file(path: Path, rows: int, prefix: str) -> Path:
    """A valid Exampleton event file with unique (agency, reference) pairs."""
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


def scs_process(*args: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SCS_LOCK_TIMEOUT": "300"}
    return subprocess.Popen([sys.executable, "-m", "scs_cli", *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture
def ledger(tmp_path: Path, tiny_catalogue: Path) -> Path:
    path = tmp_path / "city.db"
    Ledger.create(path, tiny_catalogue).close()
    return path


def test_two_imports_at_once_both_land_whole(ledger: Path, tmp_path: Path) -> None:
    rows = 30_000
    files = [event_file(tmp_path / f"{p}.csv", rows, p) for p in ("a", "b")]
    procs = [scs_process("ledger", "import", ledger, f) for f in files]
    outcomes = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outcomes
    conn = sqlite3.connect(ledger)
    imports = conn.execute("SELECT file, imported, duplicates, first_event_id, last_event_id "
                           "FROM imports ORDER BY import_id").fetchall()
    assert sorted(i[0] for i in imports) == sorted(str(f) for f in files)
    assert [(i[1], i[2]) for i in imports] == [(rows, 0), (rows, 0)]
    assert imports[0][3:] == (1, rows) and imports[1][3:] == (rows + 1, 2 * rows)
    for file, _, _, first, last in imports:
        prefix = Path(file).stem
        # each import's ids are consecutive and in file order
        got = conn.execute("SELECT min(event_id), max(event_id), count(*) FROM events "
                           "WHERE reference LIKE ?", (f"{prefix}-%",)).fetchone()
        assert got == (first, last, rows)
        order = [int(r.split("-")[1]) for (r,) in conn.execute(
            "SELECT reference FROM events WHERE event_id BETWEEN ? AND ? ORDER BY event_id",
            (first, first + 4))]
        assert order == [0, 1, 2, 3, 4]
    assert conn.execute("SELECT count(*), count(DISTINCT agency || reference) FROM events"
                        ).fetchone() == (2 * rows, 2 * rows)
    conn.close()
    with Ledger.open(ledger) as opened:
        assert opened.verify().problems == []


def test_an_import_killed_midway_leaves_no_partial_rows(ledger: Path, tmp_path: Path):
    small = event_file(tmp_path / "small.csv", 10, "s")
    with Ledger.open(ledger) as opened:
        opened.import_file(small)
    big = event_file(tmp_path / "big.csv", 400_000, "b")
    proc = scs_process("ledger", "import", ledger, big)
    probe = sqlite3.connect(ledger, timeout=0, isolation_level=None)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:  # the import holds the write lock from validation to commit
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            except sqlite3.OperationalError:
                break
            time.sleep(0.02)
        time.sleep(0.5)  # well inside the transaction
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        probe.close()
    if proc.returncode == 0:
        pytest.skip("the import finished before it could be killed")
    assert proc.returncode == -signal.SIGKILL
    with Ledger.open(ledger) as opened:
        assert opened.scoring_data().events.height == 10
        assert opened.verify().problems == []
        again = opened.import_file(event_file(tmp_path / "after.csv", 5, "z"))
    assert (again.import_id, again.first_event_id, again.last_event_id) == (2, 11, 15)
    conn = sqlite3.connect(ledger)
    assert conn.execute("SELECT count(*) FROM events WHERE reference LIKE 'b-%'"
                        ).fetchone() == (0,)
