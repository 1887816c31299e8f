"""The numbers of a batch report, as one JSON-ready document per city.

`city_figures` turns what the ledger and the engine produced (frames, never per-resident
Python loops) into plain dicts and lists: the same document is written as `report.json`
and rendered as HTML, Markdown and charts, so the three always show the same figures.

Resident ids never leave this module: every figure is a count, a sum or a share.
With ``public`` every count below `SMALL` is hidden (``null``), and so is, in any group of
counts whose total the report also shows, at least one more cell, so that a hidden count
cannot be worked out by subtraction (see `protect`).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from scs_cli.core.frames import LedgerData
from scs_cli.report.quality import QualityInput, SavedRun, quality_section
from scs_cli.report.suppression import SMALL, protect
from scs_cli.report.suppression import count as _count
from scs_cli.report.suppression import hide as _hide
from scs_cli.rules.day import objections_on
from scs_cli.rules.listing import reward_condition
from scs_cli.rules.model import Catalogue, CatalogueHistory, Reward, from_cents
from scs_cli.scoring.quality import QualityCounts, quality_counts

FORMAT_VERSION = 1
COUNTING = ("counted", "capped")
NOT_IN_RUN = "(not in saved run)"
NOT_SCORED = "(not scored now)"


@dataclass(frozen=True)
class AdoptedVersion:
    """One adopted catalogue version as the headline lists it."""

    version: str
    effective_from: date
    sha256: str | None = None


@dataclass(frozen=True)
class CityInput:
    """Everything one city's report is computed from (the ledger is read once for it)."""

    scheme: Catalogue                      # the version in force on as_of
    history: CatalogueHistory
    adopted: tuple[AdoptedVersion, ...]
    as_of: date
    known_at: datetime
    data: LedgerData                       # as the ledger gave it to the engine
    residents: pl.DataFrame                # engine: resident_id, score, tier, rewards, sanctions
    events: pl.DataFrame | None            # engine: indicator, version, points, status, …
    monthly: dict[date, pl.DataFrame]      # month end → tier, a row per resident scored
    last_run: SavedRun | None = None
    # runs saved for the as-of date or later: never compared with (it would compare the
    # month with itself), but the page says they exist rather than "no saved run"
    runs_not_before: int = 0
    # when events were recorded: first_event_id, last_event_id, recorded_at (UTC Datetime)
    recorded: pl.DataFrame | None = None
    # `events` already summed by `counted` (so the per-event frame can be freed early)
    summary: Counted | None = None
    # the ledger head (rows, hash) as known at known_at: the history the report was made from
    ledger_head: tuple[int, str] | None = None
    # who is listed on as_of (engine.listings), when the scheme keeps lists
    listed: pl.DataFrame | None = None
    # the data-quality section being computed beside the scoring: (public, its future)
    quality: tuple[bool, Future[dict[str, Any]]] | None = None
    # the data-quality counts (`scoring.quality`); None: counted from `data.events`
    counts: QualityCounts | None = None
    # each event's resident and day number from the prepared frame (`quality.QualityInput`)
    kernel_residents: pl.DataFrame | None = None


# --- small helpers -----------------------------------------------------------------------

CENT = Decimal("0.01")


def _points(hundredths: int | None) -> Decimal | int | None:
    """Hundredths as an exact number (the JSON writer never passes it through a float)."""
    if hundredths is None:
        return None
    return _num(from_cents(int(hundredths)))


def _num(value: Decimal | None) -> Decimal | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else value


def _share(part: int | None, whole: int) -> float | None:
    return None if part is None or not whole else round(part / whole, 4)


def month_ends(as_of: date, months: int = 12) -> list[date]:
    """The last ``months`` month ends on or before ``as_of``, oldest first."""
    ends: list[date] = []
    year, month = as_of.year, as_of.month
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    end = date.fromordinal(first_next.toordinal() - 1)
    if end > as_of:  # as_of is inside its month: start from the previous month's end
        end = date.fromordinal(date(year, month, 1).toordinal() - 1)
    while len(ends) < months:
        ends.append(end)
        end = date.fromordinal(date(end.year, end.month, 1).toordinal() - 1)
    return sorted(ends)


