"""The ledger's SQLite schema: tables, indexes, append-only triggers and their migrations.

A ledger is one SQLite file per city, in WAL mode. Its tables are named for what they hold
so that a person can read them in the `sqlite3` shell or Datasette. Every row carries
`recorded_at`, UTC ISO-8601 text with microseconds (``2024-03-31T08:15:02.123456+00:00``),
which sorts as text in time order, so "as known at T" is ``recorded_at <= T``.

Nothing is ever updated or deleted: triggers refuse UPDATE and DELETE on every table, and
refuse an INSERT that would replace an existing row (``INSERT OR REPLACE`` deletes first,
silently, unless recursive triggers are on). Schema changes are an ordered list of
migrations, each recorded in the `migrations` table once applied.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scs_cli.ledger import chain

if TYPE_CHECKING:  # sqlite-utils (and the pandas it may load) only when migrating
    from sqlite_utils import Database

# Tables in the order a person meets them; all are append-only.
TABLES = ("migrations", "ledger_info", "catalogues", "imports", "events", "event_batches",
          "voids", "lifts", "objections", "objection_decisions", "consents", "runs", "chain",
          "repairs", "repair_decisions")
# The tables of schema step 0001, which must keep making exactly what it always made.
V1_TABLES = TABLES[:12]

# Columns whose value may appear only once: an insert repeating one is refused, not merged.
# Not on `events`: a trigger run per row would double the cost of importing millions of
# rows (measured); an event replaced behind scs's back no longer matches its copy in
# `event_batches`, which `scs ledger verify` reports.
UNIQUE_KEYS = {
    "migrations": "name", "catalogues": "catalogue_id", "imports": "import_id",
    "event_batches": "batch_id", "voids": "event_id",
    "lifts": "event_id", "objections": "objection_id", "objection_decisions": "objection_id",
    "consents": "consent_id", "runs": "run_id", "chain": "link",
    "repairs": "repair_id", "repair_decisions": "repair_id",
}

PAGE_SIZE = 16384  # set at creation; 4x fewer pages than the default 4096: faster bulk imports

APPEND_ONLY = ("the ledger is append-only: {table} rows are never changed or deleted; "
               "record a void, lift or objection with scs instead")


def stamp(moment: datetime) -> str:
    """A timestamp as the ledger stores it: UTC, ISO-8601, microseconds, ``+00:00``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now_stamp() -> str:
    return stamp(datetime.now(UTC))


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _append_only(db: Database, table: str) -> None:
    message = APPEND_ONLY.format(table=table).replace("'", "''")
    db.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
               f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
    db.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
               f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
    key = UNIQUE_KEYS.get(table)
    if key:
        db.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN NEW.{key} IS NOT NULL AND EXISTS "
            f"(SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
    if table == "ledger_info":  # one city per ledger, bound once
        db.execute(
            "CREATE TRIGGER ledger_info_once BEFORE INSERT ON ledger_info "
            "WHEN EXISTS (SELECT 1 FROM ledger_info) "
            "BEGIN SELECT RAISE(ABORT, 'a ledger is bound to one city once, at init'); END")


