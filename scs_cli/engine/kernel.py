"""The scoring kernel: SPEC §4's nine steps as a pure function over Polars frames.

``score(data, history, as_of)`` reads `LedgerData` (already cut at known-at by the ledger)
and the adopted catalogue versions, and returns a `ScoreResult`: one row per resident,
one per event (with the points it counted and why) and one per cap adjustment, so that
``score = base + Σ points + Σ adjustments`` can be shown line by line by `explain`.

How it stays fast and exact:
- points are Int64 hundredths, never floats;
- rule attributes are gathered from a dense table by (version, indicator) number, and
  calendar arithmetic is looked up per calendar day (`rulebook`);
- the events are sorted once, by (resident, indicator, occurred_on, event id), as one
  sort of packed integers (`sort`); limits and escalation are running counts over
  that order (escalation windows by one search over window ends, which never decrease
  within a resident's indicator) and each resident's totals are read at the end of the
  resident's run of rows;
- what does not depend on the as-of date is done once (`prepare`), the rest as lazy
  queries (`evaluate`);
- residents and indicators arrive numbered by the ledger (`LedgerData`): no string is
  hashed, compared or sorted per event.
Nothing loops per event or per resident, and every step works within one resident, so
any partition of residents gives the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import polars as pl

from scs_cli.core.frames import LedgerData
from scs_cli.engine.results import (
    NoSchemeError,
    Prepared,
    ScoreResult,
)
from scs_cli.engine.rulebook import (
    KIND_ESCALATION,
    KIND_RANGE,
    DayTable,
    RuleBook,
    day_number,
    period_key,
)
from scs_cli.engine.sort import Order, order_events
from scs_cli.engine.totals import totals
from scs_cli.rules.day import consenting
from scs_cli.rules.model import Catalogue, CatalogueHistory

_SHIFT = 2**32  # packs (group number, day offset) into one sortable Int64


def score(data: LedgerData, history: CatalogueHistory, as_of: date,
          detail: bool = True) -> ScoreResult:
    """Score every resident of ``data`` at ``as_of`` under ``history`` (SPEC §4).

    With ``detail=False`` the ``events`` and ``adjustments`` frames are left empty (the
    batch needs only the residents; the arithmetic is the same).
    """
    return evaluate(prepare(data, history), as_of, detail)


def score_series(data: LedgerData, history: CatalogueHistory,
                 dates: Sequence[date]) -> dict[date, pl.DataFrame]:
    """(resident_id, score, tier) at each date; the sort and rule lookups are done once,
    and the dates share one pass over the events (`engine.series`)."""
    from scs_cli.engine.series import standings  # it evaluates through this module

    return standings(prepare(data, history), dates)


def scheme_at(history: CatalogueHistory, as_of: date, source: str | None = None) -> Catalogue:
    """The version in force on the as-of date: tiers, scale, totals, rewards, policy.

    ``source`` (a ledger path) starts the error line when there is none."""
    scheme = history.in_force(as_of)
    if scheme is None:
        raise NoSchemeError(as_of, history.versions[0].effective_from if len(history) else None,
                            source)
    return scheme


def is_in(expr: pl.Expr, values: pl.Series) -> pl.Expr:
    """Membership in a Series of the same type (the unambiguous Polars 2 spelling)."""
    return expr.is_in(values.implode())


# --- as-of independent preparation ---------------------------------------------------------

def prepare(data: LedgerData, history: CatalogueHistory) -> Prepared:
    """Sort the events once and attach their rule numbers and calendar ends."""
    book = RuleBook.build(history)
    events = data.events
    if not events["event_id"].is_sorted():  # ties in the sort below keep event-id order
        events = events.sort("event_id")
    if events.height:
        first = day_number(events["occurred_on"].min())  # type: ignore[arg-type]
        last = day_number(events["occurred_on"].max())  # type: ignore[arg-type]
    else:
        first = last = 0
    table = DayTable(first, last)
    frame, order = _in_kernel_order(events, data.indicators, book, first)
    # one lazy query: Polars computes independent columns side by side
    lazy = _rule_columns(frame.lazy(), data, book, table)
    extra = _order_columns(book, table)
    frame = (lazy.with_columns(extra) if extra else lazy).collect()
    frame = frame.with_columns(**_settled(frame, book, table))
    return restore(data, history, frame, order.keys, table, events=events, book=book)


def _settled(frame: pl.DataFrame, book: RuleBook, table: DayTable) -> dict[str, pl.Series]:
    """Steps 3–4 as on a date when no objection suspends an event: ``ref0`` (standing and
    within its limit) and ``nominal0`` (the points its rule, limit and escalation give).

    Limits and escalation look only at earlier events of the same resident and indicator
    (kernel order), so for an event on or before the as-of date they do not depend on
    which later events are future: on any date with nothing suspended, an event counts
    exactly when ``ref0``, it has happened, and it is neither lifted nor expired
    (`_counted`). Done once here (and kept with the prepared frame), not at every date."""
    settled = _in_order(frame.lazy().with_columns(standing=~pl.col("voided")), book, table)
    return settled.select(ref0="ref", nominal0=_nominal(settled)).collect().to_dict()


def restore(data: LedgerData, history: CatalogueHistory, frame: pl.DataFrame,
            keys: pl.Series, table: DayTable, *, events: pl.DataFrame | None = None,
            lexical: pl.Series | None = None, book: RuleBook | None = None) -> Prepared:
    """`Prepared` from a frame `prepare` made (now, or earlier and kept: the cache of
    `scoring.prepared`) and the rest of the ledger's rows as ``data`` holds them.

    ``keys`` are the ledger's resident numbers by ``rix``. Without ``events`` (a frame kept
    from earlier) only whole-ledger results can be evaluated, not each event's row."""
    residents = pl.DataFrame({"resident": keys}).select(
        rix=pl.int_range(pl.len(), dtype=pl.Int32), resident_id=data.resident_ids())
    if lexical is None:
        lexical = residents["resident_id"].arg_sort().cast(pl.Int32).rename("rix")
    objections = data.objections.filter(pl.col("outcome").ne_missing("upheld")).select(
        "event_id", "objection_id", filed=pl.col("filed_on").cast(pl.Int32),
        decided=pl.col("decided_on").cast(pl.Int32))
    return Prepared(history, book or RuleBook.build(history), table, frame, residents,
                    lexical, events, data.indicators, objections, data.consents,
                    keys.cast(pl.Int32))