def _tier_counts(frame: pl.DataFrame) -> dict[str, int]:
    if frame.is_empty():
        return {}
    grouped = frame.group_by("tier").agg(pl.len().alias("n"))
    return dict(zip(grouped["tier"].to_list(), grouped["n"].to_list(), strict=True))


def _distinct_by_runs(rows: pl.LazyFrame, of_code: pl.Expr, n_categories: int
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(ind, who: distinct residents) and (cat, who: distinct residents) of ``rows`` whose
    ``who`` are 32-bit resident numbers, without hashing millions of rows.

    The engine gives its counting events in kernel order (resident, indicator, day): the
    distinct residents of an indicator are its runs of one resident, when the rows are in
    that order (checked: else counted by hashing). A resident's categories are not
    contiguous: (resident, category) pairs are packed in one integer each, sorted (a
    plain integer sort) and counted where the value changes."""
    who = pl.col("who").cast(pl.Int64)
    starts = ((pl.col("who") != pl.col("who").shift()) | (pl.col("ind") != pl.col("ind").shift())
              ).fill_null(True)
    base = n_categories + 1  # the last code: events of no category
    pairs = rows.filter(starts | (pl.col("ver") != pl.col("ver").shift()).fill_null(True)
                        ).select("who", "ind", cat=of_code.fill_null(n_categories))
    packed = pairs.select(key=(who * base + pl.col("cat")).sort()).filter(
        (pl.col("key") != pl.col("key").shift()).fill_null(True)).group_by(
        cat=pl.col("key") % base).agg(who=pl.len()).select(
        pl.when(pl.col("cat") < n_categories).then(pl.col("cat")).cast(pl.Int32), "who")
    ordered = rows.select(((who * (1 << 32) + pl.col("ind")).diff() >= 0).all())
    per_ind = pairs.filter(starts).group_by("ind").agg(who=pl.len())
    check, cats, residents = pl.collect_all([ordered, packed, per_ind])
    if not check.item():  # not in kernel order: runs are not the distinct residents
        residents = rows.group_by("ind").agg(pl.col("who").n_unique()).collect()
    return residents, cats


# --- the sections ------------------------------------------------------------------------

def headline(inp: CityInput, public: bool, got: Counted | None = None) -> dict[str, Any]:
    got = got or _summary(inp)
    scheme = inp.scheme
    residents = inp.residents.height
    recorded = (inp.counts or quality_counts(inp.data, inp.recorded)).recorded_by(inp.as_of)
    by_version = dict(got.per_rule.group_by("version").agg(pl.col("events").sum())
                      .iter_rows())
    base = int(scheme.scale.base * 100)
    # the mean in exact hundredths: a score never passes through a float
    mean = Decimal(int(inp.residents["score"].sum())) / residents if residents else None
    res_n, res_mark = _count(residents, public)
    rec_n, rec_mark = _count(int(recorded or 0), public)
    cnt_n, cnt_mark = _count(got.total, public)
    adopted = []
    for v in inp.adopted:
        n, mark = _count(int(by_version.get(v.version, 0)), public)
        adopted.append({"version": v.version, "effective_from": v.effective_from,
                        "sha256": v.sha256, "events_counted": n, "suppressed": mark})
    mean_ok = mean is not None and res_n is not None
    return {
        "scheme": {"version": scheme.version, "effective_from": scheme.effective_from,
                   "title": scheme.title, "mode": scheme.mode,
                   "participation": scheme.policy.participation},
        "adopted": adopted,
        "base": _num(scheme.scale.base),
        "residents_scored": res_n,
        "events_recorded": rec_n,
        "events_counted": cnt_n,
        "mean_score": _num((mean / 100).quantize(CENT))
        if mean is not None and mean_ok else None,
        "mean_relative_to_base": (_num(((mean - base) / 100).quantize(CENT))
                                  if mean is not None and mean_ok else None),
        "suppressed": res_mark or rec_mark or cnt_mark,
    }


def tiers(scheme: Catalogue, frame: pl.DataFrame, public: bool) -> list[dict[str, Any]]:
    """Residents per tier of ``scheme``, best first, with shares of all scored."""
    counts = _tier_counts(frame)
    total = frame.height
    names = list(scheme.tier_names) + sorted(set(counts) - set(scheme.tier_names))
    values = [counts.get(n, 0) for n in names]
    marks = protect(values) if public else [False] * len(values)
    rows = []
    for name, n, mark in zip(names, values, marks, strict=True):
        low, high = scheme.tier_band(name) if name in scheme.tier_names else (None, None)
        rows.append(_hide({"tier": name, "min": _num(low), "below": _num(high),
                           "residents": n, "share": _share(n, total)}, mark,
                          ("residents", "share")))
    return rows


def bin_edges(scheme: Catalogue) -> tuple[int, int, int]:
    """(low, width, bins) in hundredths: fixed by the catalogue, never by the data, so
    the outermost bins do not reveal the lowest or highest score of anyone."""
    marks = [int(t.min * 100) for t in scheme.tiers if t.min is not None]
    marks.append(int(scheme.scale.base * 100))
    lo, hi = min(marks), max(marks)
    span = max(hi - lo, 10_000)
    lo, hi = lo - span // 4, hi + span // 4
    for width in (100, 200, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000,
                  100_000, 1_000_000):
        if (hi - lo) / width <= 30:
            break
    lo = (lo // width) * width
    bins = -(-(hi - lo) // width)
    return lo, width, bins


def distribution(scheme: Catalogue, frame: pl.DataFrame, public: bool) -> dict[str, Any]:
    """Residents per score bin; one open bin below and one above the fixed range."""
    lo, width, bins = bin_edges(scheme)
    if frame.height:
        idx = ((frame["score"] - lo) // width).clip(-1, bins)
        got = dict(idx.value_counts().iter_rows())
    else:
        got = {}
    values = [int(got.get(i, 0)) for i in range(-1, bins + 1)]
    marks = protect(values) if public else [False] * len(values)
    rows = []
    for i, (n, mark) in enumerate(zip(values, marks, strict=True), start=-1):
        start = None if i == -1 else _points(lo + i * width)
        end = None if i == bins else _points(lo + (i + 1) * width)
        rows.append(_hide({"from": start, "below": end, "residents": n}, mark, ("residents",)))
    return {"bin_width": _points(width), "bins": rows,
            "tier_bands": [{"tier": t.name, "min": _num(t.min)} for t in scheme.tiers]}


def monthly(inp: CityInput, public: bool) -> list[dict[str, Any]]:
    months = []
    for day in sorted(inp.monthly):
        frame = inp.monthly[day]
        scheme = inp.history.in_force(day)
        n, mark = _count(frame.height, public)
        rows = tiers(scheme, frame, public) if scheme is not None else []
        months.append({"date": day, "version": scheme.version if scheme else None,
                       "residents": n, "suppressed": mark,
                       "tiers": [{k: r[k] for k in ("tier", "residents", "share", "suppressed")}
                                 for r in rows]})
    return months


def _definitions(history: CatalogueHistory) -> pl.DataFrame:
    """(version, indicator) → category, for joining to the engine's events."""
    rows = [{"version": c.version, "indicator": i.id, "category": i.category}
            for c in history for i in c.indicators.values()]
    return pl.DataFrame(rows, schema={"version": pl.String, "indicator": pl.String,
                                      "category": pl.String}, orient="row")


@dataclass(frozen=True)
class Counted:
    """The counting events on the as-of date, summed once for every section that needs it."""

    per_rule: pl.DataFrame               # indicator, version, category, events, points
    residents: dict[str, int]            # indicator → residents with a counting event
    category_residents: dict[str | None, int]
    total: int


def counted(events: pl.DataFrame, history: CatalogueHistory) -> Counted:
    """Sum the engine's per-event rows (millions) into small tables in a few passes.

    Residents are counted by a 64-bit hash of their id: distinct-counting integers is
    several times faster than strings, and a collision among even millions of ids is
    vanishingly unlikely (it could only make a count one lower).
    """
    return tallied(events.filter(pl.col("status").is_in(COUNTING)).select(
        "indicator", "version", "points", who=pl.col("resident_id").hash()), history)


def tallied(counting: pl.DataFrame, history: CatalogueHistory) -> Counted:
    """The same from the engine's counting events (`evaluate(…, tally=True).counting`:
    indicator, version, points, who), which carry no per-event text.

    Grouped by small integer codes (the position of each indicator and version), named
    only in the small tables that come out: grouping and distinct-counting millions of
    strings took seconds of a report at 5,000,000 events."""
    defs = _definitions(history)
    indicators = sorted(set(defs["indicator"].to_list())) or [""]
    versions = list(dict.fromkeys(defs["version"].to_list())) or [""]
    categories = sorted({c for c in defs["category"].to_list() if c is not None})
    # the category of each (version, indicator), by code: it may differ between versions
    width = len(indicators)
    place = {name: n for n, name in enumerate(indicators)}
    of_rule: list[int | None] = [None] * (len(versions) * width)
    for version, indicator, category in defs.iter_rows():
        if category is not None:
            of_rule[versions.index(version) * width + place[indicator]] = \
                categories.index(category)
    rows = counting.lazy().select(
        ind=pl.col("indicator").cast(pl.Enum(indicators)).to_physical().cast(pl.Int64),
        ver=pl.col("version").cast(pl.Enum(versions)).to_physical().cast(pl.Int64),
        points="points", who="who")
    per_rule = rows.group_by("ind", "ver").agg(
        events=pl.len(), points=pl.col("points").sum(),
        magnitude=pl.col("points").abs().sum()).collect()
    of_code = pl.lit(pl.Series(of_rule, dtype=pl.Int32)).gather(pl.col("ver") * width
                                                                + pl.col("ind"))
    if counting.schema["who"] in (pl.Int32, pl.UInt32):  # resident numbers (the engine's)
        residents, cat_res = _distinct_by_runs(rows, of_code, len(categories))
    else:
        residents, cat_res = pl.collect_all([
            rows.group_by("ind").agg(pl.col("who").n_unique()),
            rows.select("who", cat=of_code).group_by("cat").agg(pl.col("who").n_unique())])
    per_rule = per_rule.select(
        indicator=pl.lit(pl.Series(indicators, dtype=pl.String)).gather(pl.col("ind")),
        version=pl.lit(pl.Series(versions, dtype=pl.String)).gather(pl.col("ver")),
        events="events", points="points", magnitude="magnitude",
    ).join(defs, on=["version", "indicator"], how="left")
    total = int(per_rule["events"].sum())
    return Counted(per_rule, {indicators[k]: int(v) for k, v in residents.iter_rows()},
                   {None if k is None else categories[k]: int(v)
                    for k, v in cat_res.iter_rows()}, total)


def _summary(inp: CityInput) -> Counted:
    if inp.summary is not None:
        return inp.summary
    if inp.events is None:
        raise ValueError("CityInput needs the engine's events or their summary")
    return counted(inp.events, inp.history)


def indicators(inp: CityInput, public: bool, got: Counted | None = None) -> dict[str, Any]:
    """Counting events, residents and points (before caps) per indicator and category."""
    got = got or _summary(inp)
    per = {r[0]: r[1:] for r in got.per_rule.group_by("indicator").agg(
        pl.col("events").sum(), pl.col("points").sum()).iter_rows()}
    names: dict[str, tuple[str, str | None]] = {}
    for cat in inp.history:  # the latest definition names it
        for ind in cat.indicators.values():
            names[ind.id] = (ind.name, ind.category)
    ids = sorted(set(inp.scheme.indicators) | set(per),
                 key=lambda i: (-(per[i][0] if i in per else 0), i))
    rows: list[dict[str, Any]] = []
    for iid in ids:
        events, points = per.get(iid, (0, 0))
        name, category = names.get(iid, (iid, None))
        rows.append({"indicator": iid, "name": name, "category": category,
                     "events": int(events), "residents": got.residents.get(iid, 0),
                     "points": _points(points)})
    marks = (protect([min(r["events"], r["residents"]) for r in rows]) if public
             else [False] * len(rows))
    rows = [_hide(r, m, ("events", "residents", "points")) for r, m in zip(rows, marks,
                                                                             strict=True)]
    per_cat = {r[0]: r[1:] for r in got.per_rule.group_by("category").agg(
        pl.col("events").sum(), pl.col("points").sum()).iter_rows()}
    cat_ids: list[str | None] = list(inp.scheme.categories)
    cat_ids += sorted(c for c in per_cat if c not in cat_ids and c is not None)
    if None in per_cat or any(i.category is None for i in inp.scheme.indicators.values()):
        cat_ids.append(None)
    cats: list[dict[str, Any]] = []
    for cid in cat_ids:
        events, points = per_cat.get(cid, (0, 0))
        cat_def = inp.scheme.categories.get(cid) if cid else None
        cats.append({"category": cid, "name": cat_def.name if cat_def else
                     (cid or "uncategorised"), "events": int(events),
                     "residents": got.category_residents.get(cid, 0),
                     "points": _points(points)})
    marks = (protect([min(r["events"], r["residents"]) for r in cats]) if public
             else [False] * len(cats))
    cats = [_hide(r, m, ("events", "residents", "points")) for r, m in zip(cats, marks,
                                                                             strict=True)]
    return {"indicators": rows, "categories": cats}


# What of a rule a counting event's points rest on: its value, and whether it still counts.
RESTING_KEYS = frozenset({"points", "points_range", "escalation", "escalation_window", "limit",
                          "expires_after"})


def provenance(inp: CityInput, public: bool, got: Counted | None = None) -> dict[str, Any]:
    """How much of what counts rests on values the catalogue marks assumed (SPEC §2).

    Points are counted in size (a deduction of 10 and an award of 10 are 20 points), before
    caps, over the counting events on the as-of date; an event rests on an assumption when
    its rule, in the version that judges it, marks its points or its expiry assumed.
    """
    got = got or _summary(inp)
    by_version = {c.version: c for c in inp.history}
    events = assumed_events = magnitude = assumed_magnitude = 0
    for indicator, version, n, size in got.per_rule.select(
            "indicator", "version", "events", "magnitude").iter_rows():
        cat = by_version.get(version)
        rule = cat.indicators.get(indicator) if cat else None
        events, magnitude = events + int(n), magnitude + int(size or 0)
        if rule is not None and rule.assumed & RESTING_KEYS:
            assumed_events += int(n)
            assumed_magnitude += int(size or 0)
    n_events, mark = _count(assumed_events, public)
    scheme = inp.scheme
    return {
        "assumed_values": len(scheme.assumptions()),
        "tier_floors_assumed": [t.name for t in scheme.tiers if "min" in t.assumed],
        "counted_points": _points(magnitude),
        "assumed_points": _points(assumed_magnitude) if n_events is not None else None,
        "assumed_events": n_events,
        "assumed_share": (round(assumed_magnitude / magnitude, 4)
                          if magnitude and n_events is not None else None),
        "suppressed": mark,
    }


def rewards_and_sanctions(inp: CityInput, public: bool) -> dict[str, list[dict[str, Any]]]:
    """Residents granted each reward / under each sanction, by tier (eligible tiers only)."""
    scheme = inp.scheme
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, column, items in (("rewards", "rewards", scheme.rewards),
                                ("sanctions", "sanctions", scheme.tier_sanctions)):
        exploded = inp.residents.select("tier", column).explode(column).drop_nulls(column)
        got = {(r[0], r[1]): int(r[2]) for r in exploded.group_by(column, "tier").agg(
            pl.len()).iter_rows()}
        rows = []
        for item in items.values():
            if isinstance(item, Reward):  # a band: min_tier or better, max_tier or worse
                best = scheme.tier_rank(item.max_tier) if item.max_tier else 0
                limit = scheme.tier_rank(item.min_tier)
                eligible = [t for t in scheme.tier_names
                            if best <= scheme.tier_rank(t) <= limit]
                condition = reward_condition(item)
            else:
                assert item.max_tier is not None  # tier_sanctions only
                limit = scheme.tier_rank(item.max_tier)
                eligible = [t for t in scheme.tier_names if scheme.tier_rank(t) >= limit]
                condition = f"tier {item.max_tier} or worse"
            values = [got.get((item.id, t), 0) for t in eligible]
            total = sum(values)
            # the total is shown as well: it is one more cell of the group
            marks = (protect([*values, total], [list(range(len(values) + 1))])
                     if public else [False] * (len(values) + 1))
            by_tier = [_hide({"tier": t, "residents": n}, m, ("residents",))
                       for t, n, m in zip(eligible, values, marks, strict=False)]
            rows.append(_hide({"id": item.id, "name": item.name,
                               "condition": condition,
                               "residents": total, "by_tier": by_tier}, marks[-1],
                              ("residents",)))
        out[kind] = rows
    return out


def transitions(inp: CityInput, public: bool) -> dict[str, Any]:
    """Residents by tier in the last saved run (rows) and now (columns)."""
    run = inp.last_run
    if run is None:
        return {"saved_run": None, "runs_not_before": inp.runs_not_before,
                "from": [], "to": [], "cells": []}
    now = inp.residents.select("resident_id", pl.col("tier").alias("to"))
    then = run.tiers.select("resident_id", pl.col("tier").alias("from"))
    joined = then.join(now, on="resident_id", how="full", coalesce=True).with_columns(
        pl.col("from").fill_null(NOT_IN_RUN), pl.col("to").fill_null(NOT_SCORED))
    got = {(r[0], r[1]): int(r[2]) for r in joined.group_by("from", "to").agg(
        pl.len()).iter_rows()}
    prev_scheme = inp.history.in_force(run.as_of)
    order = list(inp.scheme.tier_names)
    prev = [t for t in (prev_scheme.tier_names if prev_scheme else ()) if t not in order]
    seen_from = {f for f, _ in got}
    froms = [t for t in order + prev + sorted(seen_from - set(order) - set(prev))
             if t != NOT_IN_RUN] + [NOT_IN_RUN]
    tos = list(order) + sorted({t for _, t in got} - set(order) - {NOT_SCORED}) + [NOT_SCORED]
    cells = [(f, t) for f in froms for t in tos if not (f == NOT_IN_RUN and t == NOT_SCORED)]
    values = [got.get(c, 0) for c in cells]
    # both margins are published (this report's tiers, the saved run's tiers)
    groups = [[i for i, c in enumerate(cells) if c[0] == f] for f in froms]
    groups += [[i for i, c in enumerate(cells) if c[1] == t] for t in tos]
    marks = protect(values, groups) if public else [False] * len(values)
    return {
        "saved_run": {"run_id": run.run_id, "as_of": run.as_of, "known_at": run.known_at},
        "runs_not_before": inp.runs_not_before,
        "from": froms, "to": tos,
        "cells": [_hide({"from": f, "to": t, "residents": n}, m, ("residents",))
                  for (f, t), n, m in zip(cells, values, marks, strict=True)],
    }


def objections(inp: CityInput, public: bool) -> dict[str, Any]:
    """Objections pending on as-of, oldest first, and those past the decision deadline."""
    deadline = inp.scheme.policy.objection_deadline
    on_the_day = objections_on(inp.data.objections, inp.as_of, inp.scheme.policy)
    pending = [{"objection_id": int(r["objection_id"]), "filed_on": r["filed_on"],
                "age_days": int(r["age_days"]), "due_on": r["due_on"],
                "overdue": bool(r["overdue"])}
               for r in on_the_day.filter(pl.col("state") == "pending").iter_rows(named=True)]
    overdue = [p for p in pending if p["overdue"]]
    n_pending, m1 = _count(len(pending), public)
    n_overdue, m2 = _count(len(overdue), public)
    return {
        "deadline": str(deadline) if deadline else None,
        "pending": n_pending, "overdue": n_overdue,
        "oldest_age_days": (pending[0]["age_days"] if pending and n_pending is not None
                            else None),
        # a published report lists no single objection
        "pending_list": None if public else pending,
        "overdue_list": None if public else overdue,
        "suppressed": m1 or m2,
    }


def data_quality(inp: CityInput | QualityInput, public: bool) -> dict[str, Any]:
    """What a careful analyst checks before trusting the figures (`quality`)."""
    if isinstance(inp, CityInput):
        inp = QualityInput(inp.data, inp.as_of, inp.recorded, inp.last_run, inp.counts,
                           inp.kernel_residents)
    return quality_section(inp, public)


def early_figures(inp: CityInput, public: bool) -> dict[str, Any]:
    """The figures known once the as-of date is scored, before the month ends are: the
    tiers, the score distribution and the indicators (what `artist.EARLY_CHARTS` draw while
    the month ends are scored). ``inp.monthly`` is not read."""
    got = _summary(inp)
    return {"public": public, "city": _city(inp),
            "tiers": tiers(inp.scheme, inp.residents, public),
            "score_distribution": distribution(inp.scheme, inp.residents, public),
            **indicators(inp, public, got)}


def _city(inp: CityInput) -> dict[str, Any]:
    city = inp.scheme.city
    return {"id": city.id, "name": city.name, "province": city.province}


def city_figures(inp: CityInput, *, public: bool, generated_by: str,
                 quality: bool = True, early: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole report of one city as a JSON-ready document (see docs/report.md); without
    ``quality`` the caller adds ``data_quality`` (the last key) itself (`batch.write_city`:
    while the charts are drawn); ``early``: `early_figures` of the same input, computed
    before the month ends were scored, and its ``monthly`` figure if computed already."""
    got = _summary(inp)
    known = early if early is not None else early_figures(inp, public)
    return {
        "format": "scs-report",
        "format_version": FORMAT_VERSION,
        "generated_by": generated_by,
        "public": public,
        "suppression_threshold": SMALL if public else None,
        "city": known["city"],
        "as_of": inp.as_of,
        "known_at": inp.known_at,
        "ledger_head": ({"rows": inp.ledger_head[0], "hash": inp.ledger_head[1]}
                        if inp.ledger_head else None),
        "headline": headline(inp, public, got),
        "tiers": known["tiers"],
        "score_distribution": known["score_distribution"],
        "monthly": known["monthly"] if "monthly" in known else monthly(inp, public),
        "indicators": known["indicators"],
        "categories": known["categories"],
        "provenance": provenance(inp, public, got),
        **rewards_and_sanctions(inp, public),
        "transitions": transitions(inp, public),
        "objections": objections(inp, public),
        **({"data_quality": data_quality(inp, public)} if quality else {}),
    }
