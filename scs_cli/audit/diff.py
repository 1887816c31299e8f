"""What a new version of one city's catalogue added, removed and changed.

Both versions are turned into their TOML documents (`to_document`, which spells out
defaults such as `applies_to = "self"`), and the documents are compared section by
section, key by key. So every field the format has is covered, and a value reads the way
it is written in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from scs_cli.audit.lint import markdown_table
from scs_cli.core.errors import ScsError
from scs_cli.core.output import decimal_text, markdown_document
from scs_cli.rules.model import Catalogue
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path, to_document
from scs_cli.rules.taxonomy import Taxonomy

Change = Literal["added", "removed", "not-in-sources", "changed"]
# An item of the old version missing from a new one that says it is partial
# (`catalogue.partial = true`) is not known to be removed: its sources do not show it.
CHANGES: tuple[Change, ...] = ("added", "removed", "not-in-sources", "changed")
# Sections in the order a reader meets them; the first three and policy are single tables.
SECTIONS = ("catalogue", "scale", "tiers", "categories", "indicators", "rewards", "sanctions",
            "lists", "policy")
SINGLE = ("catalogue", "scale", "policy")


class DifferentCitiesError(ScsError):
    """diff compares two versions of one city; two cities go to compare."""

    def __init__(self, old_name: str, old_city: str, new_name: str, new_city: str):
        self.old_city, self.new_city = old_city, new_city
        super().__init__(
            f"{new_name}: is a catalogue of city {new_city!r}, but {old_name} is of "
            f"{old_city!r}; diff compares two versions of one city's catalogue (use `scs "
            "catalogue compare` to put different cities side by side)")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any   # as written in the TOML document; None when absent
    new: Any


@dataclass(frozen=True)
class ItemChange:
    section: str
    id: str | None        # None for the single-table sections (catalogue, scale, policy)
    name: str | None
    change: Change
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class CatalogueDiff:
    city_id: str
    city: str
    old_version: str
    old_effective_from: date
    new_version: str
    new_effective_from: date
    changes: tuple[ItemChange, ...]

    def section(self, name: str) -> tuple[ItemChange, ...]:
        return tuple(c for c in self.changes if c.section == name)

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts of added, removed and changed items per section that has any."""
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            counts = out.setdefault(c.section, dict.fromkeys(CHANGES, 0))
            counts[c.change] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "city": self.city_id,
            "old": {"version": self.old_version, "effective_from": self.old_effective_from},
            "new": {"version": self.new_version, "effective_from": self.new_effective_from},
            "changes": [{"section": c.section, "id": c.id, "name": c.name,
                         "change": c.change,
                         "fields": [{"field": f.field, "old": f.old, "new": f.new}
                                    for f in c.fields]} for c in self.changes],
        }

    CSV_COLUMNS = ("section", "id", "name", "change", "field", "old", "new")

    def csv_records(self) -> list[dict[str, Any]]:
        """One row per changed field (an added or removed item: one row per field)."""
        return [{"section": c.section, "id": c.id, "name": c.name, "change": c.change,
                 "field": f.field, "old": value_text(f.old, ""),
                 "new": value_text(f.new, "")}
                for c in self.changes for f in c.fields]


def diff(old: Catalogue, new: Catalogue, *, old_name: str | None = None,
         new_name: str | None = None) -> CatalogueDiff:
    """Compare two versions of one city's catalogue; refuse two different cities."""

    if old.city.id != new.city.id:
        raise DifferentCitiesError(old_name or old.label, old.city.id,
                                   new_name or new.label, new.city.id)
    a, b = to_document(old), to_document(new)
    changes: list[ItemChange] = []
    for section in SECTIONS:
        if section in SINGLE:
            fields = _fields(a.get(section, {}), b.get(section, {}))
            if fields:
                changes.append(ItemChange(section, None, None, "changed", fields))
            continue
        before, after = _keyed(a, section), _keyed(b, section)
        for key, item in after.items():
            if key not in before:
                changes.append(ItemChange(section, key, item.get("name"), "added",
                                          _fields({}, item)))
        gone: Change = "not-in-sources" if new.partial else "removed"
        for key, item in before.items():
            if key not in after:
                changes.append(ItemChange(section, key, item.get("name"), gone,
                                          _fields(item, {})))
        for key, item in after.items():
            if key in before:
                fields = _fields(before[key], item)
                if fields:
                    changes.append(ItemChange(section, key, item.get("name"), "changed",
                                              fields))
    return CatalogueDiff(old.city.id, new.city.name, old.version, old.effective_from,
                         new.version, new.effective_from, tuple(changes))


