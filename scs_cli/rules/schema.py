"""Reading a catalogue file: TOML → validated, frozen `Catalogue`, or every problem at once.

Validation walks the document once and collects *every* problem with its key path
(``indicators.red-light.expires_after``), what is wrong and how to mend it. Unknown keys
are named with the allowed ones listed. Writing back (`to_document`) gives a TOML
document that reads back into an equal catalogue.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from scs_cli.core.errors import CatalogueError, Problem
from scs_cli.rules.durations import Duration
from scs_cli.rules.model import (
    APPLIES_TO,
    MODES,
    PARTICIPATIONS,
    PERIODS,
    Catalogue,
    Category,
    City,
    CreditList,
    Indicator,
    Limit,
    Office,
    Policy,
    Reward,
    Sanction,
    Scale,
    Tier,
)
from scs_cli.rules.schema_lists import (
    lists_document,
    read_lists,
    read_sanctions,
    sanction_document,
)
from scs_cli.rules.taxonomy import Taxonomy, bundled_dir, default_taxonomy

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# SPEC §2: every number within ±1,000,000 and every duration within 100 years, so that no
# value can overflow the engine's Int64 hundredths or a date later.
NUMBER_LIMIT = Decimal(1_000_000)
DURATION_LIMIT = {"d": 36_525, "w": 5_218, "m": 1_200, "y": 100}

TOP_KEYS = ("schema", "city", "catalogue", "scale", "tiers", "categories", "indicators",
            "rewards", "sanctions", "policy", "lists", "office")
CITY_KEYS = ("id", "name", "province")
CATALOGUE_KEYS = ("version", "effective_from", "title", "sources", "notes", "mode",
                  "published_indicators", "partial", "assumed")
SCALE_KEYS = ("base", "min", "max", "assumed")
TIER_KEYS = ("name", "min", "assumed")
CATEGORY_KEYS = ("name", "max_deduction", "max_award", "parent", "assumed")
INDICATOR_KEYS = ("name", "category", "behavior", "points", "points_range", "escalation",
                  "escalation_window", "basis", "source", "reporters", "expires_after", "limit",
                  "max_deduction", "max_award", "tier_cap", "score_cap", "applies_to",
                  "published", "assumed")
LIMIT_KEYS = ("count", "per")
REWARD_KEYS = ("name", "min_tier", "min_score", "clean_for", "max_tier", "max_score",
               "value", "unit", "assumed")
POLICY_KEYS = ("objection_suspends", "objection_deadline", "participation", "assumed")
OFFICE_KEYS = ("name", "address", "contact", "objection_window", "assumed")


class _Absent(dict):  # type: ignore[type-arg]
    """A table that is missing: its own absence is reported once, not each of its keys."""


ABSENT = _Absent()


class _Checker:
    """Collects problems while reading typed values out of a TOML table."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, where: str, what: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, where, what, fix))

    def table(self, value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(where, f"must be a table, not {_kind(value)}",
                     f"write it as [{where}]")
            return {}
        for key in value:
            if key not in allowed:
                self.add(f"{where}.{key}" if where else key, "unknown key",
                         "allowed keys: " + ", ".join(allowed))
        return value

    def required(self, table: dict[str, Any], key: str, where: str) -> bool:
        if table is ABSENT:
            return False
        if key not in table:
            self.add(_join(where, key), "missing required key", f"add {key} = …")
            return False
        return True

    def string(self, table: dict[str, Any], key: str, where: str, *, required: bool = False,
               pattern: re.Pattern[str] | None = None, choices: tuple[str, ...] = ()
               ) -> str | None:
        if key not in table:
            if required:
                self.required(table, key, where)
            return None
        value = table[key]
        path = _join(where, key)
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_kind(value)}", f'write {key} = "…"')
            return None
        if choices and value not in choices:
            self.add(path, f"{value!r} is not allowed", "use one of: " + ", ".join(choices))
            return None
        if pattern and not pattern.match(value):
            self.add(path, f"{value!r} is not a slug",
                     "use lower-case letters, digits and single hyphens, e.g. \"red-light\"")
            return None
        if not value.strip():
            self.add(path, "must not be empty")
            return None
        return value

    def decimal(self, table: dict[str, Any], key: str, where: str, *, required: bool = False,
                positive: bool = False) -> Decimal | None:
        if key not in table:
            if required:
                self.required(table, key, where)
            return None
        return self.number(table[key], _join(where, key), positive=positive)

    def number(self, value: Any, path: str, *, positive: bool = False) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            self.add(path, f"must be a number, not {_kind(value)}", "write e.g. -50 or 0.5")
            return None
        d = Decimal(value)
        if not d.is_finite():
            self.add(path, f"{value} is not a finite number")
            return None
        if d.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
            self.add(path, f"{value} has more than 2 decimal places",
                     "points are exact to the hundredth, e.g. 0.5 or 12.25")
            return None
        if positive and d <= 0:
            self.add(path, f"must be greater than 0, not {value}")
            return None
        if abs(d) > NUMBER_LIMIT:
            self.add(path, f"{value} is outside ±1,000,000",
                     "every number in a catalogue lies within -1000000 and 1000000")
            return None
        return d

    def integer(self, table: dict[str, Any], key: str, where: str, *, required: bool = False
                ) -> int | None:
        if key not in table:
            if required:
                self.required(table, key, where)
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.add(_join(where, key), f"must be a positive integer, not {value!r}")
            return None
        if value > NUMBER_LIMIT:
            self.add(_join(where, key), f"{value} is more than 1,000,000",
                     "every number in a catalogue lies within -1000000 and 1000000")
            return None
        return value

    def boolean(self, table: dict[str, Any], key: str, where: str) -> bool | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, bool):
            self.add(_join(where, key), f"must be true or false, not {_kind(value)}")
            return None
        return value

    def duration(self, table: dict[str, Any], key: str, where: str) -> Duration | None:
        if key not in table:
            return None
        value = table[key]
        try:
            found = Duration.parse(value)
        except ValueError as exc:
            self.add(_join(where, key), str(exc))
            return None
        if found.amount > DURATION_LIMIT[found.unit]:
            self.add(_join(where, key), f"{value!r} is longer than 100 years",
                     "write a duration of at most 100y (1200m, 5218w, 36525d)")
            return None
        return found

    def strings(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(_join(where, key), f"must be a list of strings, not {_kind(value)}",
                     f'write {key} = ["…", "…"]')
            return None
        return tuple(value)

    def numbers(self, table: dict[str, Any], key: str, where: str) -> tuple[Decimal, ...] | None:
        if key not in table:
            return None
        value = table[key]
        path = _join(where, key)
        if not isinstance(value, list) or not value:
            self.add(path, f"must be a non-empty list of numbers, not {_kind(value)}")
            return None
        out = [self.number(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return None if any(v is None for v in out) else tuple(v for v in out if v is not None)

    def assumed(self, table: dict[str, Any], where: str, allowed: tuple[str, ...]
                ) -> frozenset[str]:
        """The table's ``assumed`` keys (SPEC §2 "Provenance"): each names a value it gives."""
        if table is ABSENT or "assumed" not in table:
            return frozenset()
        value = table["assumed"]
        path = _join(where, "assumed")
        given = [k for k in table if k != "assumed" and k in allowed]
        example = next((k for k in given if k != "name"),
                       next((k for k in allowed if k not in ("name", "assumed")), "name"))
        if not isinstance(value, list):
            self.add(path, f"must be a list of key names, not {_kind(value)}",
                     f'write assumed = ["{example}"]')
            return frozenset()
        if not all(isinstance(v, str) for v in value):
            wrong = next(v for v in value if not isinstance(v, str))
            self.add(path, f"must list key names as strings, not {_kind(wrong)}",
                     f'write assumed = ["{example}"]')
            return frozenset()
        for i, key in enumerate(value):
            if key == "assumed" or key not in allowed:
                self.add(f"{path}[{i}]", f"{key!r} is not a key of this table",
                         "name keys this table gives: " + (", ".join(given) or "(none)"))
            elif key not in table:
                self.add(f"{path}[{i}]", f"{key!r} is marked assumed but this table does "
                         "not give it", f"give {key} a value or remove it from assumed")
        return frozenset(value)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    return type(value).__name__


def load_catalogue(path: str | Path, taxonomy: Taxonomy | None = None) -> Catalogue:
    """Read and validate a catalogue file; raise `CatalogueError` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        close = close_bundled_names(path)
        hint = f"did you mean {' or '.join(close)}? " if close else "check the path; "
        raise CatalogueError([Problem(str(path), "", "no such file",
                                      f"{hint}`scs catalogue list` shows the bundled "
                                      "catalogues")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError([Problem(str(path), "", f"cannot be read: {exc}")]) from None
    return parse_catalogue(text, str(path), taxonomy)


def parse_catalogue(text: str, file: str = "<catalogue>",
                    taxonomy: Taxonomy | None = None) -> Catalogue:
    """Parse catalogue TOML text; raise `CatalogueError` listing every problem."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError([Problem(file, "", f"TOML syntax error: {exc}",
                                      "fix the syntax at that line")]) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise CatalogueError([Problem(file, "", "nested too deeply to read",
                                      "a catalogue nests tables a few levels at most")]) from None
    return build_catalogue(doc, file, taxonomy)


