"""Lists beside the score on a ledger (SPEC §3, §4a): who is listed, and credit repair.

`ledger_listings` reads a ledger as known at known-at and asks the engine who is on which
list on a date. Repair applications need the same answer before the ledger records them
(is the resident listed on the filing date? has ``repair_after`` passed since entry?), so
they are filed and decided here, above both the ledger and the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli.core.errors import LedgerError, UsageError
from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import scheme_at
from scs_cli.engine.listings import LISTINGS_SCHEMA, listings, listings_of
from scs_cli.ledger import repairs as ledger_repairs
from scs_cli.ledger.source import LedgerFile
from scs_cli.ledger.store import Ledger
from scs_cli.rules.model import Catalogue, CatalogueHistory
from scs_cli.scoring.prepared import prepared_rows

# `scs lists` columns (SPEC §4a), in order
COLUMNS = ("list", "resident_id", "since", "until", "entered_by", "repair")


@dataclass(frozen=True)
class ListsRun:
    """Who is listed on a date: one row per (list, resident), LISTINGS_SCHEMA."""

    source: str
    as_of: date
    known_at: datetime
    scheme: Catalogue
    listings: pl.DataFrame
    public: bool = False

    def records(self, joined: bool) -> list[dict[str, Any]]:
        """Rows with the csv's keys; ``joined``: ``entered_by`` as ``;``-separated text."""
        rows = self.listings.select(COLUMNS).to_dicts()
        if joined:
            for row in rows:
                row["entered_by"] = ";".join(str(e) for e in row["entered_by"])
        return rows


def ledger_listings(path: str | Path, as_of: date, known_at: datetime | None = None, *,
                    only: str | None = None, public: bool = False) -> ListsRun:
    """`scs lists LEDGER`: the listings in force on ``as_of`` as known at ``known_at``."""
    known_at = known_at or datetime.now(UTC)
    with LedgerFile.open(path) as source, source.ledger.snapshot():
        history = source.history(known_at)
        scheme_at(history, as_of, str(path))
        rows = prepared_rows(source, known_at, history,
                             tuple(a.sha256 for a in source.adopted(known_at)))
    return found_run(str(path), history, as_of, known_at, only, public,
                     lambda chosen: listings(rows.prepared, rows.data.repairs, as_of, chosen))


def listings_run(source: str, data: LedgerData, history: CatalogueHistory, as_of: date,
                 known_at: datetime, only: str | None, public: bool) -> ListsRun:
    """Listings of any source of `LedgerData` (a ledger, a dataset)."""
    return found_run(source, history, as_of, known_at, only, public,
                     lambda chosen: listings_of(data, history, as_of, chosen))


def found_run(source: str, history: CatalogueHistory, as_of: date, known_at: datetime,
              only: str | None, public: bool, find: Callable[[str | None], pl.DataFrame]
              ) -> ListsRun:
    """The checks and the ``--public`` cut of `scs lists` around ``find`` (the engine's
    `listings` of one list, or of all with None), wherever it runs (here, on Spark)."""
    scheme = scheme_at(history, as_of, source)
    if only is not None and only not in scheme.lists:
        raise UsageError(f"{source}: no list {only!r} in {scheme.label}",
                         "lists: " + (", ".join(scheme.lists) or "(none)"))
    kept = [k for k, v in scheme.lists.items()
            if not public or (v.published and v.severity != "minor")]
    if only is not None and only not in kept:  # --public --list of an unpublished one
        return ListsRun(source, as_of, known_at, scheme,
                        pl.DataFrame(schema=LISTINGS_SCHEMA), public)
    found = find(only)
    if public:
        # a minor record is never published (national rules of 2026); neither is a list
        # the office keeps unpublished
        found = found.filter(pl.col("list").is_in(pl.Series(kept, dtype=pl.String).implode()))
    return ListsRun(source, as_of, known_at, scheme, found, public)


def file_repair(path: str | Path, resident_id: str, list_id: str, on: date,
                grounds: str) -> int:
    """Record a repair application; refused unless the resident is on the list that day."""
    with Ledger.open(path) as ledger:
        item = _black_list(ledger, list_id, on)
        since = _listed_since(ledger, resident_id, item, on)
        return ledger_repairs.file_repair(ledger, resident_id, list_id, on, grounds, since)


def decide_repair(path: str | Path, repair_id: int, outcome: ledger_repairs.RepairOutcome,
                  on: date) -> tuple[str, str]:
    """Record the decision; granting before entry + ``repair_after`` is refused. Returns
    (resident id, list id)."""
    with Ledger.open(path) as ledger:
        resident_id, list_id, filed_on = ledger_repairs.application(ledger, repair_id)
        earliest = None
        if outcome == "granted":
            item = _black_list(ledger, list_id, filed_on)
            since = _listed_since(ledger, resident_id, item, filed_on)
            after = ledger.history().in_force(filed_on).lists[item].repair_after  # type: ignore[union-attr]
            if since is not None and after is not None:
                earliest = after.after(since)
        ledger_repairs.decide_repair(ledger, repair_id, outcome, on, earliest)
    return resident_id, list_id


def _black_list(ledger: Ledger, list_id: str, on: date) -> str:
    ledger_repairs.known_list(ledger, list_id, on)
    scheme = ledger.history().in_force(on)
    assert scheme is not None
    if scheme.lists[list_id].kind != "black":
        raise LedgerError(ledger.path, f"list {list_id!r} is a red list; credit repair takes "
                          "a resident off a black list", "name a black list")
    return list_id


def _listed_since(ledger: Ledger, resident_id: str, list_id: str, on: date) -> date | None:
    """When the listing of the resident in force on ``on`` began (None: not listed)."""
    found = listings_of(ledger.scoring_data(), ledger.history(), on, list_id).filter(
        pl.col("resident_id") == resident_id)
    return found["since"][0] if found.height else None
