"""A city's exported dataset, read back into the engine's frames as known at a time.

`Dataset.open` checks the folder is what `scs ledger export --format parquet` wrote (its
manifest, and every file's SHA-256), then `read(known_at)` gives the same `LedgerData`
that `Ledger.scoring_data(known_at)` gives for the ledger it came from. The cut at
known-at is made by the small pure functions below (`cut_events`, `cut_marks`,
`cut_consents`), which the Spark tasks call too: one definition of "as known at", on one
machine and on a cluster.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli.core.errors import ScsError
from scs_cli.core.frames import (
    CONSENTS_SCHEMA,
    LIFTS_SCHEMA,
    OBJECTIONS_SCHEMA,
    REPAIRS_SCHEMA,
    VOIDS_SCHEMA,
    LedgerData,
)
from scs_cli.ledger.chain import Head
from scs_cli.ledger.dataset import EVENTS_DIR, FORMAT, MANIFEST, SIDE_TABLES, VERSION
from scs_cli.rules.model import AdoptedCatalogue, CatalogueHistory
from scs_cli.rules.schema import parse_catalogue

# What the engine reads of each event; `bucket` comes from the Hive folder names.
EVENT_COLUMNS = ("event_id", "resident_id", "indicator", "occurred_on", "points",
                 "recorded_at")
CONSENT_COLUMNS = ("consent_id", "resident_id", "on_date", "consent", "recorded_at")
ENGINE_EVENTS: dict[str, Any] = {"event_id": pl.Int64, "resident_id": pl.String,
                                 "indicator": pl.String, "occurred_on": pl.Date,
                                 "points": pl.Int64}


class DatasetError(ScsError):
    """A folder that is not a readable scs dataset."""

    def __init__(self, path: str | Path, message: str, fix: str = ""):
        super().__init__(f"{path}: {message}" + (f" ({fix})" if fix else ""))


@dataclass(frozen=True)
class Marks:
    """What the ledger recorded about events, cut at known-at (the engine's frames)."""

    voids: pl.DataFrame
    lifts: pl.DataFrame
    objections: pl.DataFrame


def _seen(frame: pl.DataFrame, known_at: datetime | None) -> pl.DataFrame:
    if known_at is None:
        return frame
    return frame.filter(pl.col("recorded_at") <= known_at)


def _typed(frame: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    """The schema's columns, in its order and of its types."""
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


def cut_events(events: pl.DataFrame, known_at: datetime | None) -> pl.DataFrame:
    """Events recorded by known-at, as the engine reads them, in event-id order.

    Points go from exact decimals to the engine's Int64 hundredths."""
    return _seen(events, known_at).select(
        "event_id", "resident_id", "indicator", "occurred_on",
        points=(pl.col("points") * 100).cast(pl.Int64),
    ).pipe(_typed, ENGINE_EVENTS).sort("event_id")


def cut_marks(voids: pl.DataFrame, lifts: pl.DataFrame, objections: pl.DataFrame,
              decisions: pl.DataFrame, known_at: datetime | None) -> Marks:
    """Voids, lifts and objections (with their decisions) recorded by known-at."""
    decided = _seen(decisions, known_at).select("objection_id", "decided_on", "outcome")
    filed = _seen(objections, known_at).sort("objection_id").join(
        decided, on="objection_id", how="left", maintain_order="left")
    return Marks(_typed(_seen(voids, known_at), VOIDS_SCHEMA),
                 _typed(_seen(lifts, known_at), LIFTS_SCHEMA),
                 _typed(filed, OBJECTIONS_SCHEMA))


def cut_consents(consents: pl.DataFrame, known_at: datetime | None) -> pl.DataFrame:
    """Consents and withdrawals recorded by known-at, in recording order."""
    return _typed(_seen(consents, known_at).sort("consent_id").select(
        "resident_id", on="on_date", consent="consent", seq="consent_id"), CONSENTS_SCHEMA)


def ledger_data(events: pl.DataFrame, marks: Marks, consents: pl.DataFrame,
                known_at: datetime | None) -> LedgerData:
    """The engine's frames from a dataset's events and consents (all or some buckets)."""
    return LedgerData(cut_events(events, known_at), marks.voids, marks.lifts,
                      marks.objections, cut_consents(consents, known_at))


@dataclass(frozen=True)
class Dataset:
    """One city's dataset folder, checked; use `Dataset.open`."""

    path: Path
    city_id: str
    city_name: str
    buckets: int
    manifest: dict[str, Any]

    @classmethod
    def open(cls, path: str | Path, *, check: bool = True, head: str | None = None
             ) -> Dataset:
        """Open a dataset folder; refuse, in one line, anything that is not one.

        With ``check`` the folder must hold exactly the files the manifest lists, each
        with its SHA-256, and the chain in its files must end at the manifest's head
        (`scale.proof.check_chain`). With ``head`` (a published head, ROWS:HASH or HASH)
        the chain must pass through it and every row of every file must be what the
        chain holds (`scale.proof.check_rows`): the proof that needs no trust in the
        folder."""
        folder = Path(path)
        fix = "make one with `scs ledger export LEDGER --format parquet --output DIR`"
        if not folder.is_dir():
            raise DatasetError(folder, "no such dataset folder", fix)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DatasetError(folder, f"is not an scs dataset (no {MANIFEST})", fix) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DatasetError(folder, f"{MANIFEST} cannot be read: {exc}", fix) from None
        except RecursionError:  # the json module recurses once per nested [ or {
            raise DatasetError(folder, f"{MANIFEST} cannot be read: nested too deeply",
                               fix) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DatasetError(folder, f"{MANIFEST} does not describe an scs dataset", fix)
        if manifest.get("version") != VERSION:
            raise DatasetError(folder, f"is an scs dataset of version "
                               f"{manifest.get('version')!r}; this scs reads version "
                               f"{VERSION}", "export it again with this scs")
        try:
            city = manifest["city"]
            dataset = cls(folder, str(city["id"]), str(city["name"]),
                          int(manifest["bucketing"]["buckets"]), manifest)
            dataset.head  # noqa: B018 (read now: a manifest without it is refused here)
            files = [(str(f["path"]), str(f["sha256"])) for f in manifest["files"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(folder, f"{MANIFEST} lacks {exc}", fix) from None
        if not re.fullmatch(r"[a-z0-9-]+", dataset.city_id):
            raise DatasetError(folder, f"{MANIFEST} names the city {dataset.city_id!r}, "
                               "which is not a city id ([a-z0-9-]+)", fix)
        if check or head is not None:
            from scs_cli.scale import proof

            dataset._check(files)
            _, links = proof.check_chain(dataset, _published(head), _rows_of(head))
            if head is not None:
                proof.check_rows(dataset, links)
        return dataset

    def _check(self, files: Sequence[tuple[str, str]]) -> None:
        listed = [relative for relative, _ in files]
        self._check_listing(listed)
        for relative, sha in files:
            file = self.path / relative
            if Path(relative).is_absolute() or ".." in Path(relative).parts:
                raise DatasetError(self.path, f"{MANIFEST} names a file outside the "
                                   f"dataset: {relative!r}")
            try:
                digest = hashlib.sha256(file.read_bytes()).hexdigest()
            except OSError as exc:
                raise DatasetError(self.path, f"{relative} cannot be read: "
                                   f"{exc.strerror}", "export the ledger again") from None
            if digest != sha:
                raise DatasetError(self.path, f"{relative} does not match its SHA-256 in "
                                   f"{MANIFEST} (changed since the export)",
                                   "export the ledger again")

    def _check_listing(self, listed: Sequence[str]) -> None:
        """Every file in the folder is listed in the manifest, once, and every listed one
        is there: a copied part file would be scored twice, a deleted bucket not at all."""
        fix = "export the ledger again; a dataset folder holds what the export wrote, only"
        seen: set[str] = set()
        for relative in listed:
            if relative in seen:
                raise DatasetError(self.path, f"{MANIFEST} lists {relative} twice", fix)
            seen.add(relative)
        present = sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                         if not p.is_dir() and p.name != MANIFEST)
        for relative in present:
            if relative not in seen:
                raise DatasetError(self.path, f"{relative} is not listed in {MANIFEST} (a "
                                   "file added after the export would be read as data)", fix)
        for relative in listed:
            if not (self.path / relative).is_file():
                raise DatasetError(self.path, f"{relative}, listed in {MANIFEST}, is missing "
                                   "(its rows would be silently left out)", fix)

    @property
    def head(self) -> Head:
        """The head of the ledger's hash chain when it was exported (what was published)."""
        head = self.manifest["ledger"]["head"]
        return Head(int(head["rows"]), str(head["hash"]))

    # --- tables -------------------------------------------------------------------------

    def file(self, table: str) -> Path:
        """The file (or, for events, the folder) of a table."""
        return self.path / (EVENTS_DIR if table == "events" else f"{table}.parquet")

    def table(self, name: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """One of the tables beside the events (`ledger.dataset.SIDE_TABLES`)."""
        assert name in SIDE_TABLES, name
        try:
            return pl.read_parquet(self.file(name), columns=list(columns) if columns else None)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DatasetError(self.path, f"{name}.parquet cannot be read: "
                               f"{str(exc).splitlines()[0]}", "export the ledger again"
                               ) from None

    def events(self, known_at: datetime | None = None) -> pl.DataFrame:
        """Every event recorded by known-at, all buckets (the columns the engine reads)."""
        folder = self.file("events")
        if not any(folder.glob("bucket=*/*.parquet")):
            return pl.DataFrame(schema={c: t for c, t in _EVENT_TYPES.items()})
        try:
            scan = pl.scan_parquet(folder / "bucket=*" / "*.parquet", hive_partitioning=True)
            if known_at is not None:
                scan = scan.filter(pl.col("recorded_at") <= known_at)
            return scan.select(EVENT_COLUMNS).collect()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DatasetError(self.path, f"events cannot be read: "
                               f"{str(exc).splitlines()[0]}", "export the ledger again"
                               ) from None

    def adopted(self, known_at: datetime | None = None) -> list[AdoptedCatalogue]:
        """The adopted catalogue versions recorded by known-at, in adoption order."""
        rows = _seen(self.table("catalogues"), known_at).sort("catalogue_id")
        adopted = []
        for number, city, text, sha in rows.select("catalogue_id", "city_id", "text",
                                                   "sha256").iter_rows():
            if hashlib.sha256(text.encode()).hexdigest() != sha:
                raise DatasetError(self.path, f"catalogues.parquet: catalogue {number}'s "
                                   "text does not match its sha256", "export the ledger again")
            if city != self.city_id:
                raise DatasetError(self.path, f"catalogues.parquet: catalogue {number} is of "
                                   f"city {city!r}, but the dataset is of {self.city_id!r}",
                                   "a dataset holds one city's catalogues only")
            adopted.append(AdoptedCatalogue(
                parse_catalogue(text, f"{self.path}:catalogues/{number}"), text, sha))
        return adopted

    def marks(self, known_at: datetime | None = None) -> Marks:
        return cut_marks(self.table("voids"), self.table("lifts"), self.table("objections"),
                         self.table("decisions"), known_at)

    def consents(self) -> pl.DataFrame:
        return self.table("consents", CONSENT_COLUMNS)

    def repairs(self, known_at: datetime | None = None) -> pl.DataFrame:
        """Repair applications recorded by known-at, with decisions recorded by then (a
        dataset exported before repairs existed has none)."""
        if not self.file("repairs").exists():
            return pl.DataFrame(schema=REPAIRS_SCHEMA)
        decided = _seen(self.table("repair_decisions"), known_at).select(
            "repair_id", "decided_on", "outcome")
        filed = _seen(self.table("repairs"), known_at).sort("repair_id").join(
            decided, on="repair_id", how="left", maintain_order="left")
        return _typed(filed, REPAIRS_SCHEMA)

    def read(self, known_at: datetime | None = None) -> LedgerData:
        """The engine's frames as known at known-at: what the ledger's scoring_data gives."""
        data = ledger_data(self.events(known_at), self.marks(known_at), self.consents(),
                           known_at)
        return replace(data, repairs=self.repairs(known_at))


_EVENT_TYPES: dict[str, Any] = {"event_id": pl.Int64, "resident_id": pl.String,
                                "indicator": pl.String, "occurred_on": pl.Date,
                                "points": pl.Decimal(18, 2),
                                "recorded_at": pl.Datetime("us", "UTC")}


def _published(head: str | None) -> str | None:
    """The hash of a published head given as ROWS:HASH or HASH."""
    if head is None:
        return None
    from scs_cli.ledger.stats import published_head

    return published_head(head)


def _rows_of(head: str | None) -> int | None:
    """The ROWS of a head given as ROWS:HASH (None: given as HASH alone)."""
    rows = (head or "").strip().rpartition(":")[0]
    return int(rows) if rows.isascii() and rows.isdigit() else None


def history_of(adopted: Sequence[AdoptedCatalogue]) -> CatalogueHistory:
    return CatalogueHistory(a.catalogue for a in adopted)
