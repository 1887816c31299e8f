"""The city catalogue: a frozen, validated model of one version of a city's rules.

Parsing and validation live in `scs_cli.rules.schema`; this module is the model
the rest of the library reads, plus the one place that answers "which version was in
force on this date" (`CatalogueHistory.in_force`).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from scs_cli.core.text import signed
from scs_cli.rules.durations import Duration

Mode = Literal["rewards-and-penalties", "rewards-only"]
Participation = Literal["all", "consent"]
AppliesTo = Literal["self", "relative", "guarantor"]
Period = Literal["day", "week", "month", "year"]

MODES: tuple[str, ...] = ("rewards-and-penalties", "rewards-only")
PARTICIPATIONS: tuple[str, ...] = ("all", "consent")
APPLIES_TO: tuple[str, ...] = ("self", "relative", "guarantor")
PERIODS: tuple[str, ...] = ("day", "week", "month", "year")


def cents(value: Decimal) -> int:
    """Exact points as integer hundredths, the unit the engine computes in."""
    return int(value * 100)


def from_cents(value: int) -> Decimal:
    """Integer hundredths back to the shortest exact decimal (``100000`` → ``1000``)."""
    d = Decimal(value) / 100
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


@dataclass(frozen=True)
class City:
    id: str
    name: str
    province: str | None = None


@dataclass(frozen=True)
class Scale:
    base: Decimal
    min: Decimal | None = None
    max: Decimal | None = None
    assumed: frozenset[str] = frozenset()  # keys whose values no source gives (SPEC §2)

    @property
    def clean(self) -> Decimal:
        """The score of a resident with no records: the base, clamped to [min, max]."""
        score = self.base if self.min is None else max(self.base, self.min)
        return score if self.max is None else min(score, self.max)


@dataclass(frozen=True)
class Tier:
    name: str
    min: Decimal | None  # None only for the last tier, which catches everything below
    assumed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    max_deduction: Decimal | None = None
    max_award: Decimal | None = None
    assumed: frozenset[str] = frozenset()
    parent: str | None = None  # the category this one sits inside (caps at every level)


@dataclass(frozen=True)
class Limit:
    count: int
    per: Period


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    points: Decimal | None = None
    points_range: tuple[Decimal, Decimal] | None = None
    escalation: tuple[Decimal, ...] | None = None
    escalation_window: Duration | None = None
    category: str | None = None
    behavior: str | None = None
    basis: str | None = None
    source: str | None = None
    reporters: tuple[str, ...] | None = None
    expires_after: Duration | None = None
    limit: Limit | None = None
    max_deduction: Decimal | None = None
    max_award: Decimal | None = None
    tier_cap: str | None = None
    score_cap: Decimal | None = None
    applies_to: AppliesTo = "self"
    published: bool = True
    assumed: frozenset[str] = frozenset()

    @property
    def nominal_values(self) -> tuple[Decimal, ...]:
        """Every value an event of this indicator can score (range ends, escalation steps)."""
        if self.points is not None:
            return (self.points,)
        if self.points_range is not None:
            return self.points_range
        return self.escalation or ()

    @property
    def is_negative(self) -> bool:
        """Can an event of this indicator cost points?"""
        return any(v < 0 for v in self.nominal_values)

    @property
    def is_positive(self) -> bool:
        return any(v > 0 for v in self.nominal_values)

    @property
    def worst(self) -> Decimal:
        """The most negative (or least positive) value one event can score."""
        return min(self.nominal_values)

    @property
    def best(self) -> Decimal:
        return max(self.nominal_values)

    @property
    def worded_basis(self) -> str | None:
        """The legal basis as every surface words it: an assumed one is the compiler's reading
        of the law that governs the conduct, never the rule's own citation (SPEC §2)."""
        if self.basis is None or "basis" not in self.assumed:
            return self.basis
        return (f"{self.basis} (the law that governs this conduct, in the catalogue's "
                "reading; the rule cites none)")

    def describe_points(self) -> str:
        """Points as a person reads them: ``-50``, ``-50 to -5``, ``-3, -6, -12…``."""
        if self.points is not None:
            return _signed(self.points)
        if self.points_range is not None:
            low, high = self.points_range
            return f"{_signed(low)} to {_signed(high)}"
        steps = ", ".join(_signed(v) for v in self.escalation or ())
        return f"{steps} (then repeats)"


_signed = signed


