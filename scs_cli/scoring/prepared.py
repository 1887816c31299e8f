"""The prepared-frame cache: what `kernel.prepare` made, kept for the next score of the same rows.

Preparing is most of what scoring a large ledger costs (putting five million events in
kernel order and looking up their rules: about 0.65 s of `scs score`'s 1.7 s, measured in
BENCHMARKS.md), and none of it depends on the as-of date. A ledger is append-only, so the
same rows under the same rules prepare to the same frame: the frame is kept in a file named
by a key over everything it was made from —

- the events: `LedgerData.fingerprint`, the recorded SHA-256 of every batch read (each
  batch is still read and checked against it on every score, only not decoded);
- the voids, lifts and objections as read at known-at (they mark events void);
- the adopted catalogue versions (their SHA-256);
- the code that prepares (the source of `scs_cli.engine` and `scs_cli.rules`) and Polars'
  version.

Any change to any of them is another key, so a kept frame is never used for other rows or
other rules. Each kept frame is a folder: the frame and its residents' numbers as Arrow IPC
files, uncompressed so that they are read back memory-mapped (no copy, no decoding), and a
header with what they must read back as (height, and per column the null count, the sum
and the XOR of the values), checked on every read: a damaged frame is ignored (and
removed) and prepared again. Nothing in it names a resident: residents are the ledger's
numbers, put back to their ids from the ledger on each read.

Beside a frame, a report keeps its data-quality counts (`scoring.quality`) in a folder of
their own (`quality/`), under a key over the frame's key, every batch's recorded sources
SHA-256 and the import ranges, each part checked by its SHA-256 on every read.

Where: ``$SCS_CACHE_DIR``, else ``$XDG_CACHE_HOME/scs/prepared``, else
``~/.cache/scs/prepared`` (a folder only its owner may read); ``SCS_CACHE=off`` turns the
cache off. The `KEEP` most recently used frames are kept, older ones removed. A what-if
catalogue, a dataset folder and anything that cannot write the folder simply prepare as
before (docs/ledger.md, "The prepared-frame cache").
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

import scs_cli
from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import prepare, restore
from scs_cli.engine.results import Prepared
from scs_cli.engine.rulebook import DayTable
from scs_cli.ledger.source import LedgerFile, Source
from scs_cli.rules.model import CatalogueHistory
from scs_cli.scoring import quality as counting
from scs_cli.scoring.quality import QualityCounts, quality_counts, ranges_text

KEEP = 3  # frames kept: the ledgers an office scores in turn (one is ~370 MB at 5M events)
HEADER = "header.json"
PARTS = ("frame.arrow", "residents.arrow")
# kept without `points` (only the rule points made from it are read after preparing)
DROPPED = ("points",)
QUALITY = "quality"  # a kept frame's folder of data-quality counts (`scoring.quality`)
COUNT_PARTS = ("days.arrow", "touched.arrow")


@dataclass(frozen=True)
class PreparedCache:
    """A folder of prepared frames, each in a folder of its own named by its key."""

    directory: Path
    keep: int = KEEP

    @classmethod
    def from_environment(cls) -> PreparedCache | None:
        """The cache the environment asks for (module docstring); None when it is off."""
        if os.environ.get("SCS_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
            return None
        folder = os.environ.get("SCS_CACHE_DIR")
        if folder:
            return cls(Path(folder))
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(base) / "scs" / "prepared")

    def key(self, data: LedgerData, catalogues: Sequence[str]) -> str | None:
        """The key of the frame ``data`` prepares to under the catalogue versions with
        these SHA-256s; None when the events' origin is unknown (nothing to key by)."""
        if data.fingerprint is None:
            return None
        marks = hashlib.sha256()
        for frame in (data.voids, data.lifts, data.objections):
            marks.update(frame.write_csv().encode())
        parts = ["scs-prepared 2", _code(), pl.__version__, data.fingerprint,
                 marks.hexdigest(), *catalogues]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def counts_key(self, key: str, sources: str, ranges: pl.DataFrame | None) -> str:
        """The key of the data-quality counts of the rows kept under ``key`` whose batches'
        sources are ``sources`` (`Ledger.sources_fingerprint`), counted by import over
        ``ranges``: changed sources, or imports cut otherwise, never meet old counts."""
        parts = ["scs-quality 1", key, sources, ranges_text(ranges), _counting_code()]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def private(self) -> bool:
        """Whether the folder is this user's and no one else may write it: a checksum
        proves nothing against whoever can write the folder, so a frame is neither read
        from nor kept in a folder another user could have put one in."""
        try:
            st = self.directory.stat()
        except OSError:
            return False
        mine = st.st_uid == os.getuid() if hasattr(os, "getuid") else True
        return mine and not st.st_mode & 0o022

    def _folder(self, key: str) -> Path:
        return self.directory / key

    def load(self, key: str, data: LedgerData, history: CatalogueHistory
             ) -> Prepared | None:
        """The frame kept under ``key`` with ``data``'s other rows; None if there is none or
        it is damaged (then it is removed: the caller prepares it again)."""
        if not self.private():
            return None
        folder = self._folder(key)
        try:
            header = json.loads((folder / HEADER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            frame, residents = (_checked(folder / name, header, key) for name in PARTS)
            table = DayTable(int(header["first"]), int(header["last"]))
        except (ValueError, KeyError, TypeError, OSError, pl.exceptions.PolarsError):
            _remove(folder)
            return None
        with contextlib.suppress(OSError):
            os.utime(folder / HEADER)  # recently used: kept longest
        return restore(data, history, frame, residents["keys"], table,
                       lexical=residents["lexical"])

    def load_counts(self, key: str, counts_key: str) -> QualityCounts | None:
        """The data-quality counts kept beside the frame kept under ``key``, if they were
        kept under ``counts_key`` and read back as written (else None; damaged ones are
        removed: the caller counts again)."""
        folder = self._folder(key) / QUALITY
        if not self.private():
            return None
        try:
            header = json.loads((folder / HEADER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            if header["key"] != counts_key:
                return None  # other sources or imports: counted again, and replaced
            parts = []
            for name in COUNT_PARTS:
                blob = (folder / name).read_bytes()
                # a few hundred kilobytes: their SHA-256 costs nothing
                if hashlib.sha256(blob).hexdigest() != header["sha256"][name]:
                    raise ValueError(f"{folder / name} is damaged")
                parts.append(pl.read_ipc(blob))
        except (ValueError, KeyError, TypeError, OSError, pl.exceptions.PolarsError):
            _remove(folder)
            return None
        return QualityCounts(*parts)

    def save_counts(self, key: str, counts_key: str, counts: QualityCounts) -> bool:
        """Keep ``counts`` beside the frame kept under ``key`` (written whole, renamed into
        place); False if there is no such frame or the folder cannot be written."""
        folder = self._folder(key)
        if not folder.is_dir() or not self.private():
            return False
        try:
            temporary = Path(tempfile.mkdtemp(dir=folder, prefix=".writing-"))
        except OSError:
            return False
        try:
            _write_counts(temporary, counts_key, counts)
            _remove(folder / QUALITY)  # counts of other sources, or damaged ones
            os.rename(temporary, folder / QUALITY)
        except OSError:  # no room, or another process kept the same counts first
            _remove(temporary)
            return False
        return True

    def save(self, key: str, prepared: Prepared,
             counts: tuple[str, QualityCounts] | None = None) -> bool:
        """Keep ``prepared``'s frame under ``key`` (written whole in a new folder, then
        renamed into place), and ``counts`` (their key, the counts) beside it; False if
        the folder cannot be written (the score goes on)."""
        folder = self._folder(key)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
        if not self.private():
            return False
        try:
            temporary = Path(tempfile.mkdtemp(dir=self.directory, prefix=".writing-"))
        except OSError:
            return False
        try:
            parts = {"frame.arrow": prepared.frame.drop(*DROPPED, strict=False),
                     "residents.arrow": pl.DataFrame({"keys": prepared.keys,
                                                      "lexical": prepared.lexical})}
            sums = {}
            for name, frame in parts.items():
                # uncompressed: read back memory-mapped, no copy, no decoding (measured)
                frame.write_ipc(temporary / name, compression="uncompressed")
                sums[name] = _checksum(frame)
            header = {"key": key, "first": prepared.table.first, "last": prepared.table.last,
                      "checksums": sums}
            (temporary / HEADER).write_text(json.dumps(header, sort_keys=True),
                                            encoding="utf-8")
            if counts is not None:
                (temporary / QUALITY).mkdir()
                _write_counts(temporary / QUALITY, *counts)
            os.rename(temporary, folder)  # whole or not at all
        except OSError:  # no room, or another process kept the same frame first
            _remove(temporary)
            return False
        self._evict()
        return True

    def _evict(self) -> None:
        """Remove all but the `keep` most recently used frames."""
        def used(folder: Path) -> float:
            try:
                return (folder / HEADER).stat().st_mtime
            except OSError:
                return 0.0

        try:
            found = sorted((p for p in self.directory.iterdir()
                            if p.is_dir() and not p.name.startswith(".")),
                           key=used, reverse=True)
        except OSError:
            return
        for old in found[self.keep:]:
            _remove(old)


@dataclass(frozen=True)
class Rows:
    """A source's rows as known at a time, prepared under a history of rules."""

    prepared: Prepared
    data: LedgerData  # with an empty events frame when the frame was kept (`kept`),
                      # unless the caller asked for the events
    kept: bool        # the frame came from the cache
    saving: threading.Thread | None = None  # keeping the frame, when asked to in background
    counts: QualityCounts | None = None     # the data-quality counts, when asked for

    def settle(self) -> None:
        """Wait until the frame is kept (a no-op unless it is being kept in background)."""
        if self.saving is not None:
            self.saving.join()


ENVIRONMENT = object()  # `prepared_rows`' default: the cache the environment asks for


def prepared_rows(source: Source, known_at: datetime, history: CatalogueHistory,
                  catalogues: Sequence[str] | None, *, sources: bool = False,
                  events: bool = False, quality: pl.DataFrame | None = None,
                  cache: PreparedCache | None | object = ENVIRONMENT,
                  background: bool = False) -> Rows:
    """``source``'s rows at known-at, prepared under ``history``: from the cache when the
    same rows were prepared under the same rules before, else prepared now (and kept).

    ``catalogues`` are the SHA-256s of the adopted versions ``history`` holds (None for a
    what-if catalogue: not kept). ``events`` (implied by ``sources``): `Rows.data` holds
    the events even when the frame was kept, for a caller that reads them too. Given
    ``quality``, the source's recorded ranges (`Source.recorded`), `Rows.counts` holds the
    data-quality counts over them (`scoring.quality`): kept beside the frame, so that the
    next report of the same rows and sources decodes no events and no sources at all.
    Call inside the ledger's snapshot: a frame prepared now is kept only if the rows it
    was made from are the ones the key was taken over. With ``background`` a frame
    prepared now is written while the caller scores (the frame is immutable); the caller
    calls `Rows.settle` before it returns."""
    store = PreparedCache.from_environment() if cache is ENVIRONMENT else cache
    wants = quality is not None
    if not isinstance(store, PreparedCache) or catalogues is None:
        data = source.data(known_at, sources=sources or wants)
        return Rows(prepare(data, history), data, False,
                    counts=quality_counts(data, quality) if wants else None)
    # every batch read and checked; decoded only when the caller needs the events
    decode = sources or events
    data = source.data(known_at, sources=sources, events=decode)
    key = store.key(data, catalogues)
    counts_key = None
    if wants and key is not None and source.ledger is not None:
        # the sources too are read and checked, not decoded
        counts_key = store.counts_key(key, source.ledger.sources_fingerprint(known_at),
                                      quality)
    kept = store.load(key, data, history) if key is not None else None
    counts = (store.load_counts(key, counts_key)
              if kept is not None and key is not None and counts_key is not None else None)
    if kept is not None and (not wants or counts is not None):
        return Rows(kept, data, True, counts=counts)
    fingerprint = data.fingerprint
    if wants and not sources:  # the counts are made from the events' sources
        data = source.data(known_at, sources=True)
    elif not decode:
        data = source.data(known_at)
    counts = quality_counts(data, quality) if wants else None
    same = key is not None and data.fingerprint == fingerprint
    keep = (counts_key, counts) if counts_key is not None and counts is not None else None
    if kept is not None:  # only the counts were missing
        if same and keep is not None and key is not None:
            store.save_counts(key, *keep)
        return Rows(kept, data, True, counts=counts)
    prepared = prepare(data, history)
    if key is None or not same:
        return Rows(prepared, data, False, counts=counts)
    if not background:
        store.save(key, prepared, keep)
        return Rows(prepared, data, False, counts=counts)
    saving = threading.Thread(target=store.save, args=(key, prepared, keep),
                              name="scs-keep-frame")
    saving.start()
    return Rows(prepared, data, False, saving, counts)


def keep_prepared(path: str | Path, cache: PreparedCache | None | object = ENVIRONMENT
                  ) -> bool:
    """Prepare a ledger's rows as known now under its adopted versions, and keep the frame
    and the data-quality counts beside it (what `scs ledger import` does last, so that the
    next score, and the next report, find them). False when there is nothing to keep: the
    cache is off, or no version is adopted."""
    store = PreparedCache.from_environment() if cache is ENVIRONMENT else cache
    if not isinstance(store, PreparedCache):
        return False
    known_at = datetime.now(UTC)
    with LedgerFile.open(path) as source, source.ledger.snapshot():
        adopted = source.adopted(known_at)
        if not adopted:
            return False
        rows = prepared_rows(source, known_at, source.history(known_at),
                             tuple(a.sha256 for a in adopted), cache=store,
                             quality=source.recorded(known_at))
    return not rows.kept


def _checked(path: Path, header: dict[str, Any], key: str) -> pl.DataFrame:
    """One part of a kept frame, if it reads back as it was written under ``key``."""
    if header["key"] != key:
        raise ValueError(f"{path} was kept under another key")
    frame = pl.scan_ipc(path).collect()  # memory-mapped: nothing copied or decoded
    if _checksum(frame) != header["checksums"][path.name]:
        raise ValueError(f"{path} is damaged")
    return frame


def _checksum(frame: pl.DataFrame) -> list[Any]:
    """What a kept part must read back as: its height, and per column its name, type, null
    count, and the sum and the XOR of its values (any one changed value or null changes
    them). Taken on the decoded columns, on both cores, in a few hundredths of a second at
    5M events: a check against damage. No unkeyed digest, CRC or SHA, proves anything
    against whoever can write the folder: that is the folder's permissions' job."""
    if not frame.width:
        return [frame.height]
    # each sum in its column's own type (wrapping, as Polars sums): no copy of a column
    row = frame.select(pl.all().null_count().name.suffix(":n"),
                       pl.all().sum().name.suffix(":s"),
                       pl.all().bitwise_xor().name.suffix(":x")).row(0)
    return [frame.height, [f"{n}:{t}" for n, t in frame.schema.items()], [
        None if v is None else int(v) for v in row]]


def _remove(path: Path) -> None:
    """Remove a kept frame's folder (or a file), as far as possible."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        path.unlink()


def _write_counts(folder: Path, key: str, counts: QualityCounts) -> None:
    """The counts' parts and a header with their key and each part's SHA-256."""
    digests = {}
    for name, frame in zip(COUNT_PARTS, (counts.days, counts.touched), strict=True):
        buffer = io.BytesIO()
        frame.write_ipc(buffer, compression="uncompressed")
        blob = buffer.getvalue()
        (folder / name).write_bytes(blob)
        digests[name] = hashlib.sha256(blob).hexdigest()
    (folder / HEADER).write_text(json.dumps({"key": key, "sha256": digests}, sort_keys=True),
                                 encoding="utf-8")


@functools.cache
def _counting_code() -> str:
    """A digest of the code that counts (`scoring.quality`): any change is another key."""
    return hashlib.sha256(Path(counting.__file__).read_bytes()).hexdigest()


@functools.cache
def _code() -> str:
    """A digest of the code that prepares frames: any change to it is another key."""
    root = Path(scs_cli.__file__).parent
    digest = hashlib.sha256()
    for folder in ("engine", "rules"):
        for path in sorted((root / folder).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update((root / "core" / "frames.py").read_bytes())
    return digest.hexdigest()
