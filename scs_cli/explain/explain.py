"""One resident's score, point by point: the batch kernel's own arithmetic, put into words.

`explain` never computes a point itself. It runs `engine.score` on the resident's data
alone (the engine gives the same numbers on any partition of residents, so batch and
explain cannot disagree) and turns the per-event rows and the cap adjustments the kernel
returns into reasons a person can check against the catalogue and the ledger. The words
(which occurrence, which period, since when) are derived from the same frames; the
numbers are always the kernel's.

`explain_ledger` is the whole job for one ledger file: it reads only the resident's rows
through the ledger's resident index, so it stays fast on a ledger of millions of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli.core.errors import LedgerError, ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.core.output import decimal_text
from scs_cli.engine.kernel import evaluate, prepare
from scs_cli.ledger.reads import LedgerNotes, resident_data, resident_notes
from scs_cli.ledger.store import Ledger
from scs_cli.rules.model import Catalogue, CatalogueHistory, Indicator, from_cents

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
                 "assumed": list(e.assumed)}
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
        }


# --- the kernel, called through one seam -----------------------------------------------

def _prepare(data: LedgerData, history: CatalogueHistory) -> Any:
    """The engine's as-of independent state (sort, rule numbers): done once per explain."""

    return prepare(data, history)


def _evaluate(prepared: Any, as_of: date, detail: bool = True) -> Any:
    """`engine.score` at one date over prepared data (``score`` is prepare + evaluate)."""

    return evaluate(prepared, as_of, detail)


def _score(data: LedgerData, history: CatalogueHistory, as_of: date) -> Any:
    return _evaluate(_prepare(data, history), as_of)


# --- the library entry points ----------------------------------------------------------

def explain(data: LedgerData, history: CatalogueHistory, resident_id: str, as_of: date,
            ledger_notes: LedgerNotes | None = None, *,
            known_at: datetime | None = None) -> Explanation:
    """Everything about one resident's score on ``as_of``, from the same kernel as the batch.

    ``data`` may hold other residents too; only ``resident_id``'s rows are used.
    """
    notes = ledger_notes or LedgerNotes()
    mine = data.for_residents([resident_id])
    if mine.events.is_empty() and mine.consents.is_empty():
        raise ScsError(f"resident {resident_id!r} has no events and no consent rows in "
                       "these ledger data; check the resident id")
    prepared = _prepare(mine, history)
    result = _evaluate(prepared, as_of)
    scheme: Catalogue = result.scheme
    row = result.residents.filter(result.residents["resident_id"] == resident_id)
    scored = not row.is_empty()
    if not scored and not mine.events.is_empty():
        # Participation by consent: the resident is not scored, but the records are kept;
        # show how the rules judge them, without a score.
        result = _score(mine, _everyone_participates(history), as_of)
    ctx = _Context(history, scheme, as_of, mine, notes)
    events = _event_lines(ctx, result.events)
    adjustments = _adjustments(ctx, result.adjustments, events)

    if not scored:
        if scheme.policy.participation == "consent":
            why = (f"not scored: participation in {scheme.label} is by consent and no "
                   f"consent of {resident_id} is in force on {as_of}")
        else:
            why = f"not scored: {resident_id} has no events recorded"
        no = tuple(Eligibility(r.id, r.name, False, why) for r in scheme.rewards.values())
        no_s = tuple(Eligibility(s.id, s.name, False, why) for s in scheme.sanctions.values())
        return Explanation(resident_id, as_of, scheme.city.id, scheme.version, False, None,
                           None, why, why, (), events, adjustments, no, no_s, (), known_at)

    me = row.to_dicts()[0]
    score = from_cents(int(me["score"]))
    tier = str(me["tier"])
    got_rewards = set(me["rewards"] or [])
    got_sanctions = set(me["sanctions"] or [])
    return Explanation(
        resident_id=resident_id, as_of=as_of, city=scheme.city.id, version=scheme.version,
        scored=True, score=score, tier=tier,
        tier_reason=_tier_reason(ctx, score, tier, events),
        score_reason=_score_reason(ctx, score, events, adjustments),
        reasons=_factors(ctx, events, adjustments),
        events=events, adjustments=adjustments,
        rewards=tuple(_reward(ctx, r, score, tier, events, r.id in got_rewards)
                      for r in scheme.rewards.values()),
        sanctions=tuple(_sanction(ctx, s.id, s.name, s.max_tier, tier, s.id in got_sanctions)
                        for s in scheme.sanctions.values()),
        projection=_projection(ctx, resident_id, events, prepared),
        known_at=known_at,
        assumptions=_assumptions(ctx, score, events, adjustments),
    )