def _in_kernel_order(events: pl.DataFrame, indicators: tuple[str, ...], book: RuleBook,
                     first: int) -> tuple[pl.DataFrame, Order]:
    """The events sorted by (resident, indicator, day, event id), with rule-book codes."""
    # the ledger's indicator numbers → the rule book's (-1: no version defines it)
    to_book = pl.Series([book.codes.get(i, -1) for i in indicators] or [-1], dtype=pl.Int32)
    # one chunk per column: gathers from chunked columns (one per import) are slower
    columns = events.select(
        "event_id", "points", "resident", ic=pl.lit(to_book).gather(pl.col("code")).fill_null(-1),
        day=pl.col("occurred_on").cast(pl.Int32)).rechunk()
    order = order_events(columns["resident"], columns["ic"], columns["day"], first,
                         len(book.indicators))
    frame = pl.DataFrame({
        "row": order.row, "rix": order.rix, "ic": order.ic, "day": order.day,
        "event_id": columns["event_id"].gather(order.row),
        "points": columns["points"].gather(order.row),
    })
    return frame, order


def _rule_columns(lazy: pl.LazyFrame, data: LedgerData, book: RuleBook, table: DayTable
                  ) -> pl.LazyFrame:
    """Each event's version, rule row (``rkey``), kind, lift and expiry day, void and the
    points its rule gives before limits and escalation: nothing here depends on as-of."""
    rules, first = book.rules, table.first
    n_ind = max(len(book.indicators), 1)
    version = pl.lit(-1, dtype=pl.Int32)
    for start in book.starts:
        version = version + (pl.col("day") >= start).cast(pl.Int32)
    upheld = data.objections.filter(pl.col("outcome") == "upheld")["event_id"]
    voided_ids = pl.concat([data.voids["event_id"], upheld]).unique()
    lift = data.lifts.group_by("event_id").agg(lift_day=pl.col("lifted_on").min().cast(
        pl.Int32))
    ends = table.ends(book.durations)
    new_res = (pl.col("rix") != pl.col("rix").shift()).fill_null(True)
    return lazy.with_columns(
        v=version,
        new_res=new_res,
        new_grp=(new_res | (pl.col("ic") != pl.col("ic").shift())).fill_null(True),
    ).with_columns(
        rkey=pl.when((pl.col("v") >= 0) & (pl.col("ic") >= 0)).then(
            pl.col("v") * n_ind + pl.col("ic")),
    ).with_columns(
        defined=pl.lit(rules["defined"]).gather(pl.col("rkey")).fill_null(False),
        kind=pl.lit(rules["kind"]).gather(pl.col("rkey")),
        lift_day=_lookup(pl.col("event_id"), lift["event_id"], lift["lift_day"], pl.Int32),
        exp_day=pl.lit(ends).gather(pl.lit(rules["expires"]).gather(pl.col("rkey"))
                                    * table.span + pl.col("day") - first)
        if len(ends) else pl.lit(None, dtype=pl.Int32),
    ).with_columns(
        voided=is_in(pl.col("event_id"), voided_ids) | ~pl.col("defined"),
        rule_pts=_rule_points(rules),
    )