def build_catalogue(doc: dict[str, Any], file: str = "<catalogue>",
                    taxonomy: Taxonomy | None = None) -> Catalogue:
    taxonomy = taxonomy or default_taxonomy()
    c = _Checker(file)
    c.table(doc, "", TOP_KEYS)
    if c.required(doc, "schema", "") and (doc["schema"] != 1 or isinstance(doc["schema"], bool)):
        c.add("schema", f"unsupported schema {doc['schema']!r}", "this version of scs reads "
              "schema = 1")

    city_t = c.table(doc["city"], "city", CITY_KEYS) if c.required(doc, "city", "") \
        else ABSENT
    city_id = c.string(city_t, "id", "city", required=True, pattern=SLUG)
    city_name = c.string(city_t, "name", "city", required=True)
    province = c.string(city_t, "province", "city")

    cat_t = c.table(doc["catalogue"], "catalogue", CATALOGUE_KEYS) \
        if c.required(doc, "catalogue", "") else ABSENT
    version = c.string(cat_t, "version", "catalogue", required=True)
    effective = cat_t.get("effective_from")
    if c.required(cat_t, "effective_from", "catalogue") and (
        not isinstance(effective, date) or isinstance(effective, datetime)
    ):
        c.add("catalogue.effective_from", f"must be a TOML date, not {_kind(effective)}",
              "write effective_from = 2016-01-01 (no quotes)")
        effective = None
    mode = c.string(cat_t, "mode", "catalogue", choices=MODES) or "rewards-and-penalties"
    published_indicators = c.integer(cat_t, "published_indicators", "catalogue")
    partial = c.boolean(cat_t, "partial", "catalogue") or False
    catalogue_assumed = c.assumed(cat_t, "catalogue", CATALOGUE_KEYS)

    scale_t = c.table(doc["scale"], "scale", SCALE_KEYS) \
        if c.required(doc, "scale", "") else ABSENT
    base = c.decimal(scale_t, "base", "scale", required=True)
    lo = c.decimal(scale_t, "min", "scale")
    hi = c.decimal(scale_t, "max", "scale")
    if lo is not None and hi is not None and lo > hi:
        c.add("scale", f"min {lo} is above max {hi}", "swap them")
    scale_assumed = c.assumed(scale_t, "scale", SCALE_KEYS)

    tiers = _tiers(c, doc)
    known_tier = _tier_names(c, tiers)
    categories = _categories(c, doc)
    indicators: dict[str, Indicator] = {}
    for iid, raw in _named_tables(c, doc, "indicators"):
        ind = _indicator(c, iid, raw, categories, taxonomy, known_tier)
        if ind is not None:
            indicators[iid] = ind
    rewards = _rewards(c, doc, tiers, known_tier)
    sanctions, lists = _lists_and_measures(c, doc, mode, known_tier)
    policy = _policy(c, doc)
    office = _office(c, doc)

    if c.problems:
        raise CatalogueError(c.problems)
    assert city_id and city_name and version and isinstance(effective, date) and base is not None
    return Catalogue(
        city=City(city_id, city_name, province),
        version=version,
        effective_from=effective,
        scale=Scale(base, lo, hi, scale_assumed),
        tiers=tuple(tiers),
        title=c.string(cat_t, "title", "catalogue"),
        sources=c.strings(cat_t, "sources", "catalogue") or (),
        notes=c.string(cat_t, "notes", "catalogue"),
        mode=mode,  # type: ignore[arg-type]
        published_indicators=published_indicators,
        partial=partial,
        categories=categories,
        indicators=indicators,
        rewards=rewards,
        sanctions=sanctions,
        policy=policy,
        office=office,
        assumed=catalogue_assumed,
        lists=lists,
    )