def explain_ledger(path: str | Path, resident_id: str, as_of: date,
                   known_at: datetime | None = None) -> Explanation:
    """Open a ledger, read one resident's rows by index, and explain their score."""

    with Ledger.open(path) as ledger:
        history = ledger.history(known_at)
        data = resident_data(ledger, resident_id, known_at)
        if data.events.is_empty() and data.consents.is_empty():
            seen = f" as known at {known_at.isoformat()}" if known_at else ""
            raise LedgerError(path, f"no resident {resident_id!r} in this ledger{seen}",
                              "check the id: `scs ledger history LEDGER RESIDENT` lists a "
                              "resident's rows")
        notes = resident_notes(ledger, resident_id, known_at)
    return explain(data, history, resident_id, as_of, notes, known_at=known_at)


# --- putting the kernel's rows into words ------------------------------------------------

@dataclass
class _Context:
    history: CatalogueHistory
    scheme: Catalogue
    as_of: date
    data: LedgerData
    notes: LedgerNotes

    def rule(self, indicator: str, day: date) -> Indicator | None:
        """The indicator as defined by the version in force on the event's date."""
        version = self.history.in_force(day)
        return version.indicators.get(indicator) if version else None

    def indicator_name(self, indicator: str) -> str:
        ind = self.scheme.indicators.get(indicator)
        if ind is None:
            for version in reversed(self.history.versions):
                ind = version.indicators.get(indicator)
                if ind:
                    break
        return ind.name if ind else indicator


def _everyone_participates(history: CatalogueHistory) -> CatalogueHistory:
    return CatalogueHistory(replace(c, policy=replace(c.policy, participation="all"))
                            for c in history.versions)


def _num(value: Decimal | None) -> str:
    return "—" if value is None else decimal_text(value)


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + decimal_text(value)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _period(day: date, per: str) -> str:
    if per == "day":
        return f"day {day.isoformat()}"
    if per == "week":
        year, week, _ = day.isocalendar()
        return f"week {year}-W{week:02d}"
    if per == "month":
        return f"month {day:%Y-%m}"
    return f"year {day:%Y}"


def _period_key(day: date, per: str) -> tuple[int, ...]:
    if per == "week":
        return tuple(day.isocalendar()[:2])
    if per == "month":
        return (day.year, day.month)
    if per == "year":
        return (day.year,)
    return (day.toordinal(),)


def _event_lines(ctx: _Context, frame: Any) -> tuple[EventLine, ...]:
    rows = sorted(frame.to_dicts(), key=lambda r: (r["occurred_on"], r["event_id"]))
    voids = set(ctx.data.voids["event_id"].to_list())
    lifts = {r["event_id"]: r["lifted_on"] for r in ctx.data.lifts.to_dicts()}
    objections: dict[int, list[dict[str, Any]]] = {}
    for o in sorted(ctx.data.objections.to_dicts(), key=lambda o: o["objection_id"]):
        objections.setdefault(o["event_id"], []).append(o)
    # Standing occurrences per indicator, for the words "2nd occurrence", "3rd in month…"
    standing: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["status"] not in STANDING_NOT:
            standing.setdefault(r["indicator"], []).append(r)

    own_points = dict(zip(ctx.data.events["event_id"].to_list(),
                          ctx.data.events["points"].to_list(), strict=True))
    lines = []
    for r in rows:
        rule = ctx.rule(r["indicator"], r["occurred_on"])
        reason = _event_reason(ctx, r, rule, voids, lifts, objections.get(r["event_id"], []),
                               standing.get(r["indicator"], []))
        assumed = _event_assumed(ctx, rule, r)
        rests = [k for k in assumed if k != "expires_after"]  # expiry is marked in place
        if rests and r["status"] not in STANDING_NOT:
            reason += f"; rests on assumed {', '.join(rests)} (no source gives them)"
        lines.append(EventLine(
            event_id=int(r["event_id"]), indicator=r["indicator"],
            name=rule.name if rule else None, occurred_on=r["occurred_on"],
            nominal_points=_nominal(r, rule, own_points.get(r["event_id"])),
            points=from_cents(int(r["points"] or 0)), status=r["status"], reason=reason,
            basis=rule.basis if rule else None, source=rule.source if rule else None,
            version=r.get("version"), capped_by=r.get("capped_by"), stops_on=r.get("stops_on"),
            assumed=assumed))
    return tuple(lines)


