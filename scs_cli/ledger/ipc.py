"""The few parts of an Arrow IPC stream that one resident's early read needs, read without Polars.

`scs explain` spends its first 0.15-0.2 s loading Polars on the main thread, while a thread of
its own reads and checks the resident's batches (`early.EarlyRead`). Decoding them with
Polars had to wait for the import, and then shared two cores with the rest of it: about
0.1 s, most of what `explain` took after start-up (measured, issue 23). The columns a
resident's rows need are plain fixed-width buffers compressed with zstd, which this module
reads by hand while Polars loads: a stream's messages and schema (flatbuffers), each record
batch's nodes and buffers, and a buffer decompressed by `zstandard`, which releases the GIL.

It reads only what the batches' writer (`batches.encode`) makes: integer and date columns
with their validity bitmaps, and a String column stored as views (Polars' own layout).
Anything else (another type, LZ4, a dictionary, a frame that does not parse) raises
`Unreadable`, and the caller decodes with Polars as before: this is only ever a head start,
and the tests hold every answer it gives to Polars' own. Its records are named tuples: a
frozen dataclass costs about a millisecond to make at import, on the path it shortens.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import NamedTuple, Protocol

CONTINUATION = b"\xff\xff\xff\xff"
END_OF_STREAM = CONTINUATION + bytes(4)
SCHEMA, RECORD_BATCH = 1, 3  # `Message.header_type`
ZSTD = 1  # `CompressionType`
# `Type` union tags, with the width of a value of each fixed-width type this reads.
INT, DATE, UTF8_VIEW = 2, 8, 24
VIEW = 16  # bytes of one view: length, then 12 bytes inline or a prefix and a place


class Unreadable(Exception):
    """A stream this reader does not read: Polars decodes it instead."""


class Decompressor(Protocol):
    """What this reads zstd frames with: the caller's `zstandard.ZstdDecompressor`."""

    def decompress(self, data: memoryview, max_output_size: int = 0) -> bytes: ...


def _i32(buf: bytes, at: int) -> int:
    return struct.unpack_from("<i", buf, at)[0]


def _u32(buf: bytes, at: int) -> int:
    return struct.unpack_from("<I", buf, at)[0]


def _i64(buf: bytes, at: int) -> int:
    return struct.unpack_from("<q", buf, at)[0]


class _Table:
    """A flatbuffer table at ``at``: each field's place from its vtable (0: absent, the
    field keeps its default)."""

    def __init__(self, buf: bytes, at: int):
        self.buf, self.at = buf, at
        self.vtable = at - _i32(buf, at)
        if not (0 <= at < len(buf) and 0 <= self.vtable < len(buf)):
            # struct counts a negative place from the end: never let one through
            raise Unreadable("a flatbuffer table outside its message")
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def place(self, field: int) -> int:
        slot = 4 + 2 * field
        if slot + 2 > self.vsize:
            return 0
        offset = struct.unpack_from("<H", self.buf, self.vtable + slot)[0]
        return self.at + offset if offset else 0

    def scalar(self, field: int, fmt: str, default: int = 0) -> int:
        place = self.place(field)
        return struct.unpack_from(fmt, self.buf, place)[0] if place else default

    def table(self, field: int) -> _Table | None:
        place = self.place(field)
        return _Table(self.buf, place + _u32(self.buf, place)) if place else None

    def vector(self, field: int) -> tuple[int, int]:
        """(place of the first element, count) of a vector field ((0, 0) if absent)."""
        place = self.place(field)
        if not place:
            return 0, 0
        start = place + _u32(self.buf, place)
        count = _u32(self.buf, start)
        if start + 4 + count > len(self.buf):  # each element is a byte at least
            raise Unreadable("a flatbuffer vector longer than its message")
        return start + 4, count

    def tables(self, field: int) -> list[_Table]:
        start, count = self.vector(field)
        return [_Table(self.buf, start + 4 * i + _u32(self.buf, start + 4 * i))
                for i in range(count)]

    def string(self, field: int) -> str:
        place = self.place(field)
        if not place:
            return ""
        start = place + _u32(self.buf, place)
        return self.buf[start + 4:start + 4 + _u32(self.buf, start)].decode()


class Column(NamedTuple):
    """One field of a stream's schema: its name, `Type` tag and, for an integer, its width
    in bits and whether it is signed (a date: 32 bits, its unit DAY)."""

    name: str
    kind: int
    bits: int = 0
    signed: bool = False


class Batch(NamedTuple):
    """One record batch: its rows, each column's (length, null count) node, where each
    buffer lies in the stream (absolute start, length), and how many data buffers each
    column of views has after its views."""

    rows: int
    nodes: tuple[tuple[int, int], ...]
    buffers: tuple[tuple[int, int], ...]
    variadic: tuple[int, ...]


