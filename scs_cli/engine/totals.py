"""Steps 6–9 of the scoring kernel: caps, score, tier, rewards and sanctions.

Works on the counting events `scs_cli.engine.kernel` judged; totals, tiers, scale, rewards and
sanctions come from the version in force on the as-of date (the "scheme"), what belongs
to one event (category, score_cap, tier_cap) from the version that judged it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from scs_cli.engine.caps import SCOPE_CATEGORY, SCOPE_INDICATOR, Capped, apply_caps, has_cap
from scs_cli.engine.results import (
    ADJUSTMENTS_SCHEMA,
    CHECKS_SCHEMA,
    EVENTS_SCHEMA,
    RESIDENTS_SCHEMA,
    SUBTOTALS_SCHEMA,
    Prepared,
    ScoreResult,
)
from scs_cli.engine.rulebook import (
    KIND_ESCALATION,
    PERIOD_CODES,
    RuleBook,
    day_number,
    threshold_day,
)
from scs_cli.rules.model import Catalogue, Reward, cents


def totals(prep: Prepared, scheme: Catalogue, as_of: date, frame: pl.DataFrame,
           residents: pl.DataFrame, extra: list[str], detail: bool,
           lists: bool = False) -> ScoreResult:
    """Steps 6–9 over judged events (sorted by resident, residents in the same order);
    with ``lists``, the red lists granted (`ScoreResult.red`)."""
    book, rules = prep.book, prep.book.rules
    tiers = scheme.tier_names
    tier_rank = {name: i for i, name in enumerate(tiers)}
    frame = frame.with_columns(cat=pl.lit(rules["cat"]).gather(pl.col("rkey")))

    # Step 6: indicator caps, then category caps innermost first (totals of the as-of
    # version), each keeping the earliest points and cutting the latest.
    capped = apply_caps(book, scheme, frame) if _any_cap(scheme) else None
    adjust = capped.adjustments if capped is not None else None
    caps = (adjust.group_by("rix").agg(caps=pl.col("amount").sum())
            if adjust is not None and adjust.height
            else pl.DataFrame(schema={"rix": pl.Int32, "caps": pl.Int64}))

    # the latest negative day is read only by a clean_for (a reward's, or a red list's)
    rewarded = any(r.clean_for is not None for r in scheme.rewards.values())
    clean = rewarded or (lists and any(item.kind == "red" and item.entry.clean_for is not None
                                       for item in scheme.lists.values()))
    # explain names the event that breaks a clean_for: only worked out for detail
    breakers = detail and rewarded
    res = _score_and_tier(prep, scheme, frame, residents, extra, caps, tier_rank, breakers,
                          clean)

    # Step 9: rewards and sanctions, ids sorted.
    tests = {rid: _reward_tests(scheme.rewards[rid], tier_rank, as_of)
             for rid in sorted(scheme.rewards)}
    granted = [pl.all_horizontal(t.values()) for t in tests.values()]
    # sanctions by tier; measures on a list follow listings (engine.listings), never a tier
    by_tier = scheme.tier_sanctions
    applied = [pl.col("rank") >= tier_rank[by_tier[sid].max_tier]  # type: ignore[index]
               for sid in sorted(by_tier)]
    res = res.with_columns(
        tier=pl.lit(pl.Series(tiers, dtype=pl.String)).gather(pl.col("rank")),
        rewards=_id_list(sorted(scheme.rewards), granted),
        sanctions=_id_list(sorted(by_tier), applied),
    )
    out = res.select([pl.col(c).cast(t) for c, t in RESIDENTS_SCHEMA.items()])
    red = _red_lists(scheme, res, tier_rank, as_of) if lists else None
    if not detail:
        return ScoreResult(as_of, scheme, out, pl.DataFrame(schema=EVENTS_SCHEMA),
                           pl.DataFrame(schema=ADJUSTMENTS_SCHEMA), red=red)
    events = _event_rows(prep, frame, capped)
    adjustments = _adjustment_rows(prep, res, residents, adjust, frame)
    return ScoreResult(as_of, scheme, out, events, adjustments,
                       checks=_check_rows(res, tests, applied, sorted(by_tier)),
                       subtotals=_subtotal_rows(scheme, res, adjust), red=red)


def _red_lists(scheme: Catalogue, res: pl.DataFrame, tier_rank: dict[str, int],
               as_of: date) -> pl.DataFrame:
    """Each red list's residents (resident-id order), granted as a reward is (SPEC §4a):
    step 9's tests on the score, tier and clean_for this evaluation already holds."""
    parts = [pl.DataFrame(schema={"resident_id": pl.String, "list": pl.String})]
    for lid, item in sorted(scheme.lists.items()):
        if item.kind != "red":
            continue
        entry = item.entry  # no min_tier: the worst tier, a test every resident passes
        reward = Reward(lid, item.name, entry.min_tier or scheme.tier_names[-1],
                        entry.min_score, entry.clean_for, max_tier=entry.max_tier,
                        max_score=entry.max_score)
        granted = pl.all_horizontal(_reward_tests(reward, tier_rank, as_of).values())
        parts.append(res.lazy().filter(granted).select("resident_id", list=pl.lit(lid))
                     .collect())
    return pl.concat(parts)


