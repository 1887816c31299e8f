"""Reads that serve one surface: one resident's rows for `explain` (a bundle of residents'
for the statements), recording times for reports, the chain's head at a past moment for
statements.

They are SQL, so they live here; each returns frames or plain values, never a cursor.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

from scs_cli.core.frames import LedgerData
from scs_cli.ledger import batches
from scs_cli.ledger.early import ResidentBatches, cutoff
from scs_cli.ledger.repairs import repairs_frame
from scs_cli.ledger.schema import stamp

if TYPE_CHECKING:
    from scs_cli.ledger.store import Ledger


@dataclass(frozen=True)
class LedgerNotes:
    """What the ledger says about a resident's events in words, beyond the scoring frames."""

    void_reasons: Mapping[int, str] = field(default_factory=dict)  # event_id → reason
    objection_grounds: Mapping[int, str] = field(default_factory=dict)  # objection_id → text


def resident_data(ledger: Ledger, resident_id: str,
                  known_at: datetime | None = None, *,
                  early: ResidentBatches | None = None) -> LedgerData:
    """One resident's scoring frames, from the same checked batches `score` reads.

    The same frames `Ledger.scoring_data(known_at)` gives, restricted to one resident:
    events from the batches (never the `events` table, so `explain` and `score` cannot
    read different copies), voids, lifts, objections and consents by index. ``early``:
    the resident's batches already read and checked from this file at this cut
    (`early.EarlyRead`); one read from another file is not used.
    """

    cut = cutoff(known_at)
    conn = ledger._conn
    if early is not None and early.path != ledger.path.resolve():
        early = None
    # a damaged batch, or text that is not UTF-8 in a hand-edited ledger: one line
    with ledger._sql():
        events = batches.read_resident(conn, cut, resident_id, early)
        return _with_records(conn, cut, events, [resident_id])


def residents_data(ledger: Ledger, resident_ids: Sequence[str],
                   known_at: datetime | None = None) -> LedgerData:
    """Several residents' scoring frames at once: what `resident_data` gives each of them,
    in one `LedgerData` (their events from one pass over the checked batches, the rest by
    index with their event ids bound together)."""

    cut = cutoff(known_at)
    with ledger._sql():
        events = batches.read_residents_events(ledger._conn, cut, resident_ids)
        return _with_records(ledger._conn, cut, events, resident_ids)


def _with_records(conn: sqlite3.Connection, cut: str, events: pl.DataFrame,
                  resident_ids: Sequence[str]) -> LedgerData:
    """The residents' events with their agency, and their voids, lifts, objections,
    consents and repairs recorded by ``cut``."""
    # The residents' event ids, and their ids, each bound as one JSON array: no limit on
    # how many.
    mine = ("(SELECT value FROM json_each(?))", (json.dumps(events["event_id"].to_list()),))
    whose = json.dumps(list(resident_ids))
    # Agency is words for explain, never scored; decoding every batch's sources for it
    # would cost more than the rest of explain, so it comes from the events table by
    # key (which `scs ledger verify` proves agrees with the batches).
    agency = dict(conn.execute(f"SELECT event_id, agency FROM events WHERE event_id IN "
                               f"{mine[0]}", mine[1]).fetchall())
    events = events.with_columns(agency=pl.col("event_id").replace_strict(
        agency, default=None, return_dtype=pl.String))
    voids = [{"event_id": r[0]} for r in conn.execute(
        f"SELECT DISTINCT event_id FROM voids WHERE event_id IN {mine[0]} "
        "AND recorded_at <= ?", (*mine[1], cut))]
    lifts = [{"event_id": r[0], "lifted_on": date.fromisoformat(r[1])} for r in conn.execute(
        f"SELECT event_id, lifted_on FROM lifts WHERE event_id IN {mine[0]} "
        "AND recorded_at <= ?", (*mine[1], cut))]
    objections = [
        {"objection_id": r[0], "event_id": r[1], "filed_on": date.fromisoformat(r[2]),
         "decided_on": date.fromisoformat(r[3]) if r[3] else None, "outcome": r[4]}
        for r in conn.execute(
            "SELECT o.objection_id, o.event_id, o.filed_on, d.decided_on, d.outcome "
            "FROM objections o LEFT JOIN objection_decisions d "
            "ON d.objection_id = o.objection_id AND d.recorded_at <= ? "
            f"WHERE o.event_id IN {mine[0]} AND o.recorded_at <= ? "
            "ORDER BY o.objection_id", (cut, *mine[1], cut))]
    consents = [
        {"resident_id": r[0], "on": date.fromisoformat(r[1]), "consent": bool(r[2]),
         "seq": r[3]}
        for r in conn.execute(
            "SELECT resident_id, on_date, consent, consent_id FROM consents "
            "WHERE resident_id IN (SELECT value FROM json_each(?)) AND recorded_at <= ? "
            "ORDER BY consent_id", (whose, cut))]
    repairs = repairs_frame(conn, cut).filter(pl.col("resident_id").is_in(
        pl.Series(list(resident_ids), dtype=pl.String).implode()))
    return LedgerData.build(events, voids, lifts, objections, consents, repairs)


def resident_notes(ledger: Ledger, resident_id: str,
                   known_at: datetime | None = None) -> LedgerNotes:
    """Void reasons and objection grounds for one resident's events (read-only SQL)."""
    return residents_notes(ledger, [resident_id], known_at)


def residents_notes(ledger: Ledger, resident_ids: Sequence[str],
                    known_at: datetime | None = None) -> LedgerNotes:
    """`resident_notes` of several residents at once, in one `LedgerNotes` (it is keyed by
    event and objection ids, which are never two residents')."""

    cut = cutoff(known_at)
    conn = ledger._conn
    whose = json.dumps(list(resident_ids))
    mine = ("(SELECT event_id FROM events WHERE resident_id IN (SELECT value FROM "
            "json_each(?)) AND recorded_at <= ?)")
    with ledger._sql():  # text that is not UTF-8 in a hand-edited ledger: one line
        reasons = {r[0]: r[1] for r in conn.execute(
            f"SELECT event_id, reason FROM voids WHERE event_id IN {mine} "
            "AND recorded_at <= ?", (whose, cut, cut))}
        grounds = {r[0]: r[1] for r in conn.execute(
            f"SELECT objection_id, grounds FROM objections WHERE event_id IN {mine} "
            "AND recorded_at <= ?", (whose, cut, cut))}
    return LedgerNotes(reasons, grounds)


def recorded_ranges(ledger: Ledger, known_at: datetime) -> pl.DataFrame:
    """When each event was recorded, as (first_event_id, last_event_id, recorded_at) ranges,
    one per import.

    Events are recorded by import, and each import's events have consecutive ids, so the
    small `event_batches` table answers it without touching the events themselves. One range
    per import, not per batch: an import of over `BATCH_ROWS` events fills several batches,
    and the report tells the ledger's first import (its backfill) from later ones by range.
    """
    rows = ledger._conn.execute(
        "SELECT MIN(first_event_id), MAX(last_event_id), MIN(recorded_at) FROM event_batches "
        "WHERE recorded_at <= ? GROUP BY import_id ORDER BY 1", (stamp(known_at),)).fetchall()
    frame = pl.DataFrame(rows, schema={"first_event_id": pl.Int64, "last_event_id": pl.Int64,
                                       "recorded_at": pl.String}, orient="row")
    return frame.with_columns(pl.col("recorded_at").str.to_datetime(time_zone="UTC"))