KnownTier = Callable[[str | None, str], str | None]


def _tier_names(c: _Checker, tiers: list[Tier]) -> KnownTier:
    """A check that a tier named at ``where`` is one of the catalogue's (None if not)."""
    names = {t.name for t in tiers}

    def known_tier(value: str | None, where: str) -> str | None:
        if value is not None and names and value not in names:
            c.add(where, f"unknown tier {value!r}", "tiers are: " + ", ".join(
                t.name for t in tiers))
            return None
        return value
    return known_tier


def _categories(c: _Checker, doc: dict[str, Any]) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for cid, raw in _named_tables(c, doc, "categories"):
        t = c.table(raw, f"categories.{cid}", CATEGORY_KEYS)
        where = f"categories.{cid}"
        categories[cid] = Category(
            cid, c.string(t, "name", where) or cid,
            c.decimal(t, "max_deduction", where, positive=True),
            c.decimal(t, "max_award", where, positive=True),
            parent=c.string(t, "parent", where),
            assumed=c.assumed(t, where, CATEGORY_KEYS),
        )
    _check_parents(c, categories)
    return categories


def _rewards(c: _Checker, doc: dict[str, Any], tiers: list[Tier],
             known_tier: KnownTier) -> dict[str, Reward]:
    rewards: dict[str, Reward] = {}
    order = [tier.name for tier in tiers]
    for rid, raw in _named_tables(c, doc, "rewards"):
        where = f"rewards.{rid}"
        t = c.table(raw, where, REWARD_KEYS)
        name = c.string(t, "name", where, required=True)
        min_tier = known_tier(c.string(t, "min_tier", where, required=True),
                              f"{where}.min_tier")
        reward = Reward(rid, name or rid, min_tier or "", c.decimal(t, "min_score", where),
                        c.duration(t, "clean_for", where),
                        max_tier=known_tier(c.string(t, "max_tier", where),
                                            f"{where}.max_tier"),
                        max_score=c.decimal(t, "max_score", where),
                        value=c.decimal(t, "value", where),
                        unit=c.string(t, "unit", where),
                        assumed=c.assumed(t, where, REWARD_KEYS))
        if ("unit" in t) != ("value" in t):  # a value is costed in its unit: both or neither
            c.add(f"{where}.{'value' if 'unit' in t else 'unit'}",
                  "missing: a reward's value and its unit come together",
                  'add its unit, such as unit = "CNY"' if "value" in t else
                  "add value = what the reward is worth to one resident, or drop the unit")
        if reward.max_tier and reward.min_tier and reward.min_tier in order \
                and order.index(reward.max_tier) > order.index(reward.min_tier):
            c.add(f"{where}.max_tier", f"tier {reward.max_tier!r} is worse than min_tier "
                  f"{reward.min_tier!r}, so no resident can get the reward",
                  "max_tier names the best tier of the band: give min_tier or a better tier")
        if reward.max_score is not None and reward.min_score is not None \
                and reward.max_score < reward.min_score:
            c.add(f"{where}.max_score", f"{reward.max_score} is below min_score "
                  f"{reward.min_score}, so no resident can get the reward",
                  "give a max_score of at least min_score")
        rewards[rid] = reward
    return rewards