@dataclass(frozen=True)
class Reward:
    id: str
    name: str
    min_tier: str
    min_score: Decimal | None = None
    clean_for: Duration | None = None
    assumed: frozenset[str] = frozenset()
    max_tier: str | None = None        # a reward for a band: this tier or worse
    max_score: Decimal | None = None   # and the score at most this
    value: Decimal | None = None       # what it is worth to one resident (for costing)
    unit: str | None = None            # the value's unit, such as "CNY"


@dataclass(frozen=True)
class Sanction:
    id: str
    name: str
    max_tier: str | None               # this tier or worse; None for a measure `on_list`
    assumed: frozenset[str] = frozenset()
    on_list: str | None = None         # a black list: applies while the resident is on it
    agency: str | None = None          # who applies it (joint punishment, SPEC §4a)
    lasts: Duration | None = None      # at most this long from the listing's start


ListKind = Literal["black", "red"]
Severity = Literal["minor", "general", "serious"]
LIST_KINDS: tuple[str, ...] = ("black", "red")
SEVERITIES: tuple[str, ...] = ("minor", "general", "serious")


@dataclass(frozen=True)
class ListEntry:
    """How one gets on a list: by indicators (black), optionally the ``count``-th inside
    ``within``, or by a tier as a reward is granted (red)."""

    indicators: tuple[str, ...] = ()
    count: int | None = None
    within: Duration | None = None
    min_tier: str | None = None
    max_tier: str | None = None
    min_score: Decimal | None = None
    max_score: Decimal | None = None
    clean_for: Duration | None = None

    @property
    def by_tier(self) -> bool:
        return self.min_tier is not None


@dataclass(frozen=True)
class CreditList:
    """A list beside the score (SPEC §4a): a resident is on it or not."""

    id: str
    name: str
    kind: ListKind
    entry: ListEntry
    severity: Severity | None = None
    lasts: Duration | None = None
    ends_with_event: bool = True
    repair_after: Duration | None = None
    published: bool = False
    assumed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    objection_suspends: bool = True
    objection_deadline: Duration | None = None
    participation: Participation = "all"
    assumed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Office:
    """Who residents deal with (SPEC §2 `[office]`): every letter prints it."""

    name: str
    address: str | None = None
    contact: str | None = None            # telephone, e-mail, counter hours
    objection_window: Duration | None = None  # how long after a statement one may object
    assumed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Catalogue:
    """One version of one city's rules, as published (or reconstructed)."""

    city: City
    version: str
    effective_from: date
    scale: Scale
    tiers: tuple[Tier, ...]
    schema: int = 1
    title: str | None = None
    sources: tuple[str, ...] = ()
    notes: str | None = None
    mode: Mode = "rewards-and-penalties"
    published_indicators: int | None = None
    # the version holds only what its sources show: a rule of an earlier version missing
    # here is "not in this version's sources", not removed (diff says which)
    partial: bool = False
    categories: dict[str, Category] = field(default_factory=dict)
    indicators: dict[str, Indicator] = field(default_factory=dict)
    rewards: dict[str, Reward] = field(default_factory=dict)
    sanctions: dict[str, Sanction] = field(default_factory=dict)
    policy: Policy = Policy()
    office: Office | None = None  # None: the catalogue names no office
    assumed: frozenset[str] = frozenset()  # keys of the [catalogue] table that are assumed
    lists: dict[str, CreditList] = field(default_factory=dict)

    def __hash__(self) -> int:  # dict fields: hash by identity of the version
        return hash((self.city.id, self.version, self.effective_from))

    @property
    def label(self) -> str:
        return f"{self.city.id} {self.version}"

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def tier_rank(self, name: str) -> int:
        """0 for the best tier; larger is worse."""
        return self.tier_names.index(name)

    def tier_for(self, score: Decimal) -> str:
        """The first tier (best first) whose ``min`` is at most ``score``."""
        for tier in self.tiers:
            if tier.min is None or tier.min <= score:
                return tier.name
        return self.tiers[-1].name

    def tier_band(self, name: str) -> tuple[Decimal | None, Decimal | None]:
        """(lowest score, score the next better tier starts at) of a tier, None when open."""
        i = self.tier_rank(name)
        upper = self.tiers[i - 1].min if i > 0 else None
        return self.tiers[i].min, upper

    def category_chain(self, category: str | None) -> tuple[str, ...]:
        """A category and each parent in turn, innermost first (the order caps apply in).

        A category this version does not define ends the chain: its total is not capped."""
        chain: list[str] = []
        while category is not None and category in self.categories \
                and category not in chain:  # validation refuses cycles; never loop
            chain.append(category)
            category = self.categories[category].parent
        return tuple(chain)

    @property
    def tier_sanctions(self) -> dict[str, Sanction]:
        """Sanctions by tier (step 9); measures `on_list` follow listings instead."""
        return {k: s for k, s in self.sanctions.items() if s.max_tier is not None}

    @property
    def list_sanctions(self) -> dict[str, Sanction]:
        return {k: s for k, s in self.sanctions.items() if s.on_list is not None}

    def indicators_by_category(self) -> dict[str | None, list[Indicator]]:
        grouped: dict[str | None, list[Indicator]] = {}
        for ind in self.indicators.values():
            grouped.setdefault(ind.category, []).append(ind)
        return grouped

    def assumptions(self) -> list[tuple[str, str]]:
        """Every assumed value as (table path, key), in file order: what no source gives.

        Paths are the ones validation names (``tiers[0]``, ``indicators.red-light``).
        """
        tables: list[tuple[str, frozenset[str]]] = [("catalogue", self.assumed),
                                                     ("scale", self.scale.assumed)]
        tables += [(f"tiers[{i}]", t.assumed) for i, t in enumerate(self.tiers)]
        tables += [(f"categories.{k}", v.assumed) for k, v in self.categories.items()]
        tables += [(f"indicators.{k}", v.assumed) for k, v in self.indicators.items()]
        tables += [(f"rewards.{k}", v.assumed) for k, v in self.rewards.items()]
        tables += [(f"sanctions.{k}", v.assumed) for k, v in self.sanctions.items()]
        tables.append(("policy", self.policy.assumed))
        tables += [(f"lists.{k}", v.assumed) for k, v in self.lists.items()]
        if self.office is not None:
            tables.append(("office", self.office.assumed))
        return [(path, key) for path, keys in tables for key in sorted(keys)]


