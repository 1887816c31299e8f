"""`scs explain` reads one resident through the `events` table's index (issue 23): only the
batches that hold the resident's events are read, each checked, and the rows are the batch's
own. These tests hold that path to the answer of reading every batch whole."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from scs_cli.ledger import batches
from scs_cli.ledger.store import Ledger, cutoff

# Three imports; with two events a batch, R1's and R2's events lie in several batches of
# several imports, R3's in one batch, R4 is recorded only by the last import.
IMPORTS = (
    """resident_id,indicator,occurred_on,agency,reference,note,points
R1,red-light,2023-01-05,police,p-1,,
R2,blood-donation,2023-03-01,hospital,h-1,,
R1,other,2023-02-05,court,c-1,late,-12.5
R3,dog,2023-04-01,police,p-2,,
R3,red-light,2023-04-02,police,p-3,,
""",
    """resident_id,indicator,occurred_on,agency,reference,note,points
R2,dog,2023-05-01,police,p-4,,
R1,blood-donation,2023-06-01,hospital,h-2,,
R2,red-light,2023-07-01,police,p-5,,
""",
    """resident_id,indicator,occurred_on,agency,reference,note,points
R4,dog,2023-08-01,police,p-6,,
R1,red-light,2023-09-01,police,p-7,,
""",
)


def _whole(conn: sqlite3.Connection, cut: str, resident_id: str) -> pl.DataFrame:
    """The resident's events from every batch decoded whole (what `score` reads)."""
    events, residents, indicators = batches.read_events(conn, cut)[:3]
    return events.join(residents, on="resident").filter(
        pl.col("resident_id") == resident_id).sort("event_id").select(
        "event_id", "resident_id",
        indicator=pl.lit(pl.Series(list(indicators) or [""], dtype=pl.String)
                         ).gather(pl.col("code")),
        occurred_on="occurred_on", points="points")


