"""The report's data-quality section: what a careful analyst checks before trusting it.

Every figure is computed from the small counts of `scoring.quality` (events per import,
agency and day; the agency of each voided, lifted or objected-to event), made from the
decoded events when they were read, or read back from beside the prepared frame, and
from the residents' numbers and days of the prepared frame (heavy residents): never
from a per-event text column, so a report on rows counted before decodes no agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from scs_cli.core.frames import LedgerData
from scs_cli.report.suppression import count, hide, protect
from scs_cli.scoring.quality import QualityCounts, quality_counts

LATE_DAYS = 365            # an event recorded more than a year after it occurred
BURST_FACTOR = 10          # a day with more than 10× the agency's median daily count
HEAVY_QUANTILE = 0.999     # residents above the 99.9th percentile of events per resident…
HEAVY_MIN_EVENTS = 50      # …and with more than 50 events
MAX_BURSTS = 20
NO_AGENCY = "(no agency)"


@dataclass(frozen=True)
class SavedRun:
    """The last saved score run: when it scored, and each resident's tier then."""

    as_of: date
    tiers: pl.DataFrame            # resident_id String, tier String
    run_id: int | None = None
    known_at: datetime | None = None


@dataclass(frozen=True)
class QualityInput:
    """What the data-quality section reads: known before anything is scored, so it can be
    computed beside the scoring (`batch.read_city`)."""

    data: LedgerData
    as_of: date
    recorded: pl.DataFrame | None = None
    last_run: SavedRun | None = None
    # the counts (`prepared_rows(…, quality=…)`); None: counted now from `data.events`
    counts: QualityCounts | None = None
    # each event's resident (`who`) and day number (`day`): the prepared frame's `rix` and
    # `day`, in resident order; None: taken from `data.events`
    residents: pl.DataFrame | None = None


def quality_section(inp: QualityInput, public: bool) -> dict[str, Any]:
    """The data-quality section of one city's report (docs/report.md, "Data quality")."""
    counts = inp.counts or quality_counts(inp.data, inp.recorded)
    days = counts.days.filter(pl.col("occurred_on") <= inp.as_of)
    warnings: list[str] = []
    return {
        "late_recorded": _late(inp, days, public, warnings),
        "recorded_after_run": _after_run(inp, days, public, warnings),
        "bursts": _bursts(days, public, warnings),
        "heavy_residents": _heavy(_residents(inp), inp.as_of, public, warnings),
        "by_agency": _by_agency(inp, counts, days, public, warnings),
        "warnings": warnings,
    }


def _agency(name: str | None) -> str:
    return NO_AGENCY if name is None else name


def _say(n: int | None) -> str:
    return "Fewer than 5" if n is None else f"{n:,}"


def _late(inp: QualityInput, days: pl.DataFrame, public: bool,
          warnings: list[str]) -> dict[str, Any]:
    """Events recorded more than `LATE_DAYS` after they occurred, by agency, after the
    ledger's first import.

    The first import of a new ledger is its history, recorded years after the fact by
    nature: counting it made the warning fire on every new ledger (on all of the demo's
    events), so it said nothing. Those events are counted apart, as the backfill; a late
    event in any later import is an agency reporting late, and is warned about."""
    late: dict[str, Any] = {"threshold_days": LATE_DAYS, "available": False, "events": None,
                            "by_agency": [], "suppressed": False, "backfill_events": None}
    if inp.recorded is None:
        return late
    # the counts number imports in this order (`scoring.quality`)
    ranges = inp.recorded.sort("first_event_id")
    recorded_on = pl.lit(ranges["recorded_at"].dt.date()).gather(pl.col("import"))
    late_all = days.filter(pl.col("import").is_not_null()).filter(
        (recorded_on - pl.col("occurred_on")).dt.total_days() > LATE_DAYS)
    lagged = late_all.filter(pl.col("import") > 0)  # the first import (0) is the backfill
    backfill = int(late_all["events"].sum()) - int(lagged["events"].sum())
    late["backfill_events"] = backfill if not public or not protect([backfill])[0] else None
    per = lagged.group_by("agency").agg(pl.col("events").sum().alias("n")).sort(
        ["n", "agency"], descending=[True, False], nulls_last=True)
    names = [_agency(a) for a in per["agency"].to_list()]
    values = [int(v) for v in per["n"].to_list()]
    marks = protect([*values, sum(values)]) if public else [False] * (len(values) + 1)
    late.update(available=True, events=None if marks[-1] else sum(values),
                suppressed=marks[-1],
                by_agency=[hide({"agency": a, "events": n}, m, ("events",))
                           for a, n, m in zip(names, values, marks, strict=False)])
    if values:
        total = int(days["events"].sum())
        share = (f" ({late['events'] / total:.0%} of all)"
                 if late["events"] is not None and total else "")
        warnings.append(f"{_say(late['events'])} events{share} were recorded more than "
                        f"{LATE_DAYS} days after they occurred, in imports after the ledger's "
                        "first (agencies reporting late, or old records found since)")
    return late