def _lists_and_measures(c: _Checker, doc: dict[str, Any], mode: str, known_tier: KnownTier
                        ) -> tuple[dict[str, Sanction], dict[str, CreditList]]:
    """Sanctions (by tier or on a list) and `[lists]`, validated in `schema_lists`."""
    declared = set(doc["indicators"]) if isinstance(doc.get("indicators"), dict) else set()
    raw_lists = doc.get("lists", {})
    lists = read_lists(c, _named_tables(c, doc, "lists"), declared, known_tier)
    sanctions = read_sanctions(c, _named_tables(c, doc, "sanctions"), mode, known_tier,
                               raw_lists if isinstance(raw_lists, dict) else {})
    return sanctions, lists


def _policy(c: _Checker, doc: dict[str, Any]) -> Policy:
    if "policy" not in doc:
        return Policy()
    t = c.table(doc["policy"], "policy", POLICY_KEYS)
    suspends = c.boolean(t, "objection_suspends", "policy")
    return Policy(
        objection_suspends=True if suspends is None else suspends,
        objection_deadline=c.duration(t, "objection_deadline", "policy"),
        participation=c.string(t, "participation", "policy",  # type: ignore[arg-type]
                               choices=PARTICIPATIONS) or "all",
        assumed=c.assumed(t, "policy", POLICY_KEYS),
    )


