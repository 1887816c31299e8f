"""Writing catalogues: a new city's draft from a template, and the canonical form of a file.

Both go through `schema.to_document` and `document_text` (the documented style), so what is
written reads back as the same
catalogue (a round trip the tests check), and validation runs on it before it is returned.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import tomli_w

from scs_cli.core.errors import UsageError
from scs_cli.rules.model import Catalogue, City
from scs_cli.rules.schema import parse_catalogue, to_document

_CITY_ID = re.compile(r"[a-z0-9-]+")

# Values a draft copies from its template: for the new city each is an assumption until its
# own rules are cited. Names, categories, behaviours and bases only describe a rule.
_VALUE_KEYS = frozenset({
    "base", "min", "max", "points", "points_range", "escalation", "escalation_window",
    "expires_after", "limit", "max_deduction", "max_award", "tier_cap", "score_cap",
    "min_tier", "min_score", "max_tier", "max_score", "clean_for", "objection_deadline",
})


def canonical_text(catalogue: Catalogue) -> str:
    """The catalogue as canonical TOML, in the style docs/catalogue.md shows: `schema`, then
    the tables in the format's order (`[city]`, `[catalogue]`, `[scale]`, each `[[tiers]]`,
    categories, indicators, rewards, sanctions, `[policy]`), keys in the format's order,
    whole numbers without a decimal point (`points = -5`), lists and `limit` inline."""
    return document_text(to_document(catalogue))


def document_text(document: dict[str, Any]) -> str:
    """A catalogue document (`schema.to_document`) written in the documented style."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in document.items()
             if not isinstance(v, dict | list)]
    for name, section in document.items():
        if isinstance(section, list):  # [[tiers]], one block each, no blank line between
            lines.append("")
            for table in section:
                lines += [f"[[{_key(name)}]]", *_pairs(table)]
        elif isinstance(section, dict) and all(isinstance(v, dict) for v in section.values()):
            for item, table in section.items():  # [indicators.<id>] and the like
                lines += ["", f"[{_key(name)}.{_key(item)}]", *_pairs(table)]
        elif isinstance(section, dict):
            lines += ["", f"[{_key(name)}]", *_pairs(section)]
    return "\n".join(lines) + "\n"


def _pairs(table: dict[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in table.items()]


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _value(key)


def _value(value: Any) -> str:
    """One TOML value, inline: a whole number as an integer, a decimal as written exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        number = Decimal(value)
        return str(int(number)) if number == number.to_integral_value() else \
            format(number.normalize(), "f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, date):
        return value.isoformat()
    return tomli_w.dumps({"v": value})[len("v = "):].rstrip("\n")  # strings, escaped


def draft(template: Catalogue, city_id: str, name: str, *, province: str | None = None,
          version: str = "draft", effective_from: date | None = None) -> str:
    """A new city's catalogue, scaffolded from ``template``: same shape, the new city's names.

    The template's citations describe the template's city, not the new one, so every
    ``source`` and the ``sources`` list are dropped, every copied value is marked
    ``assumed``, and the notes say where the values came from: a draft is a structure to
    fill in, never a claim about the new city's rules.
    """
    if not _CITY_ID.fullmatch(city_id):
        raise UsageError(f"city id {city_id!r} is not a slug: use lower-case letters, digits "
                         "and hyphens, such as 'shouguang'")
    catalogue = replace(
        template,
        city=City(city_id, name, province),
        version=version,
        effective_from=effective_from or template.effective_from,
        title=f"{name} credit catalogue (draft)",
        sources=(),
        notes=(f"Draft scaffolded by `scs catalogue new` from {template.city.id} "
               f"{template.version}. Every value below is that catalogue's until replaced by "
               f"{name}'s published rules; cite each in `source`."),
        published_indicators=None,
        indicators={k: replace(i, source=None) for k, i in template.indicators.items()},
    )
    document = to_document(catalogue)
    for table in _value_tables(document):
        copied = sorted(set(table.get("assumed", ())) | (_VALUE_KEYS & table.keys()))
        if copied:
            table["assumed"] = copied
    text = document_text(document)
    parse_catalogue(text, f"<draft {city_id}>")  # what we hand out must validate
    return text


def _value_tables(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every table of a catalogue document that can hold values (and so `assumed`)."""
    tables = [document["scale"], *document["tiers"], document.get("policy", {})]
    for group in ("categories", "indicators", "rewards", "sanctions"):
        tables.extend(document.get(group, {}).values())
    return tables
