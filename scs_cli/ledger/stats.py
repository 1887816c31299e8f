"""Reading a ledger back: statistics, a resident's whole history, export, and verification.

Counts over millions of events come from the Arrow batch blobs (columnar, fast); anything
about one resident or about the small tables (voids, lifts, objections, consents) is SQL.
`verify_ledger` proves that the two copies of the events agree, that every table is still
append-only, and that recorded_at never goes backwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from scs_cli.core.errors import LedgerError, ScsError, UsageError
from scs_cli.core.output import format_for_path, write_frame
from scs_cli.ledger import batches, chain
from scs_cli.ledger import importer as imp
from scs_cli.ledger import reader as reader
from scs_cli.ledger import schema as schema
from scs_cli.ledger.chain import Head

if TYPE_CHECKING:
    import sqlite3
    from contextlib import AbstractContextManager

    from scs_cli.core.frames import LedgerData
    from scs_cli.ledger.records import ObjectionStatus


@dataclass(frozen=True)
class Reading:
    """What these reads need of an open ledger, lent by `store.Ledger` for one call: its
    connection, its name, its frames, its pending objections and its way of wording SQLite's
    errors. Taking this rather than the `Ledger` keeps `store` → `stats` one way."""

    conn: sqlite3.Connection
    path: Path
    city_id: str
    city_name: str
    scoring_data: Callable[..., LedgerData]
    objections: Callable[[date], list[ObjectionStatus]]
    errors: Callable[[], AbstractContextManager[None]]


def _as_text(data: LedgerData) -> pl.DataFrame:
    """The engine's copy of every event with its text put back (as the events table), and
    whether its batch holds its note (`noted`)."""
    return data.events.select(
        "event_id", resident_id=data.resident_ids(), indicator=data.indicator_ids(),
        occurred_on="occurred_on", points="points", agency="agency", reference="reference",
        note="note", noted="noted")


def _day(value: Any) -> date | None:
    return value if isinstance(value, date) else None


def _one(ledger: Reading, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return ledger.conn.execute(sql, params).fetchone()[0]


@dataclass(frozen=True)
class LedgerStats:
    ledger: str
    city_id: str
    city_name: str
    as_of: date
    created: str
    catalogues: list[dict[str, Any]]  # version, effective_from, sha256, recorded_at
    residents: int
    events: int
    first_occurred_on: date | None
    last_occurred_on: date | None
    events_by_indicator_year: list[dict[str, Any]]  # indicator, year, events
    imports: int
    duplicates_skipped: int
    rows_rejected: int
    voids: int
    lifts: int
    objections: int
    objections_pending: int
    objections_overdue: int
    consents: int
    withdrawals: int
    runs: int
    last_recorded_at: str | None


def ledger_stats(ledger: Reading, as_of: date) -> LedgerStats:
    with ledger.errors():
        data = ledger.scoring_data()
        events = data.events
        by_year = (events.group_by("code", pl.col("occurred_on").dt.year().alias("year"))
                   .agg(pl.len().alias("events"))
                   .select(indicator=data.indicator_ids(), year="year", events="events")
                   .sort("indicator", "year"))
        conn = ledger.conn
        catalogues = [dict(zip(("version", "effective_from", "sha256", "recorded_at"), r,
                               strict=True)) for r in conn.execute(
            "SELECT version, effective_from, sha256, recorded_at FROM catalogues "
            "ORDER BY catalogue_id")]
        imports = conn.execute("SELECT count(*), coalesce(sum(duplicates), 0), "
                               "coalesce(sum(rejected), 0) FROM imports").fetchone()
        pending = ledger.objections(as_of)
        consents = conn.execute("SELECT coalesce(sum(consent), 0), coalesce(sum(1 - consent),"
                                " 0) FROM consents").fetchone()
        return LedgerStats(
            ledger=str(ledger.path), city_id=ledger.city_id, city_name=ledger.city_name,
            as_of=as_of, created=_one(ledger, "SELECT recorded_at FROM ledger_info"),
            catalogues=catalogues,
            residents=data.residents.height,
            events=events.height,
            first_occurred_on=_day(events["occurred_on"].min()),
            last_occurred_on=_day(events["occurred_on"].max()),
            events_by_indicator_year=by_year.to_dicts(),
            imports=imports[0], duplicates_skipped=imports[1], rows_rejected=imports[2],
            voids=_one(ledger, "SELECT count(*) FROM voids"),
            lifts=_one(ledger, "SELECT count(*) FROM lifts"),
            objections=_one(ledger, "SELECT count(*) FROM objections"),
            objections_pending=len(pending),
            objections_overdue=sum(o.overdue for o in pending),
            consents=consents[0], withdrawals=consents[1],
            runs=_one(ledger, "SELECT count(*) FROM runs"),
            last_recorded_at=schema.last_recorded_at(conn),
        )


# --- one resident ----------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    """One ledger row about a resident, as recorded."""

    recorded_at: str
    kind: str  # event, void, lift, objection, decision, consent, withdrawal
    event_id: int | None
    objection_id: int | None
    on: date | None  # the date the row is about (occurred, lifted, filed, decided…)
    details: str  # the rest, in words
    fields: dict[str, Any]  # the row's columns as stored


KIND_ORDER = {k: i for i, k in enumerate(("event", "void", "lift", "objection", "decision",
                                          "consent", "withdrawal"))}


def resident_history(ledger: Reading, resident_id: str) -> list[HistoryEntry]:
    """Every row about one resident, in the order it was recorded (index lookups only)."""
    entries: list[HistoryEntry] = []
    conn = ledger.conn

    def rows(sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    with ledger.errors():
        events = rows("SELECT e.*, i.file AS import_file FROM events e JOIN imports i "
                      "USING (import_id) WHERE e.resident_id = ? ORDER BY e.event_id",
                      (resident_id,))
        for e in events:
            what = [e["indicator"]]
            if e["points"] is not None:
                what.append(f"points {e['points']}")
            if e["agency"]:
                what.append(f"reported by {e['agency']}")
            if e["reference"]:
                what.append(f"reference {e['reference']}")
            if e["note"]:
                what.append(f"note: {e['note']}")
            what.append(f"import {e['import_id']} ({Path(e['import_file']).name})")
            entries.append(HistoryEntry(e["recorded_at"], "event", e["event_id"], None,
                                        date.fromisoformat(e["occurred_on"]),
                                        ", ".join(what), e))
        ids = tuple(e["event_id"] for e in events)
        marks = ",".join("?" * len(ids)) or "NULL"
        for v in rows(f"SELECT * FROM voids WHERE event_id IN ({marks})", ids):
            entries.append(HistoryEntry(v["recorded_at"], "void", v["event_id"], None, None,
                                        f"reason: {v['reason']}", v))
        for lift in rows(f"SELECT * FROM lifts WHERE event_id IN ({marks})", ids):
            entries.append(HistoryEntry(lift["recorded_at"], "lift", lift["event_id"], None,
                                        date.fromisoformat(lift["lifted_on"]),
                                        f"stops counting from {lift['lifted_on']}", lift))
        objections = rows(f"SELECT * FROM objections WHERE event_id IN ({marks})", ids)
        event_of = {}
        for o in objections:
            event_of[o["objection_id"]] = o["event_id"]
            entries.append(HistoryEntry(o["recorded_at"], "objection", o["event_id"],
                                        o["objection_id"], date.fromisoformat(o["filed_on"]),
                                        f"grounds: {o['grounds']}", o))
        oids = tuple(event_of)
        omarks = ",".join("?" * len(oids)) or "NULL"
        for d in rows(f"SELECT * FROM objection_decisions WHERE objection_id IN ({omarks})",
                      oids):
            entries.append(HistoryEntry(d["recorded_at"], "decision",
                                        event_of[d["objection_id"]], d["objection_id"],
                                        date.fromisoformat(d["decided_on"]), d["outcome"], d))
        for c in rows("SELECT * FROM consents WHERE resident_id = ? ORDER BY consent_id",
                      (resident_id,)):
            kind = "consent" if c["consent"] else "withdrawal"
            entries.append(HistoryEntry(c["recorded_at"], kind, None, None,
                                        date.fromisoformat(c["on_date"]),
                                        "consents to be scored" if c["consent"]
                                        else "withdraws consent", c))
    if not entries:
        raise LedgerError(ledger.path, f"no rows about resident {resident_id!r}",
                          "check the id; resident ids are case-sensitive")
    return sorted(entries, key=lambda e: (e.recorded_at, KIND_ORDER[e.kind],
                                          e.event_id or 0, e.objection_id or 0))


# --- export ----------------------------------------------------------------------------

EXPORT_SQL = """
SELECT e.event_id, e.resident_id, e.indicator, e.occurred_on, e.agency, e.reference, e.note,
       e.points, e.import_id, e.recorded_at,
       (v.void_id IS NOT NULL OR EXISTS (
            SELECT 1 FROM objections uo JOIN objection_decisions ud USING (objection_id)
            WHERE uo.event_id = e.event_id AND ud.outcome = 'upheld')) AS voided,
       v.reason AS void_reason, v.recorded_at AS voided_at,
       l.lifted_on, l.recorded_at AS lifted_at,
       (SELECT count(*) FROM objections c WHERE c.event_id = e.event_id) AS objections,
       o.objection_id AS last_objection_id, o.filed_on AS objection_filed_on,
       d.outcome AS objection_outcome, d.decided_on AS objection_decided_on