def _order_columns(book: RuleBook, table: DayTable) -> list[pl.Expr]:
    """What limits and escalation need: group numbers, window ends, period keys."""
    extra = []
    if book.uses("window") or book.uses("lim_per"):  # limits and escalation need groups
        extra.append(pl.col("new_grp").cast(pl.Int64).cum_sum().alias("grp"))
    for window in book.uses("window"):  # where each occurrence's escalation window ends
        extra.append(pl.lit(table.end(book.durations[window])).gather(
            pl.col("day") - table.first).alias(f"wend_{window}"))
    for period in book.uses("lim_per"):
        extra.append(period_key(pl.col("day"), period, table).alias(f"pkey_{period}"))
    return extra


def _rule_points(rules: pl.DataFrame) -> pl.Expr:
    """What each event is worth by its rule before limits and escalation (as-of free).

    A points_range event carries its own points, kept inside the range of its rule (with
    none, the rule's mildest end stands in)."""
    rule_pts = pl.lit(rules["pts"]).gather(pl.col("rkey"))
    ranged = pl.coalesce(pl.col("points").clip(pl.lit(rules["lo"]).gather(pl.col("rkey")),
                                               pl.lit(rules["hi"]).gather(pl.col("rkey"))),
                         rule_pts)
    return pl.when(pl.col("kind") == KIND_RANGE).then(ranged).otherwise(rule_pts)


def _lookup(key: pl.Expr, keys: pl.Series, values: pl.Series, dtype: Any) -> pl.Expr:
    """A value per row from a small (key → value) table; null where the key is absent."""
    if keys.len() == 0:
        return pl.lit(None, dtype=dtype)
    return key.replace_strict(keys, values, default=None, return_dtype=dtype)


# --- as-of dependent evaluation: steps 1–5 -------------------------------------------------

def evaluate(prep: Prepared, as_of: date, detail: bool = True,
             tally: bool = False, lists: bool = False) -> ScoreResult:
    """Steps 1–9 at one as-of date over prepared events (``tally``, ``lists``: see
    `ScoreResult`)."""

    scheme = scheme_at(prep.history, as_of)
    a = day_number(as_of)
    frame, residents = prep.frame, prep.residents
    extra: list[str] = []  # scored residents who have no event (consent participation)
    if scheme.policy.participation == "consent":
        scored = _consenting(prep.consents, as_of)
        residents = residents.join(scored, on="resident_id", how="semi", maintain_order="left")
        frame = frame.filter(is_in(pl.col("rix"), residents["rix"]))
        extra = scored.join(prep.residents, on="resident_id", how="anti")[
            "resident_id"].to_list()

    # Step 2: standing events (voids and undefined rules were marked by `prepare`).
    suspended = pl.lit(False)
    suspended_by = pl.lit(None, dtype=pl.Int64)  # the pending objection, for explain
    pending = pl.Series("event_id", [], dtype=pl.Int64)
    if scheme.policy.objection_suspends and prep.objections.height:
        objections = prep.objections.filter(
            (pl.col("filed") <= a) & (pl.col("decided").is_null() | (pl.col("decided") > a)))
        pending = objections["event_id"]
        suspended = is_in(pl.col("event_id"), pending)
        if detail:
            first = objections.group_by("event_id").agg(pl.col("objection_id").min())
            suspended_by = _lookup(pl.col("event_id"), first["event_id"],
                                   first["objection_id"], pl.Int64)
    if detail:
        # Steps 2–5 are one lazy query per stretch, so Polars runs independent columns on
        # both cores and skips what nothing reads.
        standing = _standing(frame.lazy(), [pl.col("day") > a, suspended]).with_columns(
            suspended_by=suspended_by)
        frame = _judged(_in_order(standing, prep.book, prep.table), a).collect()
    else:
        frame = _counted(frame, prep, a, pending)
    result = totals(prep, scheme, as_of, frame, residents, extra, detail, lists)
    if tally:
        result = replace(result, counting=_counting(frame, prep))
    return result