# What of a rule an event's points, expiry or caps can rest on.
EVENT_KEYS = ("points", "points_range", "escalation", "escalation_window", "limit",
              "expires_after", "max_deduction", "max_award", "tier_cap", "score_cap")


def _event_assumed(ctx: _Context, rule: Indicator | None, r: dict[str, Any]
                   ) -> tuple[str, ...]:
    """The assumed keys an event rests on: its rule's, and a category cap that cut it."""
    keys = [k for k in EVENT_KEYS if rule is not None and k in rule.assumed]
    scope, _, key = (r.get("capped_by") or "").partition(":")
    if scope == "category" and key in ctx.scheme.categories:
        cat = ctx.scheme.categories[key]
        keys += [f"categories.{key}.{k}" for k in ("max_deduction", "max_award")
                 if k in cat.assumed]
    return tuple(keys)


def _assumptions(ctx: _Context, score: Decimal, events: Sequence[EventLine],
                 adjustments: Sequence[Adjustment]) -> tuple[str, ...]:
    """Every assumed value the score, the tier or a counting event rests on, in order."""
    scheme = ctx.scheme
    found: list[str] = []
    band = scheme.tier_rank(scheme.tier_for(score))
    for i in (band - 1, band):  # the band's floor and the next better tier's floor
        if 0 <= i < len(scheme.tiers) and "min" in scheme.tiers[i].assumed:
            found.append(f"tiers[{i}].min")
    if "base" in scheme.scale.assumed:
        found.append("scale.base")
    for a in adjustments:
        if a.scope == "clamp":
            found += [f"scale.{k}" for k in ("min", "max") if k in scheme.scale.assumed]
    for e in events:
        if e.status in COUNTING:
            found += [k if k.startswith("categories.") else f"indicators.{e.indicator}.{k}"
                      for k in e.assumed]
    return tuple(dict.fromkeys(found))


def _nominal(r: dict[str, Any], rule: Indicator | None, own: int | None) -> Decimal | None:
    """The kernel's nominal points; for an event it did not judge (voided, future,
    suspended), what the rule alone says, when that does not depend on other events."""
    if r.get("nominal") is not None:
        return from_cents(int(r["nominal"]))
    if rule is None:
        return None
    if rule.points is not None:
        return rule.points
    if rule.points_range is not None and own is not None:
        return from_cents(own)
    return None  # an escalation step depends on the standing occurrences


def _event_reason(ctx: _Context, r: dict[str, Any], rule: Indicator | None, voids: set[int],
                  lifts: dict[int, date], objections: list[dict[str, Any]],
                  standing: list[dict[str, Any]]) -> str:
    status, eid, day = r["status"], r["event_id"], r["occurred_on"]
    if status == "voided":
        if eid in voids:
            why = ctx.notes.void_reasons.get(eid)
            return "voided: recorded in error" + (f" ({why})" if why else "")
        upheld = [o for o in objections if o["outcome"] == "upheld"]
        if upheld:
            o = upheld[0]
            return f"voided: objection {o['objection_id']} upheld on {o['decided_on']}"
        version = ctx.history.in_force(day)
        if version is None:
            return f"voided: no rule in force (no catalogue version in force on {day})"
        return (f"voided: no rule in force (version {version.version}, in force on {day}, "
                f"has no indicator {r['indicator']!r})")
    if status == "future":
        return f"occurs on {day}, after the as-of date {ctx.as_of}"
    if status == "suspended":
        pending = [o for o in objections if o["filed_on"] <= ctx.as_of
                   and (o["decided_on"] is None or o["decided_on"] > ctx.as_of)]
        if not pending:
            return "suspended by a pending objection"
        o = pending[0]
        grounds = ctx.notes.objection_grounds.get(o["objection_id"])
        return (f"objection {o['objection_id']} pending since {o['filed_on']}"
                + (f" ({grounds})" if grounds else ""))
    assert rule is not None  # the kernel marks an event without a rule as voided
    if status == "over-limit":
        limit = rule.limit
        if limit is None:
            return "over the limit"
        same = [s for s in standing
                if _period_key(s["occurred_on"], limit.per) == _period_key(day, limit.per)
                and (s["occurred_on"], s["event_id"]) <= (day, eid)]
        return (f"{_ordinal(len(same))} in {_period(day, limit.per)}: over the limit of "
                f"{limit.count} per {limit.per}")
    how = _how_much(r, rule, standing)
    if status == "lifted":
        return f"lifted on {lifts.get(eid, r.get('stops_on'))}" + (f"; {how}" if how else "")
    expiry = (f"expires_after {rule.expires_after}"
              + (", assumed: no source gives it" if "expires_after" in rule.assumed else ""))
    if status == "expired":
        return f"expired on {r.get('stops_on')} ({expiry})" + (f"; {how}" if how else "")
    parts = [how] if how else []
    stops = r.get("stops_on")
    if stops is None:
        # The catalogue sets no expiry: that is not the same as a law saying "never".
        parts.append("counts: the catalogue sets no expiry")
    elif lifts.get(eid) == stops:
        parts.append(f"counts until lifted on {stops}")
    else:
        parts.append(f"counts until {stops} ({expiry})")
    if status == "capped":
        parts.append(_capped_text(ctx, r.get("capped_by"), r["points"] < 0))
    return "; ".join(parts)


