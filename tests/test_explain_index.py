"""`scs explain` reads one resident through the `events` table's index (issue 23): every
batch is checked, only the record batches that hold the resident's events are decoded beyond
their resident column, and the rows are the batch's own. These tests hold that path to the
answer of reading every batch whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_tamper import flip_a_byte

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


def imported(scs: Any, catalogue: Path, tmp_path: Path,
             after: Callable[[int, Path], None] | None = None) -> Path:
    """A ledger of `IMPORTS`, imported one by one (``after(number, path)`` following each)
    into batches of two events (set `batches.BATCH_ROWS` first)."""
    path = tmp_path / "city.db"
    assert scs("ledger", "init", path, "--catalogue", catalogue).exit_code == 0
    for number, text in enumerate(IMPORTS):
        csv = tmp_path / f"events-{number}.csv"
        csv.write_text(text, encoding="utf-8")
        result = scs("ledger", "import", path, csv)
        assert result.exit_code == 0, result.stderr
        if after is not None:
            after(number, path)
    return path


@pytest.fixture
def ledger(scs: Any, tiny_catalogue: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(batches, "BATCH_ROWS", 2)
    return imported(scs, tiny_catalogue, tmp_path)


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


@pytest.mark.parametrize("batch_id", [4, 3])
def test_a_damaged_batch_is_refused_whoever_it_holds(ledger: Path, scs: Any,
                                                     batch_id: int) -> None:
    """Batch 4 holds events 6 (R2) and 7 (R1); batch 3 only event 5 (R3). Every batch
    recorded is checked, whether or not it holds the resident's events."""
    flip_a_byte(ledger, batch_id)
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
            for decode in (True, False):  # read early, whether it found a hint or not
                early = _early(ledger, resident_id, None, decode)
                assert batches.read_resident(book._conn, cutoff(None), resident_id,
                                             early).equals(frame), (resident_id, decode)
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


def _joined(frames: list[pl.DataFrame], write: Any = batches._stream) -> bytes:
    """One IPC stream of several record batches, one a frame (Polars itself joins small
    chunks into one record batch and splits only large frames): the first frame's stream
    without its end, then each other's record batch, without its schema message (the
    first message: continuation, its length, no body), then the end of the stream."""
    streams = [write(frame) for frame in frames]
    schema = 8 + int.from_bytes(streams[0][4:8], "little")
    return b"".join([streams[0][:-8], *(s[schema:-8] for s in streams[1:]), streams[0][-8:]])


def test_a_stream_splits_into_its_record_batches() -> None:
    """Each part is a whole stream of one record batch; read together they are the stream."""
    frame = pl.DataFrame({"event_id": range(10), "resident": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3],
                          "note": ["a", None, "c", "d", None, "f", "g", "h", "i", "j"]},
                         schema_overrides={"resident": pl.Int32})
    stream = _joined([frame.slice(0, 4), frame.slice(4, 1), frame.slice(5, 5)])
    assert pl.read_ipc_stream(stream).equals(frame)
    parts = list(batches.record_batches(stream))
    assert [pl.read_ipc_stream(p).height for p in parts] == [4, 1, 5]
    assert pl.concat([pl.read_ipc_stream(p) for p in parts]).equals(frame)
    assert pl.read_ipc_stream(parts[2], columns=["resident"])["resident"].to_list() == [
        9, 2, 6, 5, 3]
    # as Polars writes a large batch: in several record batches
    large = pl.DataFrame({"resident": pl.int_range(600_000, eager=True, dtype=pl.Int32)})
    parts = list(batches.record_batches(batches._stream(large)))
    assert len(parts) > 1
    assert pl.concat([pl.read_ipc_stream(p) for p in parts]).equals(large)


@pytest.mark.parametrize("cut", [0, 7, -8, -9])
def test_a_stream_the_splitter_does_not_know_is_read_whole(cut: int) -> None:
    """Bytes that are not a schema and record batches ended as a stream ends (here cut
    short or padded) are handed back whole, for the reader to read or refuse."""
    stream = _joined([pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [3]})])
    assert len(list(batches.record_batches(stream))) == 2
    odd = stream + bytes(8) if cut == 0 else stream[:cut]
    assert list(batches.record_batches(odd)) == [odd]


