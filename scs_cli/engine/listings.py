"""Lists beside the score (SPEC §4a): who is on which list on a date, and why.

Works on the kernel's prepared events (`Prepared`): their day, the day each stops counting
(expiry or lift) and whether a void or an upheld objection took them out, all as-of free;
then, at the date, standing (a pending objection suspends), over-limit where a count list
needs it, and the listings themselves, list by list, as frame operations:

- entry by indicators: every standing event of a named indicator starts a listing;
- with ``count``: every standing, not over-limit event that is the count-th (or later) of
  the named indicators inside ``within`` (windows measured forwards, found by one search
  over the window ends, which never decrease within a resident);
- each listing ends on the earliest of entry + ``lasts``, the day its event stops counting
  (``ends_with_event``) and the decision of a granted repair dated on or after its start
  (one as-of join);
- overlapping (or touching) listings of a resident merge; the one in force on the date is
  reported with its earliest ``since``, every entering event, and its end.

A red list is granted like a reward (step 9): the kernel's evaluation tests it beside the
rewards (``evaluate(..., lists=True)``), so a caller that scores and lists evaluates once.
Nothing here changes a score or a tier.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from scs_cli.engine.kernel import _in_order, evaluate, is_in, prepare, scheme_at
from scs_cli.engine.results import Prepared, ScoreResult
from scs_cli.engine.rulebook import day_number
from scs_cli.rules.model import Catalogue, CatalogueHistory, CreditList

LISTINGS_SCHEMA: dict[str, Any] = {
    "list": pl.String, "resident_id": pl.String, "since": pl.Date, "until": pl.Date,
    "entered_by": pl.List(pl.Int64), "repair": pl.Int64, "measures": pl.List(pl.String),
}
_SHIFT = 2**32       # packs (resident, day offset) into one sortable Int64
_NEVER = 2**31 - 1   # the end of a listing that has none yet


def listings(prep: Prepared, repairs: pl.DataFrame, as_of: date,
             only: str | None = None, scored: ScoreResult | None = None) -> pl.DataFrame:
    """Every listing in force on ``as_of`` (LISTINGS_SCHEMA), sorted by list and resident.

    ``repairs`` is `LedgerData.repairs` (as known at known-at); ``only`` keeps one list.
    ``scored``: the caller's own `evaluate(prep, as_of, lists=True)`, whose red lists are
    taken as they are (else red lists cost an evaluation here).
    """
    scheme = scheme_at(prep.history, as_of)
    chosen = [v for k, v in sorted(scheme.lists.items()) if only is None or k == only]
    parts: dict[str, pl.DataFrame] = {}  # each list's rows, in resident-id order
    black = [v for v in chosen if v.kind == "black"]
    if black and prep.frame.height:
        events = _standing(prep, scheme, day_number(as_of), black)
        place = prep.lexical.arg_sort()  # each resident's place in resident-id order
        for item in black:
            parts[item.id] = _black(prep, item, events, repairs, day_number(as_of), place)
    red = [v for v in chosen if v.kind == "red"]
    if red:
        granted = _red(prep, as_of, scored)
        for item in red:
            parts[item.id] = granted.filter(pl.col("list") == item.id)
    columns = [c for c in LISTINGS_SCHEMA if c != "measures"]
    empty = pl.DataFrame(schema={c: LISTINGS_SCHEMA[c] for c in columns})
    found = pl.concat([empty, *(parts[k].select(columns) for k in sorted(parts))],
                      how="vertical_relaxed")
    return _measures(prep, scheme, as_of, found).select(
        [pl.col(c).cast(t) for c, t in LISTINGS_SCHEMA.items()])


def _standing(prep: Prepared, scheme: Catalogue, a: int, black: list[CreditList]
              ) -> pl.DataFrame:
    """The events of the lists' indicators with ``standing`` (step 2, at the date),
    ``over`` (step 3) and ``stop`` (the day the event stops counting; null: never)."""
    names = {i for item in black for i in item.entry.indicators}
    codes = pl.Series([prep.book.codes[i] for i in sorted(names) if i in prep.book.codes],
                      dtype=pl.Int32)
    # whole (resident, indicator) groups are kept, so limit ranks are the kernel's own
    frame = prep.frame.lazy().filter(is_in(pl.col("ic"), codes))
    suspended = pl.lit(False)
    if scheme.policy.objection_suspends and prep.objections.height:
        pending = prep.objections.filter(
            (pl.col("filed") <= a) & (pl.col("decided").is_null() | (pl.col("decided") > a)))
        suspended = is_in(pl.col("event_id"), pending["event_id"])
    frame = frame.with_columns(
        standing=~(pl.col("voided") | (pl.col("day") > a) | suspended))
    needs_over = any(item.entry.count for item in black) and prep.book.uses("lim_per")
    frame = _in_order(frame, prep.book, prep.table) if needs_over else frame.with_columns(
        over=pl.lit(False))
    return frame.select(
        "rix", "ic", "day", "event_id", "standing", "over",
        stop=pl.min_horizontal("exp_day", "lift_day")).collect()


def _black(prep: Prepared, item: CreditList, events: pl.DataFrame, repairs: pl.DataFrame,
           a: int, place: pl.Series) -> pl.DataFrame:
    """One black list's listings in force on day ``a``."""
    table, first = prep.table, prep.table.first
    codes = pl.Series([prep.book.codes[i] for i in item.entry.indicators
                       if i in prep.book.codes], dtype=pl.Int32)
    entering = events.lazy().filter(pl.col("standing") & is_in(pl.col("ic"), codes))
    if item.entry.count is not None and item.entry.within is not None:
        entering = _counted(entering, prep, item.entry.count, table.end(item.entry.within))
    elif codes.len() > 1:  # the events come by (resident, indicator, day): one list's order
        entering = entering.sort("rix", "day", "event_id")
    ends = []
    if item.lasts is not None:
        ends.append(pl.lit(table.end(item.lasts)).gather(pl.col("day") - first))
    if item.ends_with_event:
        ends.append(pl.col("stop"))
    end = pl.min_horizontal(ends) if ends else pl.lit(None, dtype=pl.Int32)
    pieces = _repaired(entering.select("rix", "day", "event_id", end=end.cast(pl.Int32)),
                       prep, repairs, item.id)
    merged = _merged(pieces.filter(pl.col("end").is_null() | (pl.col("end") > pl.col("day"))),
                     a)
    # into resident-id order by each resident's place in it (no text is sorted)
    return merged.sort(pl.lit(place).gather(pl.col("rix"))).select(
        list=pl.lit(item.id),
        resident_id=pl.lit(prep.residents["resident_id"]).gather(pl.col("rix")),
        since=pl.col("since"), until=pl.col("until"), entered_by=pl.col("entered_by"),
        repair=pl.col("repair"))