def _how_much(r: dict[str, Any], rule: Indicator, standing: list[dict[str, Any]]) -> str:
    """Where the nominal points come from, when the rule is not one plain value."""
    if rule.points_range is not None:
        low, high = rule.points_range
        return f"points set by the reporting agency within {_signed(low)} to {_signed(high)}"
    if not rule.escalation:
        return ""
    window = rule.escalation_window
    me = (r["occurred_on"], r["event_id"])
    earlier = [s for s in standing if s["status"] != "over-limit"
               and (s["occurred_on"], s["event_id"]) < me
               and (window is None or window.after(s["occurred_on"]) > r["occurred_on"])]
    n = len(earlier) + 1
    step = min(n, len(rule.escalation))
    within = f" within {window}" if window else ""
    repeat = " (the last step repeats)" if n > len(rule.escalation) else ""
    return f"{_ordinal(n)} occurrence{within}: escalation step {step}{repeat}"


def _cap_limit(ctx: _Context, scope: str, key: str, negative: bool) -> str:
    holder: Any = (ctx.scheme.indicators.get(key) if scope == "indicator"
                   else ctx.scheme.categories.get(key))
    if holder is None:
        return ""
    if negative and holder.max_deduction is not None:
        return f"max_deduction {_num(holder.max_deduction)}"
    if not negative and holder.max_award is not None:
        return f"max_award {_num(holder.max_award)}"
    return ""


def _capped_text(ctx: _Context, capped_by: str | None, negative: bool) -> str:
    if not capped_by:
        return "capped"
    scope, _, key = capped_by.partition(":")
    limit = _cap_limit(ctx, scope, key, negative)
    return f"capped by the {scope} cap on {key}" + (f" ({limit})" if limit else "")


def _cap_holder_name(ctx: _Context, scope: str, key: str) -> str:
    if scope == "category":
        cat = ctx.scheme.categories.get(key)
        return f"{cat.name if cat else key} (category {key})"
    return f"{ctx.indicator_name(key)} (indicator {key})"


def _adjustments(ctx: _Context, frame: Any, events: Sequence[EventLine]
                 ) -> tuple[Adjustment, ...]:
    out = []
    for r in frame.to_dicts():
        amount = from_cents(int(r["amount"]))
        scope, key = r["scope"], r.get("key")
        if scope in ("indicator", "category"):
            holder: Any = (ctx.scheme.indicators.get(key) if scope == "indicator"
                           else ctx.scheme.categories.get(key))
            if amount > 0:
                bound = holder.max_deduction if holder else None
                text = (f"{_cap_holder_name(ctx, scope, key)}: negative points take off at "
                        f"most {_num(bound)} in all (max_deduction)")
            else:
                bound = holder.max_award if holder else None
                text = (f"{_cap_holder_name(ctx, scope, key)}: positive points add at most "
                        f"{_num(bound)} in all (max_award)")
        elif scope == "clamp":
            scale = ctx.scheme.scale
            text = (f"score clamped to the scale's maximum {_num(scale.max)}" if amount < 0
                    else f"score clamped to the scale's minimum {_num(scale.min)}")
        else:
            text = _score_cap_text(ctx, events)
        assumed = _bound_assumed(ctx, scope, key, amount)
        out.append(Adjustment(scope, key, amount,
                              text + (" (an assumed value: no source gives it)" if assumed
                                      else ""), assumed))
    return tuple(out)


