"""The report's figures for lists beside the score (SPEC §4a): residents on each list and
repairs pending and overdue. Data only: the page templates word them (docs/lists.md)."""

from __future__ import annotations

from typing import Any

import polars as pl

from scs_cli.report.figures import CityInput, _count


def lists_figure(inp: CityInput, public: bool) -> dict[str, Any]:
    """Residents per list on the as-of date, and repair applications pending then.

    A public report counts published lists only, never a minor one, hides counts below 5
    and lists no single repair. A repair is overdue when pending longer than the policy's
    ``objection_deadline`` (the office's deadline for decisions; no other is published).
    """
    scheme = inp.scheme
    shown = {k: v for k, v in scheme.lists.items()
             if not public or (v.published and v.severity != "minor")}
    found = inp.listed if shown and inp.listed is not None else pl.DataFrame(
        schema={"list": pl.String})
    per_list = dict(found.group_by("list").len().iter_rows()) if found.height else {}
    rows = []
    for lid, item in shown.items():
        count, mark = _count(int(per_list.get(lid, 0)), public)
        rows.append({"id": lid, "name": item.name, "kind": item.kind,
                     "severity": item.severity, "residents": count, "suppressed": mark,
                     "lasts": str(item.lasts) if item.lasts else None,
                     "repair_after": str(item.repair_after) if item.repair_after else None})
    deadline = scheme.policy.objection_deadline
    pending = inp.data.repairs.filter(
        (pl.col("filed_on") <= inp.as_of)
        & (pl.col("decided_on").is_null() | (pl.col("decided_on") > inp.as_of))
        & pl.col("list_id").is_in(pl.Series(list(shown), dtype=pl.String).implode())
    ).sort("filed_on", "repair_id")
    waiting = [{"repair_id": int(rid), "list": lid, "filed_on": filed,
                "age_days": (inp.as_of - filed).days,
                "due_on": deadline.after(filed) if deadline else None}
               for rid, lid, filed in pending.select("repair_id", "list_id",
                                                     "filed_on").iter_rows()]
    overdue = [w for w in waiting if w["due_on"] is not None and w["due_on"] < inp.as_of]
    n_pending, m1 = _count(len(waiting), public)
    n_overdue, m2 = _count(len(overdue), public)
    return {"lists": rows,
            "repairs": {"deadline": str(deadline) if deadline else None,
                        "pending": n_pending, "overdue": n_overdue,
                        "pending_list": None if public else waiting,
                        "suppressed": m1 or m2}}
