"""The lists one resident is on, in words (SPEC §4a): from the engine's listings, never
computed here. Nothing on a list changes the score or the tier."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from scs_cli.explain.model import ListingLine, Measure
from scs_cli.rules.model import Catalogue


def listing_lines(found: pl.DataFrame, scheme: Catalogue) -> tuple[ListingLine, ...]:
    """One resident's rows of the engine's `listings` (each list they are on on the date)
    in words: why, until when, and the measures (a bundle's listings are found once and
    split by resident: `explain.explain_residents`)."""
    lines = []
    for row in found.iter_rows(named=True):
        item = scheme.lists[row["list"]]
        since, until = row["since"], row["until"]
        repair_from = item.repair_after.after(since) \
            if item.repair_after and item.kind == "black" else None
        measures = tuple(
            Measure(sid, scheme.sanctions[sid].name, scheme.sanctions[sid].agency,
                    _earliest(until, lasts.after(since) if (lasts := scheme.sanctions[sid].lasts)
                              else None))
            for sid in row["measures"])
        lines.append(ListingLine(row["list"], item.name, item.kind, since, until,
                                 tuple(row["entered_by"]), row["repair"], repair_from,
                                 measures, _reason(item.kind, row, repair_from, item.lasts)))
    return tuple(lines)


def _earliest(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def _reason(kind: str, row: dict[str, Any], repair_from: date | None, lasts: object) -> str:
    if kind == "red":
        return f"the entry condition holds on {row['since']} (evaluated like a reward)"
    events = ", ".join(str(e) for e in row["entered_by"])
    text = f"listed since {row['since']} by event{'s' * (len(row['entered_by']) > 1)} {events}"
    if row["repair"] is not None:
        text += f"; off on {row['until']} by granted repair {row['repair']}"
    elif row["until"] is not None:
        text += f"; off on {row['until']}" + (f" (entry + {lasts}, or when the entering "
                                              "event stops counting)" if lasts else "")
    else:
        text += "; no end known yet"
    if repair_from is not None and row["repair"] is None:
        text += f"; a repair may be granted from {repair_from}"
    return text
