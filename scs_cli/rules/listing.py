"""A catalogue laid out for reading: one row per value with its source, and Markdown.

`scs catalogue show` renders these: `value_rows` is the CSV (and the JSON Lines), and
`catalogue_markdown` the Markdown. Both are built from `to_document`, the catalogue's own
TOML document, so every key the format has is shown, in the format's order. An indicator's
values cite the indicator's `source`; every other value rests on the catalogue's `sources`.
A value the catalogue lists under a table's `assumed` key (the compiler's assumption, not a
published figure) is marked as assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from scs_cli.core.output import decimal_text, markdown_document
from scs_cli.rules.model import Catalogue, CreditList, Indicator, Reward, Sanction
from scs_cli.rules.schema import to_document

VALUE_COLUMNS = ("section", "item", "field", "value", "source", "assumed")
CATALOGUE_SOURCES = "the catalogue's sources"


def value_text(value: Any) -> str:
    """A TOML value as one line of text: exact decimals, ISO dates, lists joined by "; "."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"count", "per"}:
            return f"{value['count']}/{value['per']}"
        return ", ".join(f"{k} = {value_text(v)}" for k, v in value.items())
    return str(value)


def value_rows(cat: Catalogue) -> list[dict[str, str]]:
    """Every value of the catalogue: section, item (an id or tier name; empty for a
    section's own keys), field, value, source, and "yes" in `assumed` when it is one."""
    doc = to_document(cat)
    rows: list[dict[str, str]] = []

    def add(section: str, item: str, table: dict[str, Any], source: str) -> None:
        assumed = set(table.get("assumed", ()))
        for key, value in table.items():
            if key in ("assumed", "source"):
                continue
            if section == "catalogue" and key == "sources":
                rows.extend({"section": section, "item": item, "field": key,
                             "value": value_text(s), "source": "", "assumed": ""}
                            for s in value)
                continue
            rows.append({"section": section, "item": item, "field": key,
                         "value": value_text(value), "source": source,
                         "assumed": "yes" if key in assumed else ""})

    for section, content in doc.items():
        if section == "schema":
            add("catalogue", "", {"schema": content}, "")  # the format's version
        elif section == "tiers":
            for tier in content:
                add(section, tier["name"], {k: v for k, v in tier.items() if k != "name"},
                    CATALOGUE_SOURCES)
        elif section in ("categories", "indicators", "rewards", "sanctions", "lists"):
            for ident, table in content.items():
                if section == "indicators":
                    source = table.get("source") or "no source given"
                else:
                    source = CATALOGUE_SOURCES
                add(section, ident, table, source)
        else:
            add(section, "", content, CATALOGUE_SOURCES)
    return rows


def clamp_text(cat: Catalogue) -> str:
    """The scale's bounds in words ("clamped to [0, 1000]", "never below 0"); "" if none."""
    low, high = cat.scale.min, cat.scale.max
    if low is not None and high is not None:
        return f"clamped to [{decimal_text(low)}, {decimal_text(high)}]"
    if low is not None:
        return f"never below {decimal_text(low)}"
    if high is not None:
        return f"never above {decimal_text(high)}"
    return ""


def indicator_caps(i: Indicator) -> str:
    """An indicator's caps and conditions in words (`max −50, tier ≤ C`)."""
    return ", ".join(x for x in (
        f"max −{decimal_text(i.max_deduction)}" if i.max_deduction else "",
        f"max +{decimal_text(i.max_award)}" if i.max_award else "",
        f"tier ≤ {i.tier_cap}" if i.tier_cap else "",
        f"score ≤ {decimal_text(i.score_cap)}" if i.score_cap is not None else "",
        f"applies to {i.applies_to}" if i.applies_to != "self" else "",
        "unpublished" if not i.published else "") if x)


def reward_condition(reward: Reward,
                     mark: Callable[[str, str], str] = lambda text, key: text) -> str:
    """When a reward applies, in words ("tier A or better, score ≥ 1000, no negative event in
    the last 1y"); ``mark(text, key)`` may flag the part that rests on the value of ``key``."""
    r = reward
    cond = mark(f"tier {r.min_tier} or better", "min_tier")
    if r.max_tier is not None:
        cond += " and " + mark(f"{r.max_tier} or worse", "max_tier")
    if r.min_score is not None:
        cond += ", " + mark(f"score ≥ {decimal_text(r.min_score)}", "min_score")
    if r.max_score is not None:
        cond += ", " + mark(f"score ≤ {decimal_text(r.max_score)}", "max_score")
    if r.clean_for:
        cond += ", " + mark(f"no negative event in the last {r.clean_for}", "clean_for")
    if r.value is not None:  # not a condition, but where a reader of the rule looks for it
        cond += "; " + mark(f"worth {decimal_text(r.value)} {r.unit} to each resident", "value")
    return cond


def sanction_condition(s: Sanction,
                       mark: Callable[[str, str], str] = lambda text, key: text) -> str:
    """When a sanction applies: "tier C or worse", or "while on court-defaulters, at most
    1y from the listing's start" (a joint measure), with who applies it."""
    if s.max_tier is not None:
        return mark(f"tier {s.max_tier} or worse", "max_tier")
    cond = mark(f"while on list {s.on_list}", "on_list")
    if s.lasts:
        cond += ", " + mark(f"at most {s.lasts} from the listing's start", "lasts")
    if s.agency:
        cond += "; applied by " + mark(s.agency, "agency")
    return cond


