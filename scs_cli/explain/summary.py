"""The resident-level sentences of an explanation: caps, score, tier, main reasons,
rewards and sanctions, each from what the kernel decided.

The kernel's adjustment rows, event rows (kept points, score and tier caps of counting
events), subtotals (the score after each cap and clamp, the tier band and its bounds) and
step-9 checks (which condition of each reward held, the event that breaks a clean_for) are
the facts; this module chooses the words and cites the catalogue's values. It adds up,
bands and picks nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from scs_cli.explain.events import Context, num
from scs_cli.explain.model import COUNTING, MAX_REASONS, Adjustment, Eligibility, EventLine, Factor
from scs_cli.rules.model import Catalogue, Reward, from_cents


def adjustments(ctx: Context, frame: Any, events: Sequence[EventLine],
                score_caps: dict[int, Decimal]) -> tuple[Adjustment, ...]:
    """The kernel's adjustment rows, each with what the catalogue says about it."""
    out = []
    for r in frame.to_dicts():
        amount = from_cents(int(r["amount"]))
        scope, key = r["scope"], r.get("key")
        if scope in ("indicator", "category"):
            text = _cap_text(ctx, scope, key, amount)
        elif scope == "clamp":
            scale = ctx.scheme.scale
            text = (f"score clamped to the scale's maximum {num(scale.max)}" if amount < 0
                    else f"score clamped to the scale's minimum {num(scale.min)}")
        else:
            text = _score_cap_text(events, score_caps)
        assumed = _bound_assumed(ctx, scope, key, amount)
        out.append(Adjustment(scope, key, amount,
                              text + (" (an assumed value: no source gives it)" if assumed
                                      else ""), assumed))
    return tuple(out)


def _bound_assumed(ctx: Context, scope: str, key: str | None, amount: Decimal) -> bool:
    """Is the bound behind an adjustment (a cap, the scale's clamp) marked assumed?"""
    if scope in ("indicator", "category"):
        holder: Any = (ctx.scheme.indicators.get(key or "") if scope == "indicator"
                       else ctx.scheme.categories.get(key or ""))
        return holder is not None and (
            "max_deduction" if amount > 0 else "max_award") in holder.assumed
    if scope == "clamp":
        return ("max" if amount < 0 else "min") in ctx.scheme.scale.assumed
    return False


def amount(subtotals: dict[str, Any], name: str) -> Decimal | None:
    """A column of the kernel's subtotal row (hundredths) as a number; None when open."""
    value = subtotals[name]
    return None if value is None else from_cents(int(value))


def assumptions(ctx: Context, subtotals: dict[str, Any], events: Sequence[EventLine],
                adjusted: Sequence[Adjustment]) -> tuple[str, ...]:
    """Every assumed value the score, the tier or a counting event rests on, in order."""
    scheme = ctx.scheme
    found: list[str] = []
    band = scheme.tier_rank(subtotals["band"])  # the kernel's band, by the score alone
    for i in (band - 1, band):  # the band's floor and the next better tier's floor
        if 0 <= i < len(scheme.tiers) and "min" in scheme.tiers[i].assumed:
            found.append(f"tiers[{i}].min")
    if "base" in scheme.scale.assumed:
        found.append("scale.base")
    for a in adjusted:
        if a.scope == "clamp":
            found += [f"scale.{k}" for k in ("min", "max") if k in scheme.scale.assumed]
    for e in events:
        if e.status in COUNTING:
            found += [k if k.startswith("categories.") else f"indicators.{e.indicator}.{k}"
                      for k in e.assumed]
    return tuple(dict.fromkeys(found))


def _cap_text(ctx: Context, scope: str, key: str, amount: Decimal) -> str:
    holder: Any = (ctx.scheme.indicators.get(key) if scope == "indicator"
                   else ctx.scheme.categories.get(key))
    if scope == "category":
        name = f"{holder.name if holder else key} (category {key})"
        parent = holder.parent if holder else None
        if parent:
            name += f", inside {parent}"
    else:
        name = f"{ctx.indicator_name(key)} (indicator {key})"
    if amount > 0:
        return (f"{name}: negative points take off at most "
                f"{num(holder.max_deduction if holder else None)} in all (max_deduction)")
    return (f"{name}: positive points add at most {num(holder.max_award if holder else None)}"
            " in all (max_award)")


def score_cap_events(events: Sequence[EventLine], score_caps: dict[int, Decimal]
                     ) -> tuple[Decimal | None, list[EventLine]]:
    """The lowest score cap of the counting events (the kernel's column) and who sets it."""
    caps = [(score_caps[e.event_id], e) for e in events
            if e.status in COUNTING and e.event_id in score_caps]
    if not caps:
        return None, []
    low = min(c for c, _ in caps)
    return low, [e for c, e in caps if c == low]


