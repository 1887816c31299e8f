"""Catalogue versions turned into the small dense tables the scoring kernel gathers from.

The kernel never looks an indicator up per event in Python: every (version, indicator)
pair gets a row number ``rkey = version * n_indicators + indicator_code`` in `RuleBook.rules`,
and each event gathers its rule's attributes by that number. Calendar arithmetic is done
once per calendar day of the ledger's span (`DayTable`), not once per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from scs_cli.rules.durations import Duration
from scs_cli.rules.model import Catalogue, CatalogueHistory, cents

EPOCH = date(1970, 1, 1)
KIND_POINTS, KIND_RANGE, KIND_ESCALATION = 0, 1, 2
PERIOD_CODES = {"day": 0, "week": 1, "month": 2, "year": 3}


def day_number(day: date) -> int:
    """Days since 1970-01-01, the physical value of a Polars Date."""
    return (day - EPOCH).days


def polars_offset(duration: Duration) -> str:
    """The Polars ``dt.offset_by`` string of a duration (months are ``mo``)."""
    return f"{duration.amount}{ {'d': 'd', 'w': 'w', 'm': 'mo', 'y': 'y'}[duration.unit]}"


def threshold_day(duration: Duration, as_of: date) -> date:
    """The last date ``d`` with ``duration.after(d) <= as_of``.

    ``d + duration > as_of`` is monotone in ``d`` (month ends clamp but never go back), so
    "inside the window before as_of" is simply ``d > threshold_day``. Found by stepping
    from ``as_of - duration``, which is at most a few days off because of clamping.
    """
    day = duration.before(as_of)
    while duration.after(day) > as_of:
        day -= timedelta(days=1)
    while duration.after(day + timedelta(days=1)) <= as_of:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class RuleBook:
    """Every adopted version's indicator definitions as one dense frame.

    ``rules`` has one row per (version, indicator id of any version), in ``rkey`` order;
    ``defined`` is false where that version lacks that indicator.
    """

    versions: tuple[Catalogue, ...]
    starts: tuple[int, ...]            # effective_from of each version, as day numbers
    indicators: tuple[str, ...]        # sorted union of indicator ids
    codes: dict[str, int]
    categories: tuple[str, ...]        # sorted union of category ids of every version
    durations: tuple[Duration, ...]    # every expires_after / escalation_window used
    rules: pl.DataFrame
    escalation_steps: pl.Series        # flat: rkey * max_steps + step index
    max_steps: int

    @classmethod
    def build(cls, history: CatalogueHistory) -> RuleBook:
        versions = tuple(history.versions)
        indicators = tuple(sorted({i for v in versions for i in v.indicators}))
        codes = {iid: n for n, iid in enumerate(indicators)}
        # every category any version names: an indicator's, and each parent above it
        categories = tuple(sorted({ind.category for v in versions
                                   for ind in v.indicators.values() if ind.category}
                                  | {c for v in versions for c in v.categories}))
        cat_codes = {c: n for n, c in enumerate(categories)}
        durations = tuple(sorted({d for v in versions for ind in v.indicators.values()
                                  for d in (ind.expires_after, ind.escalation_window) if d},
                                 key=lambda d: (d.unit, d.amount)))
        dur_codes = {d: n for n, d in enumerate(durations)}
        max_steps = max([len(ind.escalation or ()) for v in versions
                         for ind in v.indicators.values()] + [1])
        rows: list[dict[str, Any]] = []
        steps: list[int] = []
        for version in versions:
            for iid in indicators:
                ind = version.indicators.get(iid)
                row: dict[str, Any] = {"defined": ind is not None, "version": version.version}
                esc: list[int] = []
                if ind is not None:
                    if ind.points is not None:
                        row.update(kind=KIND_POINTS, pts=cents(ind.points))
                    elif ind.points_range is not None:
                        low, high = (cents(x) for x in ind.points_range)
                        # the mildest end stands in for an event that carries no points
                        row.update(kind=KIND_RANGE, lo=low, hi=high,
                                   pts=min((low, high), key=abs) if low * high > 0 else 0)
                    else:
                        esc = [cents(x) for x in ind.escalation or ()]
                        row.update(kind=KIND_ESCALATION, esc_len=len(esc))
                    row.update(
                        window=dur_codes.get(ind.escalation_window)
                        if ind.escalation_window else None,
                        expires=dur_codes[ind.expires_after] if ind.expires_after else None,
                        lim_count=ind.limit.count if ind.limit else None,
                        lim_per=PERIOD_CODES[ind.limit.per] if ind.limit else None,
                        tier_cap=ind.tier_cap,
                        score_cap=cents(ind.score_cap) if ind.score_cap is not None else None,
                        cat=cat_codes[ind.category] if ind.category else None,
                    )
                rows.append(row)
                steps.extend(esc + [0] * (max_steps - len(esc)))
        schema = {
            "defined": pl.Boolean, "version": pl.String, "kind": pl.Int8, "pts": pl.Int64,
            "lo": pl.Int64, "hi": pl.Int64, "esc_len": pl.Int32, "window": pl.Int32,
            "expires": pl.Int32, "lim_count": pl.Int32, "lim_per": pl.Int8,
            "tier_cap": pl.String, "score_cap": pl.Int64, "cat": pl.Int32,
        }
        rules = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema,
                             orient="row") if rows else pl.DataFrame(schema=schema)
        return cls(versions, tuple(day_number(v.effective_from) for v in versions),
                   indicators, codes, categories, durations, rules,
                   pl.Series("steps", steps, dtype=pl.Int64), max_steps)

    def uses(self, column: str) -> list[int]:
        """The distinct non-null values of a rule column (which windows, periods… occur)."""
        return sorted(self.rules.get_column(column).drop_nulls().unique().to_list())


class DayTable:
    """Calendar facts of every day from ``first`` to ``last``, looked up by day number.

    ``end(duration)`` is ``Duration.after`` of each day (Polars ``dt.offset_by`` clamps
    month ends exactly as dateutil does; tests/test_engine_unit.py proves it), computed
    once per day of the span so that millions of events only gather from it.
    """

    def __init__(self, first: int, last: int):
        self.first, self.last = first, max(last, first)
        self.days = pl.Series("day", range(first, self.last + 1), dtype=pl.Int32
                              ).cast(pl.Date)
        self._ends: dict[Duration, pl.Series] = {}

    def end(self, duration: Duration) -> pl.Series:
        """Day numbers of ``day + duration`` for every day of the span (Int32)."""
        if duration not in self._ends:
            self._ends[duration] = self.days.dt.offset_by(polars_offset(duration)).cast(
                pl.Int32)
        return self._ends[duration]

    def ends(self, durations: Sequence[Duration]) -> pl.Series:
        """The ends of several durations, one block per duration (index: code * span + day)."""
        if not durations:
            return pl.Series("end", [], dtype=pl.Int32)
        return pl.concat([self.end(d) for d in durations])

    @property
    def span(self) -> int:
        return len(self.days)


def period_key(day: pl.Expr, period: int, table: DayTable) -> pl.Expr:
    """An integer naming the calendar period (day, ISO week, month, year) of a day number.

    ISO weeks are named by their Monday: 1970-01-01 was a Thursday, so the Monday of day
    ``d`` is ``d - (d + 3) mod 7``; this handles ISO years (2020-12-31 and 2021-01-01 share
    week 2020-W53) without computing week numbers. Months and years are looked up in the
    day table rather than extracted from millions of dates.
    """
    if period == PERIOD_CODES["day"]:
        return day
    if period == PERIOD_CODES["week"]:
        return day - (day + 3) % 7
    dates = table.days
    keys = (dates.dt.year().cast(pl.Int32) * 12 + dates.dt.month().cast(pl.Int32) - 1
            if period == PERIOD_CODES["month"] else dates.dt.year().cast(pl.Int32))
    return pl.lit(keys).gather(day - table.first)
