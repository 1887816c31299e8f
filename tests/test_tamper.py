"""Tampering with a ledger file behind scs's back, as an insider with file access would.

Each test does one of the things issue 12 found unseen (drop the append-only triggers, edit,
put the triggers back) and asserts that `scs ledger verify` names what broke and exits 1,
and that `score` and `explain` refuse a batch whose bytes changed.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from scs_cli.ledger import chain
from scs_cli.ledger.store import Ledger

EVENTS = """resident_id,indicator,occurred_on,agency,reference,note,points
R1,red-light,2023-01-05,police,p-1,,
R1,other,2023-02-05,court,c-1,late,-12.5
R2,blood-donation,2023-03-01,hospital,h-1,,
R2,dog,2023-04-01,police,p-2,,
"""


@pytest.fixture
def ledger(tiny_ledger) -> Path:  # type: ignore[no-untyped-def]
    """A ledger with a row in every chained table: events 1-4, a void of 1, a lift of 2,
    an objection to 4 (rejected), a consent of R1."""
    path: Path = tiny_ledger(EVENTS)
    with Ledger.open(path) as opened:
        opened.void(1, "typo")
        opened.lift(2, date(2024, 1, 1))
        number = opened.file_objection(4, date(2024, 1, 1), "not my dog")
        opened.decide_objection(number, "rejected", date(2024, 1, 2))
        opened.consent("R1", date(2024, 1, 1))
    return path


def tamper(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Run SQL on the file with every trigger dropped, then put the triggers back."""
    conn = sqlite3.connect(path)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                            ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    for sql in statements:
        conn.execute(sql, params if "?" in sql else ())
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()


def detected(scs, path: Path, first: str, *, head: str | None = None) -> str:  # type: ignore[no-untyped-def]
    args = ["ledger", "verify", path] + (["--head", head] if head else [])
    result = scs(*args)
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: {path}: {first}" in result.stderr, result.stderr
    return str(result.stderr)


def test_an_untouched_ledger_verifies(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("ledger", "verify", ledger)
    assert result.exit_code == 0, result.stderr


def test_deleting_a_void_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "DELETE FROM voids")
    detected(scs, ledger, "chain link 9: voids row 1 was deleted (the chain breaks there")


def test_deleting_a_lift_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "DELETE FROM lifts")
    detected(scs, ledger, "chain link 10: lifts row 1 was deleted")


def test_reversing_an_objections_decision_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "UPDATE objection_decisions SET outcome = 'upheld'")
    detected(scs, ledger, "chain link 12: objection_decisions row 1 was changed after it "
             "was recorded")


def test_deleting_a_consent_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "DELETE FROM consents")
    detected(scs, ledger, "chain link 13: consents row 1 was deleted")


def test_moving_recorded_at_into_the_future_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "UPDATE voids SET recorded_at = '2099-01-01T00:00:00.000000+00:00'",
           "UPDATE events SET recorded_at = '2099-01-01T00:00:00.000000+00:00' "
           "WHERE event_id = 3")
    errors = detected(scs, ledger, "chain link 9: voids row 1 was changed")
    assert (f"error: {ledger}: table events: 1 row(s) recorded in the future (first "
            "2099-01-01T00:00:00.000000+00:00" in errors)
    assert f"error: {ledger}: table voids: 1 row(s) recorded in the future" in errors


def test_changing_the_city_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "UPDATE ledger_info SET city_id = 'elsewhere'")
    detected(scs, ledger, "chain link 5: ledger_info row 1 was changed")


def test_adding_a_row_outside_scs_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "INSERT INTO voids (event_id, reason, recorded_at) VALUES "
           "(3, 'quietly', '2024-06-01T00:00:00.000000+00:00')")
    detected(scs, ledger, "voids row 2 is not in the chain (added outside scs)")