def _score_and_tier(prep: Prepared, scheme: Catalogue, frame: pl.DataFrame,
                    residents: pl.DataFrame, extra: list[str], caps: pl.DataFrame,
                    tier_rank: dict[str, int], breakers: bool = False,
                    clean: bool = True) -> pl.DataFrame:
    """Steps 7–8 per resident, in resident-id order: ``raw``, ``clamped``, ``score``
    (hundredths), ``band`` (the tier the score alone gives) and ``rank`` (the tier's
    place, 0 the best)."""
    # Step 7: base + capped points, clamped to [min, max], then the smallest score cap.
    res = residents.with_columns(**_per_resident(frame, prep.book.rules, tier_rank,
                                                 breakers, clean))
    res = res.join(caps, on="rix", how="left", maintain_order="left") if caps.height else \
        res.with_columns(caps=pl.lit(None, dtype=pl.Int64))
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
    res = res.with_columns(raw=cents(scheme.scale.base) + pl.col("total").fill_null(0)
                           + pl.col("caps").fill_null(0))
    res = res.with_columns(clamped=clamped_score(scheme, pl.col("raw"))).with_columns(
        score=pl.min_horizontal("clamped", "score_cap").cast(pl.Int64))  # may go below min

    # Step 8: the first tier whose min ≤ score; then the worst of it and every tier cap.
    res = res.with_columns(band=tier_band(scheme)).with_columns(
        rank=pl.max_horizontal("band", pl.col("tier_cap")))
    return res


def clamped_score(scheme: Catalogue, raw: pl.Expr) -> pl.Expr:
    """Step 7's clamp of ``raw`` (hundredths) to the scale's [min, max]."""
    scale = scheme.scale
    if scale.min is not None:
        raw = pl.max_horizontal(raw, pl.lit(cents(scale.min)))
    if scale.max is not None:
        raw = pl.min_horizontal(raw, pl.lit(cents(scale.max)))
    return raw.cast(pl.Int64)


def tier_band(scheme: Catalogue) -> pl.Expr:
    """Step 8's tier the ``score`` column alone gives: its place, 0 the best."""
    place = pl.lit(0, dtype=pl.Int32)
    for tier in scheme.tiers[:-1]:
        place = place + (pl.col("score") < cents(tier.min)).cast(pl.Int32)  # type: ignore[arg-type]
    return place


def _reward_tests(reward: Any, tier_rank: dict[str, int], as_of: date) -> dict[str, pl.Expr]:
    """Step 9's conditions of one reward, by name: it applies when all hold."""
    tier = pl.col("rank") <= tier_rank[reward.min_tier]
    if reward.max_tier is not None:  # a band: this tier or worse
        tier = tier & (pl.col("rank") >= tier_rank[reward.max_tier])
    tests = {"tier_ok": tier}
    score = None
    if reward.min_score is not None:
        score = pl.col("score") >= cents(reward.min_score)
    if reward.max_score is not None:
        high = pl.col("score") <= cents(reward.max_score)
        score = high if score is None else score & high
    if score is not None:
        tests["score_ok"] = score
    if reward.clean_for is not None:
        # a counted negative event is inside clean_for when date + clean_for > as_of
        limit = day_number(threshold_day(reward.clean_for, as_of))
        tests["clean_ok"] = pl.col("last_negative").is_null() | (
            pl.col("last_negative") <= limit)
    return tests


def _check_rows(res: pl.DataFrame, tests: dict[str, dict[str, pl.Expr]],
                applied: list[pl.Expr], sanctions: list[str]) -> pl.DataFrame:
    """Per resident, each reward's and sanction's conditions (null: the rule sets none),
    and the event that breaks a failed clean_for (the latest counting negative one)."""
    none = pl.lit(None, dtype=pl.Boolean)
    parts = [res.select("resident_id", kind=pl.lit("reward"), id=pl.lit(rid),
                        applies=pl.all_horizontal(t.values()),
                        **{k: t.get(k, none) for k in ("tier_ok", "score_ok", "clean_ok")},
                        breaker=pl.when(~t["clean_ok"]).then(pl.col("last_negative_id"))
                        if "clean_ok" in t else pl.lit(None, dtype=pl.Int64))
             for rid, t in tests.items()]
    parts += [res.select("resident_id", kind=pl.lit("sanction"), id=pl.lit(sid),
                         applies=ok, tier_ok=ok, score_ok=none, clean_ok=none,
                         breaker=pl.lit(None, dtype=pl.Int64))
              for sid, ok in zip(sanctions, applied, strict=True)]
    if not parts:
        return pl.DataFrame(schema=CHECKS_SCHEMA)
    return pl.concat([p.cast(CHECKS_SCHEMA) for p in parts])  # type: ignore[arg-type]


