"""Scores and tiers at many dates in one pass over the prepared events.

The report wants every resident's score and tier at the as-of date and the twelve month
ends before it: thirteen evaluations, each a pass over every event and a table of every
resident, although a month end needs neither each event's reasons nor rewards. Here the
dates share one lazy query: whether each event counts on a date is a test of its settled
columns (`kernel._settled`: limits and escalation do not depend on the date when nothing is
suspended), each resident's points on each date one running sum read at the end of the
resident's run of rows, and the score caps and tier caps come from the few events whose
rule sets one.

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

from scs_cli.engine.kernel import evaluate, scheme_at
from scs_cli.engine.results import Prepared
from scs_cli.engine.rulebook import day_number
from scs_cli.engine.totals import _any_cap
from scs_cli.rules.model import Catalogue, cents

COLUMNS = ("resident_id", "score", "tier")
AT_ONCE = 4  # dates summed in one query: both cores busy, 4 columns of the frame's length


def standings(prep: Prepared, dates: Sequence[date]) -> dict[date, pl.DataFrame]:
    """(resident_id, score, tier) of every scored resident at each date, in resident-id
    order: what ``evaluate(prep, d, detail=False).residents`` holds in those columns."""
    out: dict[date, pl.DataFrame] = {}
    shared: list[tuple[date, Catalogue]] = []
    for day in dict.fromkeys(dates):
        scheme = scheme_at(prep.history, day)
        if _alone(prep, scheme, day):
            out[day] = evaluate(prep, day, detail=False).residents.select(COLUMNS)
        else:
            shared.append((day, scheme))
    if shared:
        out.update(_together(prep, shared))
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


def _together(prep: Prepared, dates: list[tuple[date, Catalogue]]
              ) -> dict[date, pl.DataFrame]:
    frame, rules = prep.frame, prep.book.rules
    residents = prep.residents
    if not frame.height:
        return {day: _ranked(residents.with_columns(total=pl.lit(0, pl.Int64),
                                                    score_cap=pl.lit(None, pl.Int64),
                                                    tier_cap=pl.lit(None, pl.Int32)),
                             scheme, prep) for day, scheme in dates}

    def counts(a: int) -> pl.Expr:  # `kernel._counted` on day a, nothing suspended
        return (pl.col("ref0") & (pl.col("day") <= a) & ~(pl.col("lift_day") <= a)
                .fill_null(False) & ~(pl.col("exp_day") <= a).fill_null(False))

    days = [day_number(day) for day, _ in dates]
    ends = frame.select((pl.col("rix") != pl.col("rix").shift(-1)).fill_null(True)
                        .arg_true()).to_series()
    runs = frame["rix"].gather(ends)  # each run's resident, 0, 1, 2…
    # a running sum of counted points per date, a few dates per query (each sum is a
    # column as long as the frame: memory); each resident's total is the difference of
    # the sums at the ends of consecutive runs
    sums = pl.concat([frame.lazy().select(**{
        f"d{k}": pl.when(counts(days[k])).then(pl.col("nominal0")).otherwise(0).cum_sum()
        for k in range(start, min(start + AT_ONCE, len(days)))}).collect()[ends]
        for start in range(0, len(days), AT_ONCE)], how="horizontal")
    totals = sums.select(pl.all() - pl.all().shift(1).fill_null(0))
    # score caps and tier caps: the few events whose rule sets one
    capping = frame.lazy().select(
        "rix", "day", "ref0", "lift_day", "exp_day",
        score_cap=pl.lit(rules["score_cap"]).gather(pl.col("rkey")),
        tier_cap=pl.lit(rules["tier_cap"]).gather(pl.col("rkey")),
    ).filter(pl.col("score_cap").is_not_null() | pl.col("tier_cap").is_not_null()).collect()
    # every resident has events, numbered 0…n-1 in the frame's order: each run is one
    # resident, and rix is its place (no join)
    assert runs.len() == residents.height
    out = {}
    for k, (day, scheme) in enumerate(dates):
        tier_rank = {name: i for i, name in enumerate(scheme.tier_names)}
        caps = capping.filter(counts(days[k])).group_by("rix").agg(
            score_cap=pl.col("score_cap").min(),
            tier_cap=pl.col("tier_cap").replace_strict(tier_rank, default=None,
                                                       return_dtype=pl.Int32).max())
        res = residents.with_columns(
            total=totals[f"d{k}"].cast(pl.Int64),
            score_cap=_placed(caps, "score_cap", residents.height, pl.Int64),
            tier_cap=_placed(caps, "tier_cap", residents.height, pl.Int32))
        out[day] = _ranked(res, scheme, prep)
    return out


def _placed(found: pl.DataFrame, column: str, n: int, dtype: Any) -> pl.Series:
    """A value per resident (by rix) from the few residents ``found`` has; null elsewhere."""
    return pl.repeat(None, n, dtype=dtype, eager=True).scatter(
        found["rix"], found[column].cast(dtype)).rename(column)


def _ranked(res: pl.DataFrame, scheme: Catalogue, prep: Prepared) -> pl.DataFrame:
    """Steps 7–8 from each resident's counted total and caps (`totals._score_and_tier`),
    in resident-id order."""
    scale = scheme.scale
    clamped = cents(scale.base) + pl.col("total").fill_null(0)
    if scale.min is not None:
        clamped = pl.max_horizontal(clamped, pl.lit(cents(scale.min)))
    if scale.max is not None:
        clamped = pl.min_horizontal(clamped, pl.lit(cents(scale.max)))
    score = pl.min_horizontal(clamped.cast(pl.Int64), "score_cap").cast(pl.Int64)
    band = pl.lit(0, dtype=pl.Int32)
    for tier in scheme.tiers[:-1]:
        band = band + (pl.col("score") < cents(tier.min)).cast(pl.Int32)  # type: ignore[arg-type]
    ranked = res.with_columns(score=score).with_columns(
        rank=pl.max_horizontal(band, pl.col("tier_cap")))
    ordered = ranked[prep.lexical] if ranked.height == prep.residents.height else \
        ranked.sort("resident_id")
    return ordered.select(
        "resident_id", "score",
        tier=pl.lit(pl.Series(scheme.tier_names, dtype=pl.String)).gather(pl.col("rank")))