def _bound_assumed(ctx: _Context, scope: str, key: str | None, amount: Decimal) -> bool:
    """Is the bound behind an adjustment (a cap, the scale's clamp) marked assumed?"""
    if scope in ("indicator", "category"):
        holder: Any = (ctx.scheme.indicators.get(key or "") if scope == "indicator"
                       else ctx.scheme.categories.get(key or ""))
        return holder is not None and (
            "max_deduction" if amount > 0 else "max_award") in holder.assumed
    if scope == "clamp":
        return ("max" if amount < 0 else "min") in ctx.scheme.scale.assumed
    return False


def _score_cap_events(ctx: _Context, events: Sequence[EventLine]
                      ) -> tuple[Decimal | None, list[EventLine]]:
    caps = [(rule.score_cap, e) for e in events if e.status in COUNTING
            and (rule := ctx.rule(e.indicator, e.occurred_on)) is not None
            and rule.score_cap is not None]
    if not caps:
        return None, []
    low = min(c for c, _ in caps)
    return low, [e for c, e in caps if c == low]


def _events_text(events: Sequence[EventLine]) -> str:
    ids = ", ".join(str(e.event_id) for e in events)
    names = ", ".join(dict.fromkeys(e.name or e.indicator for e in events))
    return f"event{'s' if len(events) > 1 else ''} {ids} ({names})"


def _score_cap_text(ctx: _Context, events: Sequence[EventLine]) -> str:
    cap, by = _score_cap_events(ctx, events)
    if cap is None:
        return "score capped"
    assumed = " (an assumed cap: no source gives it)" if any(
        "score_cap" in e.assumed for e in by) else ""
    return f"score capped at {_num(cap)}{assumed} by {_events_text(by)}"


def _score_reason(ctx: _Context, score: Decimal, events: Sequence[EventLine],
                  adjustments: Sequence[Adjustment]) -> str:
    base = ctx.scheme.scale.base
    points = sum((e.points for e in events), Decimal(0))
    caps = sum((a.amount for a in adjustments if a.scope in ("indicator", "category")),
               Decimal(0))
    text = f"base {_num(base)} {_pm(points)} from events"
    subtotal = base + points + caps
    if caps:
        text += f" {_pm(caps)} from caps"
    text += f" = {_num(subtotal)}"
    for a in adjustments:
        if a.scope in ("clamp", "score_cap"):
            subtotal += a.amount
            text += f"; {a.reason} → {_num(subtotal)}"
    return text


def _pm(value: Decimal) -> str:
    return f"- {_num(-value)}" if value < 0 else f"+ {_num(value)}"


def _band_text(scheme: Catalogue, score: Decimal, band: str) -> str:
    low, high = scheme.tier_band(band)
    s = _num(score)
    i = scheme.tier_rank(band)
    # A band edge the catalogue marks assumed is a guess, not the law: say so where it is used.
    low_t = _num(low) + (" (assumed)" if "min" in scheme.tiers[i].assumed else "")
    high_t = _num(high) + (" (assumed)" if i and "min" in scheme.tiers[i - 1].assumed else "")
    if low is not None and high is not None:
        return f"{low_t} ≤ {s} < {high_t} → {band}"
    if low is not None:
        return f"{s} ≥ {low_t} → {band}"
    if high is not None:
        return f"{s} < {high_t} → {band}"
    return f"{s} → {band} (the only tier)"


def _tier_reason(ctx: _Context, score: Decimal, tier: str,
                 events: Sequence[EventLine]) -> str:
    scheme = ctx.scheme
    band = scheme.tier_for(score)
    band_text = _band_text(scheme, score, band)
    by = [e for e in events if e.status in COUNTING
          and (rule := ctx.rule(e.indicator, e.occurred_on)) is not None
          and rule.tier_cap == tier]
    assumed = (" (an assumed cap: no source gives it)"
               if any("tier_cap" in e.assumed for e in by) else "")
    if band == tier:
        # a tier cap that changes nothing today still matters once the score rises
        return band_text + (f"; {_events_text(by)} also cap{'s' * (len(by) == 1)} the tier "
                            f"at {tier}{assumed}" if by else "")
    return (f"tier capped at {tier}{assumed} by "
            f"{_events_text(by) if by else 'a counting event'}; "
            f"the score band alone gives {band} ({band_text})")