@pytest.fixture
def pieced(scs: Any, tiny_catalogue: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same imports, in batches of five rows written as record batches of two rows (a
    large import's batches hold several record batches: the 5M ledger's, three each)."""
    monkeypatch.setattr(batches, "BATCH_ROWS", 5)
    whole = batches._stream

    def in_pieces(frame: pl.DataFrame) -> bytes:
        if frame.height < 2:
            return whole(frame)
        return _joined([frame.slice(at, 2) for at in range(0, frame.height, 2)], whole)

    monkeypatch.setattr(batches, "_stream", in_pieces)
    path = tmp_path / "pieced.db"
    assert scs("ledger", "init", path, "--catalogue", tiny_catalogue).exit_code == 0
    rows = [line for text in IMPORTS for line in text.splitlines()[1:]]
    for number, lines in enumerate((rows[:7], rows[7:])):
        csv = tmp_path / f"pieced-{number}.csv"
        csv.write_text(IMPORTS[0].splitlines()[0] + "\n" + "\n".join(lines) + "\n",
                       encoding="utf-8")
        result = scs("ledger", "import", path, csv)
        assert result.exit_code == 0, result.stderr
    return path


@pytest.mark.parametrize("resident_id", ["R1", "R2", "R3", "R4", "R5"])
def test_record_batch_by_record_batch_gives_what_reading_every_batch_gives(
        pieced: Path, resident_id: str) -> None:
    with Ledger.open(pieced) as book:
        conn = book._conn
        blobs = [b for (b,) in conn.execute("SELECT data FROM event_batches")]
        # imports of 7 and 3 rows: batches of 5, 2 and 3 rows, in parts of 2, 2, 1 | 2 | 2, 1
        assert [len(list(batches.record_batches(b))) for b in blobs] == [3, 1, 2]
        for known_at in (None, *(datetime.fromisoformat(s) for s in _stamps(pieced))):
            cut = cutoff(known_at)
            mine = batches.read_resident(conn, cut, resident_id)
            assert mine.equals(_whole(conn, cut, resident_id)), (resident_id, known_at)
        ids = batches.read_resident(conn, cutoff(None), "R1")["event_id"].to_list()
    assert ids == [1, 3, 7, 10]  # in parts 1 and 2 of batch 1, and the last part of 3


def test_a_damaged_batch_is_refused_while_the_number_is_looked_up(
        ledger: Path, scs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow residents list does not let a damaged batch through: every batch is checked
    before any part of it is read, whether or not the resident's number is known yet."""
    import threading

    flip_a_byte(ledger, 1)
    release = threading.Event()
    found = batches._number_in

    def slow(*args: Any, **check: bool) -> int | None:
        release.wait(5)
        return found(*args, **check)

    monkeypatch.setattr(batches, "_number_in", slow)
    with Ledger.open(ledger) as book, pytest.raises(batches.DamagedBatch) as refused:
        try:
            batches.read_resident(book._conn, cutoff(None), "R1")
        finally:
            release.set()
    assert refused.value.batch_id == 1


@pytest.mark.parametrize("resident_id", ["R1", "R4"])
def test_explain_reads_beside_or_after_the_catalogue_alike(ledger: Path, resident_id: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The resident read on a thread of its own (beside the catalogue versions and the
    engine's import) or, where SQLite is not built serialized, after them: one answer."""
    from datetime import date

    from scs_cli.core.errors import LedgerError
    from scs_cli.explain import explain as explaining

    beside = explaining.explain_ledger(ledger, resident_id, date(2024, 6, 1))
    monkeypatch.setattr(explaining, "THREADS_SHARE_A_CONNECTION", False)
    after = explaining.explain_ledger(ledger, resident_id, date(2024, 6, 1))
    assert beside == after
    assert [e.event_id for e in after.events] == ([1, 3, 7, 10] if resident_id == "R1" else [9])
    with pytest.raises(LedgerError, match="no resident 'R9'"):
        explaining.explain_ledger(ledger, "R9", date(2024, 6, 1))


# --- the early read (`ledger.early`): read and checked before Polars is loaded ----------

def _early(path: Path, resident_id: str, known_at: datetime | None,
           decode: bool = True) -> Any:
    from scs_cli.ledger.early import EarlyRead

    early = EarlyRead(path, resident_id, known_at)
    if decode:
        early.decode()
    return early.result()


@pytest.mark.parametrize("resident_id", ["R1", "R2", "R4", "R5"])
def test_the_early_read_gives_the_usual_rows_at_its_own_cut(ledger: Path,
                                                            resident_id: str) -> None:
    """Read early at each known-at: the batches recorded by that cut, and the rows of
    reading every batch whole at that cut, whether the early read's thread decoded them
    or `read_resident` decodes its checked blobs."""
    with Ledger.open(ledger) as book:
        conn = book._conn
        for known_at in (None, datetime(2000, 1, 1),
                         *(datetime.fromisoformat(s) for s in _stamps(ledger))):
            cut = cutoff(known_at)
            recorded = [b for (b,) in conn.execute(
                "SELECT batch_id FROM event_batches WHERE recorded_at <= ? ORDER BY 1", (cut,))]
            whole = _whole(conn, cut, resident_id)
            for decode in (True, False):
                early = _early(ledger, resident_id, known_at, decode)
                assert early is not None and early.cut == cut
                if early.hint is None:  # the events table has no row: no batch read yet
                    assert early.batches is None and whole.is_empty()
                else:
                    assert [b.batch_id for b in early.batches] == recorded
                assert (early.events is not None) == decode
                assert batches.read_resident(conn, cut, resident_id, early).equals(whole), (
                    resident_id, known_at, decode)


@pytest.mark.parametrize("resident_id", ["R1", "R2", "R3", "R4"])
def test_the_early_read_finds_the_rows_by_hand_at_every_cut(
        ledger: Path, resident_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While Polars loads, the early read finds the rows itself (`read_by_hand`): the rows
    of reading every batch whole, at every cut, R4's numbered by the last import's list;
    and with them the early read never asks Polars to decode a batch."""
    from scs_cli.ledger.early import read_by_hand

    def no_decoding(*args: object) -> None:
        raise AssertionError("Polars decoded the batches")

    with Ledger.open(ledger) as book:
        for stamp in _stamps(ledger):
            known_at = datetime.fromisoformat(stamp)
            found = _early(ledger, resident_id, known_at, decode=False)
            whole = _whole(book._conn, cutoff(known_at), resident_id)
            if found.hint is None:
                assert whole.is_empty()
                continue
            rows = read_by_hand(found)
            assert rows is not None
            assert batches.decode_early(book._conn, found.cut, resident_id, found,
                                        rows).equals(whole)
            monkeypatch.setattr(batches, "decode_resident", no_decoding)
            assert _early(ledger, resident_id, known_at).events.equals(whole)
            monkeypatch.undo()


def test_an_early_read_of_another_cut_or_resident_is_not_used(ledger: Path) -> None:
    """Read early as known at the first import, then asked for now (or for R2): the usual
    read answers, with the events of the later imports too."""
    first = datetime.fromisoformat(_stamps(ledger)[0])
    early = _early(ledger, "R1", first)
    assert early.events["event_id"].to_list() == [1, 3]
    with Ledger.open(ledger) as book:
        now = batches.read_resident(book._conn, cutoff(None), "R1", early)
        other = batches.read_resident(book._conn, early.cut, "R2", early)
    assert now["event_id"].to_list() == [1, 3, 7, 10]
    assert other["event_id"].to_list() == [2]


@pytest.mark.parametrize("resident_id", ["R1", "R9"])
def test_an_import_between_the_early_read_and_the_usual_one_is_not_missed(
        ledger: Path, scs: Any, tmp_path: Path, resident_id: str) -> None:
    """Read early as known now, then another import is recorded before the ledger is read:
    the usual read sees it, and the early read (a moment older) is not used (R9: a resident
    whom only the new import names)."""
    early = _early(ledger, resident_id, None)
    csv = tmp_path / "later.csv"
    csv.write_text("resident_id,indicator,occurred_on,agency,reference,note,points\n"
                   f"{resident_id},dog,2023-10-01,police,p-99,,\n", encoding="utf-8")
    assert scs("ledger", "import", ledger, csv).exit_code == 0
    with Ledger.open(ledger) as book:
        got = batches.read_resident(book._conn, cutoff(None), resident_id, early)
        want = _whole(book._conn, cutoff(None), resident_id)
    assert got.equals(want)
    assert got["event_id"].to_list()[-1] == 11  # the new import's one event


def test_an_early_read_of_another_file_is_not_used(ledger: Path, tmp_path: Path) -> None:
    """Rows read early from one ledger are never taken for another's (here a copy, then
    damaged: read from the copy, it is refused)."""
    from scs_cli.ledger.reads import resident_data

    early = _early(ledger, "R1", None)
    copy = tmp_path / "copy.db"
    with sqlite3.connect(ledger) as conn, sqlite3.connect(copy) as into:
        conn.backup(into)
    with Ledger.open(copy) as book:
        assert resident_data(book, "R1", early=early).events.height == 4
        flip_a_byte(copy, 6)
    with Ledger.open(copy) as book, pytest.raises(Exception, match="event batch 6"):
        resident_data(book, "R1", early=early)


@pytest.mark.parametrize("batch_id", [3, 6])
def test_the_early_read_checks_every_batch_of_its_cut(ledger: Path, batch_id: int) -> None:
    """Batch 3 holds only R3's event; batch 6 (the last import) R4's and R1's. A damaged
    batch recorded by the cut leaves the early read empty-handed, whoever it holds, so the
    usual read refuses it in its one line; one recorded after the cut is not read."""
    flip_a_byte(ledger, batch_id)
    for decode in (True, False):
        assert _early(ledger, "R2", None, decode) is None
    before_last = datetime.fromisoformat(_stamps(ledger)[1])
    early = _early(ledger, "R2", before_last)
    assert (early is None) == (batch_id == 3)


def test_the_early_read_leaves_a_damaged_residents_list_to_the_usual_read(
        ledger: Path) -> None:
    conn = sqlite3.connect(ledger)
    (blob,) = conn.execute("SELECT residents FROM event_batches WHERE batch_id = 6").fetchone()
    conn.execute("DROP TRIGGER event_batches_no_update")
    conn.execute("UPDATE event_batches SET residents = ? WHERE batch_id = 6",
                 (blob[:-1] + bytes([blob[-1] ^ 1]),))
    conn.commit()
    conn.close()
    assert _early(ledger, "R4", None) is None  # numbered by batch 6's list
    assert _early(ledger, "R1", None) is not None  # numbered by batch 1's


@pytest.mark.parametrize("resident_id", ["R1", "R4"])
def test_explain_as_known_at_each_import_reads_early_what_it_reads_late(
        ledger: Path, scs: Any, resident_id: str) -> None:
    """`scs explain --known-at` (which reads early) gives, at each import's time, the
    explanation of the library reading late, and it differs from import to import."""
    import json
    from datetime import date

    from scs_cli.core.output import to_json
    from scs_cli.explain.explain import explain_source
    from scs_cli.ledger.source import LedgerFile

    seen = set()
    for stamp in _stamps(ledger):
        result = scs("explain", ledger, resident_id, "--as-of", "2024-06-01",
                     "--known-at", stamp, "--format", "json")
        known_at = datetime.fromisoformat(stamp)
        if resident_id == "R4" and stamp != _stamps(ledger)[-1]:
            assert result.exit_code == 1 and "no resident 'R4'" in result.stderr
            continue
        assert result.exit_code == 0, result.stderr
        with LedgerFile.open(ledger) as source:
            late = explain_source(source, resident_id, date(2024, 6, 1), known_at)
        assert result.stdout == to_json(late.to_record()) + "\n"
        seen.add(tuple(e["event_id"] for e in json.loads(result.stdout)["events"]))
    assert len(seen) == (3 if resident_id == "R1" else 1)


def test_the_early_read_reads_only_a_regular_file(ledger: Path, tmp_path: Path) -> None:
    """A folder, a missing file, a file that is not a ledger, and a named pipe (whose
    opening would wait for a writer) leave the early read empty-handed at once."""
    import os

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    text = tmp_path / "notes.txt"
    text.write_text("not a ledger\n", encoding="utf-8")
    for path in (tmp_path, tmp_path / "missing.db", text, pipe):
        assert _early(path, "R1", None) is None, path
    assert _early(ledger, "R1", None) is not None
