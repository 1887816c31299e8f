"""Lint checks of what a resident can reach (SCS6xx): tiers and rewards no record can earn.

The highest score a catalogue allows is its base plus everything its positive indicators can
add, within their `max_award` caps (an indicator's, then each category's, innermost first),
clamped to `scale.max`. A positive indicator without a cap can be earned again and again, so
it lifts the ceiling to `scale.max` (or without bound). A tier other than the last, or a
reward, whose threshold lies above that ceiling can never be reached: every resident is kept
below it whatever they do. These checks register in `lint`'s registry when lint imports this
module.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from scs_cli.audit.lint import Hit, _num, check
from scs_cli.rules.model import Catalogue
from scs_cli.rules.taxonomy import Taxonomy

Unbounded = None  # a gain with no ceiling


def highest_score(cat: Catalogue) -> Decimal | None:
    """The highest score a resident can reach under the catalogue (None: no bound)."""
    gains: dict[str | None, Decimal | None] = {}  # per category (None: uncategorised)
    for ind in cat.indicators.values():
        if not ind.is_positive:
            continue
        gain = ind.max_award  # None: repeatable without a ceiling
        gains[ind.category] = _add(gains.get(ind.category, Decimal(0)), gain)
    total: Decimal | None = gains.pop(None, Decimal(0))
    # Categories innermost first: a category's gain is its children's, capped by max_award.
    depth = {cid: len(cat.category_chain(cid)) for cid in cat.categories}
    pending = dict(gains)
    for cid in sorted(cat.categories, key=lambda c: -depth[c]):
        if cid not in pending:
            continue
        gain = pending.pop(cid)
        cap = cat.categories[cid].max_award
        if cap is not None:
            gain = cap if gain is Unbounded else min(gain, cap)
        parent = cat.categories[cid].parent
        if parent is None:
            total = _add(total, gain)
        else:
            pending[parent] = _add(pending.get(parent, Decimal(0)), gain)
    best = None if total is Unbounded else cat.scale.base + total
    if cat.scale.max is not None:
        best = cat.scale.max if best is None else min(best, cat.scale.max)
    return best


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is Unbounded or b is Unbounded else a + b


def _ceiling_text(cat: Catalogue, best: Decimal) -> str:
    positives = [i.id for i in cat.indicators.values() if i.is_positive]
    what = (f"its positive indicators ({', '.join(positives)}) and their caps"
            if positives else "it has no positive indicator")
    return (f"the highest score a resident can reach is {_num(best)} (base "
            f"{_num(cat.scale.base)}; {what}"
            + (f"; scale max {_num(cat.scale.max)}" if cat.scale.max is not None else "")
            + ")")


@check("SCS601", "unreachable-tier", "error",
       "a tier no resident can reach")
def _unreachable_tier(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    best = highest_score(cat)
    if best is None:
        return
    for tier in cat.tiers[:-1]:
        if tier.min is not None and tier.min > best:
            yield None, (
                f"tier {tier.name!r} (from {_num(tier.min)}) can never be reached: "
                f"{_ceiling_text(cat, best)}; the sources describe scores that records raise "
                "(SPEC §2 Lint); add the positive indicators the sources name, or drop it")


@check("SCS602", "unreachable-reward", "error",
       "a reward no resident can earn")
def _unreachable_reward(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    best = highest_score(cat)
    if best is None:
        return
    for reward in cat.rewards.values():
        low, _ = cat.tier_band(reward.min_tier)
        needed = max(x for x in (low, reward.min_score, Decimal(-10**7)) if x is not None)
        if needed > best:
            yield None, (
                f"reward {reward.id!r} ({reward.name!r}) needs {_num(needed)} and can never "
                f"be earned: {_ceiling_text(cat, best)} (SPEC §2 Lint); add the positive "
                "indicators the sources name, or drop it")


@check("SCS603", "clean-resident-lowest-tier", "warning",
       "a resident with no records sits in the lowest tier")
def _clean_resident_lowest(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    if len(cat.tiers) < 2:
        return
    start = cat.scale.clean
    tier = cat.tier_for(start)
    if tier == cat.tiers[-1].name:
        yield None, (
            f"a resident with no records scores {_num(start)} and sits in {tier!r}, the "
            "lowest tier: everyone is graded worst until records lift them, though nothing "
            "is held against them (Creemers 2018: residents need to know the benchmarks; "
            "Liu 2019: in most municipal SCS rules the lowest level is where judgment defaulters "
            "are put); check the "
            "base and the tier floors against the sources")
