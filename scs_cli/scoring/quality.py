"""The counts a report's data-quality section is computed from, small enough to keep.

Every data-quality figure (`report.quality`) is a sum over events grouped by when they were
recorded, which agency reported them and the day they occurred, or looks at the agency of
the few events voided, lifted or objected to. Those counts are made once from the decoded
events (agency and all: five million strings at 5M events) and kept beside the prepared
frame (`scoring.prepared`), so a report on rows counted before decodes no agency at all.
None of them depends on the as-of date: a figure filters them by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from scs_cli.core.frames import LedgerData

DAYS_SCHEMA = {"import": pl.Int32, "agency": pl.String, "occurred_on": pl.Date,
               "events": pl.Int64}
TOUCHED_SCHEMA = {"event_id": pl.Int64, "agency": pl.String, "occurred_on": pl.Date}


@dataclass(frozen=True)
class QualityCounts:
    """Events per (import, agency, day), and the agency of each event a void, lift or
    objection names."""

    # import: the event's range in the recorded ranges sorted by first event id (null: in
    # none); agency (null: none); occurred_on; events
    days: pl.DataFrame
    # event_id, agency, occurred_on of every event voided, lifted or objected to
    touched: pl.DataFrame

    def recorded_by(self, as_of: date) -> int:
        """The events that occurred on or before ``as_of``."""
        return int(self.days.filter(pl.col("occurred_on") <= as_of)["events"].sum())


def ranges_text(ranges: pl.DataFrame | None) -> str:
    """The boundaries of the recorded ranges the counts are made over (what a kept
    count's `import` numbers), as text for a key; their recording times are not in it:
    figures read those from the ranges as given each time."""
    if ranges is None:
        return "no ranges"
    bounds = ranges.select("first_event_id", "last_event_id").sort("first_event_id")
    return " ".join(f"{a}-{b}" for a, b in bounds.iter_rows())


def quality_counts(data: LedgerData, ranges: pl.DataFrame | None) -> QualityCounts:
    """Count ``data``'s decoded events (with their `agency`) by import range of
    ``ranges`` (`Source.recorded`), agency and day; and name the agency of each event
    ``data``'s voids, lifts and objections touch."""
    events = data.events.select("event_id", "occurred_on",
                                pl.col("agency").cast(pl.String) if "agency" in
                                data.events.columns else pl.lit(None, pl.String).alias("agency"))
    number = pl.lit(None, pl.Int32)
    if ranges is not None and ranges.height:
        bounds = ranges.sort("first_event_id")
        # each event's import: the last range starting at or before its id (no sort, no
        # join), if the id is not past that range's end
        pos = (pl.lit(bounds["first_event_id"]).search_sorted(pl.col("event_id"), side="right")
               .cast(pl.Int32) - 1)
        end = pl.lit(bounds["last_event_id"]).gather(pos.clip(0))
        number = pl.when((pos >= 0) & (pl.col("event_id") <= end)).then(pos)
    days = (events.lazy().group_by(number.alias("import"), "agency", "occurred_on")
            .agg(events=pl.len()).sort("import", "agency", "occurred_on", nulls_last=True)
            .select([pl.col(c).cast(t) for c, t in DAYS_SCHEMA.items()]).collect())
    ids = pl.concat([data.voids["event_id"], data.lifts["event_id"],
                     data.objections["event_id"]]).unique()
    touched = events.filter(pl.col("event_id").is_in(ids.implode())).select(
        [pl.col(c).cast(t) for c, t in TOUCHED_SCHEMA.items()])
    return QualityCounts(days, touched)