class Stream(NamedTuple):
    """A stream's schema and record batches, parsed (nothing decompressed)."""

    columns: tuple[Column, ...]
    batches: tuple[Batch, ...]

    def column(self, name: str, kind: int, bits: int, signed: bool) -> int:
        """The place of column ``name``, which must be of this type."""
        for i, column in enumerate(self.columns):
            if column.name == name:
                if column != Column(name, kind, bits, signed):
                    raise Unreadable(f"column {name!r} is {column}")
                return i
        raise Unreadable(f"no column {name!r}")


def message(stream: bytes, at: int) -> tuple[int, int]:
    """(header_type, bodyLength) of the flatbuffer `Message` at ``at``."""
    table = _Table(stream, at + _u32(stream, at))
    return table.scalar(1, "<B"), table.scalar(3, "<q")


def parse(stream: bytes) -> Stream:
    """A stream's schema and record batches; `Unreadable` for anything but a schema, record
    batches of zstd-compressed buffers and the end of the stream."""
    try:
        return _parse(stream)
    except (struct.error, IndexError, UnicodeDecodeError) as bad:
        raise Unreadable(str(bad)) from bad


def _parse(stream: bytes) -> Stream:
    columns: tuple[Column, ...] | None = None
    batches = []
    at = 0
    while True:
        if stream[at:at + 4] != CONTINUATION:
            raise Unreadable("no continuation marker")
        size = _i32(stream, at + 4)
        if size == 0:
            if stream[at:] != END_OF_STREAM:
                raise Unreadable("bytes after the end of the stream")
            break
        meta = at + 8
        message = _Table(stream, meta + _u32(stream, meta))
        kind = message.scalar(1, "<B")
        header = message.table(2)
        body = message.scalar(3, "<q")
        start, end = meta + size, meta + size + body
        if header is None or size < 0 or body < 0 or end > len(stream):
            raise Unreadable("a message that does not fit")
        if kind == SCHEMA and columns is None:
            columns = tuple(_column(field) for field in header.tables(1))
        elif kind == RECORD_BATCH and columns is not None:
            batches.append(_batch(stream, header, start, body, len(columns)))
        else:
            raise Unreadable(f"message type {kind}")
        at = end
    if columns is None:
        raise Unreadable("no schema")
    return Stream(columns, tuple(batches))


def _column(field: _Table) -> Column:
    if field.table(4) is not None:  # a dictionary-encoded field
        raise Unreadable("a dictionary")
    if field.tables(5):
        raise Unreadable("a nested field")
    kind = field.scalar(2, "<B")
    detail = field.table(3)
    if kind == INT and detail is not None:
        return Column(field.string(0), kind, detail.scalar(0, "<i"), bool(detail.scalar(1, "<B")))
    if kind == DATE and detail is not None and detail.scalar(0, "<h") == 0:  # DAY
        return Column(field.string(0), kind, 32, True)
    if kind == UTF8_VIEW:
        return Column(field.string(0), kind)
    raise Unreadable(f"type {kind}")


def _batch(stream: bytes, header: _Table, body: int, length: int, columns: int) -> Batch:
    compression = header.table(3)
    if compression is None or compression.scalar(0, "<b") != ZSTD:
        raise Unreadable("not zstd")
    start, count = header.vector(1)
    if count != columns:
        raise Unreadable("a record batch of another number of columns than its schema")
    nodes = tuple(struct.unpack_from("<qq", stream, start + 16 * i) for i in range(count))
    start, count = header.vector(2)
    buffers = []
    for i in range(count):
        offset, size = struct.unpack_from("<qq", stream, start + 16 * i)
        if offset < 0 or size < 0 or offset + size > length:
            raise Unreadable("a buffer outside its body")
        buffers.append((body + offset, size))
    start, count = header.vector(4)
    variadic = struct.unpack_from(f"<{count}q", stream, start) if count else ()
    if count > columns or any(n < 0 for n in variadic):
        raise Unreadable("data buffer counts that do not fit the schema")
    return Batch(header.scalar(0, "<q"), nodes, tuple(buffers), tuple(variadic))


def buffer(stream: bytes, batch: Batch, index: int, decompressor: Decompressor) -> bytes:
    """Buffer ``index`` of a record batch, decompressed (each is its uncompressed length,
    then a zstd frame; a length of -1: the bytes follow as they are)."""
    start, size = batch.buffers[index]
    if size == 0:
        return b""
    if size < 8:
        raise Unreadable("a buffer too short")
    expected = _i64(stream, start)
    raw = memoryview(stream)[start + 8:start + size]
    if expected == -1:
        return bytes(raw)
    out = decompressor.decompress(raw, max_output_size=expected)
    if len(out) != expected:
        raise Unreadable("a buffer of another length than recorded")
    return out