def _factors(ctx: _Context, events: Sequence[EventLine],
             adjustments: Sequence[Adjustment]) -> tuple[Factor, ...]:
    """The main reasons the score is not higher, ranked by what they actually cost.

    Only factors that were scored: counting negative events grouped by indicator (net of
    the indicator's deduction cap), merged into their category when a category deduction
    cap bound them, award caps, the score cap and the scale's maximum.
    """
    by_ind: dict[str, list[EventLine]] = {}
    for e in events:
        if e.status in COUNTING and e.points < 0:
            by_ind.setdefault(e.indicator, []).append(e)
    returned = {(a.scope, a.key): a.amount for a in adjustments}
    costs: dict[str, tuple[Decimal, list[EventLine]]] = {}
    for ind, evs in by_ind.items():
        cost = -sum((e.points for e in evs), Decimal(0)) - max(
            returned.get(("indicator", ind), Decimal(0)), Decimal(0))
        costs[ind] = (cost, evs)

    found: list[Factor] = []
    merged: set[str] = set()
    for a in adjustments:
        if a.scope == "category" and a.amount > 0 and a.key:
            members = [i for i, (_, evs) in costs.items()
                       if _category_of(ctx, evs[-1]) == a.key]
            if members:
                cost = sum((costs[i][0] for i in members), Decimal(0)) - a.amount
                evs = sorted((e for i in members for e in costs[i][1]),
                             key=lambda e: (e.occurred_on, e.event_id))
                name = ctx.scheme.categories[a.key].name if a.key in ctx.scheme.categories \
                    else a.key
                found.append(Factor(
                    f"category:{a.key}", cost,
                    f"{name}: {len(evs)} counting negative event{'s' * (len(evs) > 1)} "
                    f"({', '.join(members)}), held to {_num(cost)} by the category cap",
                    tuple(e.event_id for e in evs)))
                merged.update(members)
    for ind, (cost, evs) in costs.items():
        if ind in merged or cost <= 0:
            continue
        rule = ctx.rule(ind, evs[-1].occurred_on)
        basis = f"; basis: {rule.basis}" if rule and rule.basis else ""
        capped = " (after the indicator cap)" if returned.get(("indicator", ind), 0) > 0 else ""
        found.append(Factor(
            ind, cost,
            f"{evs[-1].name or ind}: {_count(len(evs), 'counting event')} cost "
            f"{_num(cost)}{capped}{basis}", tuple(e.event_id for e in evs)))
    for a in adjustments:
        if a.amount >= 0:
            continue
        if a.scope in ("indicator", "category") and a.key:
            held = [e for e in events if e.status in COUNTING and e.points > 0 and (
                e.indicator == a.key if a.scope == "indicator"
                else _category_of(ctx, e) == a.key)]
            found.append(Factor(
                f"award-cap:{a.scope}:{a.key}", -a.amount,
                f"{a.reason}: {_num(-a.amount)} points of good conduct do not count",
                tuple(e.event_id for e in held)))
        elif a.scope == "score_cap":
            _, by = _score_cap_events(ctx, events)
            found.append(Factor("score-cap", -a.amount, a.reason,
                                tuple(e.event_id for e in by)))
        elif a.scope == "clamp":
            found.append(Factor("clamp", -a.amount, a.reason, ()))
    found = sorted((f for f in found if f.cost > 0), key=lambda f: (-f.cost, f.factor))
    return tuple(found[:MAX_REASONS])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _category_of(ctx: _Context, e: EventLine) -> str | None:
    rule = ctx.rule(e.indicator, e.occurred_on)
    return rule.category if rule else None


