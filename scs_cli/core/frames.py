"""The data the engine reads from a ledger, as of a transaction time.

The ledger fills it (already filtered to rows recorded by known-at); the engine and the
reference scorer in the tests only read it. Tests build it directly with `LedgerData.build`.

Events carry numbers, not text: ``resident`` is a row of `residents` (resident, resident_id)
and ``code`` a position in `indicators`. Millions of short strings are what made reading
and sorting a large ledger slow; half a million resident ids and a few dozen indicator ids
are cheap. A frame built from text (``resident_id`` and ``indicator`` columns) is numbered
on construction and keeps its text columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

# What every events frame has once numbered; `resident_id`, `indicator` and `agency` text
# columns may come along (from `build`, or `Ledger.scoring_data(sources=True)`).
EVENTS_SCHEMA: dict[str, Any] = {
    "event_id": pl.Int64, "resident": pl.Int32, "code": pl.Int32,
    "occurred_on": pl.Date, "points": pl.Int64,
}
TEXT_SCHEMA: dict[str, Any] = {
    "event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
    "occurred_on": pl.Date, "points": pl.Int64, "agency": pl.String,
}
RESIDENTS_SCHEMA: dict[str, Any] = {"resident": pl.Int32, "resident_id": pl.String}
VOIDS_SCHEMA: dict[str, Any] = {"event_id": pl.Int64}
LIFTS_SCHEMA: dict[str, Any] = {"event_id": pl.Int64, "lifted_on": pl.Date}
OBJECTIONS_SCHEMA: dict[str, Any] = {
    "objection_id": pl.Int64, "event_id": pl.Int64, "filed_on": pl.Date,
    "decided_on": pl.Date, "outcome": pl.String,
}
CONSENTS_SCHEMA: dict[str, Any] = {
    "resident_id": pl.String, "on": pl.Date, "consent": pl.Boolean, "seq": pl.Int64,
}
# Credit repair applications filed by known-at, with their decision only if recorded by then.
REPAIRS_SCHEMA: dict[str, Any] = {
    "repair_id": pl.Int64, "resident_id": pl.String, "list_id": pl.String,
    "filed_on": pl.Date, "decided_on": pl.Date, "outcome": pl.String,
}


def _frame(rows: Iterable[dict[str, Any]] | pl.DataFrame | None,
           schema: dict[str, Any]) -> pl.DataFrame:
    if isinstance(rows, pl.DataFrame):
        return rows.select([pl.col(c).cast(t) for c, t in schema.items()])
    return pl.DataFrame(list(rows or []), schema=schema, orient="row"
                        ) if rows else pl.DataFrame(schema=schema)


def numbered(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]:
    """Number an events frame's text: (events with resident and code, residents, indicators).

    Residents are numbered in order of first appearance, indicators in sorted order.
    """
    residents = events.select(pl.col("resident_id").unique(maintain_order=True)).with_columns(
        resident=pl.int_range(pl.len(), dtype=pl.Int32)).select(list(RESIDENTS_SCHEMA))
    indicators = tuple(sorted(events["indicator"].unique().drop_nulls().to_list()))
    events = events.drop("resident", "code", strict=False).with_columns(
        resident=pl.col("resident_id").replace_strict(
            residents["resident_id"], residents["resident"], return_dtype=pl.Int32)
        if residents.height else pl.lit(None, dtype=pl.Int32),  # (Polars keeps the text type)
        code=pl.col("indicator").replace_strict(
            pl.Series(indicators, dtype=pl.String), pl.int_range(len(indicators), eager=True),
            return_dtype=pl.Int32) if indicators else pl.lit(None, dtype=pl.Int32),
    )
    return events, residents, indicators


@dataclass(frozen=True)
class LedgerData:
    """Events, voids, lifts, objections and consents seen at one transaction time.

    ``residents`` maps every ``events.resident`` to its id and ``indicators`` every
    ``events.code`` to its indicator id; both are derived from the text columns when
    left out.
    """

    events: pl.DataFrame
    voids: pl.DataFrame
    lifts: pl.DataFrame
    objections: pl.DataFrame
    consents: pl.DataFrame
    residents: pl.DataFrame = None  # type: ignore[assignment]
    indicators: tuple[str, ...] = None  # type: ignore[assignment]
    repairs: pl.DataFrame = None  # type: ignore[assignment]  # REPAIRS_SCHEMA; None: empty
    # What the events were read from (a ledger's checked batches, `batches.read_events`);
    # None when unknown (frames built in memory, a dataset). Keys the prepared-frame cache.
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.repairs is None:
            object.__setattr__(self, "repairs", pl.DataFrame(schema=REPAIRS_SCHEMA))
        if self.residents is None or self.indicators is None:
            events, residents, indicators = numbered(self.events)
            object.__setattr__(self, "events", events)
            object.__setattr__(self, "residents", residents)
            object.__setattr__(self, "indicators", indicators)

    @classmethod
    def build(cls, events: Any = None, voids: Any = None, lifts: Any = None,
              objections: Any = None, consents: Any = None, repairs: Any = None
              ) -> LedgerData:
        """From DataFrames or lists of dicts with text ids (missing columns default to null)."""
        if events is not None and not isinstance(events, pl.DataFrame):
            events = [{k: e.get(k) for k in TEXT_SCHEMA} for e in events]
        return cls(
            _frame(events, TEXT_SCHEMA), _frame(voids, VOIDS_SCHEMA),
            _frame(lifts, LIFTS_SCHEMA), _frame(objections, OBJECTIONS_SCHEMA),
            _frame(consents, CONSENTS_SCHEMA), repairs=_frame(repairs, REPAIRS_SCHEMA),
        )

    def resident_ids(self) -> pl.Expr:
        """An expression giving the resident id of each row of `events`."""
        keys, ids = self.residents["resident"], self.residents["resident_id"]
        if not keys.len():
            return pl.lit(None, dtype=pl.String)
        if keys.equals(pl.int_range(keys.len(), eager=True, dtype=pl.Int32), check_names=False):
            return pl.lit(ids).gather(pl.col("resident"))  # numbered 0…n-1: a gather
        return pl.col("resident").replace_strict(keys, ids, return_dtype=pl.String)

    def indicator_ids(self) -> pl.Expr:
        """An expression giving the indicator id of each row of `events`."""
        return pl.lit(pl.Series(self.indicators or ("",), dtype=pl.String)).gather(
            pl.col("code"))

    def for_residents(self, resident_ids: Sequence[str]) -> LedgerData:
        """The same data restricted to some residents (all of their events)."""
        ids = pl.Series(list(resident_ids), dtype=pl.String)
        keys = self.residents.filter(pl.col("resident_id").is_in(ids.implode()))["resident"]
        events = self.events.filter(pl.col("resident").is_in(keys.implode()))
        event_ids = events["event_id"]
        return LedgerData(
            events,
            self.voids.filter(pl.col("event_id").is_in(event_ids.implode())),
            self.lifts.filter(pl.col("event_id").is_in(event_ids.implode())),
            self.objections.filter(pl.col("event_id").is_in(event_ids.implode())),
            self.consents.filter(pl.col("resident_id").is_in(ids.implode())),
            self.residents.filter(pl.col("resident").is_in(keys.implode())),
            self.indicators,
            self.repairs.filter(pl.col("resident_id").is_in(ids.implode())),
        )