def _office(c: _Checker, doc: dict[str, Any]) -> Office | None:
    if "office" not in doc:
        return None
    t = c.table(doc["office"], "office", OFFICE_KEYS)
    name = c.string(t, "name", "office", required=True)
    office = Office(
        name=name or "",
        address=c.string(t, "address", "office"),
        contact=c.string(t, "contact", "office"),
        objection_window=c.duration(t, "objection_window", "office"),
        assumed=c.assumed(t, "office", OFFICE_KEYS),
    )
    return office if name else None


def _check_parents(c: _Checker, categories: dict[str, Category]) -> None:
    """Every `parent` names a declared category, and no category sits inside itself."""
    for cid, cat in categories.items():
        if cat.parent is not None and cat.parent not in categories:
            c.add(f"categories.{cid}.parent", f"unknown category {cat.parent!r}",
                  f"declare [categories.{cat.parent}] or use one of: "
                  + ", ".join(k for k in categories if k != cid))
    for cid in categories:
        seen = [cid]
        parent = categories[cid].parent
        while parent is not None and parent in categories:
            if parent == cid:
                c.add(f"categories.{cid}.parent", "categories form a cycle: "
                      + " -> ".join(seen + [cid]),
                      "a category cannot sit inside itself; remove one of these parents")
                break
            if parent in seen:  # a cycle further up: reported for its own members
                break
            seen.append(parent)
            parent = categories[parent].parent


