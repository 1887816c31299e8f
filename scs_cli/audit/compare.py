"""Cities side by side: published rules only, never residents.

`compare(catalogues)` gives one overview per catalogue, the behaviours several of them
score (aligned by taxonomy code, widest disagreement first), what only one of them has,
and lint counts. The text of every cell is built here, so the rich table of the CLI and
the Markdown of the README say the same thing.

Definitions (docs/compare.md explains them to users):

- *headline value* of a city for a behaviour: the most severe nominal value one event can
  score under any of the city's indicators with that code (the worst if any is negative,
  else the best): range ends and escalation steps included.
  A `score_cap` counts as the drop it forces from the base (Nanyang's blacklist sets the
  score to 150: -350 of 500), a `tier_cap` as the drop to the top of the capped tier.
- *relative*: headline value as a percentage of the city's base (of the clamp range when
  the base is 0 or less; not comparable when neither exists).
- *disagreement*: the largest minus the smallest relative value among the cities that score
  the behaviour, in percentage points of base; *spread* is the same in absolute points.
- *largest deduction*: "one of each" is one event of every negative indicator at its worst
  per-event value, each capped by the indicator's, then its category's and each parent's
  max_deduction;
  "repeated" is the most that repeated events can take, which is unbounded as soon as one
  negative indicator has no max_deduction and no capped category. The scale's clamp
  (`min`) can stop a score falling further; that is shown as the floor.
- *coverage*: the indicators the catalogue holds of those the city published, not counting
  an unpublished rule (`published = false`) or a generic row standing for many
  (`GENERIC_BEHAVIOURS`).
- One version per city: by default only each city's latest version is compared (the others
  are set aside and named); `versions=True` compares every version given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from scs_cli.audit.lint import SEVERITIES, lint, load_catalogues, markdown_table, severity_counts
from scs_cli.core.errors import UsageError
from scs_cli.core.output import decimal_text, markdown_document
from scs_cli.core.text import signed
from scs_cli.rules.model import Catalogue, CreditList, Indicator
from scs_cli.rules.taxonomy import Taxonomy, default_taxonomy

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
# Taxonomy codes of generic rows: one row standing for many unpublished indicators.
GENERIC_BEHAVIOURS = frozenset({"civic.positive-record", "judicial.legal-offence"})


@dataclass(frozen=True)
class TierBand:
    name: str
    min: Decimal | None       # None: the last tier, everything below the one above
    below: Decimal | None     # the next better tier's min (None for the best tier)
    relative: Decimal | None  # min - base
    assumed: bool = False     # the catalogue marks this tier's min assumed


@dataclass(frozen=True)
class CategorySummary:
    id: str
    name: str
    max_deduction: Decimal | None
    max_award: Decimal | None
    parent: str | None = None  # the category it sits inside (a nested cap)


@dataclass(frozen=True)
class CityOverview:
    label: str                       # "rongcheng 2016": city id and version
    city_id: str
    city: str
    province: str | None
    version: str
    effective_from: date
    mode: str
    participation: str
    base: Decimal
    min: Decimal | None
    max: Decimal | None
    tiers: tuple[TierBand, ...]
    indicators: int
    positive: int
    negative: int
    categories: tuple[CategorySummary, ...]
    deduction_one_each: Decimal      # one event of every negative indicator, caps respected
    deduction_max: Decimal | None    # repeated events; None = unbounded
    uncapped: tuple[str, ...]        # negative indicators that can repeat without any cap
    rewards: tuple[str, ...]         # "name (tier A or better, …)"
    sanctions: tuple[str, ...]
    published_indicators: int | None
    assumed: tuple[str, ...] = ()    # every value marked assumed, as "table.key" paths
    specific: int | None = None      # indicators that count towards coverage (see module)
    lists: tuple[str, ...] = ()      # "court-defaulters (black, 2y, repair after 3m)"

    @property
    def coverage(self) -> Decimal | None:
        """Share of the city's published indicators this catalogue holds (specific ones)."""
        if not self.published_indicators:
            return None
        held = self.indicators if self.specific is None else self.specific
        return Decimal(held) / Decimal(self.published_indicators)

    @property
    def floor_loss(self) -> Decimal | None:
        """The most the clamp lets a score fall below base (None when there is no min)."""
        return None if self.min is None else max(self.base - self.min, Decimal(0))


