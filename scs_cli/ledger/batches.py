"""The engine's copy of the events: the `event_batches` blobs of a ledger.

Each import is stored, beside its rows in the `events` table, as batches of at most
`BATCH_ROWS` events. A batch holds three Arrow IPC streams and one list:

- ``data``: event_id, resident, code, occurred_on, points: what scoring reads;
- ``indicators``: JSON list of the batch's indicator ids; ``code`` is a position in it;
- ``residents``: (resident, resident_id) of the residents first recorded by this import
  (in its first batch). Residents are numbered 0, 1, 2… in the order the ledger first
  recorded them, so the residents seen at any known-at are numbered 0…n-1;
- ``sources``: agency, reference (for duplicates, reports and `verify`), and since schema
  step 0004 the note: the batch's link hashes these bytes, so the chain covers every text
  column of the `events` table (a batch recorded earlier has no ``note`` column).

Numbers instead of text are what make a large ledger fast to read: decoding five million
resident-id strings took longer than scoring them (measured, docs/ledger.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import polars as pl

from scs_cli.core.frames import EVENTS_SCHEMA, RESIDENTS_SCHEMA, TEXT_SCHEMA
from scs_cli.ledger import ipc
from scs_cli.ledger.early import (
    BATCHES_SQL,
    CheckedBatch,
    DamagedBatch,
    NumberHint,
    ResidentBatches,
    Row,
    UndecodableBatch,
    checked,
    sha256,
)
from scs_cli.ledger.early import number_hint as _number_hint
from scs_cli.ledger.early import read_blob as _blob

BATCH_ROWS = 1_000_000  # events per batch, so no blob nears SQLite's size limit
# Measured: the smallest, and about as fast to read as lz4 (docs/ledger.md).
COMPRESSION: Literal["zstd"] = "zstd"
SOURCES_SCHEMA = {"agency": pl.String, "reference": pl.String}
NOTED_SCHEMA = {**SOURCES_SCHEMA, "note": pl.String, "noted": pl.Boolean}
EVENTS_TEXT_SCHEMA = {c: t for c, t in TEXT_SCHEMA.items() if c != "agency"}


@dataclass(frozen=True)
class Batch:
    """One row of `event_batches`, ready to insert."""

    first_event_id: int
    last_event_id: int
    rows: int
    indicators: str
    data: bytes
    residents: bytes
    sources: bytes

    def checksums(self) -> tuple[str, str, str]:
        """SHA-256 of data, residents and sources, recorded beside them, checked on read."""
        return (sha256(self.data), sha256(self.residents), sha256(self.sources))


def _stream(frame: pl.DataFrame) -> bytes:
    buffer = frame.write_ipc_stream(None, compression=COMPRESSION)
    assert buffer is not None
    return buffer.getvalue()


def encode(frame: pl.DataFrame, known: pl.DataFrame) -> list[Batch]:
    """The batches of one import.

    ``frame`` has the import's rows in event-id order (event_id, resident_id, indicator,
    occurred_on, points, agency, reference); ``known`` the residents already recorded
    (`read_residents`). New residents are numbered on from ``known``.
    """
    new = (frame.select(pl.col("resident_id").unique(maintain_order=True))
           .join(known, on="resident_id", how="anti", maintain_order="left")
           .select(resident=pl.int_range(known.height, known.height + pl.len(),
                                         dtype=pl.Int32), resident_id="resident_id"))
    numbers = pl.concat([known, new]) if known.height else new
    frame = frame.with_columns(resident=pl.col("resident_id").replace_strict(
        numbers["resident_id"], numbers["resident"], return_dtype=pl.Int32))
    batches = []
    for start in range(0, frame.height, BATCH_ROWS):
        part = frame.slice(start, BATCH_ROWS)
        indicators = sorted(part["indicator"].unique().to_list())
        data = part.select(
            "event_id", "resident",
            code=pl.col("indicator").replace_strict(
                indicators, range(len(indicators)), return_dtype=pl.UInt16),
            occurred_on="occurred_on", points="points")
        ids = part["event_id"]
        batches.append(Batch(
            int(ids[0]), int(ids[-1]), part.height, json.dumps(indicators),
            _stream(data), _stream(new if start == 0 else new.head(0)),
            _stream(part.select(*SOURCES_SCHEMA, "note"))))
    return batches


def _read(blob: bytes, columns: Sequence[str] | None = None, rows: int | None = None
          ) -> pl.DataFrame:
    """A checked blob's stream (its record batches up to ``rows`` rows, if given); a blob
    Polars refuses (some bytes make it panic) is `UndecodableBatch`, one line for the
    ledger, never a traceback."""
    try:
        return pl.read_ipc_stream(io.BytesIO(blob), columns=list(columns) if columns else None,
                                  n_rows=rows)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError):
        # (the blob is in memory: an OSError is zstd's refusal of its bytes)
        raise UndecodableBatch() from None


def _parts(conn: sqlite3.Connection, part: str, cut: str) -> list[bytes]:
    """One blob column of every batch recorded by ``cut``, each checked against its
    recorded SHA-256 (``part`` is one of the three blob columns, never user text)."""
    assert part in ("data", "residents", "sources")
    return [checked(batch_id, part, blob, expected) for batch_id, blob, expected in
            conn.execute(f"SELECT batch_id, {part}, {part}_sha256 FROM event_batches "
                         "WHERE recorded_at <= ? ORDER BY batch_id", (cut,))]


def read_residents(conn: sqlite3.Connection, cut: str) -> pl.DataFrame:
    """(resident, resident_id) of every resident recorded by ``cut``, by number."""
    frames = [_read(blob) for blob in _parts(conn, "residents", cut)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=RESIDENTS_SCHEMA)


def read_sources(conn: sqlite3.Connection, cut: str, *, notes: bool = False) -> pl.DataFrame:
    """agency, reference of every event recorded by ``cut``, in event-id order.

    With ``notes`` also each event's note and whether its batch holds it (``noted``: false
    in a batch recorded before schema step 0004, whose note is null here)."""
    blobs = _parts(conn, "sources", cut)
    if not notes:  # the note's buffers are never decompressed
        columns = list(SOURCES_SCHEMA)
        # decoding releases the GIL: the two cores each take a share (0.25 → 0.17 s at 5M)
        with ThreadPoolExecutor(2) as pool:
            frames = list(pool.map(lambda blob: _read(blob, columns), blobs))
        return pl.concat(frames) if frames else pl.DataFrame(schema=SOURCES_SCHEMA)
    frames = []
    for blob in blobs:
        frame = _read(blob)
        frames.append(frame.select(*SOURCES_SCHEMA, "note", noted=pl.lit(True))
                      if "note" in frame.columns else frame.select(
                          *SOURCES_SCHEMA, note=pl.lit(None, pl.String), noted=pl.lit(False)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=NOTED_SCHEMA)


def sources_fingerprint(conn: sqlite3.Connection, cut: str) -> str:
    """A SHA-256 over each batch recorded by ``cut``: its number and the recorded SHA-256 of
    its sources, every sources blob read and checked against it, none decoded (what counts
    made from the decoded sources are kept under: `scoring.quality`)."""
    lines = []
    for batch_id, blob, expected in conn.execute(
            "SELECT batch_id, sources, sources_sha256 FROM event_batches "
            "WHERE recorded_at <= ? ORDER BY batch_id", (cut,)):
        checked(batch_id, "sources", blob, expected)
        lines.append(f"{batch_id} {expected}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def read_event_ids(conn: sqlite3.Connection, cut: str) -> pl.Series:
    """The event ids of every batch recorded by ``cut``, in order (checked blobs)."""
    frames = [_read(blob, ["event_id"]) for blob in _parts(conn, "data", cut)]
    return (pl.concat(frames)["event_id"] if frames
            else pl.Series("event_id", [], dtype=pl.Int64))


def read_events(conn: sqlite3.Connection, cut: str, *, decode: bool = True
                ) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], str]:
    """(events, residents, indicators, fingerprint) recorded by ``cut``, events in event-id
    order.

    ``events.code`` is renumbered from each batch's own indicator list into one list for
    the whole ledger (sorted), with a gather from a table of a few entries per batch.
    ``fingerprint`` names exactly the events read: a SHA-256 over each batch's number,
    indicator list and the recorded SHA-256s of its checked data and residents. With
    ``decode=False`` every batch is still read and checked, but the events frame is left
    empty (a prepared frame cached under the fingerprint stands in for it:
    `scoring.prepared`).
    """
    rows = [(batch_id, text, checked(batch_id, "data", blob, expected),
             f"{batch_id} {expected} {named} {text}")
            for batch_id, text, blob, expected, named in conn.execute(
                "SELECT batch_id, indicators, data, data_sha256, residents_sha256 "
                "FROM event_batches WHERE recorded_at <= ? ORDER BY batch_id", (cut,))]
    residents = read_residents(conn, cut)
    # the residents' ids too: the order of the ids is part of what is prepared
    fingerprint = hashlib.sha256("\n".join(line for _, _, _, line in rows).encode()
                                 ).hexdigest()
    if not rows or not decode:
        return pl.DataFrame(schema=EVENTS_SCHEMA), residents, _indicators(
            [json.loads(text) for _, text, _, _ in rows]), fingerprint
    lists = [json.loads(text) for _, text, _, _ in rows]
    indicators = _indicators(lists)
    position = {name: n for n, name in enumerate(indicators)}
    # Decoding releases the GIL: the two cores each take a share of the batches.
    with ThreadPoolExecutor(2) as pool:
        frames = list(pool.map(_read, [blob for _, _, blob, _ in rows]))
    events = pl.concat([
        frame.with_columns(code=pl.lit(pl.Series([position[n] for n in names] or [0],
                                                 dtype=pl.Int32)).gather(pl.col("code")))
        for frame, names in zip(frames, lists, strict=True)])
    return events, residents, indicators, fingerprint


def _indicators(lists: list[list[str]]) -> tuple[str, ...]:
    """The ledger's indicator ids: every batch's, sorted (what ``events.code`` numbers)."""
    return tuple(sorted({i for names in lists for i in names}))


def read_resident(conn: sqlite3.Connection, cut: str, resident_id: str,
                  early: ResidentBatches | None = None) -> pl.DataFrame:
    """One resident's events recorded by ``cut``, from the same checked batches the whole
    ledger is scored from: event_id, resident_id, indicator, occurred_on, points.

    The batches alone decide (an `events` table edited behind scs's back changes nothing
    here), and every batch recorded by ``cut`` is checked, whether or not it holds the
    resident. A batch is taken one record batch (a third of it) at a time: its resident
    column decoded, and its other columns only if it holds the resident's events; never
    the event ids, which a row's position gives. Each part is let go before the next: in
    a fresh process most of the time went on the memory a whole ledger's columns first
    touch, not on decoding (measured, issue 23; holding every batch's resident column
    instead, so that no thread waits for the number, cost 30 ms of system time). The
    resident's number is offered by the row of their first event (by the `events` table's
    index: a hint) and borne out by one import's residents list rather than every resident
    id (`_number_hint`, `decode_resident`).

    ``early``, the same resident's batches at the same cut already read and checked
    (`early.EarlyRead`), spares reading them again, and its rows, where decoded, decoding
    them; one for another cut or resident is not used, nor one that saw other batches
    than ``conn`` sees (an import written between the two reads).
    """
    if early is not None and ((early.cut, early.resident_id) != (cut, resident_id)
                              or not _same_batches(conn, cut, early)):
        early = None
    if early is not None and early.events is not None:
        return early.events
    return decode_resident(conn, cut, resident_id, early)


def decode_resident(conn: sqlite3.Connection, cut: str, resident_id: str,
                    early: ResidentBatches | None = None) -> pl.DataFrame:
    """`read_resident` without its test of ``early``, which must have been read on ``conn``
    in this same read transaction (as `early.EarlyRead` reads and then decodes)."""
    # Checking and decoding release the GIL: two threads share the residents list and the
    # batches, which this thread reads from the file (the connection stays on it).
    with _mapped(conn), ThreadPoolExecutor(2) as pool:
        hint = early.hint if early is not None else _number_hint(conn, cut, resident_id)
        number = None if hint else _number_anywhere(conn, cut, resident_id)
        if hint is None and number is None:  # an unknown id: no batch need be read
            return pl.DataFrame(schema=EVENTS_TEXT_SCHEMA)
        # The number the batches' parts filter by: the first to know it offers it, the
        # residents list or the batch row of the event the hint names (`_number_at`),
        # which spares the parts waiting for the list (20-100 ms, measured); the list, read
        # meanwhile, bears it out below.
        known: Future[int | None] = Future()
        read = early.batches if early is not None else None  # read and checked already
        batches = list(read if read is not None else _batches_of(conn, cut))
        if hint is not None:
            holding = [b for b in batches
                       if b.first_event_id <= hint.first_event_id <= b.last_event_id]
            if holding:
                pool.submit(_number_at, holding[0], hint.first_event_id, known,
                            check=read is None)
        looked_up = pool.submit(_number_in, hint, resident_id,
                                check=early is None) if hint else None
        try:
            if looked_up is None:
                known.set_result(number)
            reading = [pool.submit(_rows_of, batch, resident_id, known,
                                   check=read is None) for batch in batches]
            if looked_up is not None:
                number = _bear_out(conn, cut, resident_id, looked_up)
                _offer(known, number)
        except BaseException as failed:  # the batches waiting for the number end too
            _offer(known, failed)
            raise
        frames = [frame for batch in reading for frame in batch.result()]  # in order
        if known.result() != number:  # the `events` table named another's event: again,
            again: Future[int | None] = Future()  # by the number the list gives
            again.set_result(number)
            frames = [frame for batch in batches
                      for frame in _rows_of(batch, resident_id, again, check=False)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=EVENTS_TEXT_SCHEMA)


def decode_early(conn: sqlite3.Connection, cut: str, resident_id: str,
                 early: ResidentBatches, rows: list[Row] | None) -> pl.DataFrame:
    """`decode_resident` for the early read, which may have read the rows by hand while
    Polars loaded (`early.read_by_hand`): those rows as the frame `decode_resident` gives."""
    if rows is None:
        return decode_resident(conn, cut, resident_id, early)
    event_id, indicator, occurred_on, points = zip(*rows, strict=True) if rows else ((),) * 4
    return pl.DataFrame({
        "event_id": pl.Series(event_id, dtype=pl.Int64),
        "resident_id": pl.Series([resident_id] * len(rows), dtype=pl.String),
        "indicator": pl.Series(indicator, dtype=pl.String),
        "occurred_on": pl.Series(occurred_on, dtype=pl.Int32).cast(pl.Date),
        "points": pl.Series(points, dtype=pl.Int64)})


def _number_at(batch: CheckedBatch, event_id: int, known: Future[int | None], *,
               check: bool) -> None:
    """Offer as ``known`` the resident number of event ``event_id``'s row, from its batch
    (checked first unless ``check`` is false: checked already; nothing unchecked is
    decoded). A guess until the list bears it out."""
    if not check or (batch.data_sha256 is not None
                     and sha256(batch.data) == batch.data_sha256):
        column = _read(batch.data, ["resident"])["resident"]
        if event_id - batch.first_event_id < column.len():
            _offer(known, column[event_id - batch.first_event_id])


def _offer(known: Future[int | None], number: int | None | BaseException) -> None:
    """Settle ``known`` with a number (or a failure), unless it is settled already."""
    try:
        if isinstance(number, BaseException):
            known.set_exception(number)
        else:
            known.set_result(number)
    except InvalidStateError:  # another part offered it first
        pass


def _same_batches(conn: sqlite3.Connection, cut: str, early: ResidentBatches) -> bool:
    """Whether ``conn`` sees, at ``cut``, the batches the early read saw on its own
    connection (each batch's number and recorded SHA-256; an early read that read none saw
    no row of the resident in the `events` table, as ``conn`` must not either)."""
    if early.batches is None:
        return _number_hint(conn, cut, early.resident_id) is None
    seen = [(b.batch_id, b.data_sha256) for b in early.batches]
    with _mapped(conn):  # the SHA-256s lie past the blobs: 35-40 ms without the map, cold
        return seen == [(r[0], r[4]) for r in conn.execute(BATCHES_SQL, (cut,)).fetchall()]


def _batches_of(conn: sqlite3.Connection, cut: str) -> Iterator[CheckedBatch]:
    """Each batch recorded by ``cut`` with its data blob, read when asked for (not yet
    checked: `_rows_of` checks it on a thread of the pool)."""
    for batch_id, first, last, names, expected in conn.execute(BATCHES_SQL, (cut,)
                                                               ).fetchall():
        yield CheckedBatch(batch_id, first, last, names, expected,
                           _blob(conn, "data", batch_id))


def _rows_of(batch: CheckedBatch, resident_id: str, known: Future[int | None], *,
             check: bool) -> list[pl.DataFrame]:
    """The resident's rows in one batch, checked first (unless ``check`` is false: checked
    already), one frame per record batch that holds any."""
    if check:
        checked(batch.batch_id, "data", batch.data, batch.data_sha256)
    found = []
    offset = 0
    for stream in record_batches(batch.data):
        column = _read(stream, ["resident"])["resident"]
        number = known.result()
        at = column.eq(number).arg_true() if number is not None else column.head(0)
        if at.len():
            found.append(_events_at(stream, at, batch.first_event_id + offset,
                                    batch.indicators, pl.lit(resident_id, dtype=pl.String)))
        offset += column.len()
    # A batch's event ids are first_event_id, first_event_id + 1, … (an import's ids are
    # consecutive, its batches slice them in order, and the chain covers the row).
    if offset != batch.last_event_id - batch.first_event_id + 1:
        raise DamagedBatch(batch.batch_id, "data")
    return found


def _events_at(stream: bytes, at: pl.Series, first_event_id: int, indicators: str,
               resident_id: pl.Expr | pl.Series) -> pl.DataFrame:
    """Rows ``at`` of a checked stream as events: their ids from their positions after
    ``first_event_id``, their indicators named from the batch's list (``indicators``, its
    JSON), their resident ids as given."""
    names = pl.Series(json.loads(indicators) or [""], dtype=pl.String)
    return _read(stream, ["code", "occurred_on", "points"])[at].select(
        event_id=(at + first_event_id).cast(pl.Int64), resident_id=resident_id,
        indicator=pl.lit(names).gather(pl.col("code")),
        occurred_on="occurred_on", points="points")


def _bear_out(conn: sqlite3.Connection, cut: str, resident_id: str,
              looked_up: Future[int | None]) -> int | None:
    """The number the hinted residents list gives; for a hint the batches do not bear
    out, the number from every list."""
    number = looked_up.result()
    return _number_anywhere(conn, cut, resident_id) if number is None else number


# Arrow IPC framing: each message is a continuation marker, the length of its metadata
# (a flatbuffer `Message`: `ipc.message`), the metadata, then `Message.bodyLength` bytes of
# body.


def record_batches(stream: bytes) -> Iterator[bytes]:
    """An Arrow IPC stream as streams of one record batch each (its schema message, the
    record batch, end of stream), each made when asked for, so a reader decodes only the
    parts it needs and holds one at a time.

    Anything but a schema followed by record batches (dictionaries, the pre-1.0 framing,
    trailing bytes) is left whole: one stream, read the usual way."""
    spans = _messages(stream)
    if spans is None:
        yield stream
        return
    view = memoryview(stream)
    schema = view[spans[0][1]:spans[0][2]]
    for _, start, end in spans[1:]:
        yield b"".join((schema, view[start:end], ipc.END_OF_STREAM))


def _messages(stream: bytes) -> list[tuple[int, int, int]] | None:
    """(header_type, start, end) of each message of an IPC stream that is a schema and then
    record batches, ended as a stream ends; None for anything else."""
    spans = []
    at = 0
    try:
        while at < len(stream) and stream[at:at + 4] == ipc.CONTINUATION:
            (size,) = struct.unpack_from("<i", stream, at + 4)
            if size <= 0:
                break
            kind, body = ipc.message(stream, at + 8)
            end = at + 8 + size + body
            if body < 0 or end > len(stream):
                return None
            spans.append((kind, at, end))
            at = end
    except (struct.error, IndexError):
        return None
    if (stream[at:] != ipc.END_OF_STREAM or not spans or spans[0][0] != ipc.SCHEMA
            or any(kind != ipc.RECORD_BATCH for kind, _, _ in spans[1:])):
        return None
    return spans


@contextlib.contextmanager
def _mapped(conn: sqlite3.Connection) -> Iterator[None]:
    """SQLite reads the file through a memory map meanwhile: a row's columns after its
    blobs (recorded_at, the checksums) are reached by walking the blobs' overflow pages,
    which a map walks without copying them (a third of the blobs' read time, measured).
    Only for these few reads: a map of the whole file would count toward `score`'s peak
    memory."""
    (before,) = conn.execute("PRAGMA mmap_size").fetchone()
    conn.execute(f"PRAGMA mmap_size={1 << 40}")  # SQLite caps it at its own maximum
    try:
        yield
    finally:
        conn.execute(f"PRAGMA mmap_size={int(before)}")


def _number_anywhere(conn: sqlite3.Connection, cut: str, resident_id: str) -> int | None:
    """The resident's number from every residents list recorded by ``cut`` (None: none)."""
    found = read_residents(conn, cut).filter(pl.col("resident_id") == resident_id)
    return int(found["resident"][0]) if found.height else None


def _number_in(hint: NumberHint, resident_id: str, *, check: bool) -> int | None:
    """The resident's number in the hint's residents list (None: not in it), checked first
    unless ``check`` is false (the early read checked it)."""
    blob = hint.residents
    if check:
        checked(hint.batch_id, "residents", blob, hint.residents_sha256)
    found = _read(blob).filter(pl.col("resident_id") == resident_id)
    return int(found["resident"][0]) if found.height else None


def read_residents_events(conn: sqlite3.Connection, cut: str, resident_ids: Sequence[str]
                          ) -> pl.DataFrame:
    """Several residents' events recorded by ``cut`` in one pass over the batches (the
    statements read a bundle of residents at a time): the rows `read_resident` gives each
    of them, together, in event-id order.

    The same rules: the batches alone decide, and every batch recorded by ``cut`` is
    checked against its SHA-256 (and every residents list, which numbers the residents)
    whether or not it holds any of them; a batch whose rows are not its event-id range is
    damaged. Each batch's resident column is decoded once for all of them, and its other
    columns only where it holds any of their events.
    """
    known = read_residents(conn, cut).filter(
        pl.col("resident_id").is_in(pl.Series(list(resident_ids), dtype=pl.String).implode()))
    if known.is_empty():  # no id known: no batch need be read, as for one resident
        return pl.DataFrame(schema=EVENTS_TEXT_SCHEMA)
    frames = []
    with _mapped(conn):
        for batch_id, first, last, names, expected in conn.execute(BATCHES_SQL, (cut,)
                                                                   ).fetchall():
            blob = checked(batch_id, "data", _blob(conn, "data", batch_id), expected)
            column = _read(blob, ["resident"])["resident"]
            if column.len() != last - first + 1:  # ids first…last, one a row (`_rows_of`)
                raise DamagedBatch(batch_id, "data")
            at = column.is_in(known["resident"].implode()).arg_true()
            if at.len():
                frames.append(_events_at(blob, at, first, names, column.gather(at).replace_strict(
                    known["resident"], known["resident_id"], return_dtype=pl.String)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=EVENTS_TEXT_SCHEMA)
