"""The data the engine reads from a ledger, as of a transaction time.

The ledger fills it (already filtered to rows recorded by known-at); the engine and the
reference scorer in the tests only read it. Tests build it directly with `LedgerData.build`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

EVENTS_SCHEMA: dict[str, Any] = {
    "event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
    "occurred_on": pl.Date, "points": pl.Int64, "agency": pl.String,
}
VOIDS_SCHEMA: dict[str, Any] = {"event_id": pl.Int64}
LIFTS_SCHEMA: dict[str, Any] = {"event_id": pl.Int64, "lifted_on": pl.Date}
OBJECTIONS_SCHEMA: dict[str, Any] = {
    "objection_id": pl.Int64, "event_id": pl.Int64, "filed_on": pl.Date,
    "decided_on": pl.Date, "outcome": pl.String,
}
CONSENTS_SCHEMA: dict[str, Any] = {
    "resident_id": pl.String, "on": pl.Date, "consent": pl.Boolean, "seq": pl.Int64,
}


def _frame(rows: Iterable[dict[str, Any]] | pl.DataFrame | None,
           schema: dict[str, Any]) -> pl.DataFrame:
    if isinstance(rows, pl.DataFrame):
        return rows.select([pl.col(c).cast(t) for c, t in schema.items()])
    return pl.DataFrame(list(rows or []), schema=schema, orient="row"
                        ) if rows else pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class LedgerData:
    """Events, voids, lifts, objections and consents seen at one transaction time."""

    events: pl.DataFrame
    voids: pl.DataFrame
    lifts: pl.DataFrame
    objections: pl.DataFrame
    consents: pl.DataFrame

    @classmethod
    def build(cls, events: Any = None, voids: Any = None, lifts: Any = None,
              objections: Any = None, consents: Any = None) -> LedgerData:
        """From DataFrames or lists of dicts (missing columns of events default to null)."""
        if events is not None and not isinstance(events, pl.DataFrame):
            events = [{k: e.get(k) for k in EVENTS_SCHEMA} for e in events]
        return cls(
            _frame(events, EVENTS_SCHEMA), _frame(voids, VOIDS_SCHEMA),
            _frame(lifts, LIFTS_SCHEMA), _frame(objections, OBJECTIONS_SCHEMA),
            _frame(consents, CONSENTS_SCHEMA),
        )

    def for_residents(self, resident_ids: Sequence[str]) -> LedgerData:
        """The same data restricted to some residents (all of their events)."""
        ids = pl.Series(list(resident_ids), dtype=pl.String)
        events = self.events.filter(pl.col("resident_id").is_in(ids.implode()))
        event_ids = events["event_id"]
        return LedgerData(
            events,
            self.voids.filter(pl.col("event_id").is_in(event_ids.implode())),
            self.lifts.filter(pl.col("event_id").is_in(event_ids.implode())),
            self.objections.filter(pl.col("event_id").is_in(event_ids.implode())),
            self.consents.filter(pl.col("resident_id").is_in(ids.implode())),
        )