def _initial(db: Database) -> None:
    """Version 1 of the schema."""
    db.execute("""CREATE TABLE ledger_info (
        city_id TEXT NOT NULL,
        city_name TEXT NOT NULL,
        scs_version TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE catalogues (
        catalogue_id INTEGER PRIMARY KEY,
        city_id TEXT NOT NULL,
        version TEXT NOT NULL,
        effective_from TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        file TEXT NOT NULL,
        text TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE imports (
        import_id INTEGER PRIMARY KEY,
        file TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        rows INTEGER NOT NULL,
        imported INTEGER NOT NULL,
        duplicates INTEGER NOT NULL,
        rejected INTEGER NOT NULL,
        first_event_id INTEGER,
        last_event_id INTEGER,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE events (
        event_id INTEGER PRIMARY KEY,
        resident_id TEXT NOT NULL,
        indicator TEXT NOT NULL,
        occurred_on TEXT NOT NULL,
        agency TEXT,
        reference TEXT,
        note TEXT,
        points TEXT,
        import_id INTEGER NOT NULL REFERENCES imports(import_id),
        recorded_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX events_resident ON events (resident_id)")
    # The engine's copy of each import, in blobs of at most a million events: the scoring
    # columns with residents and indicators as numbers (Arrow IPC streams, docs/ledger.md).
    db.execute("""CREATE TABLE event_batches (
        batch_id INTEGER PRIMARY KEY,
        import_id INTEGER NOT NULL REFERENCES imports(import_id),
        first_event_id INTEGER NOT NULL,
        last_event_id INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        indicators TEXT NOT NULL,
        data BLOB NOT NULL,
        residents BLOB NOT NULL,
        sources BLOB NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE voids (
        void_id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL UNIQUE REFERENCES events(event_id),
        reason TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE lifts (
        lift_id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL UNIQUE REFERENCES events(event_id),
        lifted_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE objections (
        objection_id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(event_id),
        filed_on TEXT NOT NULL,
        grounds TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX objections_event ON objections (event_id)")
    db.execute("""CREATE TABLE objection_decisions (
        decision_id INTEGER PRIMARY KEY,
        objection_id INTEGER NOT NULL UNIQUE REFERENCES objections(objection_id),
        outcome TEXT NOT NULL CHECK (outcome IN ('upheld', 'rejected')),
        decided_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE consents (
        consent_id INTEGER PRIMARY KEY,
        resident_id TEXT NOT NULL,
        on_date TEXT NOT NULL,
        consent INTEGER NOT NULL CHECK (consent IN (0, 1)),
        recorded_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX consents_resident ON consents (resident_id)")
    db.execute("""CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY,
        as_of TEXT NOT NULL,
        known_at TEXT NOT NULL,
        catalogue_sha256s TEXT NOT NULL,
        digest TEXT NOT NULL,
        residents INTEGER NOT NULL,
        result BLOB NOT NULL,
        recorded_at TEXT NOT NULL)""")
    for table in V1_TABLES:
        _append_only(db, table)


def _chain(db: Database) -> None:
    """Version 2: the hash chain, each batch's blob checksums, and the head of each run.

    An older ledger is migrated, not refused: its batches get their checksums and its rows
    are linked in recording order, so the chain attests to them from the migration on.
    """
    db.execute("""CREATE TABLE chain (
        link INTEGER PRIMARY KEY,
        table_name TEXT NOT NULL,
        row_id INTEGER NOT NULL,
        content_sha256 TEXT NOT NULL,
        hash TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (table_name, row_id))""")
    for part in ("data", "residents", "sources"):
        db.execute(f"ALTER TABLE event_batches ADD COLUMN {part}_sha256 TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN head_rows INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN head_hash TEXT")
    if db.execute("SELECT count(*) FROM event_batches").fetchone()[0]:
        # The only update scs ever makes: filling the new checksums of existing batches,
        # with the append-only trigger set aside inside this one transaction.
        conn = db.conn
        conn.execute("DROP TRIGGER event_batches_no_update")
        conn.create_function("scs_sha256", 1, _sha256, deterministic=True)
        conn.execute("UPDATE event_batches SET data_sha256 = scs_sha256(data), "
                     "residents_sha256 = scs_sha256(residents), "
                     "sources_sha256 = scs_sha256(sources)")
        message = APPEND_ONLY.format(table="event_batches").replace("'", "''")
        conn.execute("CREATE TRIGGER event_batches_no_update BEFORE UPDATE ON event_batches "
                     f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
    _append_only(db, "chain")
    chain.link_existing(db.conn)


def _repairs(db: Database) -> None:
    """Version 3: credit repair applications and their decisions (SPEC §3, §4a), kept like
    objections: appended, chained, one decision per application."""
    db.execute("""CREATE TABLE repairs (
        repair_id INTEGER PRIMARY KEY,
        resident_id TEXT NOT NULL,
        list_id TEXT NOT NULL,
        filed_on TEXT NOT NULL,
        grounds TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX repairs_resident ON repairs (resident_id)")
    db.execute("""CREATE TABLE repair_decisions (
        decision_id INTEGER PRIMARY KEY,
        repair_id INTEGER NOT NULL UNIQUE REFERENCES repairs(repair_id),
        outcome TEXT NOT NULL CHECK (outcome IN ('granted', 'refused')),
        decided_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL)""")
    for table in ("repairs", "repair_decisions"):
        _append_only(db, table)


def _noted_batches(db: Database) -> None:
    """Version 4: each event batch's `sources` blob holds its events' notes too, so the
    batch's link covers every column of the `events` table (docs/ledger.md).

    No table changes: a blob says by its columns whether it holds notes, and batches
    recorded before this step keep theirs as they are (no old row is rewritten). The step
    is recorded so that an older scs, which cannot read such blobs, refuses the ledger."""


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


# The ordered schema history. Append new steps; never edit or reorder an applied one.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("0001_initial", _initial),
    ("0002_chain", _chain),
    ("0003_repairs", _repairs),
    ("0004_noted_batches", _noted_batches),
]
# Steps a ledger can be read without: a read-only ledger made before them is read as it
# is (nothing it holds needs them), and is migrated when next opened where scs may write.
READ_WITHOUT = frozenset({"0004_noted_batches"})


def table_names(db: Any) -> set[str]:
    """Tables of a ledger, through a plain sqlite3 connection or a sqlite-utils Database."""
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def applied_migrations(db: Any) -> list[str]:
    if "migrations" not in table_names(db):
        return []
    return [row[0] for row in db.execute("SELECT name FROM migrations ORDER BY rowid")]


def pending_migrations(db: Any) -> list[tuple[str, Callable[[Database], None]]]:
    done = set(applied_migrations(db))
    return [(name, step) for name, step in MIGRATIONS if name not in done]


def unknown_migrations(db: Any) -> list[str]:
    """Migrations recorded in the file that this scs does not know (a newer scs wrote it)."""
    known = {name for name, _ in MIGRATIONS}
    return [name for name in applied_migrations(db) if name not in known]


def migrate(db: Database, recorded_at: str) -> list[str]:
    """Apply pending migrations inside the caller's transaction; return their names."""
    if "migrations" not in db.table_names():
        db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, recorded_at TEXT NOT NULL)")
    applied = []
    for name, step in pending_migrations(db):
        step(db)
        cursor = db.execute("INSERT INTO migrations (name, recorded_at) VALUES (?, ?)",
                            (name, recorded_at))
        if "chain" in table_names(db):
            chain.append(db.conn, "migrations", int(cursor.lastrowid or 0), recorded_at)
        applied.append(name)
    return applied


def last_recorded_at(conn: sqlite3.Connection) -> str | None:
    """The latest recorded_at of any row: each table's last row by rowid (recording order)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    parts = [f"SELECT (SELECT recorded_at FROM {t} ORDER BY rowid DESC LIMIT 1) AS r"
             for t in TABLES if t in names]
    if not parts:
        return None
    row = conn.execute("SELECT max(r) FROM (" + " UNION ALL ".join(parts) + ")").fetchone()
    return row[0] if row else None


def next_stamp(conn: sqlite3.Connection) -> str:
    """recorded_at for new rows: now, but always later than any row already recorded.

    Strictly later (by a microsecond if the clock has not moved on): a reader that saw
    rows up to stamp L and cut at L can then never see a write that was in flight (its
    stamp is above L), so a run saved at any moment verifies later."""
    now = now_stamp()
    last = last_recorded_at(conn)
    if last is not None and last >= now:
        return stamp(parse_stamp(last) + timedelta(microseconds=1))
    return now
