"""Reading and writing `[lists.ID]` and the sanctions tied to them (SPEC §2, §4a).

Kept apart from `schema` (which owns the checker and every other table) so that lists and
measures are validated in one place: an entry names known indicators or a tier, ``count``
needs ``within``, a sanction has exactly one of ``max_tier`` and ``on_list``, and
``on_list`` names a black list. Sanctions by tier are refused in a rewards-only catalogue;
measures on a list are not (a court's blacklist is a legal measure, not a score).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scs_cli.rules.model import (
    LIST_KINDS,
    SEVERITIES,
    CreditList,
    ListEntry,
    Sanction,
)

if TYPE_CHECKING:
    from scs_cli.rules.schema import _Checker

LIST_KEYS = ("name", "kind", "severity", "entry", "lasts", "ends_with_event", "repair_after",
             "published", "assumed")
ENTRY_KEYS = ("indicators", "count", "within", "min_tier", "max_tier", "min_score",
              "max_score", "clean_for")
SANCTION_KEYS = ("name", "max_tier", "on_list", "agency", "lasts", "assumed")

KnownTier = Callable[[str | None, str], str | None]


def read_lists(c: _Checker, named: list[tuple[str, Any]], declared: set[str],
               known_tier: KnownTier) -> dict[str, CreditList]:
    """Every ``[lists.ID]``; ``declared`` are the indicator ids the file gives (valid or not),
    so an entry naming a broken indicator is not reported twice."""
    lists: dict[str, CreditList] = {}
    for lid, raw in named:
        where = f"lists.{lid}"
        before = len(c.problems)
        t = c.table(raw, where, LIST_KEYS)
        name = c.string(t, "name", where, required=True)
        kind = c.string(t, "kind", where, required=True, choices=LIST_KINDS)
        severity = c.string(t, "severity", where, choices=SEVERITIES)
        entry = _entry(c, t, where, kind, declared, known_tier) \
            if c.required(t, "entry", where) else None
        ends = c.boolean(t, "ends_with_event", where)
        published = c.boolean(t, "published", where)
        item = CreditList(
            lid, name or lid, kind or "black", entry or ListEntry(),  # type: ignore[arg-type]
            severity=severity,  # type: ignore[arg-type]
            lasts=c.duration(t, "lasts", where),
            ends_with_event=True if ends is None else ends,
            repair_after=c.duration(t, "repair_after", where),
            published=bool(published),
            assumed=c.assumed(t, where, LIST_KEYS),
        )
        if len(c.problems) == before:
            lists[lid] = item
    return lists


def _entry(c: _Checker, t: dict[str, Any], where: str, kind: str | None, declared: set[str],
           known_tier: KnownTier) -> ListEntry | None:
    path = f"{where}.entry"
    e = c.table(t["entry"], path, ENTRY_KEYS)
    if not e:
        return None
    names = c.strings(e, "indicators", path)
    for i, iid in enumerate(names or ()):
        if iid not in declared:
            c.add(f"{path}.indicators[{i}]", f"unknown indicator {iid!r}",
                  "name indicators this catalogue declares under [indicators.<id>]")
    count = c.integer(e, "count", path)
    within = c.duration(e, "within", path)
    if count is not None and within is None:
        c.add(f"{path}.count", "count needs within",
              'give the window too, e.g. entry = { indicators = [...], count = 5, '
              'within = "1y" }')
    if within is not None and count is None:
        c.add(f"{path}.within", "within only applies with count", "add count = … or remove it")
    entry = ListEntry(
        indicators=names or (), count=count, within=within,
        min_tier=known_tier(c.string(e, "min_tier", path), f"{path}.min_tier"),
        max_tier=known_tier(c.string(e, "max_tier", path), f"{path}.max_tier"),
        min_score=c.decimal(e, "min_score", path),
        max_score=c.decimal(e, "max_score", path),
        clean_for=c.duration(e, "clean_for", path),
    )
    by_tier = any(k in e for k in ("min_tier", "max_tier", "min_score", "max_score",
                                   "clean_for"))
    if kind == "black" and (not names or by_tier):
        c.add(path, "a black list is entered by indicators",
              'write entry = { indicators = ["…"] }; a tier enters a red list')
    if kind == "red" and ("min_tier" not in e or names is not None or count is not None):
        c.add(path, "a red list is entered by a tier, as a reward is granted",
              'write entry = { min_tier = "…" }; indicators enter a black list')
    return entry


def read_sanctions(c: _Checker, named: list[tuple[str, Any]], mode: str,
                   known_tier: KnownTier, lists: dict[str, Any]) -> dict[str, Sanction]:
    """Every ``[sanctions.ID]``: exactly one of ``max_tier`` and ``on_list``.

    ``lists`` is the document's ``[lists]`` table (kinds read from it, so a sanction on a
    list that has problems of its own is not reported again)."""
    sanctions: dict[str, Sanction] = {}
    for sid, raw in named:
        where = f"sanctions.{sid}"
        t = c.table(raw, where, SANCTION_KEYS)
        name = c.string(t, "name", where, required=True)
        given = [k for k in ("max_tier", "on_list") if k in t]
        if len(given) != 1 and t:
            c.add(where, "needs exactly one of max_tier and on_list"
                  + (", not both" if given else ""),
                  'max_tier = "C" (this tier or worse) or on_list = "<a black list>"')
        max_tier = known_tier(c.string(t, "max_tier", where), f"{where}.max_tier")
        on_list = c.string(t, "on_list", where)
        if on_list is not None:
            target = lists.get(on_list) if isinstance(lists, dict) else None
            if not isinstance(target, dict):
                c.add(f"{where}.on_list", f"unknown list {on_list!r}",
                      "declare [lists." + on_list + "] or use one of: "
                      + (", ".join(lists) if isinstance(lists, dict) and lists
                         else "(no lists declared)"))
            elif target.get("kind") != "black":
                c.add(f"{where}.on_list", f"list {on_list!r} is not a black list",
                      "measures apply against residents on a black list; a red list's "
                      "benefits are rewards")
        lasts = c.duration(t, "lasts", where)
        if lasts is not None and on_list is None:
            c.add(f"{where}.lasts", "lasts only applies with on_list",
                  "remove it, or tie the measure to a list")
        if "max_tier" in t and mode == "rewards-only":
            c.add(where, "sanctions by tier are not allowed in a rewards-only catalogue",
                  "scores may be combined with incentives, never with punishments: remove "
                  "the sanction, tie it to a court's list (on_list), or set catalogue.mode = "
                  "\"rewards-and-penalties\"")
        sanctions[sid] = Sanction(sid, name or sid, max_tier, c.assumed(t, where, SANCTION_KEYS),
                                  on_list=on_list, agency=c.string(t, "agency", where),
                                  lasts=lasts)
    return sanctions


def lists_document(lists: dict[str, CreditList]) -> dict[str, Any]:
    """``[lists]`` for `to_document`; reads back equal."""
    out: dict[str, Any] = {}
    for lid, item in lists.items():
        e = item.entry
        entry = _clean({"indicators": list(e.indicators) or None, "count": e.count,
                        "within": _str(e.within), "min_tier": e.min_tier,
                        "max_tier": e.max_tier, "min_score": e.min_score,
                        "max_score": e.max_score, "clean_for": _str(e.clean_for)})
        out[lid] = _clean({"name": item.name, "kind": item.kind, "severity": item.severity,
                           "entry": entry, "lasts": _str(item.lasts),
                           "ends_with_event": item.ends_with_event,
                           "repair_after": _str(item.repair_after),
                           "published": item.published,
                           "assumed": sorted(item.assumed) or None})
    return out


def sanction_document(s: Sanction) -> dict[str, Any]:
    return _clean({"name": s.name, "max_tier": s.max_tier, "on_list": s.on_list,
                   "agency": s.agency, "lasts": _str(s.lasts),
                   "assumed": sorted(s.assumed) or None})


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
