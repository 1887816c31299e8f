"""What happens next if nothing else happens: score and tier on each date a counting event
that holds the score down (negative points, or a score or tier cap) stops counting,
computed by the kernel on the data as it stood at as-of (`engine.freeze`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from scs_cli.engine.freeze import freeze
from scs_cli.engine.kernel import prepare
from scs_cli.engine.series import standings
from scs_cli.explain.events import Context, signed
from scs_cli.explain.model import COUNTING, EventLine, ProjectionPoint
from scs_cli.rules.model import from_cents


def projection(ctx: Context, resident_id: str, events: Sequence[EventLine],
               prepared: Any) -> tuple[ProjectionPoint, ...]:
    """Score and tier at each date a counting event that holds the score down stops
    counting: a negative one, or one with a score or tier cap (a court's listing that
    caps the score costs no points, yet its end may raise the score, or may not: another
    cap can still hold it, which the letter must then say rather than stay silent).

    Every date in one `engine.series.standings` over one preparation: the data's own
    (``prepared``) when nothing in it happens after as-of, else that of the data frozen at
    as-of.
    """
    stopping: dict[date, list[EventLine]] = {}
    for e in events:
        holds = e.points < 0 or e.score_cap is not None or e.tier_cap is not None
        if e.status in COUNTING and holds and e.stops_on is not None:
            stopping.setdefault(e.stops_on, []).append(e)
    if not stopping:
        return ()
    dates = sorted(stopping)
    frozen = freeze(ctx.data, ctx.as_of)  # the engine's: nothing after as-of
    if frozen is not ctx.data:
        prepared = prepare(frozen, ctx.history)
    # one pass over the events for every date (the busiest resident's dozen dates took
    # 55 ms one evaluation each; measured, issue 23)
    series = standings(prepared, dates)
    lifts = {r["event_id"]: r["lifted_on"] for r in ctx.data.lifts.to_dicts()}
    points = []
    for d in dates:
        frame = series[d]
        row = frame.filter(frame["resident_id"] == resident_id)
        score = from_cents(int(row["score"][0])) if not row.is_empty() else None
        tier = str(row["tier"][0]) if not row.is_empty() else None
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
