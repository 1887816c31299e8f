"""The figures of an impact: two scorings of one ledger compared resident by resident.

Everything here reads the two `ScoreResult`s the kernel returned (the residents, and with
``tally`` the counting events) and returns one plain document with SPEC §5's keys: the
renderers (JSON, Markdown, HTML, the CLI's table) read only that document, after
suppression, so a hidden count never reaches a page.

Points and scores stay integer hundredths until they are written as exact decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from scs_cli.engine.results import ScoreResult
from scs_cli.rules.model import Catalogue, from_cents

# SPEC §5's change quantiles, as (key, percent). Nearest rank: see `nearest_rank`.
QUANTILES = (("min", 0), ("p10", 10), ("p25", 25), ("median", 50), ("p75", 75),
             ("p90", 90), ("max", 100))
SMALLEST = 5            # --public: counts from 1 to SMALLEST - 1 are hidden
HISTOGRAM_BINS = 20     # at most this many bins of score change
_STEPS = (1, 2, 5)      # bin widths are 1, 2 or 5 × a power of ten hundredths


@dataclass(frozen=True)
class Side:
    """One side of the comparison: which rules, and what the kernel made of them."""

    rules: str               # for people: "adopted 2016 (from 2016-01-01)…" or a file
    result: ScoreResult      # scored with tally=True (per-event counted points)

    @property
    def scheme(self) -> Catalogue:
        return self.result.scheme


def nearest_rank(ordered: Sequence[int] | pl.Series, percent: int) -> int:
    """The nearest-rank percentile of sorted values: the smallest value such that at
    least ``percent``% of the values are at most it (position ⌈p·n/100⌉, counted from
    1; the first value for 0%). Always a value some resident has: never interpolated."""
    index = max((percent * len(ordered) + 99) // 100 - 1, 0)
    return ordered[index]


def _hide(n: int, public: bool) -> int | None:
    return None if public and 0 < n < SMALLEST else n


def _rank(names: tuple[str, ...]) -> dict[str | None, int]:
    rank: dict[str | None, int] = {name: i for i, name in enumerate(names)}
    rank[None] = len(names)  # "not scored on this side" after every tier
    return rank


def impact_figures(baseline: Side, reform: Side, public: bool = False) -> dict[str, Any]:
    """Every figure of SPEC §5's `scs impact`, as one document (counts 1–4 hidden if
    ``public``): residents, transitions, winners/losers/unchanged overall and by
    baseline tier, change quantiles and histogram, rewards, sanctions, indicators."""
    b = baseline.result.residents.select(
        "resident_id", b_score="score", b_tier="tier", b_rewards="rewards",
        b_sanctions="sanctions")
    r = reform.result.residents.select(
        "resident_id", r_score="score", r_tier="tier", r_rewards="rewards",
        r_sanctions="sanctions")
    joined = b.join(r, on="resident_id", how="full", coalesce=True)
    both = joined.filter(pl.col("b_score").is_not_null() & pl.col("r_score").is_not_null()
                         ).with_columns(change=pl.col("r_score") - pl.col("b_score"))
    moved = _moves(both)
    doc: dict[str, Any] = {
        "residents": {"baseline": _hide(b.height, public), "reform": _hide(r.height, public),
                      "both": _hide(both.height, public)},
        "transitions": _transitions(joined, baseline.scheme, reform.scheme, public),
        **{k: _hide(v, public) for k, v in moved.items()},
        "by_tier": _by_tier(both, baseline.scheme, public),
    }
    changes = both["change"].sort()
    hide_spread = public and 0 < len(changes) < SMALLEST  # a quantile of 1–4 is a resident
    doc["change"] = {key: (None if not len(changes) or hide_spread else
                           from_cents(int(nearest_rank(changes, p)))) for key, p in QUANTILES}
    doc["histogram"] = [] if hide_spread else histogram(both["change"], public)
    doc["rewards"] = _granted(joined, "rewards", baseline.scheme, reform.scheme, public)
    doc["sanctions"] = _granted(joined, "sanctions", baseline.scheme, reform.scheme, public)
    doc["indicators"] = _indicators(baseline.result, reform.result, public)
    return doc


def _moves(both: pl.DataFrame) -> dict[str, int]:
    row = both.select(winners=(pl.col("change") > 0).sum(), losers=(pl.col("change") < 0).sum(),
                      unchanged=(pl.col("change") == 0).sum()).row(0, named=True)
    return {k: int(v or 0) for k, v in row.items()}


def _transitions(joined: pl.DataFrame, old: Catalogue, new: Catalogue, public: bool
                 ) -> list[dict[str, Any]]:
    """Residents per (baseline tier, reform tier); None: not scored on that side."""
    old_rank, new_rank = _rank(old.tier_names), _rank(new.tier_names)
    pairs = joined.group_by("b_tier", "r_tier").len().rows()
    pairs.sort(key=lambda p: (old_rank.get(p[0], len(old_rank)),
                              new_rank.get(p[1], len(new_rank))))
    return [{"from": a, "to": z, "residents": _hide(int(n), public)} for a, z, n in pairs]


def _by_tier(both: pl.DataFrame, scheme: Catalogue, public: bool) -> list[dict[str, Any]]:
    """Winners, losers and unchanged per baseline tier (every tier, best first)."""
    got = {t: row for t, *row in both.group_by("b_tier").agg(
        winners=(pl.col("change") > 0).sum(), losers=(pl.col("change") < 0).sum(),
        unchanged=(pl.col("change") == 0).sum()).rows()}
    out = []
    for tier in scheme.tier_names:
        w, lo, u = got.get(tier, (0, 0, 0))
        out.append({"tier": tier, "winners": _hide(int(w), public),
                    "losers": _hide(int(lo), public), "unchanged": _hide(int(u), public)})
    return out


def bin_width(low: int, high: int) -> int:
    """A round bin width (hundredths) giving at most `HISTOGRAM_BINS` bins over the span."""
    width, scale = 1, 1
    while True:
        for step in _STEPS:
            width = step * scale
            if (high // width - low // width) + 1 <= HISTOGRAM_BINS:
                return width
        scale *= 10


def histogram(change: pl.Series, public: bool = False) -> list[dict[str, Any]]:
    """Residents per bin of score change. Residents whose score does not change have a bin
    of their own, {from: 0, to: 0}; every other change falls in a bin [from, to) of one
    round width (0 < change < width in [0, width)), empty bins between the first and the
    last kept so the shape reads true."""
    if change.len() == 0:
        return []
    zero = int((change == 0).sum())
    moved = change.filter(change != 0)
    bins: list[dict[str, Any]] = []
    if moved.len():
        low, high = int(moved.min()), int(moved.max())  # type: ignore[arg-type]
        width = bin_width(low, high)
        counts = dict(moved.to_frame("c").group_by(
            pl.col("c").floordiv(width).alias("bin")).len().rows())
        bins = [{"from": from_cents(k * width), "to": from_cents((k + 1) * width),
                 "residents": _hide(int(counts.get(k, 0)), public)}
                for k in range(low // width, high // width + 1)]
    if zero:
        at = sum(1 for b in bins if b["to"] <= 0)  # after every bin below zero
        bins.insert(at, {"from": Decimal(0), "to": Decimal(0),
                         "residents": _hide(zero, public)})
    return bins


def _granted(joined: pl.DataFrame, kind: str, old: Catalogue, new: Catalogue,
             public: bool) -> list[dict[str, Any]]:
    """Each reward (or sanction) of either scheme: residents who gain it under the reform
    and who lose it; a resident not scored on a side does not have it on that side."""
    old_defs: dict[str, Any] = dict(old.rewards if kind == "rewards" else old.sanctions)
    new_defs: dict[str, Any] = dict(new.rewards if kind == "rewards" else new.sanctions)
    ids = sorted(set(old_defs) | set(new_defs))
    if not ids:
        return []
    exprs = []
    for i, ident in enumerate(ids):  # per reward, not per resident: a handful of columns
        had = pl.col(f"b_{kind}").list.contains(ident).fill_null(False)
        has = pl.col(f"r_{kind}").list.contains(ident).fill_null(False)
        exprs += [(has & ~had).sum().alias(f"g{i}"), (had & ~has).sum().alias(f"l{i}"),
                  had.sum().alias(f"b{i}"), has.sum().alias(f"r{i}")]
    sums = joined.select(exprs).row(0, named=True) if joined.height else {}
    out = []
    for i, ident in enumerate(ids):
        gained, lost = int(sums.get(f"g{i}", 0)), int(sums.get(f"l{i}", 0))
        before, after = int(sums.get(f"b{i}", 0)), int(sums.get(f"r{i}", 0))
        rule = new_defs.get(ident) or old_defs[ident]
        row: dict[str, Any] = {"id": ident, "name": rule.name,
                               "gained": _hide(gained, public), "lost": _hide(lost, public),
                               "baseline": _hide(before, public),
                               "reform": _hide(after, public)}
        if kind == "rewards":
            row.update(_cost(old_defs.get(ident), new_defs.get(ident), before, after,
                             hidden=public and (row["gained"] is None or row["lost"] is None)))
        out.append(row)
    return out


def _cost(old: Any, new: Any, before: int, after: int, hidden: bool) -> dict[str, Any]:
    """The change in what the reward costs: residents holding it × its value under the
    reform, less the same under the baseline (= net gained × value when the value is
    unchanged). A side whose rule gives no value takes the other side's."""
    values = [r.value for r in (old, new) if r is not None and r.value is not None]
    if not values:
        return {"value": None, "cost": None, "unit": None}
    unit = (new if new is not None and new.value is not None else old).unit
    old_value = old.value if old is not None and old.value is not None else values[-1]
    new_value = new.value if new is not None and new.value is not None else values[0]
    cost = after * new_value - before * old_value
    return {"value": Decimal(new_value), "cost": None if hidden else cost, "unit": unit}