def _reward(ctx: _Context, reward: Any, score: Decimal, tier: str,
            events: Sequence[EventLine], applies: bool) -> Eligibility:
    scheme = ctx.scheme
    ok: list[str] = []
    bad: list[str] = []
    if scheme.tier_rank(tier) <= scheme.tier_rank(reward.min_tier):
        ok.append(f"tier {tier} is {reward.min_tier} or better")
    else:
        bad.append(f"tier {tier} is below {reward.min_tier}")
    if reward.min_score is not None:
        if score >= reward.min_score:
            ok.append(f"score {_num(score)} ≥ {_num(reward.min_score)}")
        else:
            bad.append(f"score {_num(score)} is below {_num(reward.min_score)}")
    if reward.clean_for is not None:
        inside = [e for e in events if e.status in COUNTING and e.points < 0
                  and reward.clean_for.after(e.occurred_on) > ctx.as_of]
        if inside:
            last = inside[-1]
            bad.append(f"a negative event on {last.occurred_on} is inside clean_for "
                       f"{reward.clean_for} (event {last.event_id}, {last.name or last.indicator})")
        else:
            ok.append(f"no counting negative event inside clean_for {reward.clean_for}")
    reason = "; ".join(ok if applies else bad or ok)
    return Eligibility(reward.id, reward.name, applies, reason)


def _sanction(ctx: _Context, sid: str, name: str, max_tier: str, tier: str,
              applies: bool) -> Eligibility:
    if ctx.scheme.tier_rank(tier) >= ctx.scheme.tier_rank(max_tier):
        reason = f"tier {tier} is {max_tier} or worse"
    else:
        reason = f"tier {tier} is better than {max_tier}"
    return Eligibility(sid, name, applies, reason)


# --- what happens next if nothing else happens -------------------------------------------

def _frozen(data: LedgerData, as_of: date) -> LedgerData:
    """The resident's data as it stood on ``as_of``: nothing that happens later.

    Events after as-of, objections filed after it and consent rows dated after it are
    left out, and decisions dated after it are treated as not yet made. Lifts already
    dated stay: they are known plans. When nothing happens later, ``data`` itself is
    returned, so that the engine's preparation of it can be reused.
    """

    on = pl.lit(as_of)
    later = pl.col("decided_on") > on
    events = data.events.filter(pl.col("occurred_on") <= on)
    objections = data.objections.filter(pl.col("filed_on") <= on)
    consents = data.consents.filter(pl.col("on") <= on)
    if (events.height == data.events.height and objections.height == data.objections.height
            and consents.height == data.consents.height
            and not objections.select(later.any()).item()):
        return data
    return LedgerData(
        events, data.voids, data.lifts,
        objections.with_columns(
            pl.when(later).then(None).otherwise(pl.col("decided_on")).alias("decided_on"),
            pl.when(later).then(None).otherwise(pl.col("outcome")).alias("outcome")),
        consents, data.residents, data.indicators,
    )


def _projection(ctx: _Context, resident_id: str, events: Sequence[EventLine],
                prepared: Any) -> tuple[ProjectionPoint, ...]:
    """Score and tier at each date a counting negative event stops counting.

    One `engine.evaluate` per date over one preparation: the data's own (``prepared``)
    when nothing in it happens after as-of, else that of the data frozen at as-of.
    """
    stopping: dict[date, list[EventLine]] = {}
    for e in events:
        if e.status in COUNTING and e.points < 0 and e.stops_on is not None:
            stopping.setdefault(e.stops_on, []).append(e)
    if not stopping:
        return ()
    dates = sorted(stopping)
    frozen = _frozen(ctx.data, ctx.as_of)
    if frozen is not ctx.data:
        prepared = _prepare(frozen, ctx.history)
    series = {d: _evaluate(prepared, d, detail=False).residents for d in dates}
    lifts = {r["event_id"]: r["lifted_on"] for r in ctx.data.lifts.to_dicts()}
    points = []
    for d in dates:
        frame = series[d]
        row = frame.filter(frame["resident_id"] == resident_id)
        score = from_cents(int(row["score"][0])) if not row.is_empty() else None
        tier = str(row["tier"][0]) if not row.is_empty() else None
        what = "; ".join(
            f"event {e.event_id} ({e.name or e.indicator}, {_signed(e.points)}) "
            + ("is lifted" if lifts.get(e.event_id) == d else
               "expires (an assumed expiry)" if "expires_after" in e.assumed else "expires")
            for e in stopping[d])
        points.append(ProjectionPoint(d, score, tier, tuple(e.event_id for e in stopping[d]),
                                      what))
    return tuple(points)
