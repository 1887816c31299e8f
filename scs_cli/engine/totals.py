"""Steps 6–9 of the scoring kernel: caps, score, tier, rewards and sanctions.

Works on the counting events `scs_cli.engine.kernel` judged; totals, tiers, scale, rewards and
sanctions come from the version in force on the as-of date (the "scheme"), what belongs
to one event (category, score_cap, tier_cap) from the version that judged it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from scs_cli.engine.results import (
    ADJUSTMENTS_SCHEMA,
    EVENTS_SCHEMA,
    RESIDENTS_SCHEMA,
    Prepared,
    ScoreResult,
)
from scs_cli.engine.rulebook import RuleBook, day_number, threshold_day
from scs_cli.rules.model import Catalogue, cents

_CAP_PAIRS = {"rix": pl.Int32, "code": pl.Int32, "side": pl.Int8}


def totals(prep: Prepared, scheme: Catalogue, as_of: date, frame: pl.DataFrame,
           residents: pl.DataFrame, extra: list[str], detail: bool) -> ScoreResult:
    """Steps 6–9 over judged events (sorted by resident, residents in the same order)."""
    book, rules = prep.book, prep.book.rules
    tiers = scheme.tier_names
    tier_rank = {name: i for i, name in enumerate(tiers)}
    frame = frame.with_columns(cat=pl.lit(rules["cat"]).gather(pl.col("rkey")))
    counting = pl.col("counting")

    # Step 6: indicator caps (totals of the as-of version), then category caps.
    adjust: list[pl.DataFrame] = []   # h, scope, code, amount
    capped: list[pl.DataFrame] = []   # h, code, side (-1 neg / +1 pos) with scope
    ind_caps = {book.codes[i]: scheme.indicators[i] for i in book.indicators
                if i in scheme.indicators and _has_cap(scheme.indicators[i])}
    cat_caps = {n: scheme.categories[c] for n, c in enumerate(book.categories)
                if c in scheme.categories and _has_cap(scheme.categories[c])}
    ind_adj = pl.DataFrame(schema={"rix": pl.Int32, "cat": pl.Int32, "neg": pl.Int64,
                                   "pos": pl.Int64})
    if ind_caps:
        size = max(len(book.indicators), 1)
        per = (frame.filter(counting & pl.col("ic").is_in(list(ind_caps)))
               .group_by("rix", "ic").agg(
                   neg=pl.col("pts").clip(upper_bound=0).sum(),
                   pos=pl.col("pts").clip(lower_bound=0).sum(),
                   # what a cap removes is charged to the latest counting event's category
                   cat=pl.col("cat").sort_by("day", "event_id").last()
                   if _category_varies(book) else pl.col("cat").first()))
        per = _capped(per, "ic", _by_code(ind_caps, size, "max_deduction"),
                      _by_code(ind_caps, size, "max_award"))
        ind_adj = per.select("rix", "cat", neg=pl.col("dn"), pos=pl.col("dp"))
        adjust += _adjustments(per, "indicator", "ic")
        capped.append(_sides(per, "ic").with_columns(scope=pl.lit("indicator")))
    if cat_caps:
        size = len(book.categories)
        per = pl.concat([
            frame.filter(counting & pl.col("cat").is_in(list(cat_caps))).select(
                "rix", "cat", neg=pl.col("pts").clip(upper_bound=0),
                pos=pl.col("pts").clip(lower_bound=0)),
            ind_adj.filter(pl.col("cat").is_in(list(cat_caps))),
        ]).group_by("rix", "cat").agg(pl.col("neg").sum(), pl.col("pos").sum())
        per = _capped(per, "cat", _by_code(cat_caps, size, "max_deduction"),
                      _by_code(cat_caps, size, "max_award"))
        adjust += _adjustments(per, "category", "cat")
        capped.append(_sides(per, "cat").with_columns(scope=pl.lit("category")))
    caps = (pl.concat(adjust).group_by("rix").agg(caps=pl.col("amount").sum())
            if adjust else pl.DataFrame(schema={"rix": pl.Int32, "caps": pl.Int64}))

    # Step 7: base + capped points, clamped to [min, max], then the smallest score cap.
    res = residents.with_columns(**_per_resident(frame, rules, tier_rank)).join(
        caps, on="rix", how="left", maintain_order="left")
    # Into resident-id order (the residents are numbered in order of first record).
    if extra:
        res = pl.concat([res, pl.DataFrame({"resident_id": extra})], how="diagonal_relaxed"
                        ).sort("resident_id")
    elif res.height == prep.residents.height:
        res = res[prep.lexical]
    else:
        res = res.sort("resident_id")
    for name, dtype in (("score_cap", pl.Int64), ("tier_cap", pl.Int32)):
        if name not in res.columns:
            res = res.with_columns(pl.lit(None, dtype=dtype).alias(name))
    scale = scheme.scale
    res = res.with_columns(raw=cents(scale.base) + pl.col("total").fill_null(0)
                           + pl.col("caps").fill_null(0))
    clamped = pl.col("raw")
    if scale.min is not None:
        clamped = pl.max_horizontal(clamped, pl.lit(cents(scale.min)))
    if scale.max is not None:
        clamped = pl.min_horizontal(clamped, pl.lit(cents(scale.max)))
    res = res.with_columns(clamped=clamped.cast(pl.Int64)).with_columns(
        score=pl.min_horizontal("clamped", "score_cap").cast(pl.Int64))  # may go below min

    # Step 8: the first tier whose min ≤ score; then the worst of it and every tier cap.
    band = pl.lit(0, dtype=pl.Int32)
    for tier in scheme.tiers[:-1]:
        band = band + (pl.col("score") < cents(tier.min)).cast(pl.Int32)  # type: ignore[arg-type]
    res = res.with_columns(rank=pl.max_horizontal(band, pl.col("tier_cap")))

    # Step 9: rewards and sanctions, ids sorted.
    granted: list[pl.Expr] = []
    for rid in sorted(scheme.rewards):
        reward = scheme.rewards[rid]
        ok = pl.col("rank") <= tier_rank[reward.min_tier]
        if reward.min_score is not None:
            ok = ok & (pl.col("score") >= cents(reward.min_score))
        if reward.clean_for is not None:
            # a counted negative event is inside clean_for when date + clean_for > as_of
            limit = day_number(threshold_day(reward.clean_for, as_of))
            ok = ok & (pl.col("last_negative").is_null() | (pl.col("last_negative") <= limit))
        granted.append(ok)
    applied = [pl.col("rank") >= tier_rank[scheme.sanctions[sid].max_tier]
               for sid in sorted(scheme.sanctions)]
    res = res.with_columns(
        tier=pl.lit(pl.Series(tiers, dtype=pl.String)).gather(pl.col("rank")),
        rewards=_id_list(sorted(scheme.rewards), granted),
        sanctions=_id_list(sorted(scheme.sanctions), applied),
    )
    out = res.select([pl.col(c).cast(t) for c, t in RESIDENTS_SCHEMA.items()])
    if not detail:
        return ScoreResult(as_of, scheme, out, pl.DataFrame(schema=EVENTS_SCHEMA),
                           pl.DataFrame(schema=ADJUSTMENTS_SCHEMA))
    events = _event_rows(prep, frame, capped)
    adjustments = _adjustment_rows(prep, res, residents, adjust, frame)
    return ScoreResult(as_of, scheme, out, events, adjustments)


def _per_resident(frame: pl.DataFrame, rules: pl.DataFrame,
                  tier_rank: dict[str, int]) -> dict[str, pl.Series]:
    """Sum of counted points, latest negative day, lowest score cap and worst tier cap of
    each resident's counting events, as Series aligned with the residents (by rix).

    Rows are sorted by rix, so each resident is a run of rows: the points total is a
    running sum read at each run's last row. The other three concern few events, so they
    are grouped from just those rows and put in place by a search among the runs."""
    ends = frame.select((pl.col("rix") != pl.col("rix").shift(-1)).fill_null(True)
                        .arg_true()).to_series()
    sums = frame["pts"].fill_null(0).cum_sum().gather(ends)
    runs = frame["rix"].gather(ends)  # each run's rix, increasing
    counting = pl.col("counting")
    out = {
        "total": (sums - sums.shift(1).fill_null(0)).cast(pl.Int64),
        # for clean_for: the latest counting event whose points are below zero
        "last_negative": _sparse(frame, runs, counting & (pl.col("pts") < 0),
                                 pl.col("day").max(), pl.Int32),
    }
    if rules["score_cap"].is_not_null().any():
        caps = pl.lit(rules["score_cap"]).gather(pl.col("rkey"))
        out["score_cap"] = _sparse(frame, runs, counting & caps.is_not_null(), caps.min(),
                                   pl.Int64)
    if rules["tier_cap"].is_not_null().any():
        ranks = pl.lit(rules["tier_cap"].replace_strict(
            tier_rank, default=None, return_dtype=pl.Int32)).gather(pl.col("rkey"))
        out["tier_cap"] = _sparse(frame, runs, counting & ranks.is_not_null(), ranks.max(),
                                  pl.Int32)
    return out


def _sparse(frame: pl.DataFrame, runs: pl.Series, where: pl.Expr, agg: pl.Expr,
            dtype: Any) -> pl.Series:
    """``agg`` over each resident's rows that meet ``where``; null for a resident with none."""
    got = frame.lazy().filter(where).group_by("rix").agg(agg.alias("value")).collect()
    return pl.repeat(None, runs.len(), dtype=dtype, eager=True).scatter(
        runs.search_sorted(got["rix"]), got["value"].cast(dtype))