@pytest.fixture
def ledger(scs: Any, tiny_catalogue: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(batches, "BATCH_ROWS", 2)
    path = tmp_path / "city.db"
    assert scs("ledger", "init", path, "--catalogue", tiny_catalogue).exit_code == 0
    for number, text in enumerate(IMPORTS):
        csv = tmp_path / f"events-{number}.csv"
        csv.write_text(text, encoding="utf-8")
        result = scs("ledger", "import", path, csv)
        assert result.exit_code == 0, result.stderr
    return path


def _stamps(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(
            "SELECT DISTINCT recorded_at FROM event_batches ORDER BY 1")]


def test_the_ledger_has_residents_across_batches_and_imports(ledger: Path) -> None:
    with sqlite3.connect(ledger) as conn:
        spans = conn.execute("SELECT import_id, count(*) FROM event_batches "
                             "GROUP BY import_id").fetchall()
        held = dict(conn.execute(
            "SELECT e.resident_id, count(DISTINCT b.batch_id) FROM events e JOIN "
            "event_batches b ON e.event_id BETWEEN b.first_event_id AND b.last_event_id "
            "GROUP BY e.resident_id").fetchall())
    assert spans == [(1, 3), (2, 2), (3, 1)]
    assert held == {"R1": 4, "R2": 3, "R3": 2, "R4": 1}


@pytest.mark.parametrize("resident_id", ["R1", "R2", "R3", "R4", "R5", "r1", "R1'"])
def test_the_index_path_gives_what_reading_every_batch_gives(ledger: Path,
                                                             resident_id: str) -> None:
    with Ledger.open(ledger) as book:
        conn = book._conn
        for known_at in (None, datetime(2000, 1, 1),
                         *(datetime.fromisoformat(s) for s in _stamps(ledger))):
            cut = cutoff(known_at)
            mine = batches.read_resident(conn, cut, resident_id)
            whole = _whole(conn, cut, resident_id)
            assert mine.schema == whole.schema
            assert mine.equals(whole), (resident_id, known_at)
    # the ids the tests rest on are the ones in the files
    with Ledger.open(ledger) as book:
        ids = batches.read_resident(book._conn, cutoff(None), "R1")["event_id"].to_list()
    assert ids == [1, 3, 7, 10]


def _flip_a_byte(path: Path, batch_id: int) -> None:
    conn = sqlite3.connect(path)
    (blob,) = conn.execute("SELECT data FROM event_batches WHERE batch_id = ?",
                           (batch_id,)).fetchone()
    changed = bytearray(blob)
    changed[len(changed) // 2] ^= 0x01
    conn.execute("DROP TRIGGER event_batches_no_update")
    conn.execute("UPDATE event_batches SET data = ? WHERE batch_id = ?",
                 (bytes(changed), batch_id))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("batch_id", [4, 3])
def test_a_damaged_batch_is_refused_whoever_it_holds(ledger: Path, scs: Any,
                                                     batch_id: int) -> None:
    """Batch 4 holds events 6 (R2) and 7 (R1); batch 3 only event 5 (R3). Every batch
    recorded is checked, whether or not it holds the resident's events."""
    _flip_a_byte(ledger, batch_id)
    for resident_id in ("R1", "R2", "R3", "R4"):
        result = scs("explain", ledger, resident_id, "--as-of", "2024-06-01")
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == (
            f"error: {ledger}: event batch {batch_id} is damaged: its data bytes do not "
            "match the SHA-256 recorded with them; nothing was computed from it (restore "
            "the ledger from a backup; `scs ledger verify LEDGER` lists every problem)\n")


def test_a_damaged_residents_list_is_refused(ledger: Path, scs: Any) -> None:
    conn = sqlite3.connect(ledger)
    (blob,) = conn.execute("SELECT residents FROM event_batches WHERE batch_id = 6"
                           ).fetchone()
    conn.execute("DROP TRIGGER event_batches_no_update")
    conn.execute("UPDATE event_batches SET residents = ? WHERE batch_id = 6",
                 (blob[:-1] + bytes([blob[-1] ^ 1]),))
    conn.commit()
    conn.close()
    result = scs("explain", ledger, "R4", "--as-of", "2024-06-01")  # numbered by batch 6
    assert result.exit_code == 1
    assert "event batch 6 is damaged: its residents bytes do not match" in result.stderr


def _tamper_events(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("sql", [
    # the table no longer names R4 at all (no hint: every residents list is read)
    "UPDATE events SET resident_id = 'R9' WHERE event_id = 9",
    # the table says R4 was first recorded by import 1, whose list does not hold R4
    "UPDATE events SET resident_id = 'R4' WHERE event_id = 1",
    # and R1 loses an event in the table, and another moves out of its batch's range
    "UPDATE events SET resident_id = 'R2' WHERE event_id = 3",
    "UPDATE events SET event_id = 99 WHERE event_id = 10",
    "UPDATE events SET recorded_at = '9999' WHERE event_id = 1",
])
def test_an_events_table_edited_alone_changes_no_resident(ledger: Path, sql: str) -> None:
    """The `events` table only hints where to look: the batches decide."""
    with Ledger.open(ledger) as book:
        before = {r: batches.read_resident(book._conn, cutoff(None), r)
                  for r in ("R1", "R2", "R3", "R4", "R9")}
    _tamper_events(ledger, sql)
    with Ledger.open(ledger) as book:
        for resident_id, frame in before.items():
            assert batches.read_resident(book._conn, cutoff(None), resident_id).equals(
                frame), resident_id
    assert before["R4"]["event_id"].to_list() == [9]
    assert before["R9"].is_empty()


def test_the_connections_memory_map_setting_is_restored(ledger: Path) -> None:
    """The read maps the file only for itself (a map kept open would count toward a later
    whole-ledger score's memory)."""
    with Ledger.open(ledger) as book:
        conn = book._conn
        for setting in (0, 65536):
            conn.execute(f"PRAGMA mmap_size={setting}")
            (before,) = conn.execute("PRAGMA mmap_size").fetchone()
            assert batches.read_resident(conn, cutoff(None), "R1").height == 4
            assert conn.execute("PRAGMA mmap_size").fetchone() == (before,)