def list_condition(item: CreditList,
                   mark: Callable[[str, str], str] = lambda text, key: text) -> str:
    """How one gets on a list and off it, in words."""
    e = item.entry
    if e.by_tier:
        enter = reward_condition(Reward(item.id, item.name, e.min_tier or "", e.min_score,
                                        e.clean_for, max_tier=e.max_tier,
                                        max_score=e.max_score), mark)
        return mark("on it while " + enter, "entry")
    names = ", ".join(e.indicators)
    enter = (f"{e.count} events of {names} within {e.within}" if e.count
             else f"a standing event of {names}")
    parts = [mark("entered by " + enter, "entry")]
    if item.lasts:
        parts.append(mark(f"off after {item.lasts}", "lasts"))
    if item.ends_with_event:
        parts.append(mark("off when the entering event stops counting", "ends_with_event"))
    if item.repair_after:
        parts.append(mark(f"repair from {item.repair_after} after entry", "repair_after"))
    if item.severity:
        parts.append(mark(f"severity {item.severity}", "severity"))
    parts.append(mark("published" if item.published else "not published", "published"))
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def catalogue_markdown(cat: Catalogue) -> str:
    """The catalogue as a Markdown page: what `catalogue show` prints, with every
    indicator's source, then the catalogue's sources and notes."""
    num = decimal_text
    assumed = {(r["section"], r["item"], r["field"]) for r in value_rows(cat) if r["assumed"]}

    def mark(section: str, item: str, field: str, text: str) -> str:
        return f"{text} (assumed)" if (section, item, field) in assumed else text

    scale = cat.scale
    parts = [f"# {cat.city.name} — catalogue {cat.version}, in force from "
             f"{cat.effective_from}\n\n"]
    if cat.title:
        parts.append(f"{cat.title}\n\n")
    clamp = clamp_text(cat)
    parts.append(f"Mode: {cat.mode}; participation: {cat.policy.participation}; base "
                 f"{mark('scale', '', 'base', num(scale.base))}"
                 f"{', ' + clamp if clamp else ''}.\n\n")

    tier_rows = []
    for tier in cat.tiers:
        low, high = cat.tier_band(tier.name)
        tier_rows.append([tier.name,
                          mark("tiers", tier.name, "min", num(low)) if low is not None else "—",
                          num(high) if high is not None else "—"])
    parts += ["## Tiers (best first)\n\n", _table(["tier", "from", "below"], tier_rows)]

    if cat.categories:
        parts += ["\n## Categories\n\n", _table(
            ["id", "name", "inside", "max deduction", "max award"],
            [[f"`{c.id}`", c.name, f"`{c.parent}`" if c.parent else "",
              num(c.max_deduction) if c.max_deduction is not None else "",
              num(c.max_award) if c.max_award is not None else ""]
             for c in cat.categories.values()])]

    parts.append("\n## Indicators\n\n")
    rows = []
    for i in cat.indicators.values():
        window = f" within {i.escalation_window}" if i.escalation_window else ""
        points_field = ("points" if i.points is not None else
                        "points_range" if i.points_range is not None else "escalation")
        rows.append([
            f"`{i.id}`", i.name, i.category or "",
            mark("indicators", i.id, points_field, i.describe_points() + window),
            mark("indicators", i.id, "expires_after",
                 str(i.expires_after) if i.expires_after else "none set"),
            f"{i.limit.count}/{i.limit.per}" if i.limit else "",
            indicator_caps(i), i.basis or "none given", i.source or "no source given"])
    parts.append(_table(["id", "name", "category", "points", "expires", "limit", "caps",
                         "basis", "source"], rows))

    if cat.rewards or cat.sanctions:
        parts.append("\n## Rewards and sanctions\n\n")
        rows = []
        for r in cat.rewards.values():
            rows.append(["reward", f"`{r.id}`", r.name, reward_condition(r)])
        rows += [["sanction", f"`{s.id}`", s.name, sanction_condition(s)]
                 for s in cat.sanctions.values()]
        parts.append(_table(["kind", "id", "name", "condition"], rows))
    if cat.lists:
        parts.append("\n## Lists\n\n")
        parts.append(_table(["kind", "id", "name", "rule"],
                            [[f"{v.kind} list", f"`{v.id}`", v.name, list_condition(v)]
                             for v in cat.lists.values()]))

    p = cat.policy
    decided = (f"decided within {p.objection_deadline}" if p.objection_deadline
               else "no deadline for the decision")
    parts.append(f"\n## Objections\n\nObjections "
                 f"{'suspend' if p.objection_suspends else 'do not suspend'} the event; "
                 f"{decided}.\n")
    parts.append(f"\n## Office\n\n{office_text(cat)}\n")
    if cat.sources:
        parts.append("\n## Sources\n\n" + "".join(f"- {s}\n" for s in cat.sources))
    if cat.notes:
        parts.append(f"\n## Notes\n\n{cat.notes.strip()}\n")
    return markdown_document("".join(parts))  # catalogue text: HTML stays text


def office_text(cat: Catalogue, mark: Callable[[str, str], str] = lambda text, key: text
                ) -> str:
    """The `[office]` residents deal with, as one line; ``mark(text, key)`` may mark an
    assumed value."""
    o = cat.office
    if o is None:
        return "No [office]: statements name the city's credit office and give no address."
    parts = [mark(o.name, "name")]
    parts += [mark(v, k) for k, v in (("address", o.address), ("contact", o.contact)) if v]
    window = (f"objections within {mark(str(o.objection_window), 'objection_window')} of a "
              "statement" if o.objection_window else "objections at any time")
    return "; ".join(parts) + f"; {window}."