def _category_varies(book: RuleBook) -> bool:
    """Does some indicator change category between versions?"""
    return any(len({v.indicators[i].category for v in book.versions if i in v.indicators}) > 1
               for i in book.indicators)


def _has_cap(item: Any) -> bool:
    return item.max_deduction is not None or item.max_award is not None


def _by_code(items: dict[int, Any], size: int, attr: str) -> pl.Series:
    values: list[int | None] = [None] * size
    for code, item in items.items():
        value = getattr(item, attr)
        values[code] = cents(value) if value is not None else None
    return pl.Series(values, dtype=pl.Int64)


def _capped(per: pl.DataFrame, code: str, max_ded: pl.Series, max_aw: pl.Series
            ) -> pl.DataFrame:
    """Add dn (points given back: negatives sum to at least −max_deduction) and dp (points
    taken off: positives sum to at most max_award); keep the groups a cap changed."""
    ded = pl.lit(max_ded).gather(pl.col(code))
    award = pl.lit(max_aw).gather(pl.col(code))
    return per.with_columns(
        dn=pl.when(pl.col("neg") < -ded).then(-ded - pl.col("neg")).otherwise(0),
        dp=pl.when(pl.col("pos") > award).then(award - pl.col("pos")).otherwise(0),
    ).filter((pl.col("dn") != 0) | (pl.col("dp") != 0))


