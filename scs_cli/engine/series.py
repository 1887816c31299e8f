"""Scores and tiers at many dates in one pass over the prepared events.

The report wants every resident's score and tier at the as-of date and the twelve month
ends before it: thirteen evaluations, each a pass over every event and a table of every
resident, although a month end needs neither each event's reasons nor rewards. Here the
dates share one lazy query: whether each event counts on a date is a test of its settled
columns (`kernel._settled`: limits and escalation do not depend on the date when nothing is
suspended), so each event counts on the dates of one interval of them (`_totals`: each
resident's points on each date are a running sum, over the dates, of the few events that
count on any), and the score caps and tier caps come from the few events whose rule sets
one.

A date whose rules need more goes through `kernel.evaluate` itself: indicator or category
caps (step 6 keeps the earliest points, which is not a sum), participation by consent (the
residents differ by date) and an objection pending on that date (it changes the limits and
escalation of the later events of its indicator). The property test holds every date to
`evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from scs_cli.engine.kernel import counts_on, evaluate, scheme_at
from scs_cli.engine.results import Prepared
from scs_cli.engine.rulebook import day_number
from scs_cli.engine.totals import _any_cap, clamped_score, tier_band
from scs_cli.rules.model import Catalogue, cents

COLUMNS = ("resident_id", "score", "tier")


def standings(prep: Prepared, dates: Sequence[date], *, tiers_only: bool = False
              ) -> dict[date, pl.DataFrame]:
    """(resident_id, score, tier) of every scored resident at each date, in resident-id
    order: what ``evaluate(prep, d, detail=False).residents`` holds in those columns.

    ``tiers_only``: each date's ``tier`` column alone, in no particular order (how many
    residents are in each tier, not who: the report's month ends), which spares putting
    500,000 residents in order a dozen times."""
    out: dict[date, pl.DataFrame] = {}
    shared: list[tuple[date, Catalogue]] = []
    columns = ("tier",) if tiers_only else COLUMNS
    for day in dict.fromkeys(dates):
        scheme = scheme_at(prep.history, day)
        if _alone(prep, scheme, day):
            out[day] = evaluate(prep, day, detail=False).residents.select(columns)
        else:
            shared.append((day, scheme))
    if shared:
        out.update(_together(prep, shared, tiers_only))
    return {day: out[day] for day in dates}


def _alone(prep: Prepared, scheme: Catalogue, day: date) -> bool:
    """Whether a date needs the full evaluation (module docstring)."""
    if scheme.policy.participation == "consent" or _any_cap(scheme):
        return True
    if scheme.policy.objection_suspends and prep.objections.height:
        a = day_number(day)
        return bool(prep.objections.select(
            ((pl.col("filed") <= a) & (pl.col("decided").is_null() | (pl.col("decided") > a)))
            .any()).item())
    return False


def _together(prep: Prepared, dates: list[tuple[date, Catalogue]], tiers_only: bool
              ) -> dict[date, pl.DataFrame]:
    frame, rules = prep.frame, prep.book.rules
    residents = prep.residents
    if not frame.height:
        return {day: _ranked(residents.with_columns(total=pl.lit(0, pl.Int64),
                                                    score_cap=pl.lit(None, pl.Int64),
                                                    tier_cap=pl.lit(None, pl.Int32)),
                             scheme, prep, tiers_only=tiers_only) for day, scheme in dates}

    days = [day_number(day) for day, _ in dates]
    totals = _totals(frame, days, residents.height)
    # score caps and tier caps: the few events whose rule sets one
    capping = frame.lazy().select(
        "rix", "day", "ref0", "lift_day", "exp_day",
        score_cap=pl.lit(rules["score_cap"]).gather(pl.col("rkey")),
        tier_cap=pl.lit(rules["tier_cap"]).gather(pl.col("rkey")),
    ).filter(pl.col("score_cap").is_not_null() | pl.col("tier_cap").is_not_null()).collect()
    out = {}
    # resident-id order, for every date
    ids = None if tiers_only else residents["resident_id"].gather(prep.lexical)
    for k, (day, scheme) in enumerate(dates):
        tier_rank = {name: i for i, name in enumerate(scheme.tier_names)}
        caps = capping.filter(counts_on(days[k])).group_by("rix").agg(
            score_cap=pl.col("score_cap").min(),
            tier_cap=pl.col("tier_cap").replace_strict(tier_rank, default=None,
                                                       return_dtype=pl.Int32).max())
        res = residents.with_columns(
            total=totals[k],
            score_cap=_placed(caps, "score_cap", residents.height, pl.Int64),
            tier_cap=_placed(caps, "tier_cap", residents.height, pl.Int32))
        out[day] = _ranked(res, scheme, prep, ids, tiers_only)
    return out


def _totals(frame: pl.DataFrame, days: list[int], n: int) -> list[pl.Series]:
    """Each resident's counted points (by rix, 0…n-1) on each day number of ``days``.

    An event counts (`kernel.counts_on`) on the days from its own up to the first of its
    lift and its expiry: on the dates of one interval of the sorted dates, [first, end).
    So each event is placed once (how many dates come before its day, and before its
    end): each resident's total on the k-th date is the sum of the ``nominal0`` of its
    events that start on or before k, less those that end by then.
    Most count on every date (4.1M of 5M events in the reference ledger): they are summed
    per resident once; the others (0.7M) as steps up and down, per resident and date."""
    order = sorted(range(len(days)), key=days.__getitem__)
    sorted_days = [days[k] for k in order]
    width = len(days)
    counted = frame.lazy().filter(pl.col("ref0")).select(
        "rix", "day", points="nominal0",
        end=pl.min_horizontal("lift_day", "exp_day"))  # null: counts for ever
    # most count on every date: found by two comparisons, summed per resident once
    always = (pl.col("day") <= sorted_days[0]) & (
        pl.col("end").is_null() | (pl.col("end") > sorted_days[-1]))
    summed = counted.filter(always).group_by("rix").agg(total=pl.col("points").sum())
    # the others: how many of the dates come before its day, and before its end (a dozen
    # comparisons of integers: faster than a binary search per event); +points on the
    # first date it counts, -points on the first it no longer does
    others = counted.filter(~always).select(
        "rix", "points",
        first=pl.sum_horizontal([(pl.col("day") > d).cast(pl.Int32) for d in sorted_days]),
        end=pl.sum_horizontal([(pl.col("end") > d).fill_null(True).cast(pl.Int32)
                               for d in sorted_days]),
    ).filter(pl.col("first") < pl.col("end"))
    stepped = pl.concat([
        others.select("rix", at="first", points="points"),
        others.filter(pl.col("end") < width).select("rix", at="end",
                                                    points=-pl.col("points"))],
    ).group_by("rix", "at").agg(pl.col("points").sum())
    base, steps = pl.collect_all([summed, stepped])
    running = pl.repeat(0, n, dtype=pl.Int64, eager=True).scatter(base["rix"], base["total"])
    by_date: list[pl.Series] = [running] * width
    for k in range(width):
        step = steps.filter(pl.col("at") == k)
        running = running + pl.repeat(0, n, dtype=pl.Int64, eager=True).scatter(
            step["rix"], step["points"])
        by_date[order[k]] = running.rename("total")
    return by_date


def _placed(found: pl.DataFrame, column: str, n: int, dtype: Any) -> pl.Series:
    """A value per resident (by rix) from the few residents ``found`` has; null elsewhere."""
    return pl.repeat(None, n, dtype=dtype, eager=True).scatter(
        found["rix"], found[column].cast(dtype)).rename(column)


def _ranked(res: pl.DataFrame, scheme: Catalogue, prep: Prepared,
            ids: pl.Series | None = None, tiers_only: bool = False) -> pl.DataFrame:
    """Steps 7–8 from each resident's counted total and caps, as `totals` takes them
    (`clamped_score`, `tier_band`), in resident-id order (``ids``: the residents' ids in
    that order, if known); ``tiers_only``: the tiers alone, in the order of ``res``."""
    raw = cents(scheme.scale.base) + pl.col("total").fill_null(0)
    score = pl.min_horizontal(clamped_score(scheme, raw), "score_cap").cast(pl.Int64)
    names = pl.lit(pl.Series(scheme.tier_names, dtype=pl.String))
    if tiers_only:
        return res.select(score=score, tier_cap="tier_cap").select(tier=names.gather(
            pl.max_horizontal(tier_band(scheme), pl.col("tier_cap"))))
    ranked = res.with_columns(score=score).select(
        "resident_id", "score", rank=pl.max_horizontal(tier_band(scheme), pl.col("tier_cap")))
    if ranked.height == prep.residents.height:
        # two integer columns put in resident-id order; the ids in that order once per call
        ids = prep.residents["resident_id"].gather(prep.lexical) if ids is None else ids
        ordered = ranked.select("score", "rank")[prep.lexical].with_columns(
            resident_id=ids)
    else:
        ordered = ranked.sort("resident_id")
    return ordered.select("resident_id", "score", tier=names.gather(pl.col("rank")))

