"""A slow, obviously-correct scorer written line by line from SPEC §4, for tests only.

The fast engine (`scs_cli.engine.kernel`) computes over whole frames; this module judges one
event at a time with Python loops, dicts and `Decimal`, so that a reader can check each
block against the sentence of the spec it quotes. It was written without looking at the
engine: the two agreeing is the evidence that both read the spec the same way.

It follows SPEC §4 steps 1-9, the "Precisely, where the steps above leave room"
paragraph, and the precisions in docs/architecture.md. Where even those leave room, the
choice made here is written next to the code as "Reading:" so a disagreement with the
engine can be settled by pointing at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from scs_cli.core.errors import ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.rules.model import Catalogue, CatalogueHistory, Indicator

# SPEC §4, explain: "the first status that applies in this order".
STATUS_ORDER = ("voided", "future", "suspended", "over-limit", "lifted", "expired",
                "capped", "counted")
ZERO = Decimal(0)


@dataclass(frozen=True)
class ResidentScore:
    resident_id: str
    score: Decimal
    tier: str
    rewards: tuple[str, ...]  # sorted reward ids
    sanctions: tuple[str, ...]  # sorted sanction ids


@dataclass(frozen=True)
class EventScore:
    event_id: int
    resident_id: str
    indicator: str
    occurred_on: date
    version: str | None  # the catalogue version that judges it (None: no rule in force)
    # Points after limits and escalation, before caps (0 when over limit). None when the
    # event is not standing: the spec only numbers standing occurrences, so an escalation
    # value is not defined for a voided, future or suspended event.
    nominal: Decimal | None
    points: Decimal  # what it adds before caps: `nominal` when counting, else 0
    status: str
    capped_by: str | None = None  # "indicator:<id>" or "category:<id>" when status is capped
    # What explain words (contract, docs/architecture.md): the n of step 4 for a standing,
    # not over-limit event of an escalation rule; the place among the standing events of
    # its limit period for a standing event of a rule with a limit.
    occurrence: int | None = None
    limit_rank: int | None = None
    # What explain words beside (contract, docs/architecture.md): what the event adds after
    # every cap (0 when it does not count); the earlier of its expiry and its lift date
    # (None if it never stops); the pending objection that suspends it (the lowest id);
    # its own rule's category.
    kept: Decimal = Decimal(0)
    stops_on: date | None = None
    suspended_by: int | None = None
    category: str | None = None
    # The rest of what explain words: the period its rule's limit counts in, named as a
    # person names it ("2024-W05"); the escalation step its occurrence takes; the version
    # in force on its date, whether or not that version defines the indicator.
    period: str | None = None
    step: int | None = None
    in_force: str | None = None


@dataclass(frozen=True)
class Subtotal:
    """One resident's score step by step (explain's score and tier sentences): base +
    points, after indicator caps, after category caps, after the clamp, after score_cap;
    the tier the score alone gives and its bounds (its min, the next better tier's min)."""

    resident_id: str
    with_points: Decimal
    after_indicator_caps: Decimal
    after_category_caps: Decimal
    after_clamp: Decimal
    score: Decimal
    band: str
    band_min: Decimal | None
    band_next: Decimal | None


@dataclass(frozen=True)
class Check:
    """Step 9 for one resident and one reward or sanction: each condition, None where the
    rule sets none."""

    resident_id: str
    kind: str  # "reward" or "sanction"
    id: str
    applies: bool
    tier_ok: bool
    score_ok: bool | None
    clean_ok: bool | None
    breaker: int | None = None  # the event that breaks a failed clean_for


@dataclass(frozen=True)
class Adjustment:
    resident_id: str
    scope: str  # "indicator", "category", "clamp" or "score_cap"
    key: str
    amount: Decimal


@dataclass(frozen=True)
class ReferenceResult:
    scheme: Catalogue
    residents: dict[str, ResidentScore]  # in resident-id order
    events: dict[int, EventScore]  # events of scored residents, by event id
    adjustments: tuple[Adjustment, ...] = ()
    checks: tuple[Check, ...] = ()
    subtotals: dict[str, Subtotal] = field(default_factory=dict)


@dataclass
class _Event:
    """One event while it is being judged; the fields fill in step by step."""

    row: dict[str, Any]
    version: Catalogue | None = None
    rule: Indicator | None = None
    voided: bool = False
    future: bool = False
    suspended: bool = False
    standing: bool = False
    over_limit: bool = False
    lifted: bool = False
    expired: bool = False
    counting: bool = False
    nominal: Decimal | None = None
    capped_by: str | None = None
    occurrence: int | None = None
    limit_rank: int | None = None
    void_recorded: bool = False
    lift_dates: list[date] = field(default_factory=list)
    objections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.row["event_id"])

    @property
    def day(self) -> date:
        return self.row["occurred_on"]  # type: ignore[no-any-return]

    @property
    def indicator(self) -> str:
        return str(self.row["indicator"])

    @property
    def order(self) -> tuple[date, int]:
        # Steps 3-4: "ordered by (occurred_on, event id)".
        return (self.day, self.id)

    @property
    def category(self) -> str | None:
        # "What belongs to one event (... category name) comes from the version in force
        # on its date."
        return self.rule.category if self.rule else None