@dataclass(frozen=True)
class CityRule:
    """One city's rules for one behaviour (one or more of its indicators)."""

    indicators: tuple[str, ...]
    points: str                 # describe_points, "; "-joined for several indicators
    headline: Decimal           # the most severe nominal value (see module docstring)
    relative: Decimal | None    # headline as % of base
    expires: str                # "5y", "none set"; "; "-joined; " (assumed)" marks a guess
    limit: str                  # "1/month", "" when none
    caps: str                   # "max −30, tier ≤ B", "" when none
    assumed: tuple[str, ...] = ()  # "indicator.key" of every assumed value in these rules


@dataclass(frozen=True)
class BehaviourRow:
    behaviour: str
    description: str | None
    kind: str | None            # credit, other, protected
    rules: dict[str, CityRule]  # by city label, in the order the catalogues were given
    disagreement: Decimal | None  # percentage points of base; None when < 2 comparable
    spread: Decimal             # absolute points


@dataclass(frozen=True)
class OnlyIn:
    behaviour: str | None       # None: the indicator has no behaviour code (unaligned)
    indicator: str
    name: str
    points: str


@dataclass(frozen=True)
class Comparison:
    cities: tuple[CityOverview, ...]
    behaviours: tuple[BehaviourRow, ...]       # scored by two or more catalogues
    only_in: dict[str, tuple[OnlyIn, ...]]     # by label
    lint: dict[str, dict[str, int]]            # by label: error, warning, info counts
    skipped: tuple[str, ...] = ()              # taxonomy files given among the catalogues
    set_aside: tuple[str, ...] = ()            # older versions of a city compared already

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.cities)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document: exactly `cities`, `behaviours`, `only_in`, `lint`."""
        return {
            "cities": [_city_dict(c) for c in self.cities],
            "behaviours": [{
                "behaviour": b.behaviour, "description": b.description, "kind": b.kind,
                "disagreement": _round(b.disagreement), "spread": b.spread,
                "cities": {label: {
                    "indicators": list(r.indicators), "points": r.points,
                    "headline": r.headline, "relative": _round(r.relative),
                    "expires": r.expires,
                    "limit": r.limit or None, "caps": r.caps or None,
                    "assumed": list(r.assumed),
                } for label, r in b.rules.items()},
            } for b in self.behaviours],
            "only_in": {label: [{"behaviour": o.behaviour, "indicator": o.indicator,
                                 "name": o.name, "points": o.points} for o in items]
                        for label, items in self.only_in.items()},
            "lint": self.lint,
        }

    def csv_columns(self) -> list[str]:
        cols = ["behaviour", "description", "kind", "disagreement", "spread"]
        for label in self.labels:
            cols += [f"{label} {part}" for part in ("points", "relative", "expires", "limit",
                                                   "caps")]
        return cols

    def csv_records(self) -> list[dict[str, Any]]:
        """The behaviour rows, one per behaviour; empty cells where a city lacks it."""
        records = []
        for b in self.behaviours:
            rec: dict[str, Any] = {"behaviour": b.behaviour, "description": b.description,
                                   "kind": b.kind, "disagreement": _round(b.disagreement),
                                   "spread": b.spread}
            for label, r in b.rules.items():
                rec |= {f"{label} points": r.points, f"{label} relative": _round(r.relative),
                        f"{label} expires": r.expires, f"{label} limit": r.limit,
                        f"{label} caps": r.caps}
            records.append(rec)
        return records


def _city_dict(c: CityOverview) -> dict[str, Any]:
    return {
        "label": c.label, "city_id": c.city_id, "city": c.city, "province": c.province,
        "version": c.version, "effective_from": c.effective_from, "mode": c.mode,
        "participation": c.participation, "base": c.base, "min": c.min, "max": c.max,
        "tiers": [{"name": t.name, "min": t.min, "below": t.below, "relative": t.relative,
                   "assumed": t.assumed} for t in c.tiers],
        "indicators": c.indicators, "positive": c.positive, "negative": c.negative,
        "categories": [{"id": k.id, "name": k.name, "max_deduction": k.max_deduction,
                        "max_award": k.max_award, "parent": k.parent} for k in c.categories],
        "largest_deduction": {"one_each": c.deduction_one_each, "repeated": c.deduction_max,
                              "uncapped": list(c.uncapped), "floor": c.floor_loss},
        "rewards": list(c.rewards), "sanctions": list(c.sanctions),
        "published_indicators": c.published_indicators,
        "coverage": _round(c.coverage * HUNDRED) if c.coverage is not None else None,
        "coverage_indicators": c.specific,
        "assumed": list(c.assumed),
        "lists": list(c.lists),
    }


# ------------------------------------------------------------------------- building


def compare(catalogues: Sequence[Catalogue], taxonomy: Taxonomy | None = None,
            versions: bool = False) -> Comparison:
    """Put catalogues side by side (at least two; each city id and version at most once).

    Without ``versions`` only each city's latest version is compared: two versions of one
    city would otherwise line up against each other as if they were two cities."""
    taxonomy = taxonomy or default_taxonomy()
    if len(catalogues) < 2:
        raise UsageError("compare needs at least two catalogues",
                         "give two or more files or bundled names")
    seen: set[str] = set()
    for cat in catalogues:
        if cat.label in seen:
            raise UsageError(f"catalogue {cat.label!r} is given twice",
                             "give each city's version once")
        seen.add(cat.label)
    set_aside: list[str] = []
    if not versions:
        latest: dict[str, Catalogue] = {}
        for cat in catalogues:
            if cat.city.id not in latest or \
                    cat.effective_from > latest[cat.city.id].effective_from:
                latest[cat.city.id] = cat
        set_aside = [c.label for c in catalogues if latest[c.city.id] is not c]
        catalogues = [c for c in catalogues if latest[c.city.id] is c]
        if len(catalogues) < 2:
            raise UsageError(
                f"{', '.join(set_aside)} and {catalogues[0].label} are versions of one city; "
                "compare lines cities up", "give --versions to compare versions side by "
                "side, or see what changed with `scs catalogue diff`")

    by_code: dict[str, dict[str, list[Indicator]]] = {}
    unaligned: dict[str, list[Indicator]] = {c.label: [] for c in catalogues}
    for cat in catalogues:
        for ind in cat.indicators.values():
            if ind.behavior:
                by_code.setdefault(ind.behavior, {}).setdefault(cat.label, []).append(ind)
            else:
                unaligned[cat.label].append(ind)

    cats = {c.label: c for c in catalogues}
    rows: list[BehaviourRow] = []
    only: dict[str, list[OnlyIn]] = {c.label: [] for c in catalogues}
    for code, per_city in by_code.items():
        if len(per_city) == 1:
            (label, inds), = per_city.items()
            only[label] += [OnlyIn(code, i.id, i.name, i.describe_points()) for i in inds]
            continue
        rules = {label: _rule(cats[label], per_city[label])
                 for label in cats if label in per_city}
        rows.append(_row(code, rules, taxonomy))
    rows.sort(key=lambda r: (r.disagreement is None, -(r.disagreement or 0), -r.spread,
                             r.behaviour))
    for label, inds in unaligned.items():
        only[label] += [OnlyIn(None, i.id, i.name, i.describe_points()) for i in inds]
    for label in only:  # behaviours in code order, unaligned indicators last
        only[label].sort(key=lambda o: (o.behaviour is None, o.behaviour or "", o.indicator))

    return Comparison(
        cities=tuple(overview(c) for c in catalogues),
        behaviours=tuple(rows),
        only_in={label: tuple(items) for label, items in only.items()},
        lint={c.label: severity_counts(lint(c, taxonomy)) for c in catalogues},
        set_aside=tuple(set_aside),
    )


def compare_files(files: Sequence[str | Path], taxonomy: Taxonomy | None = None,
                  versions: bool = False) -> Comparison:
    """Load catalogues (paths or bundled names) and compare them; every problem at once.

    Taxonomy files among them are skipped and named in `Comparison.skipped`."""
    taxonomy = taxonomy or default_taxonomy()
    loaded, skipped = load_catalogues(files, taxonomy)
    comp = compare([c for _, c in loaded], taxonomy, versions)
    return replace(comp, skipped=tuple(skipped))


def reference_points(cat: Catalogue) -> Decimal | None:
    """What "relative" divides by: the base, or the clamp range when the base is not > 0."""
    if cat.scale.base > 0:
        return cat.scale.base
    if cat.scale.min is not None and cat.scale.max is not None and cat.scale.max > cat.scale.min:
        return cat.scale.max - cat.scale.min
    return None


def severest(cat: Catalogue, ind: Indicator) -> Decimal:
    """The most one event of ``ind`` can cost, caps included: a score cap forces the score
    down to it, a tier cap to the top of the capped tier (a drop from the base)."""
    worst = min(ind.worst, Decimal(0))
    base = cat.scale.base
    if ind.score_cap is not None:
        worst = min(worst, ind.score_cap - base)
    if ind.tier_cap is not None:
        upper = cat.tier_band(ind.tier_cap)[1]
        if upper is not None:
            worst = min(worst, upper - CENT - base)
    return worst


def _rule(cat: Catalogue, inds: list[Indicator]) -> CityRule:
    negative = [v for i in inds if (v := severest(cat, i)) < 0]
    headline = min(negative) if negative else max(i.best for i in inds)
    ref = reference_points(cat)
    return CityRule(
        indicators=tuple(i.id for i in inds),
        points="; ".join(_marked(i.describe_points(), i, POINT_KEYS)
                         + (_marked(f" within {i.escalation_window}", i, ("escalation_window",))
                            if i.escalation_window else "") for i in inds),
        headline=headline,
        relative=headline * HUNDRED / ref if ref else None,
        # no expires_after: the catalogue sets none, which is not a law saying "never"
        expires="; ".join(_unique(_marked(str(i.expires_after), i, ("expires_after",))
                                  if i.expires_after else "none set" for i in inds)),
        limit="; ".join(_unique(_marked(f"{i.limit.count}/{i.limit.per}", i, ("limit",))
                                for i in inds if i.limit)),
        caps="; ".join(_unique(c for c in (indicator_caps(i) for i in inds) if c)),
        assumed=tuple(f"{i.id}.{k}" for i in inds for k in sorted(i.assumed)),
    )


POINT_KEYS = ("points", "points_range", "escalation")


def _marked(text: str, ind: Indicator, keys: tuple[str, ...]) -> str:
    """A rule's value as text, with " (assumed)" when the catalogue marks it so."""
    return text + (" (assumed)" if any(k in ind.assumed for k in keys) else "")


