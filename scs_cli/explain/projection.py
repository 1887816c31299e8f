"""What happens next if nothing else happens: score and tier on each date a counting event
that holds the score down (negative points, or a score or tier cap) stops counting,
computed by the kernel on the data as it stood at as-of (`engine.freeze`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from scs_cli.core.frames import LedgerData
from scs_cli.engine.freeze import freeze
from scs_cli.engine.kernel import prepare
from scs_cli.engine.series import standings
from scs_cli.explain.events import Context, signed
from scs_cli.explain.model import COUNTING, EventLine, ProjectionPoint
from scs_cli.rules.model import from_cents


def projections(residents: Mapping[str, tuple[Context, Sequence[EventLine]]],
                data: LedgerData, prepared: Any) -> dict[str, tuple[ProjectionPoint, ...]]:
    """Each resident's score and tier at each date a counting event that holds their score
    down stops counting: a negative one, or one with a score or tier cap (a court's listing
    that caps the score costs no points, yet its end may raise the score, or may not:
    another cap can still hold it, which the letter must then say rather than stay silent).

    ``residents``: each resident's context and worded events; ``data`` and ``prepared``
    hold them all (`explain_residents`' bundle). Every date of every resident in one
    `engine.series.standings` over one preparation: the data's own when nothing in it
    happens after as-of, else that of the data frozen at as-of. The kernel gives each
    resident the same standing whoever else is in the data, on whichever other dates.
    """
    stopping = {rid: _stopping(events) for rid, (_, events) in residents.items()}
    dates = sorted({d for days in stopping.values() for d in days})
    if not dates:
        return {rid: () for rid in residents}
    ctx = next(iter(residents.values()))[0]  # one as-of and one history for all
    frozen = freeze(data, ctx.as_of)  # the engine's: nothing after as-of
    if frozen is not data:
        prepared = prepare(frozen, ctx.history)
    # one pass over the events for every date (the busiest resident's dozen dates took
    # 55 ms one evaluation each; measured, issue 23)
    series = standings(prepared, dates)
    standing = {d: dict(zip(frame["resident_id"].to_list(),
                            zip(frame["score"].to_list(), frame["tier"].to_list(),
                                strict=True), strict=True))
                for d, frame in series.items()}
    return {rid: _points(residents[rid][0], rid, stopping[rid], standing)
            for rid in residents}


def _stopping(events: Sequence[EventLine]) -> dict[date, list[EventLine]]:
    """The counting events that hold the score down, by the date they stop counting."""
    stopping: dict[date, list[EventLine]] = {}
    for e in events:
        holds = e.points < 0 or e.score_cap is not None or e.tier_cap is not None
        if e.status in COUNTING and holds and e.stops_on is not None:
            stopping.setdefault(e.stops_on, []).append(e)
    return stopping


def _points(ctx: Context, resident_id: str, stopping: dict[date, list[EventLine]],
            standing: dict[date, dict[str, tuple[int, str]]]) -> tuple[ProjectionPoint, ...]:
    """One resident's projection from everyone's standings on the dates."""
    if not stopping:
        return ()
    lifts = {r["event_id"]: r["lifted_on"] for r in ctx.data.lifts.to_dicts()}
    points = []
    for d in sorted(stopping):
        row = standing[d].get(resident_id)
        score = from_cents(int(row[0])) if row is not None else None
        tier = str(row[1]) if row is not None else None
        what = "; ".join(
            f"event {e.event_id} ({e.name or e.indicator}, {_holds(e)}) "
            + ("is lifted" if lifts.get(e.event_id) == d else
               "expires (an assumed expiry)" if "expires_after" in e.assumed else "expires")
            for e in stopping[d])
        points.append(ProjectionPoint(d, score, tier, tuple(e.event_id for e in stopping[d]),
                                      what))
    return tuple(points)


def _holds(e: EventLine) -> str:
    """How an event holds the score down: its points, else its cap."""
    if e.points or (e.score_cap is None and e.tier_cap is None):
        return signed(e.points)
    if e.score_cap is not None:
        return f"score at most {e.score_cap}"
    return f"tier at most {e.tier_cap}"