def diff_files(old: str | Path, new: str | Path,
               taxonomy: Taxonomy | None = None) -> CatalogueDiff:
    """Load two catalogue files (or bundled names) and diff them."""

    return diff(load_catalogue(resolve_catalogue_path(old), taxonomy),
                load_catalogue(resolve_catalogue_path(new), taxonomy),
                old_name=str(old), new_name=str(new))


def _keyed(doc: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    if section == "tiers":  # an array in the file; a tier is known by its name
        return {t["name"]: t for t in doc.get("tiers", [])}
    return dict(doc.get(section, {}))


def _fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Fields whose values differ; `name` only when both sides exist (else it is the title)."""
    keys = _merge(list(old), list(new))
    both = bool(old) and bool(new)
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in keys
                 if old.get(k) != new.get(k) and (k != "name" or both))


def _merge(a: list[str], b: list[str]) -> list[str]:
    """Merge two key lists that follow one canonical order (to_document's) into it."""
    out: list[str] = []
    i = j = 0
    while i < len(a) or j < len(b):
        if i < len(a) and j < len(b) and a[i] == b[j]:
            out.append(a[i])
            i, j = i + 1, j + 1
        elif i < len(a) and a[i] not in b:
            out.append(a[i])
            i += 1
        elif j < len(b) and b[j] not in a:
            out.append(b[j])
            j += 1
        elif i < len(a):  # orders disagree (not for to_document): keep a's first
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------- text


def value_text(value: Any, none: str = "(none)") -> str:
    """A document value as a person reads it: ``-50``, ``[-50, -5]``, ``1/month``."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return decimal_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        if set(value) == {"count", "per"}:
            return f"{value['count']}/{value['per']}"
        return ", ".join(f"{k} = {value_text(v)}" for k, v in value.items())
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _short(text: str, width: int | None) -> str:
    text = " ".join(text.split("\n"))
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


POINT_FIELDS = ("points", "points_range", "escalation", "min", "max_tier")


def field_lines(item: ItemChange, width: int | None = None) -> list[str]:
    """One line per field: ``points: -50 → -30``; an added item shows every field, a
    removed one only what it was worth (the JSON and CSV keep every field). Values are
    whole unless a ``width`` asks to shorten them: two long values cut to the same prefix
    would make a change look like none."""
    lines = []
    for f in item.fields:
        if item.change == "added":
            lines.append(f"{f.field}: {_short(value_text(f.new), width)}")
        elif item.change in ("removed", "not-in-sources"):
            if f.field in POINT_FIELDS:
                lines.append(f"{f.field}: {_short(value_text(f.old), width)}")
        else:
            lines.append(f"{f.field}: {_short(value_text(f.old), width)} → "
                         f"{_short(value_text(f.new), width)}")
    return lines


def change_text(change: Change) -> str:
    """How a change reads: an item missing from a partial version is not "removed"."""
    return "not in the new version's sources" if change == "not-in-sources" else change


def item_title(item: ItemChange) -> str:
    if item.id is None:
        return item.section
    return f"{item.id}" + (f" ({item.name})" if item.name and item.name != item.id else "")


def diff_markdown(d: CatalogueDiff, width: int | None = None) -> str:
    """The diff as Markdown: a summary table, then every change by section."""
    head = (f"**{d.city}**: version {d.old_version} (in force from {d.old_effective_from}) → "
            f"{d.new_version} (in force from {d.new_effective_from})\n\n")
    if not d.changes:
        return head + "No differences.\n"
    summary = markdown_table(
        ["section", "added", "removed", "not in the new version's sources", "changed"],
        [[s, str(n["added"]), str(n["removed"]), str(n["not-in-sources"]), str(n["changed"])]
         for s, n in d.summary().items()])
    parts = [head, summary]
    for section in SECTIONS:
        items = d.section(section)
        if not items:
            continue
        parts.append(f"\n**{section}**\n\n")
        for item in items:
            lines = field_lines(item, width)
            if item.id is None:
                parts += [f"- {line}\n" for line in lines]
                continue
            detail = "; ".join(lines)
            title = f"`{item.id}`" + (f" {item.name}" if item.name and item.name != item.id
                                       else "")
            parts.append(f"- **{change_text(item.change)}** {title}"
                         + (f": {detail}" if detail else "")
                         + "\n")
    return markdown_document("".join(parts))  # catalogue text: HTML stays text
