"""A `Source`: where a city's ledger data comes from, as known at a time; and the ledger file.

Scoring, explaining and reporting ask the same things of a city, whatever holds it: the
catalogue versions adopted by known-at (`adopted`, `history`), the engine's frames as recorded
by known-at (`data`, or one resident's with `resident`), when each event was recorded
(`recorded`), and the head of the hash chain those rows belong to (`head`). A ledger file
(`LedgerFile`, here) and an exported dataset folder (`scale.source.DatasetFolder`) both answer
them; `scale.source.open_source(path)` is the one place that decides which a path is, so no
command branches on the kind of input.

Only a ledger file holds saved runs and can record one; a surface that needs them asks
`source.ledger` (None for a dataset) and words the refusal itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

import polars as pl

from scs_cli.core.frames import LedgerData
from scs_cli.ledger.chain import Head
from scs_cli.ledger.early import ResidentBatches
from scs_cli.ledger.reads import (
    LedgerNotes,
    recorded_ranges,
    resident_data,
    resident_notes,
    residents_data,
    residents_notes,
)
from scs_cli.ledger.store import Ledger
from scs_cli.rules.model import AdoptedCatalogue, CatalogueHistory

# Whether two threads may use one connection at once: SQLite built serialized, the usual
# build (`explain_source` reads a resident beside the catalogue versions only then).
THREADS_SHARE_A_CONNECTION = sqlite3.threadsafety == 3


class Source(Protocol):
    """A city's rows and rules as known at a time (a ledger file or a dataset folder)."""

    path: Path
    kind: str  # "ledger" or "dataset": the words a message names it by
    city_id: str
    city_name: str

    @property
    def ledger(self) -> Ledger | None:
        """The open ledger behind this source, if it is a ledger file (saved runs)."""
        ...

    def adopted(self, known_at: datetime | None = None) -> list[AdoptedCatalogue]:
        """The catalogue versions adopted by known-at, in adoption order."""
        ...

    def history(self, known_at: datetime | None = None) -> CatalogueHistory:
        """The same versions as a `CatalogueHistory` (which one is in force on a day)."""
        ...

    def data(self, known_at: datetime | None = None, *, sources: bool = False,
             events: bool = True) -> LedgerData:
        """Every row the engine needs as recorded by known-at; with ``sources`` the events
        carry their `agency` and `reference` too. ``events=False`` may leave the events
        frame empty when `LedgerData.fingerprint` names them (a ledger file: the
        prepared-frame cache stands in for them); a source may read them anyway."""
        ...

    def resident(self, resident_id: str, known_at: datetime | None = None
                 ) -> tuple[LedgerData, LedgerNotes]:
        """One resident's frames (events with their `agency`) and notes, as known at.

        `explain_source` calls it on a thread of its own while it calls `history`: a source
        answers the two at once (a ledger's connection serves both threads where
        `THREADS_SHARE_A_CONNECTION`)."""
        ...

    def head(self, known_at: datetime | None = None) -> Head:
        """The head of the hash chain these rows belong to."""
        ...

    def recorded(self, known_at: datetime) -> pl.DataFrame:
        """When events were recorded by known-at: `first_event_id`, `last_event_id` Int64 and
        `recorded_at` Datetime (UTC) ranges, in event-id order (each import's ids are
        consecutive)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Source: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class LedgerFile:
    """A ledger file as a `Source`: every read is the `Ledger`'s own, as known at."""

    kind = "ledger"

    def __init__(self, ledger: Ledger):
        self._ledger = ledger
        self.path = Path(ledger.path)
        self.city_id = ledger.city_id
        self.city_name = ledger.city_name

    @classmethod
    def open(cls, path: str | Path) -> LedgerFile:
        return cls(Ledger.open(path))

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    def adopted(self, known_at: datetime | None = None) -> list[AdoptedCatalogue]:
        return self._ledger.adopted(known_at)

    def history(self, known_at: datetime | None = None) -> CatalogueHistory:
        return self._ledger.history(known_at)

    def data(self, known_at: datetime | None = None, *, sources: bool = False,
             events: bool = True) -> LedgerData:
        return self._ledger.scoring_data(known_at, sources=sources, events=events)

    def resident(self, resident_id: str, known_at: datetime | None = None, *,
                 early: ResidentBatches | None = None) -> tuple[LedgerData, LedgerNotes]:
        # by index: one resident's rows, never the whole ledger (`scs explain` is fast);
        # ``early``: its batches read and checked before (`early.EarlyRead`)
        return (resident_data(self._ledger, resident_id, known_at, early=early),
                resident_notes(self._ledger, resident_id, known_at))

    def residents(self, resident_ids: Sequence[str], known_at: datetime | None = None
                  ) -> tuple[LedgerData, LedgerNotes]:
        """Several residents' frames and notes, as `resident` gives each, in one read: one
        pass over the batches for all of them (the statements read a bundle at a time)."""
        return (residents_data(self._ledger, resident_ids, known_at),
                residents_notes(self._ledger, resident_ids, known_at))

    def head(self, known_at: datetime | None = None) -> Head:
        return self._ledger.head(known_at)

    def recorded(self, known_at: datetime) -> pl.DataFrame:
        return recorded_ranges(self._ledger, known_at)

    def close(self) -> None:
        self._ledger.close()

    def __enter__(self) -> LedgerFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