def period_of(day: date, per: str) -> tuple[int, ...]:
    """The calendar period (`day`, ISO `week`, `month`, `year`) a date falls in."""
    if per == "day":
        return (day.year, day.month, day.day)
    if per == "week":
        iso = day.isocalendar()  # 2020-12-31 and 2021-01-01 are both in 2020-W53
        return (iso.year, iso.week)
    if per == "month":
        return (day.year, day.month)
    if per == "year":
        return (day.year,)
    raise ValueError(f"unknown period {per!r}")


def period_name(day: date, per: str) -> str:
    """The period of `period_of` as a person writes it: 2024-03-05, 2024-W05, 2024-03, 2024."""
    if per == "day":
        return day.isoformat()
    if per == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if per == "month":
        return f"{day.year}-{day.month:02d}"
    return str(day.year)


def reference_score(data: LedgerData, history: CatalogueHistory, as_of: date
                    ) -> ReferenceResult:
    """Score every resident of `data` on `as_of`, one event at a time."""
    # Step 1: "Scale, tiers, categories, rewards, sanctions and policy come from the
    # version in force on the as-of date."
    scheme = history.in_force(as_of)
    if scheme is None:
        first = history.versions[0].effective_from if len(history) else None
        raise ScsError(f"no catalogue version is in force on {as_of}"
                       + (f"; the first takes effect on {first}" if first else ""))

    voids = {int(v["event_id"]) for v in data.voids.to_dicts()}
    lifts: dict[int, list[date]] = {}
    for lift in data.lifts.to_dicts():
        lifts.setdefault(int(lift["event_id"]), []).append(lift["lifted_on"])
    objections: dict[int, list[dict[str, Any]]] = {}
    for obj in data.objections.to_dicts():
        objections.setdefault(int(obj["event_id"]), []).append(obj)

    # Who is scored. "Every resident with at least one event recorded by known-at is
    # scored (with participation = "consent": every resident whose consent is in force on
    # the as-of date, events or not)". "The latest consent or withdrawal dated on or before
    # the as-of date rules (on one date, the one recorded last)."
    all_events = data.events.to_dicts()
    if scheme.policy.participation == "consent":
        latest: dict[str, tuple[date, int, bool]] = {}
        for row in data.consents.to_dicts():
            if row["on"] > as_of:
                continue
            key = (row["on"], int(row["seq"]), bool(row["consent"]))
            rid = str(row["resident_id"])
            if rid not in latest or key[:2] > latest[rid][:2]:
                latest[rid] = key
        scored = {rid for rid, (_, _, consent) in latest.items() if consent}
    else:
        scored = {str(e["resident_id"]) for e in all_events}

    by_resident: dict[str, list[_Event]] = {rid: [] for rid in scored}
    for row in all_events:
        if row["resident_id"] in by_resident:
            ev = _Event(row, void_recorded=int(row["event_id"]) in voids,
                        lift_dates=lifts.get(int(row["event_id"]), []),
                        objections=objections.get(int(row["event_id"]), []))
            by_resident[str(row["resident_id"])].append(ev)

    residents: dict[str, ResidentScore] = {}
    events: dict[int, EventScore] = {}
    adjustments: list[Adjustment] = []
    checks: list[Check] = []
    subtotals: dict[str, Subtotal] = {}
    # "in resident-id string order"
    for rid in sorted(by_resident):
        resident, judged, adjusts, checked, subtotals[rid] = _score_resident(
            rid, by_resident[rid], history, scheme, as_of)
        residents[rid] = resident
        adjustments.extend(adjusts)
        checks.extend(checked)
        for ev in sorted(judged, key=lambda e: e.event_id):
            events[ev.event_id] = ev
    return ReferenceResult(scheme, residents, events, tuple(adjustments), tuple(checks),
                           subtotals)


