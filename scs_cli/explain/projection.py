"""What happens next if nothing else happens: score and tier on each date a counting
negative event stops counting, computed by the kernel on the data frozen at as-of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import evaluate, prepare
from scs_cli.explain.events import Context, signed
from scs_cli.explain.model import COUNTING, EventLine, ProjectionPoint
from scs_cli.rules.model import from_cents


def _frozen(data: LedgerData, as_of: date) -> LedgerData:
    """The resident's data as it stood on ``as_of``: nothing that happens later.

    Events after as-of, objections filed after it and consent rows dated after it are
    left out, and decisions dated after it are treated as not yet made. Lifts already
    dated stay: they are known plans. When nothing happens later, ``data`` itself is
    returned, so that the engine's preparation of it can be reused.
    """

    on = pl.lit(as_of)
    later = pl.col("decided_on") > on
    events = data.events.filter(pl.col("occurred_on") <= on)
    objections = data.objections.filter(pl.col("filed_on") <= on)
    consents = data.consents.filter(pl.col("on") <= on)
    if (events.height == data.events.height and objections.height == data.objections.height
            and consents.height == data.consents.height
            and not objections.select(later.any()).item()):
        return data
    return LedgerData(
        events, data.voids, data.lifts,
        objections.with_columns(
            pl.when(later).then(None).otherwise(pl.col("decided_on")).alias("decided_on"),
            pl.when(later).then(None).otherwise(pl.col("outcome")).alias("outcome")),
        consents, data.residents, data.indicators, data.repairs,
    )


def projection(ctx: Context, resident_id: str, events: Sequence[EventLine],
               prepared: Any) -> tuple[ProjectionPoint, ...]:
    """Score and tier at each date a counting negative event stops counting.

    One `engine.evaluate` per date over one preparation: the data's own (``prepared``)
    when nothing in it happens after as-of, else that of the data frozen at as-of.
    """
    stopping: dict[date, list[EventLine]] = {}
    for e in events:
        if e.status in COUNTING and e.points < 0 and e.stops_on is not None:
            stopping.setdefault(e.stops_on, []).append(e)
    if not stopping:
        return ()
    dates = sorted(stopping)
    frozen = _frozen(ctx.data, ctx.as_of)
    if frozen is not ctx.data:
        prepared = prepare(frozen, ctx.history)
    series = {d: evaluate(prepared, d, detail=False).residents for d in dates}
    lifts = {r["event_id"]: r["lifted_on"] for r in ctx.data.lifts.to_dicts()}
    points = []
    for d in dates:
        frame = series[d]
        row = frame.filter(frame["resident_id"] == resident_id)
        score = from_cents(int(row["score"][0])) if not row.is_empty() else None
        tier = str(row["tier"][0]) if not row.is_empty() else None
        what = "; ".join(
            f"event {e.event_id} ({e.name or e.indicator}, {signed(e.points)}) "
            + ("is lifted" if lifts.get(e.event_id) == d else
               "expires (an assumed expiry)" if "expires_after" in e.assumed else "expires")
            for e in stopping[d])
        points.append(ProjectionPoint(d, score, tier, tuple(e.event_id for e in stopping[d]),
                                      what))
    return tuple(points)