def _rewrite_points(path: Path, event_id: int, hundredths: int) -> None:
    """Change one event's points in both copies, the events table and its batch blob
    (checksum updated too), as a careful insider would."""
    conn = sqlite3.connect(path)
    batch_id, blob = conn.execute("SELECT batch_id, data FROM event_batches").fetchone()
    conn.close()
    frame = pl.read_ipc_stream(io.BytesIO(blob)).with_columns(
        points=pl.when(pl.col("event_id") == event_id).then(pl.lit(hundredths, pl.Int64))
        .otherwise(pl.col("points")))
    buffer = frame.write_ipc_stream(None, compression="zstd")
    assert buffer is not None
    new = buffer.getvalue()
    tamper(path, "UPDATE event_batches SET data = ?, data_sha256 = ? WHERE batch_id = ?",
           f"UPDATE events SET points = '{hundredths / 100:g}' WHERE event_id = {event_id}",
           params=(new, hashlib.sha256(new).hexdigest(), batch_id))


def test_changing_an_event_in_both_copies_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    _rewrite_points(ledger, 2, -500)
    detected(scs, ledger, "chain link 8: event_batches row 1 was changed")


def test_rewriting_the_whole_chain_is_caught_only_against_a_published_head(
        ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    with Ledger.open(ledger) as opened:
        published = str(opened.head())
    tamper(ledger, "DELETE FROM voids")
    conn = sqlite3.connect(ledger)  # rebuild every link from the edited rows
    triggers = conn.execute("SELECT sql FROM sqlite_master WHERE name LIKE 'chain_%'"
                            ).fetchall()
    for name in ("chain_no_update", "chain_no_delete", "chain_no_replace"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DELETE FROM chain")
    chain.link_existing(conn)
    for (sql,) in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()
    assert scs("ledger", "verify", ledger).exit_code == 0  # consistent on its own
    detected(scs, ledger, f"does not extend the published head {published.split(':')[1][:16]}…",
             head=published)


def test_cutting_the_latest_rows_off_is_caught_against_a_published_head(
        ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    with Ledger.open(ledger) as opened:
        published = opened.head()
    tamper(ledger, "DELETE FROM consents", f"DELETE FROM chain WHERE link = {published.rows}")
    assert scs("ledger", "verify", ledger).exit_code == 0
    detected(scs, ledger, "does not extend the published head", head=published.hash)


def test_a_later_head_extends_an_earlier_one(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    with Ledger.open(ledger) as opened:
        earlier = opened.head()
        opened.consent("R2", date(2024, 2, 1))
        assert opened.head().rows == earlier.rows + 1
    result = scs("ledger", "verify", ledger, "--head", f"{earlier.rows}:{earlier.hash}")
    assert result.exit_code == 0, result.stderr
    assert f"extends the published head {earlier.hash[:12]}…" in result.stderr


def flip_a_byte(path: Path, batch_id: int = 1, part: str = "data") -> None:
    """Flip one bit in the middle of a batch's ``part`` blob (data, residents or sources),
    leaving its recorded SHA-256 as it was: a damaged batch."""
    assert part in ("data", "residents", "sources")
    conn = sqlite3.connect(path)
    blob = bytearray(conn.execute(f"SELECT {part} FROM event_batches WHERE batch_id = ?",
                                  (batch_id,)).fetchone()[0])
    conn.close()
    blob[len(blob) // 2] ^= 0x01
    tamper(path, f"UPDATE event_batches SET {part} = ? WHERE batch_id = ?",
           params=(bytes(blob), batch_id))


REFUSED = ("event batch 1 is damaged: its data bytes do not match the SHA-256 recorded "
           "with them; nothing was computed from it (restore the ledger from a backup; "
           "`scs ledger verify LEDGER` lists every problem)")


def test_a_flipped_byte_in_a_batch_is_refused_by_score_and_explain(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    flip_a_byte(ledger)
    for args in (("score", ledger, "--as-of", "2024-06-01"),
                 ("explain", ledger, "R2", "--as-of", "2024-06-01")):
        result = scs(*args)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == f"error: {ledger}: {REFUSED}\n"
    errors = detected(scs, ledger, "chain link 8: event_batches row 1 was changed")
    assert (f"error: {ledger}: event batch 1: its data bytes do not match the SHA-256 "
            "recorded with them") in errors


def test_altering_a_links_hash_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, f"UPDATE chain SET hash = '{'0' * 64}' WHERE link = 10")
    detected(scs, ledger, "chain link 10 (lifts row 1): its hash does not follow from the link "
             "before it")


def test_deleting_a_link_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "DELETE FROM chain WHERE link = 9")
    errors = detected(scs, ledger, "chain link 9 is missing (the next is 10); links were "
                      "deleted")
    assert "voids row 1 is not in the chain" not in errors  # only the first break is named


def test_runs_verify_names_a_history_changed_under_a_saved_run(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    assert scs("score", ledger, "--as-of", "2024-06-01", "--save").exit_code == 0
    with Ledger.open(ledger) as opened:
        run = opened.runs()[-1]
        assert run.head is not None
        assert opened.head(run.known_at) == run.head
    # rewrite a decision and rebuild the whole chain: consistent, but not what the run saw
    tamper(ledger, "UPDATE objection_decisions SET outcome = 'upheld'", "DELETE FROM chain")
    conn = sqlite3.connect(ledger)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'chain_%'"
                            ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    chain.link_existing(conn)
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()
    result = scs("runs", "verify", ledger, str(run.run_id))
    assert result.exit_code == 1
    assert (f"the history it was computed from changed: ledger head {run.head.rows}:"
            f"{run.head.hash[:12]}… then") in result.stderr


# --- objects scs did not create (issue 19, item 11) -------------------------------------

@pytest.mark.parametrize(("sql", "named"), [
    ("CREATE TRIGGER quietly BEFORE INSERT ON voids BEGIN SELECT RAISE(IGNORE); END",
     "trigger quietly was not created by scs"),
    ("CREATE TABLE side_notes (x TEXT)", "table side_notes was not created by scs"),
    ("CREATE VIEW everything AS SELECT * FROM events", "view everything was not created by scs"),
])
def test_a_trigger_table_or_view_added_by_hand_is_named(ledger: Path, scs, sql: str,  # type: ignore[no-untyped-def]
                                                       named: str) -> None:
    conn = sqlite3.connect(ledger)
    conn.execute(sql)
    conn.commit()
    conn.close()
    assert named in detected(scs, ledger, "")


def test_an_append_only_trigger_rewritten_to_ignore_is_named(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(ledger)
    conn.execute("DROP TRIGGER voids_no_delete")
    conn.execute("CREATE TRIGGER voids_no_delete BEFORE DELETE ON voids "
                 "BEGIN SELECT RAISE(IGNORE); END")
    conn.commit()
    conn.close()
    assert "trigger voids_no_delete was changed" in detected(scs, ledger, "")


def test_moving_an_events_recorded_at_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "UPDATE events SET recorded_at = '2020-01-01T00:00:00.000000+00:00' "
           "WHERE event_id = 3")
    assert "events table: 1 event(s) have another recorded_at or import than their batch, " \
           "first 3" in detected(scs, ledger, "")


def test_editing_the_chains_own_recorded_at_is_detected(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    tamper(ledger, "UPDATE chain SET recorded_at = '2020-01-01T00:00:00.000000+00:00' "
           "WHERE link = (SELECT max(link) FROM chain)")
    assert "its recorded_at is not that of consents row 1" in detected(scs, ledger, "")


# --- every column of every row (issue 19, item 11; SPEC §7) -------------------------------

@pytest.mark.parametrize(("sql", "column"), [
    ("UPDATE events SET note = 'paid on time' WHERE event_id = 2", "note"),
    ("UPDATE events SET note = 'added later' WHERE event_id = 3", "note"),  # was null
    ("UPDATE events SET note = NULL WHERE event_id = 2", "note"),
    ("UPDATE events SET reference = 'c-9' WHERE event_id = 2", "reference"),
    ("UPDATE events SET agency = 'police' WHERE event_id = 2", "agency"),
    # the same value written another way: the text is covered, not only what it means
    ("UPDATE events SET points = '-12.50' WHERE event_id = 2", "points"),
    ("UPDATE events SET occurred_on = '2023-2-5' WHERE event_id = 2", "occurred_on"),
])
def test_an_edited_events_column_is_named_with_its_event(ledger: Path, scs, sql: str,  # type: ignore[no-untyped-def]
                                                         column: str) -> None:
    tamper(ledger, sql)
    event = 3 if "event_id = 3" in sql else 2
    detected(scs, ledger, f"events table and batches disagree on 1 event(s), first {event} "
             f"(its {column} in the events table is not what its batch, which the chain "
             "covers, holds)")


def test_a_note_rewritten_in_both_copies_breaks_the_chain(ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    """The batch's copy of the notes is in its hashed `sources` blob: rewriting it (and its
    checksum) to agree with an edited events table changes the batch's chained content."""
    conn = sqlite3.connect(ledger)
    blob = conn.execute("SELECT sources FROM event_batches").fetchone()[0]
    conn.close()
    sources = pl.read_ipc_stream(io.BytesIO(blob))
    assert sources["note"].to_list() == [None, "late", None, None]
    buffer = sources.with_columns(note=pl.lit("paid on time")).write_ipc_stream(
        None, compression="zstd")
    assert buffer is not None
    new = buffer.getvalue()
    tamper(ledger, "UPDATE event_batches SET sources = ?, sources_sha256 = ?",
           "UPDATE events SET note = 'paid on time'",
           params=(new, hashlib.sha256(new).hexdigest()))
    errors = detected(scs, ledger, "chain link 8: event_batches row 1 was changed")
    assert "disagree" not in errors  # both copies agree: only the chain sees it


def _undecodable(blob: bytes) -> tuple[bytes, bool]:
    """The first one-byte change (from the start, to 0xff or 0) that Polars cannot read
    back as a stream, and whether it made Polars panic (some do: a Rust panic, which Python
    sees as a BaseException, not an Exception)."""
    import io

    import polars as pl

    for at in range(len(blob)):
        for value in (0xFF, 0x00):
            changed = bytearray(blob)
            changed[at] = value
            try:
                pl.read_ipc_stream(io.BytesIO(bytes(changed)), columns=["resident"])
            except pl.exceptions.PanicException:
                return bytes(changed), True
            except (pl.exceptions.PolarsError, OSError):
                continue
    raise AssertionError("no change made Polars panic")


def test_a_batch_rewritten_with_its_checksum_that_polars_cannot_read_is_one_line(
        ledger: Path, scs) -> None:  # type: ignore[no-untyped-def]
    """A data blob changed so that Polars panics reading it, its SHA-256 written anew: score,
    explain and verify each say so in one line, exit 1, and no traceback."""
    conn = sqlite3.connect(ledger)
    (blob,) = conn.execute("SELECT data FROM event_batches WHERE batch_id = 1").fetchone()
    conn.close()
    changed, panicked = _undecodable(blob)
    assert panicked
    tamper(ledger, "UPDATE event_batches SET data = ?, data_sha256 = ? WHERE batch_id = 1",
           params=(changed, hashlib.sha256(changed).hexdigest()))
    line = (f"error: {ledger}: an event batch matches the SHA-256 recorded with it but cannot "
            "be decoded: its bytes were rewritten with their checksum; nothing was computed "
            "from it (restore the ledger from a backup; `scs ledger verify LEDGER` lists "
            "every problem)\n")
    for args in (("score", ledger, "--as-of", "2024-06-01"),
                 ("explain", ledger, "R2", "--as-of", "2024-06-01"),
                 ("ledger", "verify", ledger)):
        result = scs(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", line), args
