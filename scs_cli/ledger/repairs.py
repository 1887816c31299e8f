"""Credit repair in the ledger (SPEC §3, §4a): applications and decisions, kept like
objections: appended rows, each linked into the hash chain, one decision per application.

The ledger checks what it can see itself (the list exists in the catalogue in force, the
dates are not in the future, a decision is not made twice or before the filing). Whether
the resident is listed on the filing date, and whether ``repair_after`` has passed since
entry, are questions for the engine: `scoring.repairs` asks it and passes the answer in
(``listed_since``), since the ledger never imports the engine.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import polars as pl

from scs_cli.core.errors import LedgerError
from scs_cli.core.frames import REPAIRS_SCHEMA
from scs_cli.ledger import chain

if TYPE_CHECKING:
    from scs_cli.ledger.store import Ledger

RepairOutcome = Literal["granted", "refused"]


@dataclass(frozen=True)
class RepairStatus:
    """A repair application pending on a date, with its age."""

    repair_id: int
    resident_id: str
    list_id: str
    filed_on: date
    grounds: str
    age_days: int
    recorded_at: str


def repairs_frame(conn: sqlite3.Connection, cut: str) -> pl.DataFrame:
    """Applications recorded by ``cut``, each with its decision only if recorded by then."""
    rows = conn.execute(
        "SELECT r.repair_id, r.resident_id, r.list_id, r.filed_on, d.decided_on, d.outcome "
        "FROM repairs r LEFT JOIN repair_decisions d ON d.repair_id = r.repair_id "
        "AND d.recorded_at <= ? WHERE r.recorded_at <= ? ORDER BY r.repair_id",
        (cut, cut)).fetchall()
    text = {k: (pl.String if t == pl.Date else t) for k, t in REPAIRS_SCHEMA.items()}
    return pl.DataFrame(rows, schema=text, orient="row").with_columns(
        pl.col("filed_on").str.to_date("%Y-%m-%d"), pl.col("decided_on").str.to_date("%Y-%m-%d"))


def file_repair(ledger: Ledger, resident_id: str, list_id: str, on: date, grounds: str,
                listed_since: date | None) -> int:
    """Record an application; ``listed_since`` is when the listing it concerns began (None:
    the resident is not on the list on the filing date, which refuses it)."""
    if not grounds.strip():
        raise LedgerError(ledger.path, "a repair application needs its grounds",
                          "say how the conduct was corrected with --grounds")
    ledger._not_future(on, "the filing date")
    known_list(ledger, list_id, on)
    if listed_since is None:
        raise LedgerError(ledger.path, f"{resident_id} is not on list {list_id!r} on {on}",
                          f"`scs lists LEDGER --as-of {on} --list {list_id}` shows who is")
    with ledger._write() as stamp:
        cursor = ledger._conn.execute(
            "INSERT INTO repairs (resident_id, list_id, filed_on, grounds, recorded_at) "
            "VALUES (?,?,?,?,?)", (resident_id, list_id, on.isoformat(), grounds, stamp))
        chain.append(ledger._conn, "repairs", int(cursor.lastrowid or 0), stamp)
    return int(cursor.lastrowid or 0)


def application(ledger: Ledger, repair_id: int) -> tuple[str, str, date]:
    """(resident id, list id, filing date) of a recorded application."""
    ledger._an_id(repair_id, "repair")
    row = ledger._conn.execute("SELECT resident_id, list_id, filed_on FROM repairs "
                              "WHERE repair_id = ?", (repair_id,)).fetchone()
    if row is None:
        raise LedgerError(ledger.path, f"no repair {repair_id}",
                          "`scs repair list LEDGER` shows the pending ones")
    return row[0], row[1], date.fromisoformat(row[2])


def decide_repair(ledger: Ledger, repair_id: int, outcome: RepairOutcome, on: date,
                  earliest_grant: date | None) -> int:
    """Record the decision; granting before ``earliest_grant`` (entry + repair_after) is
    refused."""
    if outcome not in ("granted", "refused"):
        raise LedgerError(ledger.path, f"{outcome!r} is not an outcome",
                          "use granted or refused")
    ledger._not_future(on, "the decision date")
    _, list_id, filed_on = application(ledger, repair_id)
    with ledger._write() as stamp:
        decided = ledger._conn.execute(
            "SELECT outcome, decided_on FROM repair_decisions WHERE repair_id = ?",
            (repair_id,)).fetchone()
        if decided:
            raise LedgerError(ledger.path, f"repair {repair_id} is already decided "
                              f"({decided[0]} on {decided[1]})")
        if on < filed_on:
            raise LedgerError(ledger.path, f"the decision date {on} is before repair "
                              f"{repair_id} was filed ({filed_on})",
                              "give a date on or after the filing")
        if outcome == "granted" and earliest_grant is not None and on < earliest_grant:
            raise LedgerError(ledger.path, f"repair {repair_id} cannot be granted on {on}: "
                              f"list {list_id!r} allows repair from {earliest_grant} "
                              "(entry + repair_after)",
                              f"grant it on or after {earliest_grant}, or refuse it")
        cursor = ledger._conn.execute(
            "INSERT INTO repair_decisions (repair_id, outcome, decided_on, recorded_at) "
            "VALUES (?,?,?,?)", (repair_id, outcome, on.isoformat(), stamp))
        chain.append(ledger._conn, "repair_decisions", int(cursor.lastrowid or 0), stamp)
    return int(cursor.lastrowid or 0)


def known_list(ledger: Ledger, list_id: str, on: date) -> None:
    """Refuse a list the catalogue in force on ``on`` does not define."""
    scheme = ledger.history().in_force(on)
    lists = scheme.lists if scheme else {}
    if list_id not in lists:
        raise LedgerError(ledger.path, f"unknown list {list_id!r} on {on}",
                          "lists of the catalogue in force: " + (", ".join(lists) or "(none)"))


def pending_repairs(ledger: Ledger, as_of: date) -> list[RepairStatus]:
    """Applications filed by as-of and not decided by then, oldest first."""
    day = as_of.isoformat()
    rows = ledger._conn.execute(
        "SELECT r.repair_id, r.resident_id, r.list_id, r.filed_on, r.grounds, r.recorded_at "
        "FROM repairs r LEFT JOIN repair_decisions d ON d.repair_id = r.repair_id "
        "AND d.decided_on <= ? WHERE r.filed_on <= ? AND d.decision_id IS NULL "
        "ORDER BY r.filed_on, r.repair_id", (day, day)).fetchall()
    return [RepairStatus(rid, resident, lid, date.fromisoformat(filed), grounds,
                         (as_of - date.fromisoformat(filed)).days, recorded_at)
            for rid, resident, lid, filed, grounds, recorded_at in rows]