def _indicators(old: ScoreResult, new: ScoreResult, public: bool) -> list[dict[str, Any]]:
    """Counted points (before caps, as the kernel counted each event) summed per indicator
    under each side, largest absolute change first."""
    def summed(result: ScoreResult, prefix: str) -> pl.DataFrame:
        counting = result.counting
        if counting is None:
            raise ValueError("impact needs the kernel's counting events (tally=True)")
        # grouped by the kernel's categories, named as text to join the two sides
        return counting.group_by("indicator").agg(
            pl.col("points").sum().alias(f"{prefix}_points"), pl.len().alias(f"{prefix}_n")
        ).with_columns(pl.col("indicator").cast(pl.String))

    both = summed(old, "b").join(summed(new, "r"), on="indicator", how="full",
                                 coalesce=True).fill_null(0)
    rows: list[tuple[int, dict[str, Any]]] = []
    for ident, b_pts, b_n, r_pts, r_n in both.select(
            "indicator", "b_points", "b_n", "r_points", "r_n").rows():
        b_hidden, r_hidden = _hide(int(b_n), public) is None, _hide(int(r_n), public) is None
        rows.append((abs(int(r_pts) - int(b_pts)), {
            "indicator": ident,
            "baseline": None if b_hidden else from_cents(int(b_pts)),
            "reform": None if r_hidden else from_cents(int(r_pts)),
            "change": None if b_hidden or r_hidden else from_cents(int(r_pts - b_pts))}))
    # ordered by the true change even when a value is hidden: the order shows no count
    rows.sort(key=lambda pair: (-pair[0], pair[1]["indicator"]))
    return [row for _, row in rows]