def _counting(frame: pl.DataFrame, prep: Prepared) -> pl.DataFrame:
    """The counting events (statuses counted and capped) with their rule's names, as Enums
    (indicators sorted, versions in history order): millions of rows are grouped by them,
    which costs seconds as text and a fraction as categories."""
    book = prep.book
    indicators = list(book.indicators or ("",))
    labels = [v.version for v in book.versions] or [""]
    names = pl.Series(indicators, dtype=pl.Enum(indicators))
    versions = pl.Series(labels, dtype=pl.Enum(list(dict.fromkeys(labels))))
    return frame.lazy().filter(pl.col("counting")).select(
        indicator=pl.lit(names).gather(pl.col("ic")),
        version=pl.lit(versions).gather(pl.col("v")),
        points=pl.col("pts"), who=pl.col("rix")).collect()


def _standing(frame: pl.LazyFrame, flags: list[pl.Expr]) -> pl.LazyFrame:
    future, suspended = flags
    return frame.with_columns(future=future, suspended=suspended).with_columns(
        standing=~(pl.col("voided") | pl.col("future") | pl.col("suspended")))


def _in_order(frame: pl.LazyFrame, book: RuleBook, table: DayTable) -> pl.LazyFrame:
    """Steps 3–4 on the sorted events: over-limit flags and escalation values."""
    rules = book.rules
    over = pl.lit(False)
    rank: pl.Expr | None = None  # each standing event's place in its limit period
    periods = book.uses("lim_per")
    if periods:
        frame = frame.with_columns(
            lim_count=pl.lit(rules["lim_count"]).gather(pl.col("rkey")),
            lim_per=pl.lit(rules["lim_per"]).gather(pl.col("rkey")),
            _cs=pl.col("standing").cast(pl.Int32).cum_sum(),
        )
        for period in periods:
            # Rank among standing events of the same resident, indicator and period:
            # standing events so far minus those before the period's first row.
            key = pl.col(f"pkey_{period}")
            run_start = pl.col("new_grp") | (key != key.shift()).fill_null(True)
            before = pl.when(run_start).then(
                pl.col("_cs") - pl.col("standing").cast(pl.Int32)).forward_fill()
            here = pl.col("standing") & (pl.col("lim_per") == period)
            rank = pl.when(here).then(pl.col("_cs") - before).otherwise(rank) \
                if rank is not None else pl.when(here).then(pl.col("_cs") - before)
        frame = frame.with_columns(lim_rank=rank)
        over = (pl.col("lim_rank") > pl.col("lim_count")).fill_null(False)
    frame = frame.with_columns(over=over).with_columns(
        ref=pl.col("standing") & ~pl.col("over"))
    if not (rules["kind"] == KIND_ESCALATION).any():
        return frame

    # Escalation: n = 1 + earlier standing, non-over-limit occurrences (inside the window).
    # Occurrences of one indicator id count together across versions, so every event of an
    # indicator that escalates in some version is an occurrence, whatever its own rule.
    escalating = [book.codes[i] for i in book.indicators if any(
        i in v.indicators and v.indicators[i].escalation for v in book.versions)]
    occ = (pl.col("ref") & pl.col("ic").is_in(escalating)).cast(pl.Int64)
    frame = frame.with_columns(_occ=occ).with_columns(
        _cr=pl.col("_occ").cum_sum() - pl.col("_occ")).with_columns(
        _n=pl.col("_cr") - pl.when(pl.col("new_grp")).then(pl.col("_cr")).forward_fill() + 1,
        _w=pl.lit(rules["window"]).gather(pl.col("rkey")),
    )
    windows = book.uses("window")
    if windows:
        frame = frame.collect().lazy()  # the searches below need the counts as Series
        query = frame.select(pl.col("grp") * _SHIFT + (pl.col("day") - table.first)
                             ).collect().to_series()
        for w in windows:
            # Window ends of earlier occurrences never decrease within a group, so those
            # still inside (end after this event's date) are a suffix: one search finds it.
            ends = frame.filter(pl.col("_occ") == 1).select(
                pl.col("grp") * _SHIFT + (pl.col(f"wend_{w}") - table.first)
            ).collect().to_series()
            passed = ends.search_sorted(query, side="right").cast(pl.Int64)
            frame = frame.with_columns(_n=pl.when(pl.col("_w") == w).then(
                pl.col("_cr") - passed + 1).otherwise(pl.col("_n")))
    escalates = pl.col("kind") == KIND_ESCALATION
    step = pl.when(escalates).then(
        pl.col("rkey").cast(pl.Int64) * book.max_steps
        + pl.min_horizontal(pl.col("_n"), pl.lit(rules["esc_len"]).gather(pl.col("rkey"))) - 1)
    return frame.with_columns(esc=pl.lit(book.escalation_steps).gather(step))


