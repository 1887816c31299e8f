"""Lint checks on lists beside the score (SPEC §2 lint, §4a), registered with `lint.check`.

A blacklist puts a person under joint measures (no air tickets, no rail tickets) without
a court or a law only when its entry rule allows it: entry by conduct no law names, or
conduct unrelated to credit, is what the literature criticises. The national rules of
2026 keep a minor record out of publication altogether.
"""

from __future__ import annotations

from collections.abc import Iterator

from scs_cli.audit.lint import Hit, check
from scs_cli.rules.model import Catalogue
from scs_cli.rules.taxonomy import Taxonomy

NDRC_2026 = ("NDRC measures on credit repair, in force 1 April 2026 (minor, general and "
             "serious classes; a minor record is normally not published)")


@check("SCS701", "blacklist-without-basis", "warning",
       "a black list is entered by conduct with no legal basis or unrelated to credit")
def _blacklist_without_basis(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for item in cat.lists.values():
        if item.kind != "black":
            continue
        for iid in item.entry.indicators:
            ind = cat.indicators.get(iid)
            if ind is None:
                continue
            domain = tax.domain_of(ind.behavior) if ind.behavior else None
            why = []
            if not ind.basis:
                why.append("names no legal basis")
            if domain is not None and domain.kind == "other":
                why.append(f"is {domain.name.lower()}, conduct unrelated to creditworthiness")
            if why:
                yield iid, (
                    f"black list {item.id!r} ({item.name!r}) is entered by indicator {iid!r}, "
                    f"which {' and '.join(why)}: joint measures follow a listing, so its entry "
                    "needs a law behind it and a credit-related conduct (Liu 2019: the "
                    "court's list rests on the Civil Procedure Law; Shenzhen 2023 art. 29: no "
                    "factors unrelated to credit); name the law in basis or enter the list "
                    "by another indicator")


@check("SCS702", "published-minor-list", "warning",
       "a list of minor severity is published")
def _published_minor(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for item in cat.lists.values():
        if item.published and item.severity == "minor":
            yield None, (
                f"list {item.id!r} ({item.name!r}) is of minor severity and published = true: "
                f"a minor dishonesty record is not published ({NDRC_2026}); set "
                "published = false or classify the list general or serious")