def events_text(events: Sequence[EventLine]) -> str:
    ids = ", ".join(str(e.event_id) for e in events)
    names = ", ".join(dict.fromkeys(e.name or e.indicator for e in events))
    return f"event{'s' if len(events) > 1 else ''} {ids} ({names})"


def _score_cap_text(events: Sequence[EventLine], score_caps: dict[int, Decimal]) -> str:
    cap, by = score_cap_events(events, score_caps)
    if cap is None:
        return "score capped"
    assumed = " (an assumed cap: no source gives it)" if any(
        "score_cap" in e.assumed for e in by) else ""
    return f"score capped at {num(cap)}{assumed} by {events_text(by)}"


def score_reason(ctx: Context, subtotals: dict[str, Any],
                 adjusted: Sequence[Adjustment]) -> str:
    """The kernel's sum step by step: base + points, caps, then the clamp and score cap."""
    base = ctx.scheme.scale.base
    with_points = amount(subtotals, "with_points")
    capped = amount(subtotals, "after_category_caps")
    assert with_points is not None and capped is not None
    text = f"base {num(base)} {_pm(with_points - base)} from events"
    if capped != with_points:
        text += f" {_pm(capped - with_points)} from caps"
    text += f" = {num(capped)}"
    after = {"clamp": "after_clamp", "score_cap": "score"}
    for a in adjusted:
        if a.scope in after:
            text += f"; {a.reason} → {num(amount(subtotals, after[a.scope]))}"
    return text


def _pm(value: Decimal) -> str:
    return f"- {num(-value)}" if value < 0 else f"+ {num(value)}"


def _band_text(scheme: Catalogue, subtotals: dict[str, Any]) -> str:
    """The kernel's band of the score alone, with its bounds (the band's min, the next
    better tier's min)."""
    band = str(subtotals["band"])
    low, high = amount(subtotals, "band_min"), amount(subtotals, "band_next")
    s = num(amount(subtotals, "score"))
    i = scheme.tier_rank(band)
    # A band edge the catalogue marks assumed is a guess, not the law: say so where it is used.
    low_t = num(low) + (" (assumed)" if "min" in scheme.tiers[i].assumed else "")
    high_t = num(high) + (" (assumed)" if i and "min" in scheme.tiers[i - 1].assumed else "")
    if low is not None and high is not None:
        return f"{low_t} ≤ {s} < {high_t} → {band}"
    if low is not None:
        return f"{s} ≥ {low_t} → {band}"
    if high is not None:
        return f"{s} < {high_t} → {band}"
    return f"{s} → {band} (the only tier)"


def tier_reason(ctx: Context, subtotals: dict[str, Any], tier: str,
                events: Sequence[EventLine], tier_caps: dict[int, str]) -> str:
    band = str(subtotals["band"])
    band_text = _band_text(ctx.scheme, subtotals)
    by = [e for e in events if e.status in COUNTING and tier_caps.get(e.event_id) == tier]
    assumed = (" (an assumed cap: no source gives it)"
               if any("tier_cap" in e.assumed for e in by) else "")
    if band == tier:
        # a tier cap that changes nothing today still matters once the score rises
        return band_text + (f"; {events_text(by)} also cap{'s' * (len(by) == 1)} the tier "
                            f"at {tier}{assumed}" if by else "")
    return (f"tier capped at {tier}{assumed} by "
            f"{events_text(by) if by else 'a counting event'}; "
            f"the score band alone gives {band} ({band_text})")


