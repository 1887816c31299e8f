"""Suppression: which counts a published report hides (docs/report.md, "Published reports").

Every count below `SMALL` is hidden (``null``), and so is, in any group of counts whose
total the report also shows, at least one more cell, so that a hidden count cannot be worked
out by subtraction (`protect`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

SMALL = 5                  # published reports hide every count below this
Mark = bool | str          # False, "<5" (below the threshold) or "complement"


def protect(counts: Sequence[int], groups: Iterable[Sequence[int]] | None = None,
            threshold: int = SMALL) -> list[Mark]:
    """Which cells of a table of counts to hide: ``False``, ``"<5"`` or ``"complement"``.

    ``groups`` lists the index sets whose totals the report shows (default: all cells are
    one group). A group with exactly one hidden cell would give that cell away by
    subtraction, so its smallest shown cell is hidden too, until no group has exactly one.
    """
    marks: list[Mark] = ["<5" if c < threshold else False for c in counts]
    group_list = [list(g) for g in groups] if groups is not None else [list(range(len(counts)))]
    changed = True
    while changed:
        changed = False
        for group in group_list:
            hidden = [i for i in group if marks[i]]
            shown = [i for i in group if not marks[i]]
            if len(hidden) == 1 and shown:
                marks[min(shown, key=lambda i: (counts[i], i))] = "complement"
                changed = True
    return marks


def hide(row: dict[str, Any], mark: Mark, fields: Sequence[str]) -> dict[str, Any]:
    if mark:
        row.update({f: None for f in fields})
    row["suppressed"] = mark
    return row


def count(value: int, public: bool) -> tuple[int | None, Mark]:
    """A lone count (no group): hidden when small in a public report."""
    if public and value < SMALL:
        return None, "<5"
    return value, False