def _nominal(frame: pl.LazyFrame) -> pl.Expr:
    """What an event is worth after steps 3–4: its rule's points, or its escalation step's;
    nothing when it is over its limit or its indicator is undefined."""
    points = pl.col("rule_pts")
    if "esc" in frame.collect_schema().names():
        points = pl.when(pl.col("kind") == KIND_ESCALATION).then(pl.col("esc")).otherwise(
            points)
    return pl.when(pl.col("defined") & ~pl.col("over")).then(points).otherwise(0).cast(
        pl.Int64)


# the judged columns steps 6–9 read when no event's own row is wanted
TOTALS_COLUMNS = ("rix", "ic", "v", "rkey", "day", "row", "event_id", "counting", "pts")


def counts_on(a: int) -> pl.Expr:
    """Step 5 from the settled columns (`_settled`) on day ``a`` with nothing suspended:
    within its limit, occurred by then, and neither lifted nor expired by then."""
    return (pl.col("ref0") & (pl.col("day") <= a) & ~(pl.col("lift_day") <= a).fill_null(False)
            & ~(pl.col("exp_day") <= a).fill_null(False))


def _counted(frame: pl.DataFrame, prep: Prepared, a: int, pending: pl.Series
             ) -> pl.DataFrame:
    """Steps 2–5 without each event's reasons: whether each event counts on day ``a`` and
    its points, from the settled columns of `prepare` (`_settled`).

    An event an objection suspends changes its own standing and, through limits and
    escalation, the later events of its resident and indicator: those groups alone are
    judged again in full (`_in_order`) and put back in place."""
    lazy = frame.lazy().with_columns(counting=counts_on(a)).with_columns(
        pts=pl.when(pl.col("counting")).then(pl.col("nominal0")).otherwise(0))
    if not pending.len():
        return lazy.select(TOTALS_COLUMNS).collect()
    counted = lazy.with_columns(
        at=pl.int_range(pl.len(), dtype=pl.Int64),
        group=pl.col("new_grp").cast(pl.Int64).cum_sum()).collect()
    touched = counted.filter(is_in(pl.col("event_id"), pending))["group"].unique()
    again = counted.lazy().filter(is_in(pl.col("group"), touched))
    standing = _standing(again, [pl.col("day") > a, is_in(pl.col("event_id"), pending)])
    judged = _judged(_in_order(standing, prep.book, prep.table), a).select(
        "at", "counting", "pts").collect()
    return counted.select(
        *[c for c in TOTALS_COLUMNS if c not in ("counting", "pts")],
        counting=counted["counting"].scatter(judged["at"], judged["counting"]),
        pts=counted["pts"].scatter(judged["at"], judged["pts"]))


def _judged(frame: pl.LazyFrame, a: int) -> pl.LazyFrame:
    """Nominal points (steps 3–4) and counting (step 5) of each event."""
    return frame.with_columns(
        nominal=_nominal(frame),
        lifted=(pl.col("lift_day") <= a).fill_null(False),
        expired=(pl.col("exp_day") <= a).fill_null(False),
    ).with_columns(
        counting=pl.col("ref") & ~pl.col("lifted") & ~pl.col("expired"),
    ).with_columns(
        pts=pl.when(pl.col("counting")).then(pl.col("nominal")).otherwise(0),
    )


def _consenting(consents: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Residents whose consent is in force on as-of: the day's fact (rules.day)."""
    return consenting(consents, as_of)