def _adjustments(per: pl.DataFrame, scope: str, code: str) -> list[pl.DataFrame]:
    return [per.filter(pl.col(side) != 0).select(
        "rix", scope=pl.lit(scope), code=pl.col(code).cast(pl.Int32),
        amount=pl.col(side).cast(pl.Int64)) for side in ("dn", "dp")]


def _sides(per: pl.DataFrame, code: str) -> pl.DataFrame:
    both = [per.filter(pl.col(col) != 0).select(
        "rix", code=pl.col(code).cast(pl.Int32), side=pl.lit(sign, dtype=pl.Int8))
        for col, sign in (("dn", -1), ("dp", 1))]
    return pl.concat(both).cast(_CAP_PAIRS)  # type: ignore[arg-type]


def _id_list(ids: list[str], conditions: list[pl.Expr]) -> pl.Expr:
    """The sorted list of ids whose condition holds, per row.

    The conditions form a bit mask and each mask's list is gathered from a table of all
    masks: far cheaper than building lists row by row.
    """
    if not ids:
        return pl.lit([], dtype=pl.List(pl.String))
    if len(ids) > 12:
        return pl.concat_list([pl.when(c).then(pl.lit(i)) for i, c in zip(ids, conditions,
                                                                             strict=True)]
                              ).list.drop_nulls()
    mask = pl.sum_horizontal([c.fill_null(False).cast(pl.Int32) * (1 << n)
                              for n, c in enumerate(conditions)])
    table = pl.Series([[i for n, i in enumerate(ids) if m >> n & 1]
                       for m in range(1 << len(ids))], dtype=pl.List(pl.String))
    return pl.lit(table).gather(mask)


