"""Notes in the chain (issue 19 item 11; SPEC §7: the chain covers every column of every
row): since schema step 0004 each event batch's hashed `sources` blob holds its events'
notes, so a note edited in the `events` table is named by `verify`. A ledger made before
that step opens, verifies, scores and exports as it is; its earlier notes stay unproven
(docs/ledger.md), the notes of everything imported after the step are covered."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from older_builds import before_noted_batches  # noqa: E402

from scs_cli.ledger.store import Ledger  # noqa: E402

EVENTS = """resident_id,indicator,occurred_on,agency,reference,note,points
R1,red-light,2023-01-05,police,p-1,first note,
R2,blood-donation,2023-03-01,hospital,h-1,,
"""
LATER = """resident_id,indicator,occurred_on,agency,reference,note,points
R1,dog,2023-04-01,police,p-2,second note,
"""


@pytest.fixture
def older(tmp_path: Path, tiny_catalogue: Path) -> Path:
    """A ledger made, and its events imported, by a build before schema step 0004."""
    path = tmp_path / "old.db"
    (tmp_path / "events.csv").write_text(EVENTS, encoding="utf-8")
    with before_noted_batches(), Ledger.create(path, tiny_catalogue) as ledger:
        ledger.import_file(tmp_path / "events.csv")
    return path


def by_hand(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute(sql)
    conn.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
                 "BEGIN SELECT RAISE(ABORT, 'append-only'); END")
    conn.commit()
    conn.close()


def migrations(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [n for (n,) in conn.execute("SELECT name FROM migrations ORDER BY rowid")]
    finally:
        conn.close()


def test_a_new_batch_holds_its_notes_in_its_hashed_sources(tiny_ledger) -> None:  # type: ignore[no-untyped-def]
    path = tiny_ledger(EVENTS)
    conn = sqlite3.connect(path)
    blob, = conn.execute("SELECT sources FROM event_batches").fetchone()
    conn.close()
    assert pl.read_ipc_stream(io.BytesIO(blob)).to_dicts() == [
        {"agency": "police", "reference": "p-1", "note": "first note"},
        {"agency": "hospital", "reference": "h-1", "note": None}]


def test_an_older_ledger_verifies_and_scores_and_its_notes_stay_unproven(
        older: Path, scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "0004_noted_batches" not in migrations(older)
    assert scs("ledger", "verify", older).exit_code == 0  # migrated on opening: one more row
    assert migrations(older)[-1] == "0004_noted_batches"
    assert scs("score", older, "--as-of", "2024-01-01").exit_code == 0
    # what docs/ledger.md says: a note of a batch recorded before the step is not covered
    by_hand(older, "UPDATE events SET note = 'rewritten' WHERE event_id = 1")
    assert scs("ledger", "verify", older).exit_code == 0
    # an import after the step is covered
    (tmp_path / "later.csv").write_text(LATER, encoding="utf-8")
    assert scs("ledger", "import", older, tmp_path / "later.csv").exit_code == 0
    assert scs("ledger", "verify", older).exit_code == 0
    by_hand(older, "UPDATE events SET note = 'rewritten' WHERE event_id = 3")
    result = scs("ledger", "verify", older)
    assert result.exit_code == 1
    assert (f"error: {older}: events table and batches disagree on 1 event(s), first 3 (its "
            "note in the events table") in result.stderr


def test_an_older_ledger_exports_a_dataset_that_proves_itself(
        older: Path, scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "later.csv").write_text(LATER, encoding="utf-8")
    assert scs("ledger", "import", older, tmp_path / "later.csv").exit_code == 0
    head = scs("ledger", "head", older).stdout.strip()
    folder = tmp_path / "dataset"
    assert scs("ledger", "export", older, "--format", "parquet", "--output", folder
               ).exit_code == 0
    result = scs("ledger", "verify", folder, "--head", head)
    assert result.exit_code == 0, result.stderr
    events = pl.read_parquet(folder / "events" / "**" / "*.parquet").sort("event_id")
    assert events["note"].to_list() == ["first note", None, "second note"]