def _row(code: str, rules: dict[str, CityRule], taxonomy: Taxonomy) -> BehaviourRow:
    relatives = [r.relative for r in rules.values() if r.relative is not None]
    headlines = [r.headline for r in rules.values()]
    return BehaviourRow(
        behaviour=code,
        description=taxonomy.describe(code),
        kind=taxonomy.kind_of(code),
        rules=rules,
        disagreement=max(relatives) - min(relatives) if len(relatives) >= 2 else None,
        spread=max(headlines) - min(headlines),
    )


def indicator_caps(ind: Indicator) -> str:
    return ", ".join(x for x in (
        _marked(f"max -{decimal_text(ind.max_deduction)}", ind, ("max_deduction",))
        if ind.max_deduction else "",
        _marked(f"max +{decimal_text(ind.max_award)}", ind, ("max_award",))
        if ind.max_award else "",
        _marked(f"tier ≤ {ind.tier_cap}", ind, ("tier_cap",)) if ind.tier_cap else "",
        _marked(f"score ≤ {decimal_text(ind.score_cap)}", ind, ("score_cap",))
        if ind.score_cap is not None else "",
    ) if x)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def overview(cat: Catalogue) -> CityOverview:
    base = cat.scale.base
    tiers = tuple(
        TierBand(t.name, t.min, cat.tier_band(t.name)[1],
                 t.min - base if t.min is not None else None, "min" in t.assumed)
        for t in cat.tiers)
    one_each, most, uncapped = largest_deduction(cat)
    inds = cat.indicators.values()
    return CityOverview(
        label=cat.label, city_id=cat.city.id, city=cat.city.name, province=cat.city.province,
        version=cat.version, effective_from=cat.effective_from, mode=cat.mode,
        participation=cat.policy.participation, base=base, min=cat.scale.min,
        max=cat.scale.max, tiers=tiers, indicators=len(cat.indicators),
        positive=sum(i.is_positive for i in inds), negative=sum(i.is_negative for i in inds),
        categories=tuple(CategorySummary(c.id, c.name, c.max_deduction, c.max_award, c.parent)
                         for c in cat.categories.values()),
        deduction_one_each=one_each, deduction_max=most, uncapped=uncapped,
        rewards=tuple(_reward_text(cat, r.id) for r in cat.rewards.values()),
        sanctions=tuple(f"{s.name} (tier {s.max_tier} or worse)" if s.max_tier else
                        f"{s.name} (while on {s.on_list}"
                        + (f", at most {s.lasts}" if s.lasts else "") + ")"
                        for s in cat.sanctions.values()),
        published_indicators=cat.published_indicators,
        assumed=tuple(f"{path}.{key}" for path, key in cat.assumptions()),
        specific=sum(i.published and i.behavior not in GENERIC_BEHAVIOURS for i in inds),
        lists=tuple(_list_text(v) for v in cat.lists.values()),
    )


