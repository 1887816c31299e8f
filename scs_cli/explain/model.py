"""What `explain` hands back: the explanation of one resident's score as frozen data.

`Explanation.to_record` is the SPEC §4 JSON object; resident statements build on these
fields, so fields are only ever added (with defaults), never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

COUNTING = ("counted", "capped")
STANDING_NOT = ("voided", "future", "suspended")
MAX_REASONS = 4  # as credit bureaus give them (FCRA/ECOA adverse-action notices)


@dataclass(frozen=True)
class EventLine:
    event_id: int
    indicator: str
    name: str | None  # the indicator's name in the version that judges the event
    occurred_on: date
    nominal_points: Decimal | None  # None: not judged, and the rule alone does not say
    points: Decimal
    status: str
    reason: str
    basis: str | None
    source: str | None
    version: str | None
    capped_by: str | None
    stops_on: date | None
    # Keys of the judging rule (points, expiry, limit, caps) that no source gives: the
    # catalogue marks them `assumed` (SPEC §2 Provenance).
    assumed: tuple[str, ...] = ()
    # from the kernel's own computation (added after the first release: defaults keep
    # positional construction working)
    kept_points: Decimal | None = None  # what the event adds after every cap
    occurrence: int | None = None       # which occurrence the escalation counted it as
    limit_rank: int | None = None       # its place in its limit period
    category: str | None = None         # its own rule's category
    score_cap: Decimal | None = None    # while it counts, the score is at most this (kernel)
    tier_cap: str | None = None         # while it counts, the tier is at most this (kernel)


@dataclass(frozen=True)
class Adjustment:
    scope: str  # indicator | category | clamp | score_cap
    key: str | None
    amount: Decimal
    reason: str
    assumed: bool = False  # the bound that made it (a cap, the scale's clamp) is assumed


@dataclass(frozen=True)
class Factor:
    """One of the main reasons the score is not higher, with what it actually cost."""

    factor: str  # indicator id, ``category:<id>``, ``score-cap``, ``clamp`` or an award cap
    cost: Decimal  # points it took off the score, after caps (positive)
    text: str
    events: tuple[int, ...]


@dataclass(frozen=True)
class Eligibility:
    id: str
    name: str
    applies: bool
    reason: str


@dataclass(frozen=True)
class ProjectionPoint:
    date: date
    score: Decimal | None
    tier: str | None
    events: tuple[int, ...]  # the negative events that stop counting on this date
    reason: str


@dataclass(frozen=True)
class Measure:
    """A sanction on a list (a joint measure) in force for the resident."""

    id: str
    name: str
    agency: str | None
    until: date | None  # the listing's start + the measure's lasts (None: while listed)


@dataclass(frozen=True)
class ListingLine:
    """A list the resident is on (SPEC §4a): why, until when, and from when a repair may
    be granted."""

    list: str
    name: str
    kind: str                       # "black" or "red"
    since: date
    until: date | None              # the earliest end known; None: none yet
    entered_by: tuple[int, ...]     # the events that entered it (black lists)
    repair: int | None              # the granted repair that ends it
    repair_from: date | None        # entry + repair_after: a repair may be granted from
    measures: tuple[Measure, ...]
    reason: str


@dataclass(frozen=True)
class Explanation:
    resident_id: str
    as_of: date
    city: str
    version: str  # the catalogue version in force on the as-of date (the scheme)
    scored: bool  # False when participation is by consent and none is in force
    score: Decimal | None
    tier: str | None
    tier_reason: str
    score_reason: str
    reasons: tuple[Factor, ...]
    events: tuple[EventLine, ...]
    adjustments: tuple[Adjustment, ...]
    rewards: tuple[Eligibility, ...]
    sanctions: tuple[Eligibility, ...]
    projection: tuple[ProjectionPoint, ...]
    known_at: datetime | None = None
    # Every assumed catalogue value this score, tier or a counting event rests on, as
    # ``table.key`` paths (``tiers[0].min``, ``indicators.x.expires_after``).
    assumptions: tuple[str, ...] = ()
    # The lists the resident is on, beside the score (SPEC §4a)
    lists: tuple[ListingLine, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The SPEC §4 JSON object (plus `score_reason`, `adjustments`, `basis`…)."""
        return {
            "resident_id": self.resident_id,
            "as_of": self.as_of,
            "known_at": self.known_at,
            "city": self.city,
            "version": self.version,
            "scored": self.scored,
            "score": self.score,
            "tier": self.tier,
            "tier_reason": self.tier_reason,
            "score_reason": self.score_reason,
            "reasons": [
                {"factor": f.factor, "cost": f.cost, "text": f.text, "events": list(f.events)}
                for f in self.reasons],
            "events": [
                {"event_id": e.event_id, "indicator": e.indicator, "occurred_on": e.occurred_on,
                 "nominal_points": e.nominal_points, "points": e.points, "status": e.status,
                 "reason": e.reason, "basis": e.basis, "source": e.source,
                 "version": e.version, "capped_by": e.capped_by, "stops_on": e.stops_on,
                 "assumed": list(e.assumed), "kept_points": e.kept_points,
                 "occurrence": e.occurrence, "limit_rank": e.limit_rank,
                 "category": e.category}
                for e in self.events],
            "adjustments": [
                {"scope": a.scope, "key": a.key, "amount": a.amount, "reason": a.reason,
                 "assumed": a.assumed}
                for a in self.adjustments],
            "assumptions": list(self.assumptions),
            "rewards": [{"id": r.id, "name": r.name, "applies": r.applies, "reason": r.reason}
                        for r in self.rewards],
            "sanctions": [{"id": s.id, "name": s.name, "applies": s.applies,
                           "reason": s.reason} for s in self.sanctions],
            "projection": [{"date": p.date, "score": p.score, "tier": p.tier,
                            "events": list(p.events), "reason": p.reason}
                           for p in self.projection],
            "lists": [{"list": x.list, "name": x.name, "kind": x.kind, "since": x.since,
                       "until": x.until, "entered_by": list(x.entered_by),
                       "repair": x.repair, "repair_from": x.repair_from,
                       "measures": [{"id": m.id, "name": m.name, "agency": m.agency,
                                     "until": m.until} for m in x.measures],
                       "reason": x.reason} for x in self.lists],
        }
