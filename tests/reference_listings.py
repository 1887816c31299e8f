"""A slow, plain reading of SPEC §4a (lists beside the score), for tests only.

Like `reference_scorer`, it judges one event at a time with loops and dates, written from
the spec's sentences without looking at `scs_cli.engine.listings`; each block quotes the
sentence it implements. Red lists are evaluated with the reference scorer's own rewards.
Where the spec leaves room, the choice is written next to the code as "Reading:".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from reference_scorer import period_of, reference_score

from scs_cli.core.frames import LedgerData
from scs_cli.rules.model import Catalogue, CatalogueHistory, CreditList, Reward


@dataclass(frozen=True)
class RefListing:
    list_id: str
    resident_id: str
    since: date
    until: date | None
    entered_by: tuple[int, ...]
    repair: int | None
    measures: tuple[str, ...] = ()


@dataclass
class _Piece:
    since: date
    end: date | None
    event_id: int
    repair: int | None


def reference_listings(data: LedgerData, history: CatalogueHistory, as_of: date
                       ) -> list[RefListing]:
    """Who is listed on ``as_of``, sorted by list and resident id."""
    # "On a date, from the lists of the version in force on that date"
    scheme = history.in_force(as_of)
    assert scheme is not None
    events = _standing_events(data, history, scheme, as_of)
    granted = [r for r in data.repairs.to_dicts()
               if r["outcome"] == "granted" and r["decided_on"] is not None]
    out: list[RefListing] = []
    for lid in sorted(scheme.lists):
        item = scheme.lists[lid]
        if item.kind == "red":
            out += _red(data, history, scheme, item, as_of)
            continue
        residents = sorted({e["resident_id"] for e in events})
        for rid in residents:
            mine = [e for e in events if e["resident_id"] == rid
                    and e["indicator"] in item.entry.indicators]
            pieces = [_piece(item, e, granted, rid) for e in _entering(item, mine)]
            found = _merged_on(pieces, as_of)
            if found is not None:
                out.append(_with_measures(scheme, lid, rid, found, as_of))
    return out


def _standing_events(data: LedgerData, history: CatalogueHistory, scheme: Catalogue,
                     as_of: date) -> list[dict[str, Any]]:
    """Standing events (step 2, as of the date) with over-limit (step 3) and the day each
    stops counting (step 5: expiry or lift)."""
    voided = {int(v) for v in data.voids["event_id"].to_list()}
    pending: set[int] = set()
    for o in data.objections.to_dicts():
        if o["outcome"] == "upheld":
            voided.add(int(o["event_id"]))  # "a void or an upheld objection: never started"
        elif scheme.policy.objection_suspends and o["filed_on"] <= as_of and (
                o["decided_on"] is None or o["decided_on"] > as_of):
            pending.add(int(o["event_id"]))  # "no listing while it is pending"
    lifts: dict[int, date] = {}
    for lift in data.lifts.to_dicts():
        eid = int(lift["event_id"])
        lifts[eid] = min(lift["lifted_on"], lifts.get(eid, lift["lifted_on"]))
    standing = []
    for e in data.events.to_dicts():
        version = history.in_force(e["occurred_on"])
        rule = version.indicators.get(e["indicator"]) if version else None
        if rule is None or int(e["event_id"]) in voided or int(e["event_id"]) in pending \
                or e["occurred_on"] > as_of:
            continue
        stops = [d for d in (rule.expires_after.after(e["occurred_on"])
                             if rule.expires_after else None,
                             lifts.get(int(e["event_id"]))) if d is not None]
        standing.append({**e, "rule": rule, "stops": min(stops) if stops else None})
    # Step 3, limits: among standing events of one resident and indicator in one period,
    # ordered by (occurred_on, event id), those after the first `count` are over limit.
    # The limit is the event's own (its version's), and occurrences of one indicator id
    # count together across versions: an event is over limit when at least `count`
    # standing events of its indicator come before it in its period, whatever their own
    # versions' limits (the scorer reference's reading).
    standing.sort(key=lambda e: (e["occurred_on"], e["event_id"]))
    for i, e in enumerate(standing):
        limit = e["rule"].limit
        e["over"] = False
        if limit is not None:
            here = period_of(e["occurred_on"], limit.per)
            before = [o for o in standing[:i] if o["resident_id"] == e["resident_id"]
                      and o["indicator"] == e["indicator"]
                      and period_of(o["occurred_on"], limit.per) == here]
            e["over"] = len(before) >= limit.count
    return standing


def _entering(item: CreditList, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events that enter the list: each standing event of a named indicator, or with
    `count` each standing, not over-limit event that is the count-th inside `within`."""
    if item.entry.count is None:
        return events
    assert item.entry.within is not None
    counted = [e for e in events if not e["over"]]
    entering = []
    for i, e in enumerate(counted):
        # "windows measured forwards": an earlier one is inside when its date plus the
        # window is after this one's date. Reading: "the count-th" is the count-th or a
        # later one (six offences in a year enter on the fifth and again on the sixth).
        inside = [x for x in counted[:i + 1]
                  if item.entry.within.after(x["occurred_on"]) > e["occurred_on"]]
        if len(inside) >= item.entry.count:
            entering.append(e)
    return entering


