"""The ledger: creation and refusals, append-only storage, recorded_at, voids, lifts,
consents, known-at reads for the engine, saved runs, and reading back."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from scs_cli.core.errors import LedgerError
from scs_cli.ledger import schema as ledger_schema
from scs_cli.ledger import store as ledger_module
from scs_cli.ledger.repairs import decide_repair, file_repair
from scs_cli.ledger.store import Ledger

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny.toml"
EVENTS = """resident_id,indicator,occurred_on,agency,reference,note,points
R1,red-light,2023-01-05,police,p-1,,
R1,other,2023-02-05,court,c-1,late,-12.5
R2,blood-donation,2023-03-01,hospital,h-1,,
R2,dog,2023-04-01,police,p-2,,
"""
TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


@pytest.fixture
def ledger(tiny_ledger) -> Path:  # type: ignore[no-untyped-def]
    """A ledger of Exampleton holding four events (ids 1–4)."""
    return tiny_ledger(EVENTS)


def refused(result, line: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.stderr
    assert result.stderr == f"error: {line}\n"


# --- creating and opening ------------------------------------------------------------

def test_init_binds_the_city_and_adopts_the_catalogue(tmp_path: Path, scs,
                                                      tiny_catalogue: Path) -> None:
    path = tmp_path / "new.db"
    result = scs("ledger", "init", path, "--catalogue", tiny_catalogue)
    assert result.exit_code == 0
    assert result.stderr.startswith(f"created {path} for Exampleton (exampleton); adopted "
                                    "catalogue version 1 in force from 2020-01-01 (sha256 ")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT city_id, city_name FROM ledger_info").fetchall() == [
        ("exampleton", "Exampleton")]
    text = tiny_catalogue.read_text(encoding="utf-8")
    assert conn.execute("SELECT version, effective_from, text FROM catalogues").fetchall() == [
        ("1", "2020-01-01", text)]
    assert [n for (n,) in conn.execute("SELECT name FROM migrations")] == [
        "0001_initial", "0002_chain", "0003_repairs", "0004_noted_batches"]
    assert not list(tmp_path.glob(".*creating*"))


def test_init_refuses_an_existing_file(ledger: Path, scs, tiny_catalogue: Path) -> None:
    refused(scs("ledger", "init", ledger, "--catalogue", tiny_catalogue),
            f"{ledger}: already exists (choose a new file name; to add a catalogue version "
            "to this ledger use `scs ledger adopt`)")


def test_init_with_a_bad_catalogue_makes_no_file(tmp_path: Path, scs) -> None:
    result = scs("ledger", "init", tmp_path / "x.db", "--catalogue", tmp_path / "none.toml")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'none.toml'}: no such file")
    assert list(tmp_path.iterdir()) == []


def test_open_refuses_what_is_not_a_ledger(tmp_path: Path, scs) -> None:
    missing = tmp_path / "missing.db"
    refused(scs("ledger", "stats", missing), f"{missing}: no such ledger (create one with "
            "`scs ledger init LEDGER --catalogue FILE`)")
    text = tmp_path / "notes.db"
    text.write_text("hello", encoding="utf-8")
    refused(scs("ledger", "stats", text), f"{text}: is not an scs ledger (not an SQLite "
            "database) (give the file made by `scs ledger init`)")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    refused(scs("ledger", "stats", other), f"{other}: is an SQLite database but not an scs "
            "ledger (it has no ledger_info table) (give the file made by `scs ledger init`)")
    refused(scs("ledger", "stats", tmp_path), f"{tmp_path}: is a directory, not a ledger file")
    early = tmp_path / "early.db"  # event batches as the first development builds wrote them
    with sqlite3.connect(early) as conn:
        conn.execute("CREATE TABLE ledger_info (city_id, city_name, scs_version, recorded_at)")
        conn.execute("CREATE TABLE migrations (name, recorded_at)")
        conn.execute("INSERT INTO migrations VALUES ('0001_initial', '2026-01-01')")
        conn.execute("CREATE TABLE event_batches (batch_id, data)")
    refused(scs("ledger", "stats", early), f"{early}: was made by a development version of "
            "scs whose event batches this one cannot read (export its events with that "
            "version and import them into a new ledger)")


def test_a_locked_ledger_is_one_line_after_the_timeout(ledger: Path, scs, monkeypatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("SCS_LOCK_TIMEOUT", "0.2")
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        refused(scs("ledger", "void", ledger, "1", "--reason", "typo"),
                f"{ledger}: is locked by another process (waited 0.2 s) (try again when the "
                "other scs command has finished; SCS_LOCK_TIMEOUT sets the wait)")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_adopt_another_version_and_refusals(ledger: Path, scs, tiny_catalogue: Path,
                                           tmp_path: Path) -> None:
    v2 = ROOT / "tests" / "bad_rows" / "tiny-v2.toml"
    result = scs("ledger", "adopt", ledger, v2)
    assert result.exit_code == 0
    assert result.stderr.startswith(f"{ledger}: adopted exampleton catalogue version 2, "
                                    "in force from 2023-06-01")
    refused(scs("ledger", "adopt", ledger, v2),
            f"{ledger}: {v2} is already adopted (version '2')")
    refused(scs("ledger", "adopt", ledger, "rongcheng-2016"),
            f"{ledger}: rongcheng-2016 is a catalogue of city 'rongcheng', but this ledger "
            "belongs to 'exampleton' (a ledger is only ever scored with its own city's "
            "catalogue; make that city its own ledger)")
    same_day = tmp_path / "same-day.toml"
    same_day.write_text(tiny_catalogue.read_text(encoding="utf-8").replace(
        'version = "1"', 'version = "1b"'), encoding="utf-8")
    refused(scs("ledger", "adopt", ledger, same_day),
            f"{ledger}: adopting {same_day}: version '1' already takes effect on 2020-01-01; "
            "give the new version another effective_from")
    with Ledger.open(ledger) as opened:
        assert [a.catalogue.version for a in opened.adopted()] == ["1", "2"]
        assert opened.history().in_force(date(2023, 6, 1)).version == "2"


# --- append-only ----------------------------------------------------------------------

def _fill_every_table(path: Path) -> None:
    with Ledger.open(path) as opened:
        opened.void(1, "typo")
        opened.lift(2, date(2024, 1, 1))
        number = opened.file_objection(4, date(2024, 1, 1), "not my dog")
        opened.decide_objection(number, "rejected", date(2024, 1, 2))
        opened.consent("R1", date(2024, 1, 1))
        v2 = path.parent / "with-a-list.toml"
        v2.write_text(TINY.read_text(encoding="utf-8").replace(
            'version = "1"', 'version = "2"').replace("2020-01-01", "2021-01-01")
            + '[lists.court]\nname = "Court"\nkind = "black"\n'
            'entry = { indicators = ["defaulter"] }\n', encoding="utf-8")
        opened.adopt(v2)
        repair = file_repair(opened, "R1", "court", date(2024, 1, 1), "paid",
                             listed_since=date(2023, 1, 1))
        decide_repair(opened, repair, "refused", date(2024, 1, 2), earliest_grant=None)
        opened.save_run(date(2024, 1, 1), datetime.now(UTC), ["abc"], "d1",
                        pl.DataFrame({"resident_id": ["R1"], "score": [100000],
                                      "tier": ["A"]}))


@pytest.mark.parametrize("table", ledger_schema.TABLES)
def test_every_table_refuses_update_and_delete(ledger: Path, table: str) -> None:
    _fill_every_table(ledger)
    conn = sqlite3.connect(ledger)  # a raw connection, as in the sqlite3 shell
    column = conn.execute(f"SELECT * FROM {table}").description[0][0]
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    for sql in (f"DELETE FROM {table}", f"UPDATE {table} SET {column} = {column}"):
        with pytest.raises(sqlite3.DatabaseError, match=f"the ledger is append-only: "
                           f"{table} rows are never changed or deleted"):
            conn.execute(sql)


def test_insert_or_replace_cannot_overwrite_a_row(ledger: Path) -> None:
    _fill_every_table(ledger)
    conn = sqlite3.connect(ledger)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("INSERT OR REPLACE INTO voids (void_id, event_id, reason, recorded_at) "
                     "VALUES (1, 1, 'changed', 'x')")
    with pytest.raises(sqlite3.DatabaseError, match="bound to one city once"):
        conn.execute("INSERT INTO ledger_info VALUES ('other', 'Other', '0', 'x')")


def test_a_replaced_event_is_found_by_verify(ledger: Path, scs) -> None:
    conn = sqlite3.connect(ledger)
    conn.execute("INSERT OR REPLACE INTO events (event_id, resident_id, indicator, "
                 "occurred_on, import_id, recorded_at) VALUES (1, 'R9', 'red-light', "
                 "'2023-01-05', 1, 'x')")
    conn.commit()
    conn.close()
    result = scs("ledger", "verify", ledger)
    assert result.exit_code == 1
    assert (f"error: {ledger}: events table and batches disagree on 1 event(s), first 1"
            in result.stderr)


def test_verify_passes_on_a_used_ledger(ledger: Path, scs) -> None:
    _fill_every_table(ledger)
    result = scs("ledger", "verify", ledger)
    assert result.exit_code == 0
    with Ledger.open(ledger) as opened:
        head = opened.head()
    # migrations 4, city 1, catalogues 2, import 1, batch 1, void, lift, objection,
    # decision, consent, repair, repair decision, run: one link each
    assert head.rows == 17
    assert result.stderr == (
        f"{ledger}: ok (chain of 17 rows intact, head {head.hash[:12]}…; 4 events in 1 batch "
        "agree with their checksums and the events table; every table append-only; "
        "recorded_at never goes back or into the future)\n")


# --- recorded_at ----------------------------------------------------------------------

def _all_recorded_at(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    rows = []
    for table in ledger_schema.TABLES:
        rows += [(r, table) for (r,) in conn.execute(f"SELECT recorded_at FROM {table}")]
    return rows


def test_rows_get_nondecreasing_utc_microsecond_times(ledger: Path) -> None:
    with Ledger.open(ledger) as opened:
        ids = [opened.void(1, "typo"), opened.lift(2, date(2024, 1, 1)),
               opened.consent("R9", date(2024, 1, 1))]
        assert ids == [1, 1, 1]
    conn = sqlite3.connect(ledger)
    order = [conn.execute(f"SELECT recorded_at FROM {t}").fetchone()[0]
             for t in ("ledger_info", "imports", "voids", "lifts", "consents")]
    assert order == sorted(order)
    for stamp in order:
        assert len(stamp) == 32 and stamp.endswith("+00:00") and stamp[19] == "."
        assert datetime.fromisoformat(stamp).tzinfo == UTC


def test_recorded_at_never_goes_back_when_the_clock_does(ledger: Path, monkeypatch) -> None:
    last = max(r for r, _ in _all_recorded_at(ledger))
    monkeypatch.setattr(ledger_schema, "now_stamp", lambda: "2001-01-01T00:00:00.000000+00:00")
    with Ledger.open(ledger) as opened:
        opened.void(1, "typo")
    conn = sqlite3.connect(ledger)
    # strictly later, by a microsecond: a reader cut at `last` never sees this write
    # (so a run saved then verifies later, issue 19 item 6)
    later = ledger_schema.stamp(ledger_schema.parse_stamp(last) + timedelta(microseconds=1))
    assert conn.execute("SELECT recorded_at FROM voids").fetchone()[0] == later


# --- consent, void, lift ----------------------------------------------------------------

def test_void_and_its_refusals(ledger: Path, scs) -> None:
    result = scs("ledger", "void", ledger, "1", "--reason", "wrong resident")
    assert result.exit_code == 0
    assert result.stderr == f"{ledger}: voided event 1 (void 1)\n"
    stamp = sqlite3.connect(ledger).execute("SELECT recorded_at FROM voids").fetchone()[0]
    refused(scs("ledger", "void", ledger, "1", "--reason", "again"),
            f"{ledger}: event 1 is already void (voided at {stamp}: wrong resident)")
    refused(scs("ledger", "void", ledger, "99", "--reason", "x"),
            f"{ledger}: no event 99 (`scs ledger history LEDGER RESIDENT` lists a resident's "
            "event ids)")
    refused(scs("ledger", "void", ledger, "2", "--reason", " "),
            f"{ledger}: a void needs a reason (say why the event was recorded in error with "
            "--reason)")


def test_lift_and_its_refusals(ledger: Path, scs) -> None:
    refused(scs("ledger", "lift", ledger, "2", "--on", "2023-02-04"),
            f"{ledger}: the lift date 2023-02-04 is before event 2 occurred (2023-02-05) "
            "(give a date on or after it)")
    refused(scs("ledger", "lift", ledger, "2", "--on", TOMORROW),
            f"{ledger}: the lift date {TOMORROW} is in the future (today is "
            f"{datetime.now(UTC).date()} UTC) (record what has happened, dated on or "
            "before today)")
    refused(scs("ledger", "lift", ledger, "77", "--on", "2024-01-01"),
            f"{ledger}: no event 77 (`scs ledger history LEDGER RESIDENT` lists a resident's "
            "event ids)")
    result = scs("ledger", "lift", ledger, "2", "--on", "2023-02-05")
    assert result.exit_code == 0
    assert result.stderr == f"{ledger}: lifted event 2 from 2023-02-05 (lift 1)\n"
    refused(scs("ledger", "lift", ledger, "2", "--on", "2024-01-01"),
            f"{ledger}: event 2 is already lifted (from 2023-02-05)")
    assert scs("ledger", "void", ledger, "1", "--reason", "typo").exit_code == 0
    assert "event 1 is void (voided at" in scs("ledger", "lift", ledger, "1", "--on",
                                               "2024-01-01").stderr
    result = scs("ledger", "lift", ledger, "1", "--on", "yesterday")
    assert result.exit_code == 1
    assert result.stderr == "error: --on 'yesterday' is not a date (write YYYY-MM-DD)\n"


def test_consent_and_withdrawal(ledger: Path, scs) -> None:
    assert scs("ledger", "consent", ledger, "R1", "--on", "2024-01-01").exit_code == 0
    result = scs("ledger", "consent", ledger, "R1", "--on", "2024-06-01", "--withdraw")
    assert result.stderr == (f"{ledger}: recorded withdrawal of consent of R1 from "
                             "2024-06-01 (consent row 2)\n")
    refused(scs("ledger", "consent", ledger, "Wang Fang", "--on", "2024-01-01"),
            f"{ledger}: 'Wang Fang' is not a resident id (use 1-64 of A-Z a-z 0-9 . _ : -, "
            "first a letter or digit)")
    refused(scs("ledger", "consent", ledger, "R1", "--on", TOMORROW),
            f"{ledger}: the consent date {TOMORROW} is in the future (today is "
            f"{datetime.now(UTC).date()} UTC) (record what has happened, dated on or "
            "before today)")
    with Ledger.open(ledger) as opened:
        consents = opened.scoring_data().consents
    assert consents.to_dicts() == [
        {"resident_id": "R1", "on": date(2024, 1, 1), "consent": True, "seq": 1},
        {"resident_id": "R1", "on": date(2024, 6, 1), "consent": False, "seq": 2}]


# --- what the engine reads ------------------------------------------------------------

def test_scoring_data_has_the_contract_dtypes(ledger: Path) -> None:
    from scs_cli.core.frames import (
        CONSENTS_SCHEMA,
        EVENTS_SCHEMA,
        LIFTS_SCHEMA,
        OBJECTIONS_SCHEMA,
        VOIDS_SCHEMA,
    )

    _fill_every_table(ledger)
    with Ledger.open(ledger) as opened:
        data = opened.scoring_data()
        with_sources = opened.scoring_data(sources=True)
    assert dict(data.events.schema) == EVENTS_SCHEMA
    assert dict(with_sources.events.schema) == {**EVENTS_SCHEMA, "agency": pl.String,
                                                 "reference": pl.String}
    assert dict(data.voids.schema) == VOIDS_SCHEMA
    assert dict(data.lifts.schema) == LIFTS_SCHEMA
    assert dict(data.objections.schema) == OBJECTIONS_SCHEMA
    assert dict(data.consents.schema) == CONSENTS_SCHEMA
    # residents numbered in the order first recorded, indicators by their sorted ids
    assert data.residents.rows() == [(0, "R1"), (1, "R2")]
    assert data.indicators == ("blood-donation", "dog", "other", "red-light")
    assert with_sources.events.select(
        "event_id", data.resident_ids(), data.indicator_ids(), "occurred_on", "points",
        "agency").rows() == [
        (1, "R1", "red-light", date(2023, 1, 5), None, "police"),
        (2, "R1", "other", date(2023, 2, 5), -1250, "court"),
        (3, "R2", "blood-donation", date(2023, 3, 1), None, "hospital"),
        (4, "R2", "dog", date(2023, 4, 1), None, "police")]
    assert data.lifts.rows() == [(2, date(2024, 1, 1))]
    assert data.objections.rows() == [(1, 4, date(2024, 1, 1), date(2024, 1, 2), "rejected")]


def test_scoring_data_as_known_at_a_past_time(ledger: Path, tmp_path: Path) -> None:
    with Ledger.open(ledger) as opened:
        number = opened.file_objection(4, date(2024, 1, 1), "not my dog")
        before = datetime.now(UTC)
        opened.void(1, "typo")
        opened.decide_objection(number, "upheld", date(2024, 1, 5))
        more = tmp_path / "more.csv"
        more.write_text("resident_id,indicator,occurred_on\nR3,red-light,2023-05-05\n",
                        encoding="utf-8")
        opened.import_file(more)
        then = opened.scoring_data(before)
        now = opened.scoring_data()
        assert opened.scoring_data(datetime(2000, 1, 1, tzinfo=UTC)).events.is_empty()
    assert then.voids.is_empty()  # the void was recorded after known-at
    assert then.objections.rows() == [(1, 4, date(2024, 1, 1), None, None)]  # still pending
    assert then.events["event_id"].to_list() == [1, 2, 3, 4]
    assert then.residents.rows() == [(0, "R1"), (1, "R2")]  # R3 came later, numbered on
    assert now.residents.rows() == [(0, "R1"), (1, "R2"), (2, "R3")]
    assert now.voids.rows() == [(1,)]
    assert now.objections.rows() == [(1, 4, date(2024, 1, 1), date(2024, 1, 5), "upheld")]
    assert now.events["event_id"].to_list() == [1, 2, 3, 4, 5]


def test_history_as_known_at_a_past_time(ledger: Path) -> None:
    with Ledger.open(ledger) as opened:
        before = datetime.now(UTC)
        opened.adopt(ROOT / "tests" / "bad_rows" / "tiny-v2.toml")
        assert [c.version for c in opened.history(before)] == ["1"]
        assert [c.version for c in opened.history()] == ["1", "2"]


# --- saved runs -------------------------------------------------------------------------

def test_save_and_read_runs(ledger: Path) -> None:
    result = pl.DataFrame({"resident_id": ["R1", "R2"], "score": [95000, 100000],
                           "tier": ["B", "A"]})
    known = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    with Ledger.open(ledger) as opened:
        assert opened.last_run() is None
        first = opened.save_run(date(2024, 1, 31), known, ["aa", "bb"], "digest-1", result)
        second = opened.save_run(date(2024, 2, 29), known, ["aa"], "digest-2", result.head(1))
        runs = opened.runs()
        assert [r.run_id for r in runs] == [first, second] == [1, 2]
        run = opened.run(1)
        assert (run.as_of, run.known_at, run.catalogue_sha256s, run.digest, run.residents) == (
            date(2024, 1, 31), known, ("aa", "bb"), "digest-1", 2)
        assert run.result().equals(result)
        assert opened.last_run().run_id == 2
        assert opened.last_run(date(2024, 2, 28)).run_id == 1
        assert opened.last_run(date(2024, 1, 1)) is None
        with pytest.raises(LedgerError, match="no saved run 9"):
            opened.run(9)
    stored = sqlite3.connect(ledger).execute("SELECT catalogue_sha256s FROM runs").fetchone()
    assert json.loads(stored[0]) == ["aa", "bb"]


# --- reading back ---------------------------------------------------------------------

def test_history_reads_back_every_row_about_a_resident(ledger: Path, scs) -> None:
    _fill_every_table(ledger)
    result = scs("ledger", "history", ledger, "R2", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["event_id"], r["objection_id"], r["on"]) for r in rows] == [
        ("event", 3, None, "2023-03-01"), ("event", 4, None, "2023-04-01"),
        ("objection", 4, 1, "2024-01-01"), ("decision", 4, 1, "2024-01-02")]
    stamps = [r["recorded_at"] for r in rows]
    assert stamps == sorted(stamps)
    assert rows[2]["details"] == "grounds: not my dog"
    assert rows[0]["fields"]["reference"] == "h-1"
    r1 = scs("ledger", "history", ledger, "R1", "--format", "csv").stdout.splitlines()
    assert r1[0] == "recorded_at,kind,event_id,objection_id,on,details"
    assert [line.split(",")[1] for line in r1[1:]] == ["event", "event", "void", "lift",
                                                       "consent"]
    refused(scs("ledger", "history", ledger, "R404"),
            f"{ledger}: no rows about resident 'R404' (check the id; resident ids are "
            "case-sensitive)")


def test_stats_counts_what_the_ledger_holds(ledger: Path, scs) -> None:
    _fill_every_table(ledger)
    with Ledger.open(ledger) as opened:
        opened.file_objection(3, date(2024, 1, 1), "I gave blood twice")
    result = scs("ledger", "stats", ledger, "--format", "json", "--as-of", "2024-01-10")
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert (stats["residents"], stats["events"], stats["voids"], stats["lifts"],
            stats["objections"], stats["objections_pending"], stats["objections_overdue"],
            stats["consents"], stats["withdrawals"], stats["runs"], stats["imports"]) == (
        2, 4, 1, 1, 2, 1, 0, 1, 0, 1, 1)
    assert (stats["first_occurred_on"], stats["last_occurred_on"]) == (
        "2023-01-05", "2023-04-01")
    assert stats["events_by_indicator_year"] == [
        {"indicator": "blood-donation", "year": 2023, "events": 1},
        {"indicator": "dog", "year": 2023, "events": 1},
        {"indicator": "other", "year": 2023, "events": 1},
        {"indicator": "red-light", "year": 2023, "events": 1}]
    later = json.loads(scs("ledger", "stats", ledger, "--format", "json", "--as-of",
                           "2024-01-20").stdout)
    assert later["objections_overdue"] == 1  # tiny.toml: objection_deadline = "15d"
    table = scs("ledger", "stats", ledger)
    assert table.exit_code == 0 and "Events by indicator and year" in table.stdout


def test_export_has_status_columns(ledger: Path, scs, tmp_path: Path) -> None:
    _fill_every_table(ledger)
    target = tmp_path / "events.parquet"
    result = scs("ledger", "export", ledger, "--output", target)
    assert result.exit_code == 0
    assert result.stderr == f"{ledger}: exported 4 events to {target}\n"
    frame = pl.read_parquet(target)
    assert frame["event_id"].to_list() == [1, 2, 3, 4]
    assert frame["voided"].to_list() == [True, False, False, False]
    assert frame["lifted_on"].to_list() == [None, date(2024, 1, 1), None, None]
    assert frame["objection_outcome"].to_list() == [None, None, None, "rejected"]
    # through the output layer: points exact, never text (a Parquet decimal, a JSON number)
    assert frame["points"].to_list() == [None, Decimal("-12.50"), None, None]
    json_target = tmp_path / "events.json"
    assert scs("ledger", "export", ledger, "-o", json_target).exit_code == 0
    assert '"points":-12.5,' in json_target.read_text(encoding="utf-8")
    assert [r["points"] for r in json.loads(json_target.read_text(encoding="utf-8"),
                                            parse_float=Decimal)] == [
        None, Decimal("-12.5"), None, None]
    csv_target = tmp_path / "events.csv"
    assert scs("ledger", "export", ledger, "-o", csv_target).exit_code == 0
    assert ",-12.5," in csv_target.read_text(encoding="utf-8")
    assert csv_target.read_text(encoding="utf-8").splitlines()[0].startswith(
        "event_id,resident_id,indicator,occurred_on,agency,reference,note,points,import_id,"
        "recorded_at,voided,void_reason,voided_at,lifted_on")
    result = scs("ledger", "export", ledger, "-o", tmp_path / "events.xlsx")
    assert result.exit_code == 1


def test_an_upheld_objection_makes_the_event_void(ledger: Path, scs) -> None:
    with Ledger.open(ledger) as opened:
        number = opened.file_objection(1, date(2024, 1, 1), "not me")
        opened.decide_objection(number, "upheld", date(2024, 1, 2))
    refused(scs("ledger", "void", ledger, "1", "--reason", "x"),
            f"{ledger}: event 1 is already void (objection 1 was upheld on 2024-01-02)")


def test_library_never_prints_or_imports_the_cli() -> None:
    import subprocess
    import sys

    code = ("import sys, scs_cli.ledger.store, scs_cli.ledger.stats; "
            "print(any(m.split('.')[0] in ('typer', 'rich') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_utc_today_is_what_future_means(monkeypatch, ledger: Path) -> None:
    monkeypatch.setattr(ledger_module, "utc_today", lambda: date(2023, 1, 1))
    with Ledger.open(ledger) as opened, pytest.raises(LedgerError, match="in the future"):
        opened.consent("R1", date(2023, 1, 2))


# --- the head that saved runs and reports record ---------------------------------------

def test_a_saved_run_and_a_report_record_the_head_they_were_computed_at(
        ledger: Path, scs, tmp_path: Path) -> None:
    with Ledger.open(ledger) as opened:
        before = opened.head()
    result = scs("score", ledger, "--as-of", "2024-01-01", "--save")
    assert result.exit_code == 0, result.stderr
    with Ledger.open(ledger) as opened:
        run = opened.runs()[-1]
        assert run.head == before  # computed from the rows before it was itself recorded
        assert opened.head().rows == before.rows + 1
        known_then = datetime.fromisoformat(run.recorded_at) - timedelta(microseconds=1)
        assert opened.head(known_then) == before
    out = tmp_path / "report"
    result = scs("report", ledger, "--as-of", "2024-01-01", "--output", out)
    assert result.exit_code == 0, result.stderr
    with Ledger.open(ledger) as opened:
        now = opened.head()
    doc = json.loads((out / "exampleton" / "report.json").read_text(encoding="utf-8"))
    assert doc["ledger_head"] == {"rows": now.rows, "hash": now.hash}
    markdown = (out / "exampleton" / "report.md").read_text(encoding="utf-8")
    assert f"(ledger head {now.rows}:{now.hash})" in markdown


def test_head_prints_rows_and_hash_for_publishing(ledger: Path, scs) -> None:
    result = scs("ledger", "head", ledger)
    assert result.exit_code == 0
    with Ledger.open(ledger) as opened:
        head = opened.head()
    assert result.stdout == f"{head.rows}:{head.hash}\n"
    assert len(head.hash) == 64 and head.rows == 8  # migrations 4, city, catalogue, import, batch
    # it appends nothing, and says so: the rows the ledger holds, not rows "appended"
    assert result.stderr.startswith(f"{ledger}: 8 rows in the ledger so far; publish this head")
    assert "appended" not in result.stderr
    assert scs("ledger", "head", ledger).stdout == result.stdout
    as_json = scs("ledger", "head", ledger, "--format", "json")
    assert json.loads(as_json.stdout) == {"rows": head.rows, "hash": head.hash}


def test_an_older_ledger_is_migrated_and_chained(ledger: Path, scs, tmp_path: Path) -> None:
    """A ledger of schema 0001 (made by a build before the chain): opening it adds the
    checksums and links every row in recording order; verify then passes."""
    old = tmp_path / "old.db"
    conn = sqlite3.connect(ledger)
    conn.execute(f"VACUUM INTO '{old}'")
    conn.close()
    conn = sqlite3.connect(old)  # take schema step 0002 back out, as an older build had it
    kept = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                        "AND name NOT LIKE 'chain_%' AND name NOT LIKE 'repair%'").fetchall()
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE chain")
    conn.execute("DELETE FROM migrations WHERE name = '0002_chain'")
    conn.execute("DROP TABLE repair_decisions")  # and step 0003, which came later still
    conn.execute("DROP TABLE repairs")
    conn.execute("DELETE FROM migrations WHERE name = '0003_repairs'")
    conn.execute("DELETE FROM migrations WHERE name = '0004_noted_batches'")
    for table, column in (("event_batches", "data_sha256"), ("runs", "head_hash"),
                          ("event_batches", "residents_sha256"), ("runs", "head_rows"),
                          ("event_batches", "sources_sha256")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for _, sql in kept:
        conn.execute(sql)
    conn.commit()
    conn.close()
    with Ledger.open(old) as opened:
        # 0001, city, catalogue, import, batch; then 0002, 0003 and 0004
        assert opened.head().rows == 8
        assert "repairs" in ledger_schema.table_names(opened._conn)
        assert opened.verify().problems == []
        assert opened.scoring_data().events.height == 4


def test_a_known_at_beyond_the_calendar_in_utc_cuts_before_or_after_every_row() -> None:
    east = timezone(timedelta(hours=14))
    west = timezone(timedelta(hours=-14))
    assert ledger_module.cutoff(datetime(1, 1, 1, tzinfo=east)) < "0001"
    assert ledger_module.cutoff(datetime(9999, 12, 31, 23, tzinfo=west)) == ledger_module.NEVER


@pytest.mark.parametrize("batch_rows", [2, 1_000_000])
def test_explain_reads_the_same_events_as_score(tiny_ledger, monkeypatch,
                                                batch_rows: int) -> None:  # type: ignore[no-untyped-def]
    """One source: a resident's events for explain are exactly the rows score reads,
    whatever the batches, and an events table edited alone changes neither."""
    from scs_cli.ledger import batches
    from scs_cli.ledger.reads import resident_data

    monkeypatch.setattr(batches, "BATCH_ROWS", batch_rows)
    path = tiny_ledger(EVENTS)
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET occurred_on = '2020-01-01', resident_id = 'R2' "
                 "WHERE event_id = 1")
    conn.commit()
    conn.close()
    columns = ["event_id", "indicator", "occurred_on", "points"]
    with Ledger.open(path) as opened:
        assert opened._conn.execute("SELECT count(*) FROM event_batches").fetchone()[0] == (
            2 if batch_rows == 2 else 1)
        whole = opened.scoring_data()
        for resident in ("R1", "R2"):
            one = resident_data(opened, resident)
            mine = whole.for_residents([resident])
            expected = mine.events.select("event_id", indicator=mine.indicator_ids(),
                                          occurred_on="occurred_on", points="points")
            assert one.events.select(columns).equals(expected.select(columns))
        assert resident_data(opened, "R1").events["occurred_on"][0] == date(2023, 1, 5)