class Values(NamedTuple):
    """A fixed-width column of one record batch: its values' bytes, their struct format,
    its validity bitmap (None: no nulls) and its rows."""

    data: bytes
    fmt: str
    valid: bytes | None
    rows: int

    def at(self, row: int) -> int | None:
        if not 0 <= row < self.rows:
            raise IndexError(row)
        if self.valid is not None and not self.valid[row >> 3] >> (row & 7) & 1:
            return None
        return struct.unpack_from("<" + self.fmt, self.data, row * struct.calcsize(self.fmt))[0]

    def rows_of(self, value: int) -> Iterator[int]:
        """The rows whose value is ``value``, in order (never a null row)."""
        return (row for row in positions(self.data, self.fmt, value)
                if row < self.rows and self.at(row) is not None)


def values(stream: Stream, raw: bytes, batch: Batch, column: int, decompressor: Decompressor
           ) -> Values:
    """A fixed-width column's values in one record batch, checked: as many as rows."""
    spec = stream.columns[column]
    fmt = {(INT, 16, False): "H", (INT, 32, True): "i", (INT, 64, True): "q",
           (DATE, 32, True): "i"}.get((spec.kind, spec.bits, spec.signed))
    if fmt is None:
        raise Unreadable(f"column {spec.name!r} is not one this reads")
    length, nulls = batch.nodes[column]
    if length != batch.rows:
        raise Unreadable(f"column {spec.name!r} is not as long as its batch")
    first = _first_buffer(stream, column)
    valid = buffer(raw, batch, first, decompressor) if nulls else None
    data = buffer(raw, batch, first + 1, decompressor)
    if len(data) < length * struct.calcsize(fmt) or (
            valid is not None and len(valid) < (length + 7) // 8):
        raise Unreadable(f"column {spec.name!r} is short")
    return Values(data, fmt, valid, length)


def _first_buffer(stream: Stream, column: int) -> int:
    """The index of a column's first buffer: each column before it must be fixed-width,
    with two (validity, values); a String of views has its data buffers after them."""
    if any(c.kind == UTF8_VIEW for c in stream.columns[:column]):
        raise Unreadable("a column after a String")
    return 2 * column


def positions(data: bytes, fmt: str, value: int) -> Iterator[int]:
    """The rows whose value is ``value``, in order: a search for its bytes, kept where it
    starts a value. `re` finds a literal at memory speed, three times `bytes.find` on such
    data (whose every fourth byte is the zero a search would stop at), and it holds the GIL
    while Polars loads beside it (measured); each search starts one byte on, so a match that
    straddles two values hides no aligned one."""
    width = struct.calcsize(fmt)
    return _aligned(data, struct.pack("<" + fmt, value), width)


def _aligned(data: bytes, pattern: bytes, width: int) -> Iterator[int]:
    search = re.compile(re.escape(pattern), re.DOTALL).search
    found = search(data)
    while found is not None:
        at = found.start()
        if at % width == 0:
            yield at // width
        found = search(data, at + 1)


def view_row(stream: Stream, raw: bytes, text: str, decompressor: Decompressor) -> tuple[int, int]:
    """(record batch, row) of the first row whose last column, a String of views, is
    ``text``; `Unreadable` if no row is. A view is the text's length and then the text
    itself, zero-padded, if it fits in 12 bytes; else its first 4 bytes, and the data buffer
    and offset where it lies whole."""
    column = len(stream.columns) - 1
    if stream.columns[column].kind != UTF8_VIEW:
        raise Unreadable("the last column is not a String")
    first = _first_buffer(stream, column)
    encoded = text.encode()
    inline = len(encoded) <= 12
    pattern = struct.pack("<i", len(encoded)) + (encoded.ljust(12, b"\0") if inline
                                                 else encoded[:4])
    for n, batch in enumerate(stream.batches):
        length, nulls = batch.nodes[column]
        if nulls or length != batch.rows:
            raise Unreadable("a String with nulls")
        if len(batch.buffers) != first + 2 + sum(batch.variadic):
            raise Unreadable("buffers that do not fit the schema")
        views = buffer(raw, batch, first + 1, decompressor)
        data: dict[int, bytes] = {}
        for row in _aligned(views, pattern, VIEW):
            if row >= length:
                break
            if inline:
                return n, row
            place, offset = struct.unpack_from("<ii", views, row * VIEW + 8)
            if not 0 <= place < sum(batch.variadic):
                raise Unreadable("a view into a data buffer that is not there")
            if place not in data:
                data[place] = buffer(raw, batch, first + 2 + place, decompressor)
            if offset >= 0 and data[place][offset:offset + len(encoded)] == encoded:
                return n, row
    raise Unreadable("no such row")