def _counted(frame: pl.LazyFrame, prep: Prepared, count: int, window_end: pl.Series
             ) -> pl.LazyFrame:
    """The events that are the count-th or later of their resident's counted events inside
    the window (an earlier one is inside when its date + window is after this one's)."""
    first = prep.table.first
    ordered = frame.filter(~pl.col("over")).sort("rix", "day", "event_id").with_columns(
        wend=pl.lit(window_end).gather(pl.col("day") - first)).collect()
    ends = ordered.select(pl.col("rix").cast(pl.Int64) * _SHIFT + pl.col("wend") - first
                          ).to_series()
    here = ordered.select(pl.col("rix").cast(pl.Int64) * _SHIFT + pl.col("day") - first
                          ).to_series()
    # window ends never decrease within a resident: those passed are a prefix, one search
    passed = ends.search_sorted(here, side="right").cast(pl.Int64)
    return ordered.lazy().with_columns(
        n=pl.int_range(1, pl.len() + 1, dtype=pl.Int64) - pl.lit(passed)).filter(
        pl.col("n") >= count).drop("n", "wend")


def _repaired(pieces: pl.LazyFrame, prep: Prepared, repairs: pl.DataFrame, list_id: str
              ) -> pl.LazyFrame:
    """End each listing on the first granted repair decided on or after its start."""
    granted = repairs.filter((pl.col("list_id") == list_id) & (pl.col("outcome") == "granted")
                             & pl.col("decided_on").is_not_null())
    if not granted.height:
        return pieces.with_columns(repair=pl.lit(None, dtype=pl.Int64))
    granted = granted.join(prep.residents, on="resident_id", how="inner").select(
        "rix", "repair_id", rday=pl.col("decided_on").cast(pl.Int32)).sort("rday")
    joined = pieces.sort("day").join_asof(granted.lazy(), left_on="day", right_on="rday",
                                          by="rix", strategy="forward",
                                          check_sortedness=False)  # sorted by day above
    cut = pl.col("rday").is_not_null() & (pl.col("end").is_null()
                                          | (pl.col("rday") <= pl.col("end")))
    return joined.with_columns(
        end=pl.when(cut).then(pl.col("rday")).otherwise(pl.col("end")),
        repair=pl.when(cut).then(pl.col("repair_id"))).drop("rday", "repair_id").sort(
        "rix", "day", "event_id")