def _named_tables(c: _Checker, doc: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    if key not in doc:
        return []
    tables = doc[key]
    if not isinstance(tables, dict):
        c.add(key, f"must be a table of tables, not {_kind(tables)}",
              f"write [{key}.<id>] sections")
        return []
    out = []
    for name, value in tables.items():
        if not SLUG.match(name):
            c.add(f"{key}.{name}", f"{name!r} is not a valid id",
                  "use lower-case letters, digits and single hyphens")
            continue
        out.append((name, value))
    return out


def _tiers(c: _Checker, doc: dict[str, Any]) -> list[Tier]:
    raw = doc.get("tiers")
    if raw is None:
        c.add("tiers", "missing required key", "add at least one [[tiers]] with a name")
        return []
    if not isinstance(raw, list) or not raw:
        c.add("tiers", "must be a non-empty array of tables", "write [[tiers]] sections")
        return []
    tiers: list[Tier] = []
    seen: set[str] = set()
    previous: Decimal | None = None
    for i, item in enumerate(raw):
        where = f"tiers[{i}]"
        t = c.table(item, where, TIER_KEYS)
        name = c.string(t, "name", where, required=True)
        last = i == len(raw) - 1
        minimum = c.decimal(t, "min", where)
        if not last and "min" not in t:
            c.add(f"{where}.min", "missing required key",
                  "every tier but the last needs min; the last catches everything below")
        if name is not None:
            if name in seen:
                c.add(f"{where}.name", f"tier name {name!r} is used twice",
                      "give every tier its own name")
            seen.add(name)
        if minimum is not None:
            if previous is not None and minimum >= previous:
                c.add(f"{where}.min", f"{minimum} is not below the previous tier's {previous}",
                      "list tiers best first with strictly decreasing min")
            previous = minimum
        tiers.append(Tier(name or f"#{i}", minimum, c.assumed(t, where, TIER_KEYS)))
    return tiers


def _indicator(c: _Checker, iid: str, raw: Any, categories: dict[str, Category],
               taxonomy: Taxonomy, known_tier: KnownTier
               ) -> Indicator | None:
    where = f"indicators.{iid}"
    before = len(c.problems)
    t = c.table(raw, where, INDICATOR_KEYS)
    name = c.string(t, "name", where, required=True)
    category = c.string(t, "category", where)
    if category is not None and category not in categories:
        c.add(f"{where}.category", f"unknown category {category!r}",
              f"declare [categories.{category}] or use one of: "
              + (", ".join(categories) or "(no categories declared)"))
    behavior = c.string(t, "behavior", where)
    if behavior is not None:
        problem = taxonomy.problem(behavior)
        if problem:
            c.add(f"{where}.behavior", problem[0], problem[1])

    given = [k for k in ("points", "points_range", "escalation") if k in t]
    if len(given) != 1:
        c.add(where, "needs exactly one of points, points_range and escalation"
              + (f", not {' and '.join(given)}" if given else ""),
              "points = -50, points_range = [-50, -5] or escalation = [-3, -6, -12]")
    points = c.decimal(t, "points", where)
    points_range = c.numbers(t, "points_range", where)
    if points_range is not None:
        if len(points_range) != 2 or points_range[0] > points_range[1]:
            c.add(f"{where}.points_range", "must be [low, high] with low <= high",
                  "e.g. points_range = [-50, -5]")
            points_range = None
        elif points_range[0] < 0 < points_range[1]:
            c.add(f"{where}.points_range", "must not span both signs",
                  "split it into a reward and a penalty indicator")
    escalation = c.numbers(t, "escalation", where)
    window = c.duration(t, "escalation_window", where)
    if window is not None and "escalation" not in t:
        c.add(f"{where}.escalation_window", "only applies with escalation",
              "remove it or use escalation = [...]")

    limit = None
    if "limit" in t:
        lt = c.table(t["limit"], f"{where}.limit", LIMIT_KEYS)
        count = c.integer(lt, "count", f"{where}.limit", required=True)
        per = c.string(lt, "per", f"{where}.limit", required=True, choices=PERIODS)
        if count is not None and per is not None:
            limit = Limit(count, per)  # type: ignore[arg-type]

    tier_cap = known_tier(c.string(t, "tier_cap", where), f"{where}.tier_cap")
    fields = dict(
        basis=c.string(t, "basis", where),
        source=c.string(t, "source", where),
        reporters=c.strings(t, "reporters", where),
        expires_after=c.duration(t, "expires_after", where),
        max_deduction=c.decimal(t, "max_deduction", where, positive=True),
        max_award=c.decimal(t, "max_award", where, positive=True),
        score_cap=c.decimal(t, "score_cap", where),
        applies_to=c.string(t, "applies_to", where, choices=APPLIES_TO) or "self",
        published=True if (p := c.boolean(t, "published", where)) is None else p,
        assumed=c.assumed(t, where, INDICATOR_KEYS),
    )
    if len(c.problems) > before:
        return None
    return Indicator(
        id=iid,
        name=name or iid,
        points=points,
        points_range=(points_range[0], points_range[1]) if points_range else None,
        escalation=escalation,
        escalation_window=window,
        category=category,
        behavior=behavior,
        limit=limit,
        tier_cap=tier_cap,
        **fields,  # type: ignore[arg-type]
    )


def to_document(cat: Catalogue) -> dict[str, Any]:
    """The catalogue as a TOML document (for `tomli_w.dumps`); reads back equal."""
    doc: dict[str, Any] = {"schema": cat.schema}
    doc["city"] = _clean({"id": cat.city.id, "name": cat.city.name,
                          "province": cat.city.province})
    doc["catalogue"] = _clean({
        "version": cat.version, "effective_from": cat.effective_from, "title": cat.title,
        "sources": list(cat.sources) or None, "notes": cat.notes, "mode": cat.mode,
        "published_indicators": cat.published_indicators,
        "partial": True if cat.partial else None, "assumed": _assumed(cat.assumed),
    })
    doc["scale"] = _clean({"base": cat.scale.base, "min": cat.scale.min, "max": cat.scale.max,
                           "assumed": _assumed(cat.scale.assumed)})
    doc["tiers"] = [_clean({"name": t.name, "min": t.min, "assumed": _assumed(t.assumed)})
                    for t in cat.tiers]
    if cat.categories:
        doc["categories"] = {k: _clean({"name": v.name, "max_deduction": v.max_deduction,
                                        "max_award": v.max_award, "parent": v.parent,
                                        "assumed": _assumed(v.assumed)})
                             for k, v in cat.categories.items()}
    if cat.indicators:
        doc["indicators"] = {k: _indicator_doc(v) for k, v in cat.indicators.items()}
    if cat.rewards:
        doc["rewards"] = {k: _clean({"name": r.name, "min_tier": r.min_tier,
                                     "min_score": r.min_score,
                                     "clean_for": _str(r.clean_for),
                                     "max_tier": r.max_tier, "max_score": r.max_score,
                                     "value": r.value, "unit": r.unit,
                                     "assumed": _assumed(r.assumed)})
                          for k, r in cat.rewards.items()}
    if cat.sanctions:
        doc["sanctions"] = {k: sanction_document(s) for k, s in cat.sanctions.items()}
    p = cat.policy
    doc["policy"] = _clean({"objection_suspends": p.objection_suspends,
                            "objection_deadline": _str(p.objection_deadline),
                            "participation": p.participation,
                            "assumed": _assumed(p.assumed)})
    if cat.office is not None:  # SPEC §2's order: [policy], [office], then the lists
        o = cat.office
        doc["office"] = _clean({"name": o.name, "address": o.address, "contact": o.contact,
                                "objection_window": _str(o.objection_window),
                                "assumed": _assumed(o.assumed)})
    if cat.lists:
        doc["lists"] = lists_document(cat.lists)
    return doc


def _indicator_doc(i: Indicator) -> dict[str, Any]:
    return _clean({
        "name": i.name, "category": i.category, "behavior": i.behavior, "points": i.points,
        "points_range": list(i.points_range) if i.points_range else None,
        "escalation": list(i.escalation) if i.escalation else None,
        "escalation_window": _str(i.escalation_window), "basis": i.basis, "source": i.source,
        "reporters": list(i.reporters) if i.reporters is not None else None,
        "expires_after": _str(i.expires_after),
        "limit": {"count": i.limit.count, "per": i.limit.per} if i.limit else None,
        "max_deduction": i.max_deduction, "max_award": i.max_award, "tier_cap": i.tier_cap,
        "score_cap": i.score_cap, "applies_to": i.applies_to, "published": i.published,
        "assumed": _assumed(i.assumed),
    })


def _assumed(keys: frozenset[str]) -> list[str] | None:
    return sorted(keys) or None


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def is_taxonomy_file(path: Path) -> bool:
    """A behaviour taxonomy (``[domains]``, no ``[city]``) rather than a city catalogue."""
    try:
        head = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False
    return "domains" in head and "city" not in head


def bundled_catalogue_paths() -> list[Path]:
    """The city catalogues shipped in ``catalogues/`` (the taxonomy is not one)."""

    return sorted(p for p in bundled_dir().glob("*.toml")
                  if p.name != "taxonomy.toml" and not p.name.endswith(".cases.toml"))


def close_bundled_names(path: Path) -> list[str]:
    """Bundled names close to a name that is not there: those it begins (``rongcheng`` →
    both Rongcheng versions), else the nearest spellings."""
    if path.parent != Path():
        return []
    names = [p.stem for p in bundled_catalogue_paths()]
    given = path.stem.lower()
    starting = [n for n in names if n.startswith(given)]
    return starting or difflib.get_close_matches(given, names, n=3, cutoff=0.8)


def resolve_catalogue_path(name: str | Path) -> Path:
    """A path as given, or the name of a bundled catalogue (``rongcheng-2016``)."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path

    bundled = bundled_dir() / f"{name}.toml"
    return bundled if bundled.exists() else path