def _score_resident(rid: str, evs: list[_Event], history: CatalogueHistory,
                    scheme: Catalogue, as_of: date
                    ) -> tuple[ResidentScore, list[EventScore], list[Adjustment], list[Check],
                               Subtotal]:
    policy = scheme.policy

    # Step 1. "An event is judged by the indicator definition of the catalogue version in
    # force on its occurred_on (the adopted version with the latest effective_from not
    # after it)". Precision (architecture): an indicator that version does not define
    # "never counts; its status is voided".
    for ev in evs:
        ev.version = history.in_force(ev.day)
        ev.rule = ev.version.indicators.get(ev.indicator) if ev.version else None

    # Step 2. "Standing events: recorded by known-at [the data is already filtered],
    # occurred_on <= as-of, not voided (a void, or an upheld objection, known by known-at),
    # and not suspended (with objection_suspends, an objection filed on or before as-of and
    # not decided by as-of ...; a rejected objection suspends only between filing and
    # decision)." "Decided by as-of means decided on or before the as-of date."
    # Reading: a void has no date and an upheld objection "voids the event", so either
    # one, once known, voids the event whatever the as-of date.
    for ev in evs:
        ev.voided = (
            ev.void_recorded
            or any(o["outcome"] == "upheld" for o in ev.objections)
            or ev.rule is None
        )
        ev.future = ev.day > as_of
        ev.suspended = policy.objection_suspends and any(
            o["filed_on"] <= as_of and not (o["decided_on"] is not None
                                            and o["decided_on"] <= as_of)
            for o in ev.objections
        )
        ev.standing = not (ev.voided or ev.future or ev.suspended)

    standing = sorted((e for e in evs if e.standing), key=lambda e: e.order)

    # Step 3. "Among standing events of one resident and indicator in the same calendar
    # period (day, ISO week, month, year), ordered by (occurred_on, event id), those after
    # the first `count` score 0 ('over limit')." The limit is the event's own ("what
    # belongs to one event ... limit ... comes from the version in force on its date");
    # occurrences of one indicator id count together across versions.
    # Reading: an event is over limit when at least `count` standing events of its
    # indicator come before it in the same period (its position, whatever theirs is).
    for ev in standing:
        assert ev.rule is not None
        limit = ev.rule.limit
        if limit is None:
            continue
        here = period_of(ev.day, limit.per)
        before = [o for o in standing if o.indicator == ev.indicator
                  and o.order < ev.order and period_of(o.day, limit.per) == here]
        ev.over_limit = len(before) >= limit.count
        ev.limit_rank = len(before) + 1

    # Step 4. "An event that is the n-th standing occurrence of its indicator for its
    # resident (ordered as above, over-limit ones left out, and, if escalation_window is
    # set, only those inside the window) scores escalation[n-1], the last value
    # repeating." "An earlier occurrence is inside the escalation window of an event when
    # its date plus the window is after the event's date."
    for ev in standing:
        assert ev.rule is not None
        rule = ev.rule
        if ev.over_limit:
            ev.nominal = ZERO  # "Over-limit events have no effect: no points"
            continue
        if rule.escalation is not None:
            earlier = [o for o in standing if o.indicator == ev.indicator
                       and not o.over_limit and o.order < ev.order]
            if rule.escalation_window is not None:
                earlier = [o for o in earlier
                           if rule.escalation_window.after(o.day) > ev.day]
            n = len(earlier) + 1
            ev.occurrence = n
            ev.nominal = rule.escalation[min(n, len(rule.escalation)) - 1]
        elif rule.points_range is not None:
            # "the reporting agency sets each event's points within the range". Precision
            # (architecture): "A points_range event's own points are kept inside the range
            # of the rule that judges it (clamped to its ends); an event with no points of
            # its own under a range rule ... scores the end of the range nearest zero."
            low, high = rule.points_range
            if ev.row["points"] is None:
                ev.nominal = ZERO if low <= 0 <= high else min(low, high, key=abs)
            else:
                ev.nominal = min(max(Decimal(int(ev.row["points"])) / 100, low), high)
        else:
            assert rule.points is not None
            ev.nominal = rule.points

    # Step 5. "Counting events: standing events, not over limit, whose expiry (occurred_on
    # + expires_after) is after the as-of date and that were not lifted on or before it."
    for ev in standing:
        assert ev.rule is not None
        ev.lifted = any(d <= as_of for d in ev.lift_dates)
        expiry = ev.rule.expires_after.after(ev.day) if ev.rule.expires_after else None
        ev.expired = expiry is not None and not expiry > as_of
        ev.counting = not ev.over_limit and not ev.lifted and not ev.expired
    counting = [e for e in standing if e.counting]

    # Step 6. "Caps: per resident, first per indicator, then per category (a nested
    # category first, then each parent in turn, each over everything beneath it after the
    # caps below were applied), the counted negative points add up to at least
    # -max_deduction and the positive ones to at most max_award." Totals come from the
    # as-of version; "a total the as-of version does not define is not capped".
    # "Which points a cap cuts: a cap keeps points in event order (occurred_on, event id)
    # and cuts the latest; what remains of each event after the indicator cap is what its
    # category (named by the event's own rule) adds up."
    adjusts: list[Adjustment] = []
    kept: dict[int, Decimal] = {e.id: e.nominal for e in counting if e.nominal is not None}

    def hold(group: list[_Event], holder: Any, scope: str, key: str) -> None:
        """Keep the group's points in event order up to the holder's caps; cut the rest."""
        for negative, bound in ((True, holder.max_deduction), (False, holder.max_award)):
            if bound is None:
                continue
            taken = ZERO  # how much of the bound the earlier events used
            removed = ZERO
            for ev in sorted(group, key=lambda e: e.order):
                points = kept[ev.id]
                if points == 0 or (points < 0) != negative:
                    continue
                room = bound - taken
                keep = points if abs(points) <= room else (-room if negative else room)
                taken += abs(keep)
                if keep != points:
                    removed += keep - points
                    kept[ev.id] = keep
                    # Reading: `capped_by` names the first cap that cut the event.
                    ev.capped_by = ev.capped_by or f"{scope}:{key}"
            if removed:
                adjusts.append(Adjustment(rid, scope, key, removed))

    for ind_id in sorted({e.indicator for e in counting}):
        total_rule = scheme.indicators.get(ind_id)
        if total_rule is not None:
            hold([e for e in counting if e.indicator == ind_id], total_rule, "indicator",
                 ind_id)

    # Categories of the as-of version, innermost first: a category after everything
    # beneath it (deepest first). An event is beneath a category when the category is its
    # own rule's category or a parent of it, parent by parent, in the as-of version.
    def chain(category: str | None) -> list[str]:
        out: list[str] = []
        while category is not None and category in scheme.categories and category not in out:
            out.append(category)
            category = scheme.categories[category].parent
        return out

    after_indicator_caps = scheme.scale.base + sum(kept.values(), ZERO)
    for cat_id in sorted(scheme.categories, key=lambda c: (-len(chain(c)), c)):
        beneath = [e for e in counting if cat_id in chain(e.category)]
        if beneath:
            hold(beneath, scheme.categories[cat_id], "category", cat_id)

    # Step 7. "Score = base + all capped points, clamped to [min, max], then lowered to the
    # smallest score_cap of any counting event." ("score_cap may take a score below min.")
    raw = scheme.scale.base + sum(kept.values(), ZERO)
    score = raw
    if scheme.scale.min is not None and score < scheme.scale.min:
        score = scheme.scale.min
    if scheme.scale.max is not None and score > scheme.scale.max:
        score = scheme.scale.max
    after_clamp = score
    if score != raw:  # contract (architecture): key "min" or "max", the end it hit
        adjusts.append(Adjustment(rid, "clamp", "min" if score > raw else "max", score - raw))
    with_cap = [e for e in counting if e.rule is not None and e.rule.score_cap is not None]
    if with_cap:
        # contract: key is the indicator of the counting event with the lowest score_cap
        # (Reading: on a tie, the earliest such event)
        lowest = min(with_cap, key=lambda e: (e.rule.score_cap, e.order))  # type: ignore[union-attr]
        cap = lowest.rule.score_cap  # type: ignore[union-attr]
        if cap < score:
            adjusts.append(Adjustment(rid, "score_cap", lowest.indicator, cap - score))
            score = cap

    # Step 8. "Tier: the first tier whose min <= score; then the worst of that and every
    # tier_cap of a counting event."
    tier = scheme.tier_for(score)
    low, high = scheme.tier_band(tier)
    subtotal = Subtotal(rid, scheme.scale.base + sum((e.nominal or ZERO for e in counting), ZERO),
                        after_indicator_caps, raw, after_clamp, score, tier, low, high)
    for ev in counting:
        assert ev.rule is not None
        cap = ev.rule.tier_cap
        if cap is not None and scheme.tier_rank(cap) > scheme.tier_rank(tier):
            tier = cap

    # Step 9. "A reward applies when the tier is min_tier or better (and max_tier or worse,
    # if set), the score is at least min_score (and at most max_score, if set), and no
    # counting event with negative points lies inside clean_for before the as-of date";
    # "a negative event is inside clean_for when its date plus clean_for
    # is after the as-of date"; "'Negative' for clean_for means the event's points after
    # steps 3-4, before caps, below zero." "A sanction applies when the tier is max_tier or
    # worse."
    rank = scheme.tier_rank(tier)
    rewards = []
    checks = []
    for reward in scheme.rewards.values():
        # each condition on its own (explain words every one), None where none is set
        tier_ok = rank <= scheme.tier_rank(reward.min_tier) and (
            # "(and max_tier or worse, if set)"
            reward.max_tier is None or rank >= scheme.tier_rank(reward.max_tier))
        score_ok = None
        if reward.min_score is not None or reward.max_score is not None:
            # "(and at most max_score, if set)"
            score_ok = ((reward.min_score is None or score >= reward.min_score)
                        and (reward.max_score is None or score <= reward.max_score))
        clean_for = reward.clean_for
        clean_ok = None if clean_for is None else not any(
            e.nominal is not None and e.nominal < 0 and clean_for.after(e.day) > as_of
            for e in counting)
        applies = tier_ok and score_ok is not False and clean_ok is not False
        # explain names the latest counting negative event inside clean_for
        breaker = None if clean_ok is not False else max(
            (e for e in counting if e.nominal is not None and e.nominal < 0
             and clean_for.after(e.day) > as_of),  # type: ignore[union-attr]
            key=lambda e: e.order).id
        checks.append(Check(rid, "reward", reward.id, applies, tier_ok, score_ok, clean_ok,
                            breaker))
        if applies:
            rewards.append(reward.id)
    # "a sanction applies when the tier is max_tier or worse" (one `on_list` follows a
    # listing instead: SPEC §4a, tests/reference_listings.py)
    sanctions = []
    for sanction in scheme.sanctions.values():
        if sanction.max_tier is None:
            continue
        applies = rank >= scheme.tier_rank(sanction.max_tier)
        checks.append(Check(rid, "sanction", sanction.id, applies, applies, None, None))
        if applies:
            sanctions.append(sanction.id)

    # The objection that suspends an event: the lowest-numbered one pending on as-of. An
    # upheld objection voids its event (whenever decided), so it never suspends.
    def pending(o: dict[str, Any]) -> bool:
        return (o["outcome"] != "upheld" and o["filed_on"] <= as_of
                and not (o["decided_on"] is not None and o["decided_on"] <= as_of))

    pending_objection = {
        ev.id: min(o["objection_id"] for o in ev.objections if pending(o))
        for ev in evs if policy.objection_suspends and any(pending(o) for o in ev.objections)}
    judged = [_event_score(rid, ev, kept.get(ev.id, ZERO) if ev.counting else ZERO,
                           pending_objection.get(ev.id)) for ev in evs]
    return (ResidentScore(rid, score, tier, tuple(sorted(rewards)), tuple(sorted(sanctions))),
            judged, adjusts, checks, subtotal)


