"""Writing catalogues: a new city's draft from a template, and the canonical form of a file.

Both go through `schema.to_document` and tomli-w, so what is written reads back as the same
catalogue (a round trip the tests check), and validation runs on it before it is returned.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
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
    """The catalogue as canonical TOML: keys in the format's order, values as scs reads them."""
    return tomli_w.dumps(to_document(catalogue))


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
    text = tomli_w.dumps(document)
    parse_catalogue(text, f"<draft {city_id}>")  # what we hand out must validate
    return text


def _value_tables(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every table of a catalogue document that can hold values (and so `assumed`)."""
    tables = [document["scale"], *document["tiers"], document.get("policy", {})]
    for group in ("categories", "indicators", "rewards", "sanctions"):
        tables.extend(document.get(group, {}).values())
    return tables