def _event_rows(prep: Prepared, frame: pl.DataFrame,
                capped: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per event of a scored resident, by event id: points, status and why."""
    book = prep.book
    frame = frame.select(
        "row", "event_id", "rix", "ic", "cat", "v", "defined", "voided", "future",
        "suspended", "over", "lifted", "expired", "counting", "nominal", "pts", "exp_day",
        "lift_day",
        side=pl.when(pl.col("pts") < 0).then(pl.lit(-1, dtype=pl.Int8)).when(
            pl.col("pts") > 0).then(pl.lit(1, dtype=pl.Int8)),
    )
    capped_by = pl.lit(None, dtype=pl.String)
    labels = {"indicator": (pl.Series([f"indicator:{i}" for i in book.indicators] or [""]),
                            "ic"),
              "category": (pl.Series([f"category:{c}" for c in book.categories] or [""]),
                           "cat")}
    for scope in ("category", "indicator"):  # an indicator cap acts first: it names the event
        pairs = [p.filter(pl.col("scope") == scope).drop("scope") for p in capped]
        pairs = [p for p in pairs if p.height]
        if not pairs:
            continue
        names, code = labels[scope]
        hit = pl.concat(pairs).rename({"code": code}).with_columns(**{f"hit_{scope}": True})
        frame = frame.join(hit, on=["rix", code, "side"], how="left")
        capped_by = pl.when(pl.col(f"hit_{scope}").fill_null(False) & pl.col("counting")
                            ).then(pl.lit(names).gather(pl.col(code))).otherwise(capped_by)
    frame = frame.with_columns(capped_by=capped_by)
    status = (pl.when(pl.col("voided")).then(pl.lit("voided"))
              .when(pl.col("future")).then(pl.lit("future"))
              .when(pl.col("suspended")).then(pl.lit("suspended"))
              .when(pl.col("over")).then(pl.lit("over-limit"))
              .when(pl.col("lifted")).then(pl.lit("lifted"))
              .when(pl.col("expired")).then(pl.lit("expired"))
              .when(pl.col("capped_by").is_not_null()).then(pl.lit("capped"))
              .otherwise(pl.lit("counted")))
    versions = pl.Series([v.version for v in book.versions] or [""], dtype=pl.String)
    frame = frame.sort("event_id")
    names = pl.Series(prep.indicators or ("",), dtype=pl.String)
    return pl.concat([
        frame.select("event_id", resident_id=pl.lit(prep.residents["resident_id"]).gather(
            pl.col("rix"))),
        prep.events[frame["row"]].select(
            indicator=pl.lit(names).gather(pl.col("code")), occurred_on="occurred_on"),
        frame.select(
            version=pl.when(pl.col("defined")).then(
                pl.lit(versions).gather(pl.col("v").clip(lower_bound=0))),
            nominal="nominal", points="pts", status=status,
            stops_on=pl.min_horizontal("exp_day", "lift_day").cast(pl.Date),
            capped_by="capped_by"),
    ], how="horizontal")


def _adjustment_rows(prep: Prepared, res: pl.DataFrame, residents: pl.DataFrame,
                     adjust: list[pl.DataFrame], frame: pl.DataFrame) -> pl.DataFrame:
    """Every cap as its own line: score = base + Σ points + Σ adjustments."""
    book = prep.book
    labels = {"indicator": pl.Series(book.indicators or ("",), dtype=pl.String),
              "category": pl.Series(book.categories or ("",), dtype=pl.String)}
    parts = []
    for part in adjust:
        if part.height:
            parts.append(part.join(residents, on="rix").select(
                "resident_id", "scope", key=pl.lit(labels[part["scope"][0]]).gather(
                    pl.col("code")), amount="amount"))
    res = res.with_columns(clamp=pl.col("clamped") - pl.col("raw"),
                           lowered=pl.col("score") - pl.col("clamped"))
    parts.append(res.filter(pl.col("clamp") != 0).select(
        "resident_id", scope=pl.lit("clamp"),
        key=pl.when(pl.col("clamp") > 0).then(pl.lit("min")).otherwise(pl.lit("max")),
        amount="clamp"))
    if res["lowered"].fill_null(0).ne(0).any():
        caps = pl.lit(book.rules["score_cap"]).gather(pl.col("rkey"))
        lowest = (frame.filter(pl.col("counting") & caps.is_not_null())
                  .with_columns(score_cap=caps).sort("score_cap", "day", "event_id")
                  .group_by("rix", maintain_order=True).agg(pl.col("ic").first()))
        parts.append(res.filter(pl.col("lowered") != 0).join(lowest, on="rix", how="left")
                     .select("resident_id", scope=pl.lit("score_cap"),
                             key=pl.lit(labels["indicator"]).gather(pl.col("ic")),
                             amount="lowered"))
    out = pl.concat([p.select([pl.col(c).cast(t) for c, t in ADJUSTMENTS_SCHEMA.items()])
                     for p in parts])
    return out.sort("resident_id", maintain_order=True)