def _event_score(rid: str, ev: _Event, kept: Decimal, suspended_by: int | None
                 ) -> EventScore:
    # explain: "the first status that applies in this order: voided, future, suspended,
    # over-limit, lifted, expired, capped, counted; points is what the event adds before
    # caps (0 when it does not count)".
    flags = {
        "voided": ev.voided, "future": ev.future, "suspended": ev.suspended,
        "over-limit": ev.over_limit, "lifted": ev.lifted, "expired": ev.expired,
        "capped": ev.counting and ev.capped_by is not None, "counted": ev.counting,
    }
    status = next(s for s in STATUS_ORDER if flags[s])
    points = ev.nominal if ev.counting and ev.nominal is not None else ZERO
    return EventScore(
        event_id=ev.id, resident_id=rid, indicator=ev.indicator, occurred_on=ev.day,
        # contract (architecture): "the catalogue version that judges it, null if none";
        # a version in force that lacks the indicator judges nothing
        version=ev.version.version if ev.version and ev.rule else None,
        nominal=ev.nominal if ev.standing else None, points=points, status=status,
        capped_by=ev.capped_by if status == "capped" else None,
        occurrence=ev.occurrence, limit_rank=ev.limit_rank,
        kept=kept, stops_on=_stops_on(ev), suspended_by=suspended_by, category=ev.category,
        period=period_name(ev.day, ev.rule.limit.per) if ev.rule and ev.rule.limit else None,
        step=None if ev.occurrence is None or ev.rule is None or ev.rule.escalation is None
        else min(ev.occurrence, len(ev.rule.escalation)),
        in_force=ev.version.version if ev.version else None,
    )


