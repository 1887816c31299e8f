"""An exported dataset folder as a `Source`, and `open_source`: which kind a path is.

`open_source(path)` is the one place that looks at a path and decides: a folder is a city's
dataset (`DatasetFolder`, read by `scale.dataset.Dataset`), anything else a ledger file
(`ledger.source.LedgerFile`). Scoring, explaining and reporting then ask the `Source` the same
questions of either, as known at a time (docs/architecture.md, "Where the rows come from").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import TracebackType

import polars as pl

from scs_cli.core.errors import UsageError
from scs_cli.core.frames import LedgerData
from scs_cli.ledger.chain import Head
from scs_cli.ledger.reads import LedgerNotes
from scs_cli.ledger.source import LedgerFile, Source
from scs_cli.ledger.store import Ledger
from scs_cli.rules.model import AdoptedCatalogue, CatalogueHistory
from scs_cli.scale.dataset import Dataset, DatasetError, history_of


def open_source(path: str | Path, *, head: str | None = None) -> Source:
    """The ledger file or dataset folder at ``path``, opened and checked; a dataset with
    ``head`` (a published ROWS:HASH) is proven row by row against it (`scale.proof`)."""
    if Path(path).is_dir():
        return DatasetFolder(Dataset.open(path, head=head))
    if head is not None:
        raise UsageError(f"--head proves a dataset folder, and {path} is not one; a ledger "
                         "is proven by `scs ledger verify LEDGER --head ROWS:HASH`",
                         "verify the ledger, then score it")
    return LedgerFile.open(path)


class DatasetFolder:
    """A dataset folder (written by `scs ledger export --format parquet`) as a `Source`.

    The frames are the ones `Ledger.scoring_data(known_at)` gives for the ledger it was
    exported from: the cut at known-at is `scale.dataset`'s, the one Spark's tasks make too.
    """

    kind = "dataset"

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.path = dataset.path
        self.city_id = dataset.city_id
        self.city_name = dataset.city_name

    @property
    def ledger(self) -> Ledger | None:
        return None  # a read-only copy: no saved runs, nothing written

    def adopted(self, known_at: datetime | None = None) -> list[AdoptedCatalogue]:
        return self.dataset.adopted(known_at)

    def history(self, known_at: datetime | None = None) -> CatalogueHistory:
        return history_of(self.adopted(known_at))

    def data(self, known_at: datetime | None = None, *, sources: bool = False,
             events: bool = True) -> LedgerData:
        # always with the events: a dataset's frames have no fingerprint to cache them by
        data = self.dataset.read(known_at)
        if not sources:
            return data
        words = self._event_sources()
        named = data.events.join(words, on="event_id", how="left", maintain_order="left")
        return LedgerData(named, data.voids, data.lifts, data.objections, data.consents,
                          data.residents, data.indicators, data.repairs)

    def _event_sources(self) -> pl.DataFrame:
        folder = self.dataset.file("events")
        try:
            return pl.scan_parquet(folder / "bucket=*" / "*.parquet", hive_partitioning=True
                                   ).select("event_id", "agency", "reference").collect()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DatasetError(self.path, f"events cannot be read: "
                               f"{str(exc).splitlines()[0]}", "export the ledger again"
                               ) from None

    def resident(self, resident_id: str, known_at: datetime | None = None
                 ) -> tuple[LedgerData, LedgerNotes]:
        data = self.data(known_at, sources=True).for_residents([resident_id])
        events = data.events["event_id"].implode()
        reasons = self._seen("voids", known_at).filter(pl.col("event_id").is_in(events))
        grounds = self._seen("objections", known_at).filter(pl.col("event_id").is_in(events))
        return data, LedgerNotes(
            dict(reasons.select("event_id", "reason").iter_rows()),
            dict(grounds.select("objection_id", "grounds").iter_rows()))

    def _seen(self, table: str, known_at: datetime | None) -> pl.DataFrame:
        frame = self.dataset.table(table)
        return frame if known_at is None else frame.filter(pl.col("recorded_at") <= known_at)

    def head(self, known_at: datetime | None = None) -> Head:
        """The head published with the export: the dataset holds no older one, so asked
        about a moment before its last row it still answers the exported head."""
        return self.dataset.head

    def recorded(self, known_at: datetime) -> pl.DataFrame:
        """From the imports table: each import's events have consecutive ids and one
        recording time (what the ledger's `event_batches` give, import by import)."""
        imports = self._seen("imports", known_at).filter(pl.col("imported") > 0)
        return imports.sort("first_event_id").select(
            pl.col("first_event_id").cast(pl.Int64), pl.col("last_event_id").cast(pl.Int64),
            pl.col("recorded_at").dt.convert_time_zone("UTC"))

    def close(self) -> None:
        pass

    def __enter__(self) -> DatasetFolder:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
