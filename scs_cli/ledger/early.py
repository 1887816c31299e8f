"""One resident's event batches read and checked, and their rows found, before Polars is loaded.

`scs explain` spends its first 0.15-0.2 s importing Polars and the engine, and reading one
resident's batches — the `event_batches` blobs recorded by the cut, each checked against its
SHA-256 — needs neither: only SQLite and hashlib, which both release the GIL. `EarlyRead`
does that on a thread of its own, on its own read-only connection, while the imports run,
and then finds the resident's rows in the checked blobs by hand (`read_by_hand`, `ipc`:
zstd, which releases the GIL too, and a search for the resident's number); once the command
has loaded Polars, the thread makes them a frame (issue 23).

Only ever a head start: anything unusual (no such file, not a ledger, a migration pending,
a blob that does not match its SHA-256, any SQLite error) leaves the result None, and the
usual read runs, checks every batch and words the problem in its one line; a stream the
hand reader does not read is decoded by Polars on the same thread (`batches.decode_resident`).
This module imports nothing that imports Polars, so the CLI can start it first.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scs_cli.ledger import ipc, schema

try:
    import zstandard
except ImportError:  # a platform without its wheel: Polars decodes, as before the hand reader
    zstandard = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import polars as pl

NEVER = "9999-12-31T23:59:59.999999+00:00"  # a cut-off after every recorded_at
BEFORE_ALL = "0000"  # a cut-off before every recorded_at


def cutoff(known_at: datetime | None) -> str:
    """A known-at time as the text recorded_at is compared with."""
    if known_at is None:
        return NEVER
    try:
        return schema.stamp(known_at)
    except OverflowError:  # beyond year 1 or 9999 once in UTC: before or after every row
        return BEFORE_ALL if known_at.year == 1 else NEVER


class DamagedBatch(Exception):
    """A batch blob whose bytes no longer match the SHA-256 recorded with it.

    Raised without the ledger's name, which `Ledger._sql` adds (a `LedgerError`)."""

    def __init__(self, batch_id: int, part: str):
        self.batch_id = batch_id
        self.part = part
        super().__init__(f"event batch {batch_id} is damaged: its {part} bytes do not match "
                         "the SHA-256 recorded with them")


class UndecodableBatch(DamagedBatch):
    """A batch blob that matches the SHA-256 recorded with it and still is no stream scs
    can decode: its bytes were rewritten together with their checksum (`scs ledger verify`
    finds the chain broken). Polars' refusal, even a panic, becomes this one error."""

    def __init__(self) -> None:
        self.batch_id, self.part = None, "data"  # type: ignore[assignment]
        Exception.__init__(self, "an event batch matches the SHA-256 recorded with it but "
                           "cannot be decoded: its bytes were rewritten with their checksum")


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def checked(batch_id: int, part: str, blob: bytes, expected: str | None) -> bytes:
    """The blob, if its bytes are the ones recorded; else `DamagedBatch`."""
    if expected is None or sha256(blob) != expected:
        raise DamagedBatch(batch_id, part)
    return blob


def read_blob(conn: sqlite3.Connection, part: str, batch_id: int) -> bytes:
    """One blob of a batch, read straight from the file's pages into the bytes returned
    (a query's row would copy it twice: a third of the memory the read first touches,
    measured)."""
    assert part in ("data", "residents", "sources")
    with conn.blobopen("event_batches", part, batch_id, readonly=True) as blob:
        return blob.read()


# The batches recorded by a cut, in order: what `read_resident` reads (the blobs apart).
BATCHES_SQL = ("SELECT batch_id, first_event_id, last_event_id, indicators, data_sha256 "
               "FROM event_batches WHERE recorded_at <= ? ORDER BY batch_id")


@dataclass(frozen=True)
class NumberHint:
    """Where the `events` table says a resident was first recorded: that event's id and the
    residents list (batch id, blob, SHA-256) of its import, the list that numbers them.
    Only a hint: the batches hold the number, and a list without the resident sends the
    reader to every list."""

    first_event_id: int
    batch_id: int
    residents: bytes
    residents_sha256: str | None