def factors(ctx: Context, events: Sequence[EventLine], adjusted: Sequence[Adjustment],
            score_caps: dict[int, Decimal]) -> tuple[Factor, ...]:
    """The main reasons the score is not higher, ranked by what they actually cost.

    What an event costs is what it keeps after every cap (the kernel's `kept`). Counting
    negative events are grouped by indicator, or into the category whose deduction cap
    bound them (the outermost that bound), award caps, the score cap and the scale's
    maximum are reasons of their own.
    """
    negative = [e for e in events if e.status in COUNTING and e.points < 0]
    found: list[Factor] = []
    placed: set[int] = set()
    binding = [a.key for a in adjusted if a.scope == "category" and a.amount > 0 and a.key]
    for key in sorted(binding, key=lambda k: len(ctx.scheme.category_chain(k))):
        evs = [e for e in negative if e.event_id not in placed
               and key in ctx.scheme.category_chain(e.category)]
        if not evs:
            continue
        placed.update(e.event_id for e in evs)
        members = ", ".join(dict.fromkeys(e.indicator for e in evs))
        cost = _cost(evs)
        name = ctx.scheme.categories[key].name if key in ctx.scheme.categories else key
        found.append(Factor(
            f"category:{key}", cost,
            f"{name}: {len(evs)} counting negative event{'s' * (len(evs) > 1)} "
            f"({members}), held to {num(cost)} by the category cap",
            tuple(e.event_id for e in evs)))
    capped = {a.key for a in adjusted if a.scope == "indicator" and a.amount > 0}
    by_ind: dict[str, list[EventLine]] = {}
    for e in negative:
        if e.event_id not in placed:
            by_ind.setdefault(e.indicator, []).append(e)
    for ind, evs in by_ind.items():
        rule = ctx.rule(ind, evs[-1].version)
        basis = f"; basis: {rule.worded_basis}" if rule and rule.basis else ""
        after = " (after the indicator cap)" if ind in capped else ""
        found.append(Factor(
            ind, _cost(evs), f"{evs[-1].name or ind}: {_count(len(evs), 'counting event')} "
            f"cost {num(_cost(evs))}{after}{basis}", tuple(e.event_id for e in evs)))
    found += _other_factors(ctx, events, adjusted, score_caps)
    found = sorted((f for f in found if f.cost > 0), key=lambda f: (-f.cost, f.factor))
    return tuple(found[:MAX_REASONS])


def _cost(events: Sequence[EventLine]) -> Decimal:
    return -sum((e.kept_points if e.kept_points is not None else e.points for e in events),
                Decimal(0))


def _other_factors(ctx: Context, events: Sequence[EventLine], adjusted: Sequence[Adjustment],
                   score_caps: dict[int, Decimal]) -> list[Factor]:
    found = []
    for a in adjusted:
        if a.amount >= 0:
            continue
        if a.scope in ("indicator", "category") and a.key:
            held = [e for e in events if e.status in COUNTING and e.points > 0 and (
                e.indicator == a.key if a.scope == "indicator"
                else a.key in ctx.scheme.category_chain(e.category))]
            found.append(Factor(
                f"award-cap:{a.scope}:{a.key}", -a.amount,
                f"{a.reason}: {num(-a.amount)} points of good conduct do not count",
                tuple(e.event_id for e in held)))
        elif a.scope == "score_cap":
            _, by = score_cap_events(events, score_caps)
            found.append(Factor("score-cap", -a.amount, a.reason,
                                tuple(e.event_id for e in by)))
        elif a.scope == "clamp":
            found.append(Factor("clamp", -a.amount, a.reason, ()))
    return found


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def reward(ctx: Context, item: Reward, score: Decimal, tier: str,
           events: Sequence[EventLine], check: dict[str, Any]) -> Eligibility:
    """Why a reward does or does not apply, from the kernel's step-9 conditions."""
    ok: list[str] = []
    bad: list[str] = []
    rank = ctx.scheme.tier_rank
    band = f" and {item.max_tier} or worse" if item.max_tier else ""
    if check["tier_ok"]:
        ok.append(f"tier {tier} is {item.min_tier} or better{band}")
    elif rank(tier) > rank(item.min_tier):
        bad.append(f"tier {tier} is below {item.min_tier}")
    else:
        bad.append(f"tier {tier} is above {item.max_tier}, the best tier of the band")
    if check["score_ok"] is not None:
        bounds = [f"≥ {num(item.min_score)}"] if item.min_score is not None else []
        bounds += [f"≤ {num(item.max_score)}"] if item.max_score is not None else []
        if check["score_ok"]:
            ok.append(f"score {num(score)} {' and '.join(bounds)}")
        elif item.min_score is not None and score < item.min_score:
            bad.append(f"score {num(score)} is below {num(item.min_score)}")
        else:
            bad.append(f"score {num(score)} is above {num(item.max_score)}")
    if check["clean_ok"] is not None:
        if check["clean_ok"]:
            ok.append(f"no counting negative event inside clean_for {item.clean_for}")
        else:
            # the kernel names the event that breaks it
            last = next(e for e in events if e.event_id == check["breaker"])
            bad.append(f"a negative event on {last.occurred_on} is inside clean_for "
                       f"{item.clean_for} (event {last.event_id}, {last.name or last.indicator})")
    reason = "; ".join(ok if check["applies"] else bad or ok)
    return Eligibility(item.id, item.name, bool(check["applies"]), reason)


def sanction(sid: str, name: str, max_tier: str, tier: str, applies: bool) -> Eligibility:
    reason = (f"tier {tier} is {max_tier} or worse" if applies
              else f"tier {tier} is better than {max_tier}")
    return Eligibility(sid, name, applies, reason)