def _merged(pieces: pl.LazyFrame, a: int) -> pl.DataFrame:
    """Merge overlapping or touching listings of each resident (rows sorted by resident,
    day, event id); keep the merged listing in force on day ``a``.

    Every entering event is on or before ``a``, so only a resident's last merged listing
    can be in force: earlier ones ended before a later one started."""
    packed = pl.col("rix").cast(pl.Int64) * _SHIFT + pl.col("end").fill_null(_NEVER)
    # the running furthest end within a resident: one cumulative max over packed values
    # (a later resident's packed values are all larger)
    reach = pl.col("_packed").cum_max() - pl.col("rix").cast(pl.Int64) * _SHIFT
    resident_starts = (pl.col("rix") != pl.col("rix").shift()).fill_null(True)
    last = (pl.col("rix") != pl.col("rix").shift(-1)).fill_null(True)
    rows = pieces.with_columns(_packed=packed).with_columns(_reach=reach).with_columns(
        _new=resident_starts | (pl.col("day") > pl.col("_reach").shift())).with_columns(
        _g=pl.col("_new").cum_sum()).with_columns(
        # the last merged listing of the resident, and how far it reaches
        _g_last=pl.when(last).then(pl.col("_g")).backward_fill(),
        _until=pl.when(last).then(pl.col("_reach")).backward_fill(),
    ).filter((pl.col("_g") == pl.col("_g_last")) & (pl.col("_until") > a))
    # in event-id order before grouping: one sort of the rows, where sorting each
    # resident's list of entering events took half of the merge; the pieces ending at
    # _until that a repair cut all hold the one repair the as-of join found there
    merged = rows.sort("rix", "event_id").group_by("rix", maintain_order=True).agg(
        since=pl.col("day").min(), until=pl.col("_until").first(),
        entered_by=pl.col("event_id"),
        repair=pl.col("repair").filter(pl.col("end") == pl.col("_until")).drop_nulls().first())
    return merged.with_columns(
        since=pl.col("since").cast(pl.Date),
        until=pl.when(pl.col("until") < _NEVER).then(pl.col("until")).cast(pl.Date)).collect()


def _red(prep: Prepared, as_of: date, scored: ScoreResult | None) -> pl.DataFrame:
    """Red lists among the residents scored on the date, granted as rewards are (step 9,
    tested by the evaluation itself: `ScoreResult.red`)."""
    if scored is None or scored.red is None or scored.as_of != as_of:
        scored = evaluate(prep, as_of, detail=False, lists=True)
    assert scored.red is not None  # evaluate(lists=True) always sets it
    return scored.red.select(
        "resident_id", "list",
        since=pl.lit(as_of, dtype=pl.Date), until=pl.lit(None, dtype=pl.Date),
        entered_by=pl.lit([], dtype=pl.List(pl.Int64)), repair=pl.lit(None, dtype=pl.Int64))


def _measures(prep: Prepared, scheme: Catalogue, as_of: date, found: pl.DataFrame
              ) -> pl.DataFrame:
    """Each listing's measures in force: sanctions on its list, within their ``lasts``.

    Which measures apply is a bit per sanction; the few distinct sets are spelled out once
    and joined back (building a list per row cost a third of the listings)."""
    a = day_number(as_of)
    measures = sorted(scheme.list_sanctions.items())
    if not measures or not found.height:
        return found.with_columns(measures=pl.lit([], dtype=pl.List(pl.String)))
    mask = pl.lit(0, dtype=pl.Int64)
    for bit, (_, s) in enumerate(measures):
        applies = pl.col("list") == s.on_list
        if s.lasts is not None:
            # since is an event's day (black lists), inside the prepared calendar
            end = pl.lit(prep.table.end(s.lasts)).gather(
                (pl.col("since").cast(pl.Int32) - prep.table.first).clip(
                    0, prep.table.span - 1))
            applies = applies & (pl.lit(a) < end)
        mask = mask + applies.cast(pl.Int64) * (1 << bit)
    found = found.with_columns(_mask=mask)
    masks = found["_mask"].unique().sort().to_list()
    spelled = pl.DataFrame({
        "_mask": masks,
        "measures": [[sid for bit, (sid, _) in enumerate(measures) if m >> bit & 1]
                     for m in masks]}, schema={"_mask": pl.Int64, "measures": pl.List(pl.String)})
    return found.join(spelled, on="_mask", how="left", maintain_order="left").drop("_mask")


def listings_of(data: Any, history: CatalogueHistory, as_of: date,
                only: str | None = None) -> pl.DataFrame:
    """`listings` straight from `LedgerData` (prepares the events first)."""
    return listings(prepare(data, history), data.repairs, as_of, only)
