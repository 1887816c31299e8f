"""The data as it stood on a day, for projecting forward: nothing that happens later.

`explain`'s projection asks "what will the score be when each negative event stops counting,
if nothing else happens?". That question needs the ledger's frames as they stood on the as-of
date: events that occurred after it, objections and repairs filed after it and consent rows
dated after it are left out, and a decision dated after it is not yet made (its objection or
repair is pending, as `rules.day.objections_on` says of any day). Lifts already recorded
stay, with their dates: they are known plans. The result goes to `kernel.prepare`/`evaluate`
at later dates.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from scs_cli.core.frames import OBJECTIONS_SCHEMA, LedgerData
from scs_cli.rules.day import objections_on


def freeze(data: LedgerData, day: date) -> LedgerData:
    """``data`` as it stood on ``day``; ``data`` itself when nothing in it happens later
    (so that a preparation of it can be reused)."""
    on = pl.lit(day)
    events = data.events.filter(pl.col("occurred_on") <= on)
    objections = objections_on(data.objections, day, None).select(list(OBJECTIONS_SCHEMA))
    consents = data.consents.filter(pl.col("on") <= on)
    # Repairs likewise: one filed later is left out, one decided later is not yet decided.
    later = pl.col("decided_on") > on
    repairs = data.repairs.filter(pl.col("filed_on") <= on).with_columns(
        decided_on=pl.when(later).then(None).otherwise(pl.col("decided_on")),
        outcome=pl.when(later).then(None).otherwise(pl.col("outcome")))
    unchanged = (events.height == data.events.height
                 and consents.height == data.consents.height
                 and repairs.equals(data.repairs)
                 and objections.equals(data.objections.select(list(OBJECTIONS_SCHEMA))
                                       .sort("filed_on", "objection_id")))
    if unchanged:
        return data
    return LedgerData(events, data.voids, data.lifts,
                      objections.sort("objection_id"), consents, data.residents,
                      data.indicators, repairs)
