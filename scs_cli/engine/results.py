"""What the engine hands back: `ScoreResult`, the as-of-free `Prepared` state, their schemas.

Kept apart from the kernel so that the steps (`kernel`, `totals`) can share them without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from scs_cli.core.errors import ScsError
from scs_cli.engine.rulebook import DayTable, RuleBook
from scs_cli.rules.model import Catalogue, CatalogueHistory

STATUSES = ("voided", "future", "suspended", "over-limit", "lifted", "expired", "capped",
            "counted")

RESIDENTS_SCHEMA: dict[str, Any] = {
    "resident_id": pl.String, "score": pl.Int64, "tier": pl.String,
    "rewards": pl.List(pl.String), "sanctions": pl.List(pl.String),
}
EVENTS_SCHEMA: dict[str, Any] = {
    "event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
    "occurred_on": pl.Date, "version": pl.String, "nominal": pl.Int64, "points": pl.Int64,
    "status": pl.String, "stops_on": pl.Date, "capped_by": pl.String,
    # what explain words, from the kernel's own computation (docs/architecture.md)
    "kept": pl.Int64, "occurrence": pl.Int32, "limit_rank": pl.Int32, "category": pl.String,
    "score_cap": pl.Int64, "tier_cap": pl.String, "suspended_by": pl.Int64,
    # the period of its rule's limit ("2024-03-05", "2024-W05", "2024-03", "2024"), the
    # escalation step its occurrence takes, the version in force on its date (even when
    # that version lacks the indicator)
    "period": pl.String, "step": pl.Int32, "in_force": pl.String,
}
CHECKS_SCHEMA: dict[str, Any] = {
    "resident_id": pl.String, "kind": pl.String, "id": pl.String, "applies": pl.Boolean,
    "tier_ok": pl.Boolean, "score_ok": pl.Boolean, "clean_ok": pl.Boolean,
    "breaker": pl.Int64,  # when clean_ok is false: the counting negative event that breaks it
}
# Per resident, the score step by step (hundredths) and the tier the score alone gives:
# base + points, after indicator caps, after category caps, after the scale's clamp, after
# score_cap (= score); `band` and its bounds (`band_min`, and `band_next`, the next better
# tier's min; null where open).
SUBTOTALS_SCHEMA: dict[str, Any] = {
    "resident_id": pl.String, "with_points": pl.Int64, "after_indicator_caps": pl.Int64,
    "after_category_caps": pl.Int64, "after_clamp": pl.Int64, "score": pl.Int64,
    "band": pl.String, "band_min": pl.Int64, "band_next": pl.Int64,
}
ADJUSTMENTS_SCHEMA: dict[str, Any] = {
    "resident_id": pl.String, "scope": pl.String, "key": pl.String, "amount": pl.Int64,
}


class NoSchemeError(ScsError):
    """No adopted catalogue version is in force on the as-of date."""

    def __init__(self, as_of: date, first: date | None, source: str | None = None):
        self.as_of = as_of
        self.first = first
        self.source = source
        super().__init__(
            (f"{source}: " if source else "") + f"no catalogue version is in force on {as_of}"
            + (f" (the first adopted version takes effect on {first}; score at that date "
               "or later)" if first else " (no catalogue is adopted; adopt one first)"))


@dataclass(frozen=True)
class ScoreResult:
    """Scores at one as-of date, with every event's part in them (docs/architecture.md)."""

    as_of: date
    scheme: Catalogue
    residents: pl.DataFrame
    events: pl.DataFrame
    adjustments: pl.DataFrame
    # with ``tally``: one row per counting event (indicator and version as Enums, points
    # before caps, resident as a number), for totals that need no per-event text
    counting: pl.DataFrame | None = None
    # with ``detail``: per resident, each reward's and sanction's step-9 conditions
    # (CHECKS_SCHEMA: tier_ok, score_ok, clean_ok; null where the rule sets none)
    checks: pl.DataFrame | None = None
    # with ``detail``: per resident, SUBTOTALS_SCHEMA (what explain's score and tier
    # sentences word)
    subtotals: pl.DataFrame | None = None
    # with ``lists``: per scored resident, the red lists granted on the as-of date
    # (resident_id, list), tested with the rewards so listings need no second evaluation
    red: pl.DataFrame | None = None


@dataclass(frozen=True)
class Prepared:
    """Everything about a ledger and its rules that does not depend on the as-of date.

    ``frame`` holds the events sorted by (resident, indicator, occurred_on, event id), with
    residents numbered 0…n-1 (``rix``, see `engine.sort`), so per-resident totals are sums
    over consecutive rows; ``row`` is each event's position in ``events``.
    """

    history: CatalogueHistory
    book: RuleBook
    table: DayTable
    frame: pl.DataFrame
    residents: pl.DataFrame      # rix, resident_id: every resident with an event
    lexical: pl.Series           # rix of the residents in resident-id order
    events: pl.DataFrame | None  # the ledger's events frame, in event-id order (None: a
                                 # frame kept from earlier, `kernel.restore`)
    indicators: tuple[str, ...]  # the ledger's indicator ids, by `events.code`
    objections: pl.DataFrame     # objections not upheld: event_id, objection_id, filed,
                                 # decided (day numbers)
    consents: pl.DataFrame
    keys: pl.Series              # the ledger's resident number of each rix (what a kept
                                 # frame needs to find its residents again)