def _piece(item: CreditList, e: dict[str, Any], granted: list[dict[str, Any]], rid: str
           ) -> _Piece:
    """One listing: starts on the event's date, ends on the earliest of entry + lasts, the
    day the event stops counting (with ends_with_event), a granted repair's decision."""
    since = e["occurred_on"]
    ends: list[tuple[date, int | None]] = []
    if item.lasts:
        ends.append((item.lasts.after(since), None))
    if item.ends_with_event and e["stops"] is not None:
        ends.append((e["stops"], None))
    # "it ends every listing of its list for that resident that started on or before its
    # decision date"
    for r in granted:
        if r["resident_id"] == rid and r["list_id"] == item.id and r["decided_on"] >= since:
            ends.append((r["decided_on"], int(r["repair_id"])))
    if not ends:
        return _Piece(since, None, int(e["event_id"]), None)
    end, repair = min(ends, key=lambda x: (x[0], x[1] is None))
    return _Piece(since, end, int(e["event_id"]), repair)


def _merged_on(pieces: list[_Piece], day: date) -> RefListing | None:
    """"Overlapping listings of one list are one": merge, then the one in force on the
    day. Reading: a listing that starts on the day another ends joins it."""
    pieces = [p for p in pieces if p.end is None or p.end > p.since]  # empty: never listed
    pieces.sort(key=lambda p: (p.since, p.event_id))
    groups: list[list[_Piece]] = []
    for p in pieces:
        if groups and _reach(groups[-1]) is not None and p.since > _reach(groups[-1]):  # type: ignore[operator]
            groups.append([p])
        elif groups:
            groups[-1].append(p)
        else:
            groups.append([p])
    for g in groups:
        since = min(p.since for p in g)
        until = _reach(g)
        if since <= day and (until is None or until > day):
            last = [p for p in g if p.end == until]
            repair = next((p.repair for p in last if p.repair is not None), None)
            return RefListing("", "", since, until,
                              tuple(sorted(p.event_id for p in g)), repair)
    return None


def _reach(group: list[_Piece]) -> date | None:
    ends = [p.end for p in group]
    return None if any(e is None for e in ends) else max(e for e in ends if e is not None)


def _with_measures(scheme: Catalogue, lid: str, rid: str, found: RefListing, day: date
                   ) -> RefListing:
    # "A sanction on_list applies while the resident is listed and, with lasts, on days
    # before the listing's start + lasts."
    measures = tuple(sorted(
        s.id for s in scheme.sanctions.values()
        if s.on_list == lid and (s.lasts is None or day < s.lasts.after(found.since))))
    return replace(found, list_id=lid, resident_id=rid, measures=measures)


def _red(data: LedgerData, history: CatalogueHistory, scheme: Catalogue, item: CreditList,
         day: date) -> list[RefListing]:
    """"A red list's entry is evaluated on the date itself, like a reward", among the
    residents scored on the date: the reference scorer grants it as a reward."""
    e = item.entry
    reward = Reward("__red__", item.name, e.min_tier or "", e.min_score, e.clean_for,
                    max_tier=e.max_tier, max_score=e.max_score)
    versions = [replace(v, rewards={**v.rewards, "__red__": reward}) if v is scheme else v
                for v in history.versions]
    result = reference_score(data, CatalogueHistory(versions), day)
    return [RefListing(item.id, rid, day, None, (), None)
            for rid, r in result.residents.items() if "__red__" in r.rewards]


def engine_listings_view(frame: Any) -> list[RefListing]:
    """The engine's listings frame in the reference's shape, for comparison."""
    return [RefListing(r["list"], r["resident_id"], r["since"], r["until"],
                       tuple(r["entered_by"]), r["repair"], tuple(r["measures"]))
            for r in frame.to_dicts()]