def _subtotal_rows(scheme: Catalogue, res: pl.DataFrame, adjust: pl.DataFrame | None
                   ) -> pl.DataFrame:
    """Per resident, the score after each step of 6–7 and the band of step 8 (before tier
    caps), from the same columns the score was computed from."""
    if adjust is not None and adjust.height:
        by_scope = adjust.group_by("rix").agg(
            indicator=pl.col("amount").filter(pl.col("scope") == "indicator").sum())
    else:
        by_scope = pl.DataFrame(schema={"rix": pl.Int32, "indicator": pl.Int64})
    mins = [cents(t.min) if t.min is not None else None for t in scheme.tiers]
    table = {"band": pl.Series(scheme.tier_names, dtype=pl.String),
             "band_min": pl.Series(mins, dtype=pl.Int64),
             "band_next": pl.Series([None, *mins[:-1]], dtype=pl.Int64)}
    with_points = cents(scheme.scale.base) + pl.col("total").fill_null(0)
    return res.join(by_scope, on="rix", how="left", maintain_order="left").select(
        "resident_id", with_points=with_points,
        after_indicator_caps=with_points + pl.col("indicator").fill_null(0),
        after_category_caps="raw", after_clamp="clamped", score="score",
        **{name: pl.lit(values).gather(pl.col("band")) for name, values in table.items()},
    ).cast(SUBTOTALS_SCHEMA)  # type: ignore[arg-type]


def _per_resident(frame: pl.DataFrame, rules: pl.DataFrame,
                  tier_rank: dict[str, int], breakers: bool = False, clean: bool = True
                  ) -> dict[str, pl.Series]:
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
                                 pl.col("day").max(), pl.Int32) if clean
        else pl.repeat(None, runs.len(), dtype=pl.Int32, eager=True),
    }
    if breakers:  # that event itself, the latest by (date, event id)
        out["last_negative_id"] = _sparse(
            frame, runs, counting & (pl.col("pts") < 0),
            pl.col("event_id").sort_by("day", "event_id").last(), pl.Int64)
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


def _any_cap(scheme: Catalogue) -> bool:
    return any(has_cap(i) for i in scheme.indicators.values()) or any(
        has_cap(c) for c in scheme.categories.values())


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