def number_hint(conn: sqlite3.Connection, cut: str, resident_id: str) -> NumberHint | None:
    """The `NumberHint` of the resident by the `events` table's index (None: no row)."""
    (first,) = conn.execute("SELECT min(event_id) FROM events WHERE resident_id = ? "
                            "AND recorded_at <= ?", (resident_id, cut)).fetchone()
    if first is None:
        return None
    row = conn.execute(
        "SELECT batch_id, residents_sha256 FROM event_batches WHERE "
        "recorded_at <= ? AND import_id = (SELECT import_id FROM event_batches WHERE ? "
        "BETWEEN first_event_id AND last_event_id) ORDER BY batch_id LIMIT 1",
        (cut, first)).fetchone()
    return NumberHint(first, row[0], read_blob(conn, "residents", row[0]), row[1]) \
        if row else None


@dataclass(frozen=True)
class CheckedBatch:
    """One batch recorded by the cut: its row and its data blob (checked against
    ``data_sha256`` where `read_resident_batches` hands it on)."""

    batch_id: int
    first_event_id: int
    last_event_id: int
    indicators: str
    data_sha256: str | None
    data: bytes


@dataclass(frozen=True)
class ResidentBatches:
    """What `batches.read_resident` reads from the file for one resident at one cut: the
    residents list that numbers them (None: the `events` table has no row of theirs) and
    every batch recorded by the cut, each checked against its SHA-256 (None: not read, as
    there is no hint: most likely an unknown id, whose answer needs no batch)."""

    path: Path  # resolved
    cut: str
    resident_id: str
    hint: NumberHint | None
    batches: tuple[CheckedBatch, ...] | None
    events: pl.DataFrame | None = None  # `read_resident`'s frame, where decoded already


# One event of a resident as `read_by_hand` finds it: event_id, indicator, occurred_on (days
# since 1970-01-01), points (None: the rule's).
Row = tuple[int, str, int, int | None]


def read_by_hand(found: ResidentBatches) -> list[Row] | None:
    """The resident's rows in ``found``'s checked batches, in event-id order, read without
    Polars (`ipc`): the number the hint's residents list gives the id, then, in each record
    batch, the rows holding that number and their code, date and points. None where this
    does not answer, and Polars decodes (`batches.decode_resident`): an id not in that list,
    a stream of another shape, a batch whose rows are not its event-id range. The tests hold
    every answer to Polars' own."""
    if found.hint is None or found.batches is None or zstandard is None:
        return None
    try:
        unpack = zstandard.ZstdDecompressor()
        listed = ipc.parse(found.hint.residents)
        at, row = ipc.view_row(listed, found.hint.residents, found.resident_id, unpack)
        number = ipc.values(listed, found.hint.residents, listed.batches[at],
                            listed.column("resident", ipc.INT, 32, True), unpack).at(row)
        if number is None:
            return None
        return [event for batch in found.batches for event in _rows(batch, number, unpack)]
    except (ipc.Unreadable, ValueError, IndexError, struct.error, zstandard.ZstdError):
        return None


# The columns of a batch's data this reads, as `batches.encode` writes them: Int32, UInt16,
# Date, Int64 (a batch written otherwise, by hand or by another version, goes to Polars).
WRITTEN = (("resident", (ipc.INT, 32, True)), ("code", (ipc.INT, 16, False)),
           ("occurred_on", (ipc.DATE, 32, True)), ("points", (ipc.INT, 64, True)))