def _reward_text(cat: Catalogue, rid: str) -> str:
    r = cat.rewards[rid]
    cond = f"tier {r.min_tier} or better"
    if r.max_tier is not None:
        cond += f" and {r.max_tier} or worse"
    if r.min_score is not None:
        cond += f", score ≥ {decimal_text(r.min_score)}"
    if r.max_score is not None:
        cond += f", score ≤ {decimal_text(r.max_score)}"
    if r.clean_for:
        cond += f", clean for {r.clean_for}"
    return f"{r.name} ({cond})"


def largest_deduction(cat: Catalogue) -> tuple[Decimal, Decimal | None, tuple[str, ...]]:
    """(one of each, repeated or None when unbounded, indicators repeatable without a cap).

    Points lost, as positive numbers. Caps act as in scoring: the indicator's
    max_deduction first, then its category's, then each parent's in turn (a nested cap).
    """
    one_each: dict[str | None, Decimal | None] = {}
    repeated: dict[str | None, Decimal | None] = {}
    uncapped: list[str] = []
    for ind in cat.indicators.values():
        if not ind.is_negative:
            continue
        loss = -ind.worst
        cap = ind.max_deduction
        key = ind.category
        one_each[key] = _plus(one_each.get(key, Decimal(0)), min(loss, cap) if cap else loss)
        repeated[key] = _plus(repeated.get(key, Decimal(0)), cap)
        if cap is None and not any(cat.categories[c].max_deduction is not None
                                   for c in cat.category_chain(key)):
            uncapped.append(ind.id)
    total_one = _rolled_up(cat, one_each)
    assert total_one is not None  # one event of each is always a finite loss
    return total_one, _rolled_up(cat, repeated), tuple(uncapped)


