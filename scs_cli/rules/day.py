"""The facts of a day: what the rules in force say about a ledger's rows on one date.

One definition each, used by the engine and every surface (explain, statements, reports, the
ledger's own `objections`), so the words a resident reads cannot drift from the numbers:

- which catalogue version is in force: `CatalogueHistory.in_force(day)` (rules.model);
- an objection on a day (`objections_on`): filed by then; `pending` until a decision dated
  on or before the day, then `upheld` or `rejected`; due `objection_deadline` after filing
  (`objection_due`), and overdue the day after it falls due while still pending
  (`is_overdue`);
- consent in force on a day (`consenting`): a resident's latest consent row dated on or
  before the day (ties: the one recorded last) is a consent.

Whether an event stands, counts or is suspended on a day is the kernel's (`engine.kernel`,
from these same rules); the listings (`engine.listings`, coming) add their facts of a day
here: who is listed on a date, and until when.

Pure functions of frames and dates: no file, no SQL. The cut at known-at is made before
(by the ledger in SQL, by `scale.dataset` in Polars, which the Spark tasks run too), so a
frame handed here already holds only what was recorded by then.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from scs_cli.rules.model import Policy

# what `objections_on` adds to the objection frame (LedgerData.objections' columns)
OBJECTION_DAY_COLUMNS = ("state", "due_on", "overdue", "age_days")


def objection_due(filed_on: date, policy: Policy | None) -> date | None:
    """When a decision on an objection filed on ``filed_on`` is due (None: no deadline)."""
    deadline = policy.objection_deadline if policy is not None else None
    return deadline.after(filed_on) if deadline is not None else None


def is_overdue(due_on: date | None, day: date, pending: bool = True) -> bool:
    """Past its due date on ``day`` and still undecided (due on the day itself: not yet)."""
    return pending and due_on is not None and due_on < day


def objections_on(objections: pl.DataFrame, day: date, policy: Policy | None
                  ) -> pl.DataFrame:
    """The objections filed by ``day``, as things stand that day, oldest filing first.

    ``objections`` has LedgerData's columns (objection_id, event_id, filed_on, decided_on,
    outcome); a decision dated after the day is not yet made: its `decided_on` and
    `outcome` are null. Adds `state` (pending, upheld, rejected), `due_on`, `overdue` and
    `age_days` (days since filing)."""
    filed = objections.filter(pl.col("filed_on") <= day)
    decided = pl.col("decided_on").is_not_null() & (pl.col("decided_on") <= day)
    filed = filed.with_columns(
        decided_on=pl.when(decided).then(pl.col("decided_on")),
        outcome=pl.when(decided).then(pl.col("outcome")),
    ).with_columns(state=pl.coalesce(pl.col("outcome"), pl.lit("pending")))
    # objections are few (a city's handful a day, not its events): one date sum each
    due = [objection_due(f, policy) for f in filed["filed_on"].to_list()]
    filed = filed.with_columns(
        due_on=pl.Series("due_on", due, dtype=pl.Date),
        age_days=(pl.lit(day) - pl.col("filed_on")).dt.total_days().cast(pl.Int64),
    )
    return filed.with_columns(
        overdue=(pl.col("state") == "pending") & pl.col("due_on").is_not_null()
        & (pl.col("due_on") < day),
    ).sort("filed_on", "objection_id")


def consenting(consents: pl.DataFrame, day: date) -> pl.DataFrame:
    """The residents (`resident_id`) whose consent is in force on ``day``: their latest
    consent row dated on or before it (ties: recorded last, the higher `seq`) consents."""
    latest = (consents.filter(pl.col("on") <= day).sort("on", "seq")
              .group_by("resident_id").agg(pl.col("consent").last()))
    return latest.filter(pl.col("consent")).select("resident_id")