@dataclass(frozen=True)
class AdoptedCatalogue:
    """A catalogue as a ledger stores it: its exact text and that text's SHA-256."""

    catalogue: Catalogue
    text: str
    sha256: str

    @classmethod
    def from_text(cls, catalogue: Catalogue, text: str) -> AdoptedCatalogue:
        return cls(catalogue, text, hashlib.sha256(text.encode()).hexdigest())


class CatalogueHistory:
    """The adopted versions of one city's catalogue, ordered by ``effective_from``.

    This is the single answer to "which rule was in force": an event is judged by the
    version in force on its date, the scheme (tiers, caps, rewards) by the one in
    force on the as-of date.
    """

    def __init__(self, versions: Iterable[Catalogue]):
        self.versions: tuple[Catalogue, ...] = tuple(
            sorted(versions, key=lambda c: c.effective_from)
        )
        self._starts = [c.effective_from for c in self.versions]

    def __len__(self) -> int:
        return len(self.versions)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.versions)

    def in_force(self, day: date) -> Catalogue | None:
        """The version with the latest ``effective_from`` not after ``day``, if any."""
        i = bisect.bisect_right(self._starts, day)
        return self.versions[i - 1] if i else None

    def index_in_force(self, day: date) -> int:
        """Position of the version in force on ``day``; -1 before the first."""
        return bisect.bisect_right(self._starts, day) - 1

    @property
    def city_id(self) -> str | None:
        return self.versions[0].city.id if self.versions else None


def adoption_problems(history: Sequence[Catalogue], new: Catalogue) -> list[str]:
    """Why ``new`` cannot join ``history`` as another adopted version (empty when it can)."""
    problems: list[str] = []
    for old in history:
        if old.city.id != new.city.id:
            problems.append(
                f"catalogue is for city {new.city.id!r} but this ledger belongs to "
                f"{old.city.id!r}; a ledger is only ever scored with its own city's catalogue"
            )
            return problems
    for old in history:
        if old.effective_from == new.effective_from:
            problems.append(
                f"version {old.version!r} already takes effect on {old.effective_from}; "
                "give the new version another effective_from"
            )
    names = set(new.tier_names)
    for old in history:
        for ind in old.indicators.values():
            if ind.tier_cap and ind.tier_cap not in names:
                problems.append(
                    f"indicator {ind.id!r} of version {old.version!r} caps tiers at "
                    f"{ind.tier_cap!r}, which this version's tiers lack; keep that tier"
                )
    return problems


def read_text(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")