def _stops_on(ev: _Event) -> date | None:
    """The earlier of the event's expiry (its own rule's expires_after after its date) and
    its lift date; None when it never stops."""
    ends = list(ev.lift_dates)
    if ev.rule is not None and ev.rule.expires_after is not None:
        ends.append(ev.rule.expires_after.after(ev.day))
    return min(ends) if ends else None


# --- Helpers shared by the tests that compare the engine with this scorer -------------


def engine_view(result: Any) -> ReferenceResult:
    """The engine's `ScoreResult` in this module's shapes, so both compare field by field.

    Only what the engine contract (docs/architecture.md) promises is read: resident rows
    (score in hundredths), event rows (`nominal`, `points`, `status`, `capped_by`,
    `version`) and the adjustments.
    """
    from scs_cli.rules.model import from_cents

    residents = {
        row["resident_id"]: ResidentScore(
            row["resident_id"], from_cents(row["score"]), row["tier"],
            tuple(row["rewards"] or ()), tuple(row["sanctions"] or ()),
        )
        for row in result.residents.to_dicts()
    }
    events = {}
    for row in result.events.to_dicts():
        nominal = row.get("nominal")
        events[int(row["event_id"])] = EventScore(
            event_id=int(row["event_id"]), resident_id=row["resident_id"],
            indicator=row["indicator"], occurred_on=row["occurred_on"],
            version=row.get("version"),
            nominal=None if nominal is None else from_cents(nominal),
            points=from_cents(row["points"] or 0), status=row["status"],
            capped_by=row.get("capped_by"),
            occurrence=row.get("occurrence"), limit_rank=row.get("limit_rank"),
            kept=from_cents(row["kept"] or 0), stops_on=row.get("stops_on"),
            suspended_by=row.get("suspended_by"), category=row.get("category"),
            period=row.get("period"), step=row.get("step"), in_force=row.get("in_force"),
        )
    adjustments = tuple(
        Adjustment(row["resident_id"], row["scope"], row["key"], from_cents(row["amount"]))
        for row in result.adjustments.to_dicts())
    checks = tuple(
        Check(row["resident_id"], row["kind"], row["id"], row["applies"], row["tier_ok"],
              row["score_ok"], row["clean_ok"], row["breaker"])
        for row in (result.checks.to_dicts() if result.checks is not None else []))

    def cents(value: int | None) -> Decimal | None:
        return None if value is None else from_cents(value)

    subtotals = {
        row["resident_id"]: Subtotal(
            row["resident_id"], from_cents(row["with_points"]),
            from_cents(row["after_indicator_caps"]), from_cents(row["after_category_caps"]),
            from_cents(row["after_clamp"]), from_cents(row["score"]), row["band"],
            cents(row["band_min"]), cents(row["band_next"]))
        for row in (result.subtotals.to_dicts() if result.subtotals is not None else [])}
    return ReferenceResult(result.scheme, residents, events, adjustments, checks, subtotals)