def _bursts(days: pl.DataFrame, public: bool, warnings: list[str]) -> dict[str, Any]:
    """Days on which one agency's count is far above its usual (median) day."""
    per_day = (days.lazy().group_by("agency", "occurred_on").agg(pl.col("events").sum()
                                                                 .alias("n"))
               .with_columns(pl.col("n").median().over("agency").alias("median")).collect())
    bursts = per_day.filter(pl.col("n") > BURST_FACTOR * pl.col("median")).with_columns(
        (pl.col("n") / pl.col("median")).alias("ratio")).sort(
        ["ratio", "n", "agency", "occurred_on"], descending=[True, True, False, False])
    rows = []
    for agency, day, n, median, _ in bursts.head(MAX_BURSTS).iter_rows():
        events, mark = count(int(n), public)
        rows.append({"agency": _agency(agency), "date": day, "events": events,
                     "median_daily": median if events is not None else None,
                     "suppressed": mark})
    if bursts.height:
        warnings.append(f"{bursts.height:,} agency-days had more than {BURST_FACTOR}× the "
                        "agency's median daily count of events (a campaign, or a batch "
                        "dated on one day)")
    return {"factor": BURST_FACTOR, "agency_days": bursts.height, "days": rows}


def _residents(inp: QualityInput) -> pl.DataFrame:
    """Each event's resident number and day number (`QualityInput.residents`)."""
    if inp.residents is not None:
        return inp.residents
    return inp.data.events.select(who="resident", day=pl.col("occurred_on").cast(pl.Int32))


def _heavy(residents: pl.DataFrame, as_of: date, public: bool,
           warnings: list[str]) -> dict[str, Any]:
    """How many residents have implausibly many events (never who)."""
    # runs of equal resident numbers: sorting integers (a no-op in the prepared frame's
    # resident order) is several times faster than grouping strings
    who = residents.filter(pl.col("day") <= (as_of - date(1970, 1, 1)).days)["who"]
    if not who.is_sorted():
        who = who.sort()
    per_res = who.rle().struct.field("len")
    cutoff = float(HEAVY_MIN_EVENTS)
    if per_res.len():
        cutoff = max(float(per_res.quantile(HEAVY_QUANTILE, "linear") or 0), cutoff)
    heavy_n, heavy_mark = count(int((per_res > cutoff).sum()), public)
    if heavy_n or heavy_mark:
        warnings.append(f"{_say(heavy_n)} residents have more than {cutoff:,.0f} events "
                        "each (duplicated records, or one id shared by several people)")
    return {"quantile": HEAVY_QUANTILE, "min_events": HEAVY_MIN_EVENTS,
            "threshold": round(cutoff, 2), "residents": heavy_n, "suppressed": heavy_mark}


def _by_agency(inp: QualityInput, counts: QualityCounts, days: pl.DataFrame, public: bool,
               warnings: list[str]) -> list[dict[str, Any]]:
    """Events, voids, lifts, objections and upheld objections per recording agency."""
    data = inp.data
    # the few events that were voided, lifted or objected to, with their agency
    agency_of = counts.touched.filter(pl.col("occurred_on") <= inp.as_of).select(
        "event_id", "agency")
    objs = data.objections.join(agency_of, on="event_id")
    columns = {"voids": data.voids.join(agency_of, on="event_id"),
               "lifts": data.lifts.join(agency_of, on="event_id"), "objections": objs,
               "upheld": objs.filter(pl.col("outcome") == "upheld")}
    tallies = {"events": {_agency(a): n for a, n in days.group_by("agency").agg(
        pl.col("events").sum()).iter_rows()}}
    tallies.update({name: {_agency(a): n for a, n in frame.group_by("agency").len().iter_rows()}
                    for name, frame in columns.items()})
    rows: list[dict[str, Any]] = [
        {"agency": a, **{k: int(tallies[k].get(a, 0)) for k in tallies}, "suppressed": False}
        for a in sorted(tallies["events"])]
    for key in tallies:  # each column adds up to a total shown elsewhere
        marks = protect([r[key] for r in rows]) if public else [False] * len(rows)
        for row, mark in zip(rows, marks, strict=True):
            if mark:
                row[key] = None
                row["suppressed"] = row["suppressed"] or mark
    for row in rows:
        if row["events"] and row["voids"] and row["voids"] > 0.05 * row["events"]:
            warnings.append(f"agency {row['agency']}: {row['voids']:,} of {row['events']:,} "
                            "events were voided (more than 5%)")
    return rows


def _after_run(inp: QualityInput, days: pl.DataFrame, public: bool,
               warnings: list[str]) -> dict[str, Any]:
    """Events recorded after the last saved run that occurred on or before its date: the
    run, as saved, no longer says what the ledger now says about that date."""
    found: dict[str, Any] = {"run_id": None, "as_of": None, "events": None,
                             "suppressed": False}
    run = inp.last_run
    if run is None or run.known_at is None or inp.recorded is None:
        return found
    ranges = inp.recorded.sort("first_event_id")  # as the counts number them
    later = ranges.with_row_index("import").filter(pl.col("recorded_at") > run.known_at)
    n = int(days.filter(pl.col("import").is_in(later["import"].cast(pl.Int32).implode())
                        & (pl.col("occurred_on") <= run.as_of))["events"].sum())
    hidden = protect([n])[0] if public else False
    found.update(run_id=run.run_id, as_of=run.as_of, events=None if hidden else n,
                 suppressed=hidden)
    if n:
        ident = f"run {run.run_id}" if run.run_id is not None else "the saved run"
        warnings.append(f"{_say(found['events'])} events recorded after {ident} was saved "
                        f"occurred on or before its date ({run.as_of}): the run no longer "
                        f"matches what the ledger says about {run.as_of} (scoring that date "
                        "again would count them)")
    return found