def _plus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """A sum of losses where None is unbounded."""
    return None if a is None or b is None else a + b


def _rolled_up(cat: Catalogue, losses: dict[str | None, Decimal | None]) -> Decimal | None:
    """The losses under each category held at its cap, innermost first, each category's
    capped total added to its parent's; the uncategorised losses added as they are."""
    totals = dict(losses)
    total = totals.pop(None, Decimal(0))
    for cid in sorted(cat.categories, key=lambda c: (-len(cat.category_chain(c)), c)):
        amount = totals.pop(cid, Decimal(0))
        cap = cat.categories[cid].max_deduction
        if cap is not None:
            amount = cap if amount is None else min(amount, cap)
        parent = cat.categories[cid].parent
        if parent is not None and parent in cat.categories:
            totals[parent] = _plus(totals.get(parent, Decimal(0)), amount)
        else:
            total = _plus(total, amount)
    return total


# ------------------------------------------------------------------------ cell text


def percent(value: Decimal | None, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    text = decimal_text(value.quantize(Decimal("0.01")))
    return ("+" + text if signed and value > 0 else text) + "%"


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01")).normalize()


def tiers_text(c: CityOverview) -> str:
    parts = []
    for t in c.tiers:
        if t.min is None:
            parts.append(f"{t.name} below")
        else:
            parts.append(f"{t.name} ≥ {decimal_text(t.min)}{' (assumed)' * t.assumed} "
                         f"({signed(t.relative or Decimal(0))})")
    return ", ".join(parts)


def deduction_text(c: CityOverview) -> str:
    ref = c.base if c.base > 0 else None
    share = f" ({percent(c.deduction_one_each * HUNDRED / ref, signed=False)} of base)" \
        if ref else ""
    text = f"one of each: {decimal_text(c.deduction_one_each)}{share}; repeated: "
    if c.deduction_max is None:
        text += f"unbounded ({len(c.uncapped)} uncapped)"
    else:
        text += decimal_text(c.deduction_max)
    if c.floor_loss is not None:
        text += f"; floor {decimal_text(c.min or 0)} stops it at {decimal_text(c.floor_loss)}"
    return text


def overview_rows(comp: Comparison) -> list[tuple[str, list[str]]]:
    """(what, one cell per city) for the overview, shared by the table and Markdown."""
    cs = comp.cities

    def row(what: str, cell: Any) -> tuple[str, list[str]]:
        return what, [cell(c) for c in cs]

    def clamp(c: CityOverview) -> str:
        if c.min is None and c.max is None:
            return "none"
        # Spelled out: an open end shown as "…" reads as a value cut short.
        if c.min is None:
            return f"at most {decimal_text(c.max)}"  # type: ignore[arg-type]  # one is set
        if c.max is None:
            return f"at least {decimal_text(c.min)}"
        return f"{decimal_text(c.min)} to {decimal_text(c.max)}"

    def coverage(c: CityOverview) -> str:
        if c.coverage is None:
            return "count not published"
        held = c.indicators if c.specific is None else c.specific
        return (f"{held} of {c.published_indicators} published "
                f"({percent(c.coverage * HUNDRED, signed=False)})"
                + (f"; {c.indicators - held} generic or unpublished not counted"
                   if held != c.indicators else ""))

    def counts(label: str) -> str:
        n = comp.lint[label]
        return ", ".join(f"{n[s]} {s}{'s' if n[s] != 1 and s != 'info' else ''}"
                         for s in SEVERITIES)

    return [
        row("city", lambda c: c.city + (f" ({c.province})" if c.province else "")),
        row("version", lambda c: f"{c.version}, in force from {c.effective_from}"
            + (" (assumed)" if "catalogue.effective_from" in c.assumed else "")),
        row("mode", lambda c: c.mode),
        row("participation", lambda c: c.participation),
        row("base", lambda c: decimal_text(c.base)
            + (" (assumed)" if "scale.base" in c.assumed else "")),
        row("clamp", clamp),
        row("tiers (vs base)", tiers_text),
        row("indicators (− / +)", lambda c: f"{c.indicators} ({c.negative} / {c.positive})"),
        row("coverage", coverage),
        row("categories (caps)", lambda c: ", ".join(
            k.id + (f" in {k.parent}" if k.parent else "")
            + (f" (max -{decimal_text(k.max_deduction)})" if k.max_deduction else "")
            + (f" (max +{decimal_text(k.max_award)})" if k.max_award else "")
            for k in c.categories) or "none"),
        row("largest deduction", deduction_text),
        row("rewards", lambda c: "; ".join(c.rewards) or "none"),
        row("sanctions", lambda c: "; ".join(c.sanctions) or "none"),
        row("lists (how long)", lambda c: "; ".join(c.lists) or "none"),
        row("assumed values", lambda c: str(len(c.assumed))),
        row("lint", lambda c: counts(c.label)),
    ]


def _list_text(item: CreditList) -> str:
    """A list as compare shows it: which, what kind, and for how long one stays on it."""
    if item.entry.by_tier:
        return f"{item.id} (red, while tier {item.entry.min_tier} or better)"
    how: list[str] = [item.kind]
    if item.entry.count:
        how.append(f"{item.entry.count} within {item.entry.within}")
    stays = str(item.lasts) if item.lasts else "no fixed term"
    if item.ends_with_event:
        stays += " or until the entering event stops counting"
    how.append(stays)
    if item.repair_after:
        how.append(f"repair after {item.repair_after}")
    return f"{item.id} ({', '.join(how)})"


def rule_text(rule: CityRule | None) -> str:
    """One city's cell for a behaviour: points (relative), expiry, limit, caps."""
    if rule is None:
        return "—"
    parts = [f"{rule.points} ({percent(rule.relative)})", f"expires {rule.expires}"]
    if rule.limit:
        parts.append(f"limit {rule.limit}")
    if rule.caps:
        parts.append(rule.caps)
    return "; ".join(parts)


def behaviour_rows(comp: Comparison, sep: str = " — ") -> list[list[str]]:
    """Behaviour, disagreement, then one cell per city (shared by table and Markdown)."""
    rows = []
    for b in comp.behaviours:
        head = b.behaviour + (f"{sep}{b.description}" if b.description else "")
        gap = f"{decimal_text(b.disagreement.quantize(Decimal('0.1')))} pp" \
            if b.disagreement is not None else "n/a"
        rows.append([head, f"{gap} ({decimal_text(b.spread)} pts)"]
                    + [rule_text(b.rules.get(label)) for label in comp.labels])
    return rows


def only_in_text(items: Sequence[OnlyIn], limit: int | None = None) -> str:
    shown = items if limit is None else items[:limit]
    text = "; ".join(f"{o.behaviour or o.indicator + ' (no code)'} {o.points}" for o in shown)
    if limit is not None and len(items) > limit:
        text += f"; and {len(items) - limit} more"
    return text or "nothing"


def comparison_markdown(comp: Comparison, max_behaviours: int | None = None,
                        max_only: int | None = 12) -> str:
    """The comparison as Markdown (the README embeds it); bold titles, no headings."""
    labels = list(comp.labels)
    parts = ["**Overview**\n\n",
             markdown_table(["", *labels], [[what, *cells] for what, cells in
                                             overview_rows(comp)])]
    rows = behaviour_rows(comp)
    shown = rows if max_behaviours is None else rows[:max_behaviours]
    title = "**Behaviours scored by more than one catalogue** (widest disagreement first"
    if len(shown) < len(rows):
        title += f"; {len(shown)} of {len(rows)}"
    parts += ["\n" + title + ")\n\n",
              markdown_table(["behaviour", "disagreement", *labels], shown)
              if shown else "None.\n"]
    parts += ["\n**Only in one catalogue**\n\n",
              markdown_table(["catalogue", "count", "behaviours (points)"],
                             [[label, str(len(items)), only_in_text(items, max_only)]
                              for label, items in comp.only_in.items()])]
    return markdown_document("".join(parts))  # catalogue text: HTML stays text