FROM events e
LEFT JOIN voids v ON v.event_id = e.event_id
LEFT JOIN lifts l ON l.event_id = e.event_id
LEFT JOIN objections o ON o.objection_id = (
    SELECT max(objection_id) FROM objections x WHERE x.event_id = e.event_id)
LEFT JOIN objection_decisions d ON d.objection_id = o.objection_id
ORDER BY e.event_id
"""
EXPORT_SCHEMA: dict[str, Any] = {
    "event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
    "occurred_on": pl.String, "agency": pl.String, "reference": pl.String, "note": pl.String,
    "points": pl.String, "import_id": pl.Int64, "recorded_at": pl.String,
    "voided": pl.Boolean, "void_reason": pl.String, "voided_at": pl.String,
    "lifted_on": pl.String, "lifted_at": pl.String, "objections": pl.Int64,
    "last_objection_id": pl.Int64, "objection_filed_on": pl.String,
    "objection_outcome": pl.String, "objection_decided_on": pl.String,
}
DATE_COLUMNS = ("occurred_on", "lifted_on", "objection_filed_on", "objection_decided_on")


@dataclass(frozen=True)
class ExportResult:
    file: str
    format: str
    events: int


def export_events(ledger: Reading, path: Path, progress: reader.Progress | None = None
                  ) -> ExportResult:
    """Every event with its status columns, in event id order, to CSV/Parquet/JSON(L)."""
    fmt = format_for_path(path)
    with ledger.errors():
        total = _one(ledger, "SELECT count(*) FROM events")
        cursor = ledger.conn.execute(EXPORT_SQL)
        frames = []
        done = 0
        while True:
            rows = cursor.fetchmany(100_000)
            if not rows:
                break
            frame = pl.DataFrame(rows, schema=EXPORT_SCHEMA, orient="row")
            frames.append(frame.with_columns(pl.col(c).str.to_date("%Y-%m-%d")
                                             for c in DATE_COLUMNS))
            done += len(rows)
            if progress:
                progress("exporting", done, total)
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=EXPORT_SCHEMA).with_columns(
        pl.col(c).cast(pl.Date) for c in DATE_COLUMNS)
    # through the output layer, as every other table scs writes: points exact (a JSON
    # number, a Parquet decimal, CSV text as written), notes and grounds kept from running
    # as spreadsheet formulas
    frame = frame.with_columns(points=_hundredths(pl.col("points")))
    write_frame(frame, path, points=("points",))
    return ExportResult(str(path), fmt, frame.height)


def _hundredths(text: pl.Expr) -> pl.Expr:
    """An event's own points, stored as decimal text, as the engine's Int64 hundredths."""
    return pl.when(text.is_not_null()).then(imp.points_columns(text)[2]).cast(pl.Int64)


# --- verification ----------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    ledger: str
    events: int
    batches: int
    problems: list[str]
    head: Head  # the head recomputed from the rows (what `scs ledger head` should print)
    published: str | None = None  # the --head given, if any; its proof is in `problems`

    @property
    def ok(self) -> bool:
        return not self.problems


class VerifyError(ScsError):
    """A ledger that fails verification: one line per finding."""

    def __init__(self, result: VerifyResult):
        self.result = result
        super().__init__("\n".join(result.problems))

    def lines(self) -> list[str]:
        return [f"{self.result.ledger}: {p}" for p in self.result.problems]


def published_head(text: str) -> str:
    """The hash of a published head given as HASH or ROWS:HASH (as `scs ledger head`
    prints it); a `UsageError` for anything else."""
    value = text.strip().lower()
    rows, _, digest = value.rpartition(":")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or (
            rows and not (rows.isascii() and rows.isdigit())):
        raise UsageError(f"--head {text[:80]!r} is not a ledger head",
                         "give the hash `scs ledger head LEDGER` printed: 64 hex digits, "
                         "optionally after ROWS:")
    return digest


def foreign_objects(conn: Any) -> list[str]:
    """Tables, views and triggers of the file that scs did not create, and scs's own
    triggers rewritten to do something else: each one line (a trigger added by hand can
    silently drop or change what scs records)."""
    ours = {f"{t}_{kind}" for t in (*schema.TABLES, "chain")
            for kind in ("no_update", "no_delete", "no_replace")} | {"ledger_info_once"}
    found = []
    for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master WHERE "
                                        "type IN ('table', 'view', 'trigger') ORDER BY name"):
        if name.startswith("sqlite_"):
            continue
        if kind == "trigger" and name in ours:
            if "RAISE(ABORT" not in (sql or "").upper().replace(" ", ""):
                found.append(f"trigger {name} was changed: it no longer refuses the change "
                             "it is named for")
        elif kind != "table" or name not in (*schema.TABLES, "chain"):
            found.append(f"{kind} {name} was not created by scs (added by hand; drop it, "
                         "or find out who added it and why)")
    return found


def verify_ledger(ledger: Reading, head: str | None = None,
                  now: datetime | None = None) -> VerifyResult:
    """Check the ledger's integrity; return every finding (an empty list: all is well).

    The chain is recomputed from the rows and the first link that breaks is named; every
    batch's blobs are checked against their SHA-256; the events table must hold what the
    batches hold; no recorded_at may lie after ``now``; and with ``head`` (a published
    head's hash) the chain must pass through that head.
    """
    problems: list[str] = []
    conn = ledger.conn
    wanted = published_head(head) if head is not None else None
    moment = schema.stamp(now or datetime.now(UTC))
    with ledger.errors():
        for (line,) in conn.execute("PRAGMA quick_check"):
            if line != "ok":
                problems.append(f"SQLite quick_check: {line}")
        recomputed, breaks, passed = chain.check(conn)
        if breaks:
            problems.append(f"{breaks[0].message} (the chain breaks there; "
                            f"{len(breaks)} finding(s) in all)")
        if wanted is not None and wanted not in passed:
            problems.append(f"does not extend the published head {wanted[:16]}…: no intact "
                            "link of the chain has that hash (the history up to it was "
                            "rewritten, cut short, or the head belongs to another ledger)")
        for table in schema.TABLES:
            if table not in schema.table_names(conn):
                continue
            late = conn.execute(f"SELECT count(*), min(recorded_at) FROM {table} "
                                "WHERE recorded_at > ?", (moment,)).fetchone()
            if late[0]:
                problems.append(f"table {table}: {late[0]} row(s) recorded in the future "
                                f"(first {late[1]}; now is {moment})")
        triggers = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        problems += foreign_objects(conn)
        for table in schema.TABLES:
            for kind in ("no_update", "no_delete"):
                if f"{table}_{kind}" not in triggers:
                    problems.append(f"table {table} lacks its append-only trigger "
                                    f"{table}_{kind}")
            backwards = _one(ledger, f"SELECT count(*) FROM (SELECT recorded_at, lag("
                             f"recorded_at) OVER (ORDER BY rowid) AS prev FROM {table}) "
                             "WHERE prev > recorded_at")
            if backwards:
                problems.append(f"table {table}: recorded_at goes backwards {backwards} "
                                "time(s) in recording order")
        for number, sha, text in conn.execute(
                "SELECT catalogue_id, sha256, text FROM catalogues"):
            if hashlib.sha256(text.encode()).hexdigest() != sha:
                problems.append(f"catalogue {number}: its text does not match its sha256")
        count = _one(ledger, "SELECT count(*) FROM event_batches")
        damaged = []
        for batch_id, *parts in conn.execute(
                "SELECT batch_id, data, data_sha256, residents, residents_sha256, sources, "
                "sources_sha256 FROM event_batches ORDER BY batch_id"):
            for name, blob, expected in zip(("data", "residents", "sources"), parts[0::2],
                                            parts[1::2], strict=True):
                if batches.sha256(blob) != expected:
                    damaged.append(f"event batch {batch_id}: its {name} bytes do not match "
                                   "the SHA-256 recorded with them")
        if damaged:
            problems += damaged
            return VerifyResult(str(ledger.path), _one(ledger, "SELECT count(*) FROM events"),
                                count, problems, recomputed, wanted)
        data = ledger.scoring_data(notes=True)
        blobs = _as_text(data)
        numbers = data.residents
        if not (numbers["resident"].equals(pl.int_range(numbers.height, eager=True,
                                                        dtype=pl.Int32), check_names=False)
                and numbers["resident_id"].n_unique() == numbers.height):
            problems.append("the batches' residents are not numbered 0, 1, 2… once each")
        stored = _events_table(ledger)
        if stored.height != blobs.height:
            problems.append(f"events table has {stored.height} rows but the batches hold "
                            f"{blobs.height}")
        else:
            # a batch recorded before schema step 0004 holds no notes: its events' notes
            # are the table's, unproven (docs/ledger.md, "What an older ledger's chain
            # covers")
            blobs = blobs.with_columns(note=pl.when("noted").then("note")
                                       .otherwise(stored["note"]))
            if not stored.equals(blobs.select(stored.columns)):
                problems.append(_disagreement(stored, blobs.select(stored.columns)))
        # An event row's import and stamp are its batch's, which the chain covers.
        wrong, first = conn.execute(
            "SELECT count(*), min(e.event_id) FROM event_batches b JOIN events e ON "
            "e.event_id BETWEEN b.first_event_id AND b.last_event_id WHERE "
            "e.recorded_at IS NOT b.recorded_at OR e.import_id IS NOT b.import_id"
        ).fetchone()
        if wrong:
            problems.append(f"events table: {wrong} event(s) have another recorded_at or "
                            f"import than their batch, first {first}")
        keyed = blobs.filter(pl.col("agency").is_not_null() & pl.col("reference").is_not_null())
        repeated = keyed.height - keyed.select("agency", "reference").unique().height
        if repeated:
            problems.append(f"{repeated} event(s) repeat an (agency, reference) already "
                            "recorded")
        for import_id, imported, low, high, have, lo, hi in conn.execute(
                "SELECT i.import_id, i.imported, i.first_event_id, i.last_event_id, "
                "count(e.event_id), min(e.event_id), max(e.event_id) FROM imports i "
                "LEFT JOIN events e USING (import_id) GROUP BY i.import_id"):
            if have != imported or (imported and (lo, hi) != (low, high)) or (
                    imported and hi - lo + 1 != imported):
                problems.append(f"import {import_id}: records {imported} events "
                                f"{low}-{high} but the events table has {have} ({lo}-{hi})")
    return VerifyResult(str(ledger.path), stored.height, count, problems, recomputed, wanted)


def _disagreement(stored: pl.DataFrame, blobs: pl.DataFrame) -> str:
    """How the events table differs from the batches (same rows, same order): how many
    events, the first, and which of its columns."""
    flags = stored.select(pl.col("event_id").alias("_event"), *(
        pl.col(c).eq_missing(blobs[c]).not_() for c in stored.columns)
        ).filter(pl.any_horizontal(stored.columns))
    if not flags.height:
        return "events table and batches disagree"
    if flags["event_id"].any():
        return "events table and batches disagree on their event ids"
    first = flags.row(0, named=True)
    columns = ", ".join(c for c in stored.columns[1:] if first[c])
    return (f"events table and batches disagree on {flags.height} event(s), first "
            f"{first['_event']} (its {columns} in the events table is not what its batch, "
            "which the chain covers, holds)")


def _events_table(ledger: Reading) -> pl.DataFrame:
    """The events table's columns that its batches hold, typed like the batches."""
    # as text whatever a hand-made edit stored there (an integer date, say)
    cursor = ledger.conn.execute(
        "SELECT event_id, " + ", ".join(f"CAST({c} AS TEXT)" for c in (
            "resident_id", "indicator", "occurred_on", "points", "agency", "reference",
            "note")) + " FROM events ORDER BY event_id")
    frames = []
    text_schema = {"event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
                   "occurred_on": pl.String, "points": pl.String, "agency": pl.String,
                   "reference": pl.String, "note": pl.String}
    while rows := cursor.fetchmany(200_000):
        frames.append(pl.DataFrame(rows, schema=text_schema, orient="row"))
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=text_schema)
    day = pl.col("occurred_on").str.to_date("%Y-%m-%d", strict=False)
    cents = _hundredths(pl.col("points"))
    return frame.with_columns(
        # a date or points not written exactly as scs writes them (a non-date, `2023-1-5`,
        # `-12.50` for `-12.5`) reads as null, and so as a disagreement with the batches:
        # the text itself is covered, not only its value
        pl.when(day.dt.to_string("%Y-%m-%d") == pl.col("occurred_on")).then(day)
        .alias("occurred_on"),
        pl.when(imp.points_text(cents) == pl.col("points")).then(cents).alias("points"),
    ).select("event_id", "resident_id", "indicator", "occurred_on", "points", "agency",
             "reference", "note")
