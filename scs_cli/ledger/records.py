"""What the ledger's changes and queries hand back: plain frozen records, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl


@dataclass(frozen=True)
class ImportResult:
    file: str
    import_id: int
    rows: int  # data rows read from the file
    imported: int
    duplicates: int
    rejected: int
    first_event_id: int | None
    last_event_id: int | None
    rejects_file: str | None
    recorded_at: str
    # every row skipped as a duplicate, in file order: `line`, and the `event_id` it
    # duplicates (a frame: a file imported again may skip millions)
    skipped: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"line": pl.Int64, "event_id": pl.Int64}), repr=False)
    indicators: tuple[str, ...] = ()  # the indicators of the events imported, sorted
    notices: tuple[str, ...] = ()  # warnings the import stands despite (`reporter_notices`)


@dataclass(frozen=True)
class ObjectionStatus:
    objection_id: int
    event_id: int
    resident_id: str
    indicator: str
    filed_on: date
    grounds: str
    age_days: int
    due_on: date | None  # filed_on + the policy's objection_deadline (None: no deadline)
    overdue: bool
    recorded_at: str