def _rows(batch: CheckedBatch, number: int, unpack: ipc.Decompressor) -> list[Row]:
    """The rows of resident ``number`` in one checked batch (`read_by_hand`)."""
    stream = ipc.parse(batch.data)
    names = json.loads(batch.indicators)
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ipc.Unreadable("an indicator list that is not a list of ids")
    resident, code, day, points = (stream.column(name, *kind) for name, kind in WRITTEN)
    found: list[Row] = []
    event_id = batch.first_event_id  # a row's position gives its id (`batches._rows_of`)
    for part in stream.batches:
        at = list(ipc.values(stream, batch.data, part, resident, unpack).rows_of(number))
        if at:
            kinds, days, worth = (ipc.values(stream, batch.data, part, column, unpack)
                                  for column in (code, day, points))
            for row in at:
                kind, when = kinds.at(row), days.at(row)
                if kind is None or when is None:  # never written: Polars says what it is
                    raise ipc.Unreadable("a null code or date")
                found.append((event_id + row, names[kind], when, worth.at(row)))
        event_id += part.rows
    if event_id != batch.last_event_id + 1:
        raise ipc.Unreadable("a batch whose rows are not its event-id range")
    return found


def read_resident_batches(conn: sqlite3.Connection, path: Path, cut: str, resident_id: str
                          ) -> ResidentBatches | None:
    """The resident's batches read from ``conn`` (the ledger at ``path``) and checked; None
    where the usual read is to run and speak instead."""
    if schema.pending_migrations(conn) or schema.unknown_migrations(conn):
        return None  # `Ledger.open` migrates or refuses: its read decides
    hint = number_hint(conn, cut, resident_id)
    if hint is None:
        return ResidentBatches(path, cut, resident_id, None, None)
    if hint.residents_sha256 is None or sha256(hint.residents) != hint.residents_sha256:
        return None
    found = []
    for batch_id, first, last, names, expected in conn.execute(BATCHES_SQL, (cut,)).fetchall():
        blob = read_blob(conn, "data", batch_id)
        if expected is None or sha256(blob) != expected:
            return None  # damaged: the usual read refuses, in its words
        found.append(CheckedBatch(batch_id, first, last, names, expected, blob))
    return ResidentBatches(path, cut, resident_id, hint, tuple(found))


class EarlyRead:
    """One resident's batches read and checked, and their rows found, on a thread of its own,
    started at once, in one read transaction of a read-only connection of its own; once
    `decode` has loaded Polars, the same thread makes the rows a frame (or, where it found
    none by hand, decodes them: `batches.decode_early`). `result` waits for the thread."""

    def __init__(self, path: str | Path, resident_id: str, known_at: datetime | None):
        self.cut = cutoff(known_at)
        self._found: ResidentBatches | None = None
        self._decoder: Callable[..., Any] | None = None
        self._go = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(path, resident_id),
                                        name="scs-early-read", daemon=True)
        self._thread.start()

    def _read(self, path: str | Path, resident_id: str) -> None:
        try:
            resolved = Path(path).resolve()
            if not resolved.is_file():  # a folder, a pipe (which would hold the thread)
                return
            conn = sqlite3.connect(f"file:{quote(str(resolved))}?mode=ro", uri=True,
                                   isolation_level=None, check_same_thread=False)
        except (OSError, RuntimeError, sqlite3.Error):  # RuntimeError: a symlink loop
            return
        try:
            # mapped: a row's columns after its blobs are reached by walking overflow pages
            conn.execute(f"PRAGMA mmap_size={1 << 40}")
            conn.execute("BEGIN")  # one snapshot: the hint, the batches and the number agree
            found = read_resident_batches(conn, resolved, self.cut, resident_id)
            rows = read_by_hand(found) if found is not None else None  # Polars still loads
            self._go.wait()
            if found is not None and self._decoder is not None:
                found = replace(found, events=self._decoder(conn, self.cut, resident_id,
                                                             found, rows))
            self._found = found
        except Exception:  # noqa: BLE001 - any problem: the usual read runs and words it
            self._found = None
        finally:
            conn.close()

    def decode(self) -> None:
        """Load Polars and the batch reader on the calling thread (imports stay on one
        thread), then let the read's thread make the resident's rows a frame."""
        from scs_cli.ledger.batches import decode_early

        self._decoder = decode_early
        self._go.set()

    def result(self) -> ResidentBatches | None:
        """The resident's checked batches (with ``events`` decoded, after `decode`), or
        None: the usual read is to run."""
        self._go.set()
        self._thread.join()
        return self._found