def _event_rows(prep: Prepared, frame: pl.DataFrame, capped: Capped | None
                ) -> pl.DataFrame:
    """One row per event of a scored resident, by event id: points, status and why."""
    book, events = prep.book, prep.events
    if events is None:  # a frame kept from earlier has no event rows: callers ask detail=False
        raise ValueError("each event's row needs the events: prepare() them, not restore()")
    if capped is not None:
        frame = frame.with_columns(**capped.per_event(frame))
    else:
        frame = frame.with_columns(kept=pl.col("pts"), cut_scope=pl.lit(0, dtype=pl.Int8),
                                   cut_code=pl.lit(None, dtype=pl.Int32))
    indicator_labels = pl.Series([f"indicator:{i}" for i in book.indicators] or [""])
    category_labels = pl.Series([f"category:{c}" for c in book.categories] or [""])
    # the first cap that cut the event: its indicator's, else the innermost category's
    def code(scope: int) -> pl.Expr:  # null elsewhere: both branches are gathered
        return pl.when(pl.col("cut_scope") == scope).then(pl.col("cut_code"))

    capped_by = pl.coalesce(pl.lit(indicator_labels).gather(code(SCOPE_INDICATOR)),
                            pl.lit(category_labels).gather(code(SCOPE_CATEGORY)))
    status = (pl.when(pl.col("voided")).then(pl.lit("voided"))
              .when(pl.col("future")).then(pl.lit("future"))
              .when(pl.col("suspended")).then(pl.lit("suspended"))
              .when(pl.col("over")).then(pl.lit("over-limit"))
              .when(pl.col("lifted")).then(pl.lit("lifted"))
              .when(pl.col("expired")).then(pl.lit("expired"))
              .when(pl.col("cut_scope") != 0).then(pl.lit("capped"))
              .otherwise(pl.lit("counted")))
    versions = pl.Series([v.version for v in book.versions] or [""], dtype=pl.String)
    categories = pl.Series(book.categories or ("",), dtype=pl.String)
    rules = book.rules
    columns = frame.columns
    # only what the rows need is put in event-id order: the judged frame is wide
    needed = ["row", "event_id", "rix", "defined", "v", "nominal", "pts", "exp_day",
              "lift_day", "kept", "cut_scope", "cut_code", "voided", "future", "suspended",
              "over", "lifted", "expired", "ref", "kind", "cat", "rkey"]
    needed += [c for c in columns if c in ("_n", "lim_rank", "suspended_by")
               or c.startswith("pkey_")]
    frame = frame.select(needed)[_event_id_order(frame["row"], events.height)]
    names = pl.Series(prep.indicators or ("",), dtype=pl.String)
    occurrence = pl.when(pl.col("ref") & (pl.col("kind") == KIND_ESCALATION)).then(
        pl.col("_n").cast(pl.Int32)) if "_n" in columns else pl.lit(None, dtype=pl.Int32)
    return pl.concat([
        frame.select("event_id", resident_id=pl.lit(prep.residents["resident_id"]).gather(
            pl.col("rix"))),
        events[frame["row"]].select(
            indicator=pl.lit(names).gather(pl.col("code")), occurred_on="occurred_on"),
        frame.select(
            version=pl.when(pl.col("defined")).then(
                pl.lit(versions).gather(pl.col("v").clip(lower_bound=0))),
            nominal="nominal", points="pts", status=status,
            stops_on=pl.min_horizontal("exp_day", "lift_day").cast(pl.Date),
            capped_by=capped_by,
            kept="kept",
            # the n of step 4, for a standing event its own escalation rule scored
            occurrence=occurrence,
            limit_rank=pl.col("lim_rank").cast(pl.Int32) if "lim_rank" in columns
            else pl.lit(None, dtype=pl.Int32),
            category=pl.lit(categories).gather(pl.col("cat")),
            score_cap=pl.lit(rules["score_cap"]).gather(pl.col("rkey")),
            tier_cap=pl.lit(rules["tier_cap"]).gather(pl.col("rkey")),
            suspended_by=pl.col("suspended_by") if "suspended_by" in columns
            else pl.lit(None, dtype=pl.Int64),
            period=_period_name(book, columns),
            # the step the occurrence takes: the last one repeats
            step=pl.when(occurrence.is_not_null()).then(pl.min_horizontal(
                occurrence, pl.lit(rules["esc_len"]).gather(pl.col("rkey")))),
            in_force=pl.when(pl.col("v") >= 0).then(
                pl.lit(versions).gather(pl.col("v").clip(lower_bound=0))),
        ),
    ], how="horizontal").cast(EVENTS_SCHEMA)  # type: ignore[arg-type]


def _period_name(book: RuleBook, columns: list[str]) -> pl.Expr:
    """The calendar period of the event's limit, named from the kernel's period key
    (`rulebook.period_key`): a day, an ISO week by its Monday, a month, a year."""
    per = pl.lit(book.rules["lim_per"]).gather(pl.col("rkey"))
    name = pl.lit(None, dtype=pl.String)
    for period in book.uses("lim_per"):
        key = pl.col(f"pkey_{period}")
        if f"pkey_{period}" not in columns:
            continue
        if period in (PERIOD_CODES["day"], PERIOD_CODES["week"]):  # a day number
            text = key.cast(pl.Date).dt.strftime(
                "%Y-%m-%d" if period == PERIOD_CODES["day"] else "%G-W%V")
        elif period == PERIOD_CODES["month"]:  # year * 12 + month - 1
            text = pl.format("{}-{}", (key // 12).cast(pl.String),
                             (key % 12 + 1).cast(pl.String).str.zfill(2))
        else:
            text = key.cast(pl.String)
        name = pl.when(per == period).then(text).otherwise(name)
    return name


def _event_id_order(rows: pl.Series, n_events: int) -> pl.Series:
    """The positions that put rows in event-id order. ``row`` is each event's place in the
    event-id-sorted events frame, so scattering positions by it is a sort without one."""
    return pl.repeat(None, n_events, dtype=pl.Int64, eager=True).scatter(
        rows, pl.int_range(rows.len(), dtype=pl.Int64, eager=True)).drop_nulls()


def _adjustment_rows(prep: Prepared, res: pl.DataFrame, residents: pl.DataFrame,
                     adjust: pl.DataFrame | None, frame: pl.DataFrame) -> pl.DataFrame:
    """Every cap as its own line: score = base + Σ points + Σ adjustments."""
    book = prep.book
    labels = {"indicator": pl.Series(book.indicators or ("",), dtype=pl.String),
              "category": pl.Series(book.categories or ("",), dtype=pl.String)}
    parts = []
    for scope in ("indicator", "category"):
        part = adjust.filter(pl.col("scope") == scope) if adjust is not None else None
        if part is not None and part.height:
            parts.append(part.join(residents, on="rix", maintain_order="left").select(
                "resident_id", "scope", key=pl.lit(labels[scope]).gather(pl.col("code")),
                amount="amount"))
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
