"""Lists beside the score (SPEC §4a): who is on which list on a date, and why.

Works on the kernel's prepared events (`Prepared`): their day, the day each stops counting
(expiry or lift) and whether a void or an upheld objection took them out, all as-of free;
then, at the date, standing (a pending objection suspends), over-limit where a count list
needs it, and the listings themselves, every black list in one pass as frame operations:

- entry by indicators: every standing event of a named indicator starts a listing;
- with ``count``: every standing, not over-limit event that is the count-th (or later) of
  the named indicators inside ``within`` (windows measured forwards, found by one search
  over the window ends, which never decrease within a resident);
- each listing ends on the earliest of entry + ``lasts``, the day its event stops counting
  (``ends_with_event``) and the decision of a granted repair dated on or after its start
  (one search over the repairs);
- overlapping (or touching) listings of a resident merge; the one in force on the date is
  reported with its earliest ``since``, every entering event, and its end.

One pass: the standing events of every list's indicators are filtered from the prepared
frame once; each list's entering events are numbered by a key (list number × residents +
resident) and put one list after another, so that a single scan merges them (a cumulative
max of packed (key, end)), a single grouping gathers each key's listing in force, and one
lookup in the prepared resident-id order sorts the rows, with no string touched until the
resident ids of the rows found.

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
_SHIFT = 2**32       # packs (key, day) into one sortable Int64
_NEVER = 2**31 - 1   # the end of a listing that has none yet
_KEYS = 2**31 - 1    # (list, resident) keys below this pack with a day into one Int64


def listings(prep: Prepared, repairs: pl.DataFrame, as_of: date,
             only: str | None = None, scored: ScoreResult | None = None) -> pl.DataFrame:
    """Every listing in force on ``as_of`` (LISTINGS_SCHEMA), sorted by list and resident.

    ``repairs`` is `LedgerData.repairs` (as known at known-at); ``only`` keeps one list.
    ``scored``: the caller's own `evaluate(prep, as_of, lists=True)`, whose red lists are
    taken as they are (else red lists cost an evaluation here).
    """
    scheme = scheme_at(prep.history, as_of)
    chosen = [v for k, v in sorted(scheme.lists.items()) if only is None or k == only]
    black = [v for v in chosen if v.kind == "black"]
    red = [v for v in chosen if v.kind == "red"]
    parts: dict[str, pl.DataFrame] = {}  # each list's rows, in resident-id order
    n = prep.residents.height
    together = max(1, _KEYS // max(n, 1))  # lists whose (list, resident) keys pack in 31 bits
    for start in range(0, len(black) if prep.frame.height else 0, together):
        batch = black[start:start + together]
        found = _black(prep, scheme, batch, repairs, day_number(as_of))
        # the rows come by list number: each list's are one slice (no copy)
        bounds = (found["key"] // n).search_sorted(
            pl.Series(range(len(batch) + 1), dtype=pl.Int64))
        for lix, item in enumerate(batch):
            parts[item.id] = found.slice(bounds[lix], bounds[lix + 1] - bounds[lix]
                                         ).with_columns(list=pl.lit(item.id))
    if red:
        granted = _red(prep, as_of, scored)
        for item in red:
            parts[item.id] = granted.filter(pl.col("list") == item.id)
    empty = pl.DataFrame(schema=LISTINGS_SCHEMA)
    return pl.concat([empty, *(parts[k].select(*LISTINGS_SCHEMA) for k in sorted(parts))])


def _standing(prep: Prepared, scheme: Catalogue, a: int, black: list[CreditList]
              ) -> pl.LazyFrame:
    """The standing events (step 2, at the date) of the lists' indicators, in kernel order,
    with ``stop`` (the day the event stops counting; null: never), ``ic`` when there are
    several lists and ``over`` (step 3) when one counts."""
    names = {i for item in black for i in item.entry.indicators}
    codes = pl.Series([prep.book.codes[i] for i in sorted(names) if i in prep.book.codes],
                      dtype=pl.Int32)
    mine = is_in(pl.col("ic"), codes)
    standing = ~pl.col("voided") & (pl.col("day") <= a)
    if scheme.policy.objection_suspends and prep.objections.height:
        pending = prep.objections.filter(
            (pl.col("filed") <= a) & (pl.col("decided").is_null() | (pl.col("decided") > a)))
        standing = standing & ~is_in(pl.col("event_id"), pending["event_id"])
    frame = prep.frame.lazy()
    # only the columns the lists need are carried through the filter: it is most of the cost
    columns = ["rix", "day", "event_id"] + (["ic"] if len(black) > 1 else [])
    if any(item.entry.count for item in black):
        columns.append("over")
        if prep.book.uses("lim_per"):
            # whole (resident, indicator) groups are kept, so limit ranks are the kernel's own
            frame = _in_order(frame.filter(mine).with_columns(standing=standing), prep.book,
                              prep.table).filter(pl.col("standing"))
        else:
            frame = frame.filter(mine & standing).with_columns(over=pl.lit(False))
    else:
        frame = frame.filter(mine & standing)
    return frame.select(*columns, stop=pl.min_horizontal("exp_day", "lift_day"))


def _black(prep: Prepared, scheme: Catalogue, black: list[CreditList],
           repairs: pl.DataFrame, a: int) -> pl.DataFrame:
    """Every black list's listings in force on day ``a``, by (list, resident id): one pass.

    Each list's entering events are numbered by ``key`` = list number × residents +
    resident, so the lists' pieces, one after another, are merged, cut by repairs and
    grouped together (one frame, one scan, one grouping) rather than once per list."""
    events = _standing(prep, scheme, a, black)
    table, first, residents = prep.table, prep.table.first, prep.residents.height
    pieces = []
    for lix, item in enumerate(black):
        codes = pl.Series([prep.book.codes[i] for i in item.entry.indicators
                           if i in prep.book.codes], dtype=pl.Int32)
        # one list alone is entered by every event _standing kept
        entering = events if len(black) == 1 else events.filter(is_in(pl.col("ic"), codes))
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
        pieces.append(entering.select(
            key=pl.col("rix").cast(pl.Int64) + lix * residents, day="day",
            event_id="event_id", end=end.cast(pl.Int32)))
    cut = _repaired(pl.concat(pieces), prep, repairs, black)
    merged = _merged(cut.filter(pl.col("end").is_null() | (pl.col("end") > pl.col("day"))), a,
                     len(black) * residents)
    # into (list, resident id) order with no sort: each key's row, looked up in the order of
    # every list's residents by id (the prepared resident-id order, once per list)
    at = pl.repeat(-1, len(black) * residents, dtype=pl.Int32, eager=True)
    at.scatter(merged["key"], pl.int_range(merged.height, dtype=pl.Int32, eager=True))
    at = pl.concat([at.slice(lix * residents, residents).gather(prep.lexical)
                    for lix in range(len(black))])
    merged = merged.rechunk()[at.filter(at >= 0)]  # gathers from one chunk are far quicker
    number = (pl.col("key") // residents).cast(pl.Int32)  # the list's, in ``black``
    return merged.select(
        "key", resident_id=pl.lit(prep.residents["resident_id"]).gather(
            pl.col("key") % residents),
        since=pl.col("since").cast(pl.Date),
        until=pl.when(pl.col("until") < _NEVER).then(pl.col("until")).cast(pl.Date),
        entered_by=pl.col("entered_by"),
        repair=pl.col("repair") if "repair" in merged.columns
        else pl.lit(None, dtype=pl.Int64),
        measures=_measures(prep, scheme, a, black, number, pl.col("since")))


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


def _repaired(pieces: pl.LazyFrame, prep: Prepared, repairs: pl.DataFrame,
              black: list[CreditList]) -> pl.LazyFrame:
    """End each listing on the first granted repair of its list decided on or after its
    start, named in a ``repair`` column (rows in (key, day) order, kept so); without granted
    repairs, the pieces as they are."""
    if not repairs.height:
        return pieces
    lists = {item.id: lix for lix, item in enumerate(black)}
    granted = repairs.filter(is_in(pl.col("list_id"), pl.Series(list(lists), dtype=pl.String))
                             & (pl.col("outcome") == "granted")
                             & pl.col("decided_on").is_not_null())
    if not granted.height:  # no repair column: nothing to carry through the merge
        return pieces
    n = prep.residents.height
    rows = pieces.collect()
    granted = granted.join(prep.residents, on="resident_id", how="inner").select(
        key=pl.col("list_id").replace_strict(lists, return_dtype=pl.Int64) * n + pl.col("rix"),
        rday=pl.col("decided_on").cast(pl.Int32), repair=pl.col("repair_id").cast(pl.Int64)
    ).sort("key", "rday", "repair")
    # (key, day) packed: the first repair at or after a row's is found by one search, and
    # is the row's when it has the row's key (one past the last: none)
    packed = granted.select(pl.col("key") * _SHIFT + pl.col("rday")).to_series()
    at = packed.search_sorted(rows.select(pl.col("key") * _SHIFT + pl.col("day")).to_series(),
                              side="left")
    found = {c: pl.concat([granted[c], pl.Series([None], dtype=granted[c].dtype)]).gather(at)
             for c in granted.columns}
    cut = (pl.lit(found["key"]) == pl.col("key")).fill_null(False) & (
        pl.col("end").is_null() | (pl.lit(found["rday"]) <= pl.col("end")))
    return rows.lazy().with_columns(
        end=pl.when(cut).then(pl.lit(found["rday"])).otherwise(pl.col("end")),
        repair=pl.when(cut).then(pl.lit(found["repair"])))


def _merged(pieces: pl.LazyFrame, a: int, keys: int) -> pl.DataFrame:
    """Merge overlapping or touching listings of each key (rows sorted by key, day, event
    id; every key below ``keys``); keep the merged listing in force on day ``a``: one row
    per key, in key order, with ``since`` and ``until`` as day numbers.

    Every entering event is on or before ``a``, so only a key's last merged listing can be
    in force: earlier ones ended before a later one started."""
    rows = pieces.collect()
    key = pl.col("key") * _SHIFT
    # (key, day) packed: the furthest end so far within a key is one cumulative max over
    # packed ends (a later key's are all larger), and a row starts a listing when it is
    # past the reach before it (a key's first row always is: that reach is a smaller key's)
    scan = rows.lazy().with_columns(_reach=(key + pl.col("end").fill_null(_NEVER)).cum_max()
                                    ).with_columns(
        _starts=(key + pl.col("day") > pl.col("_reach").shift()).fill_null(True))
    # a row is in its key's last merged listing when no later row of the key starts one:
    # the least key starting a listing after the row is then a later key's
    scan = scan.filter(pl.when(pl.col("_starts")).then(pl.col("key")).shift(-1).fill_null(
        keys).cum_min(reverse=True) != pl.col("key"))
    # in day order a listing starts on its first row and reaches furthest on its last
    aggs = [pl.col("day").first().alias("since"), pl.col("_reach").last().alias("until"),
            pl.col("event_id").alias("entered_by")]
    if "repair" in rows.columns:
        # the pieces ending where the listing does that a repair cut all hold the repair
        # found there
        aggs.append(pl.col("repair").filter(
            key + pl.col("end") == pl.col("_reach").max()).drop_nulls().first())
    first = (pl.col("key") != pl.col("key").shift()).fill_null(True)
    if not rows.select((first | (pl.col("event_id") > pl.col("event_id").shift())).all()
                       ).item():
        # entered_by in event-id order: the rows' own order when ids follow dates (as
        # they usually do), else one sort, and the listing's bounds by min and max
        scan = scan.sort("key", "event_id")
        aggs[:2] = [pl.col("day").min().alias("since"), pl.col("_reach").max().alias("until")]
    return scan.with_columns(pl.col("key").set_sorted()).group_by(
        "key", maintain_order=True).agg(aggs).with_columns(
        until=pl.col("until") - pl.col("key") * _SHIFT).filter(pl.col("until") > a).collect()


def _red(prep: Prepared, as_of: date, scored: ScoreResult | None) -> pl.DataFrame:
    """Red lists among the residents scored on the date, granted as rewards are (step 9,
    tested by the evaluation itself: `ScoreResult.red`), by (list, resident id)."""
    if scored is None or scored.red is None or scored.as_of != as_of:
        scored = evaluate(prep, as_of, detail=False, lists=True)
    assert scored.red is not None  # evaluate(lists=True) always sets it
    return scored.red.select(
        "list", "resident_id",
        since=pl.lit(as_of, dtype=pl.Date), until=pl.lit(None, dtype=pl.Date),
        entered_by=pl.lit([], dtype=pl.List(pl.Int64)), repair=pl.lit(None, dtype=pl.Int64),
        measures=pl.lit([], dtype=pl.List(pl.String)))


def _measures(prep: Prepared, scheme: Catalogue, a: int, black: list[CreditList],
              lix: pl.Expr, since: pl.Expr) -> pl.Expr:
    """Each black listing's measures in force on day ``a`` from its list number and start
    day: sanctions on its list, within their ``lasts`` (a sanction is on a black list only).

    A sanction with ``lasts`` applies to listings that started on or after the first day
    whose end (day + lasts, never decreasing) is after ``a``; so a list's measures in
    force are its measures without ``lasts`` and those whose first day the listing's start
    has reached. Their sets, a few per list, are spelled out once and each row gathers its
    own by list and count (building a list per row cost a third of the listings)."""
    table = prep.table
    sets: list[list[str]] = []
    code: pl.Expr = pl.lit(0, dtype=pl.Int32)
    for n, item in enumerate(black):
        mine = sorted((sid, s) for sid, s in scheme.list_sanctions.items()
                      if s.on_list == item.id)
        always = [sid for sid, s in mine if s.lasts is None]
        # each timed measure's first day of the calendar that still has it in force
        timed = sorted((table.first + table.end(s.lasts).search_sorted(a, side="right"), sid)
                       for sid, s in mine if s.lasts is not None)
        reached = pl.lit(0, dtype=pl.Int32)
        for day, _ in timed:
            reached = reached + (since >= day).cast(pl.Int32)
        code = pl.when(lix == n).then(len(sets) + reached).otherwise(code)
        sets += [sorted(always + [sid for _, sid in timed[:k]]) for k in range(len(timed) + 1)]
    return pl.lit(pl.Series(sets, dtype=pl.List(pl.String))).gather(code)


def listings_of(data: Any, history: CatalogueHistory, as_of: date,
                only: str | None = None) -> pl.DataFrame:
    """`listings` straight from `LedgerData` (prepares the events first)."""
    return listings(prepare(data, history), data.repairs, as_of, only)
