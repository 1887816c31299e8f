"""One resident's rows read by hand while Polars loads (`early.read_by_hand`, `ledger/ipc.py`,
issue 23) are the rows Polars reads: for batches the writer makes, drawn at random, and for
every stream it does not read, which it leaves to Polars rather than answer."""

from __future__ import annotations

import io
from concurrent.futures import Future
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_explain_index import _joined

from scs_cli.core.frames import RESIDENTS_SCHEMA
from scs_cli.ledger import batches, ipc
from scs_cli.ledger.early import (
    NEVER,
    CheckedBatch,
    NumberHint,
    ResidentBatches,
    read_by_hand,
    sha256,
)

# Ids that a view holds inline (12 bytes or fewer) and ids it holds in a data buffer, some of
# one length and first four bytes (which is all a long id's view holds of it).
IDS = ("R1", "R22", "abcdefghijkl", "twelve+1byte", "thirteen-byte", "é-è", "R1 ", "",
       "R-2016-000001-x", "R-2016-000002-x", "R-2016-0000003", "R-20", "ÉÉÉÉÉÉÉ",
       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
INDICATORS = ("dog", "red-light", "blood-donation", "other")


def _frame(events: list[tuple[str, str, date, int | None]]) -> pl.DataFrame:
    """An import's rows as `batches.encode` takes them."""
    return pl.DataFrame({
        "event_id": pl.Series(range(1, len(events) + 1), dtype=pl.Int64),
        "resident_id": [e[0] for e in events], "indicator": [e[1] for e in events],
        "occurred_on": pl.Series([e[2] for e in events], dtype=pl.Date),
        "points": pl.Series([e[3] for e in events], dtype=pl.Int64),
        "agency": "police", "reference": [f"r-{i}" for i in range(len(events))],
        "note": pl.Series([None] * len(events), dtype=pl.String)})


def _encoded(events: list[tuple[str, str, date, int | None]], rows: int,
             piece: int) -> list[batches.Batch]:
    """The batches of one import of ``events``, ``rows`` events a batch, each stream in
    record batches of ``piece`` rows (as Polars writes a large batch: in several)."""
    whole = batches._stream

    def in_pieces(frame: pl.DataFrame) -> bytes:
        if frame.height <= piece:
            return whole(frame)
        return _joined([frame.slice(at, piece) for at in range(0, frame.height, piece)],
                       whole)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batches, "BATCH_ROWS", rows)
        patch.setattr(batches, "_stream", in_pieces)
        return batches.encode(_frame(events), pl.DataFrame(schema=RESIDENTS_SCHEMA))


def _found(made: list[batches.Batch], resident_id: str,
           first_event_id: int | None = None) -> ResidentBatches:
    """What the early read hands on: the batches as checked, and the hint of the import's
    one residents list (in its first batch)."""
    checked = tuple(CheckedBatch(n, b.first_event_id, b.last_event_id, b.indicators,
                                 sha256(b.data), b.data) for n, b in enumerate(made, 1))
    hint = NumberHint(first_event_id or 1, 1, made[0].residents, sha256(made[0].residents))
    return ResidentBatches(Path("city.db"), NEVER, resident_id, hint, checked)


def _by_polars(found: ResidentBatches) -> pl.DataFrame:
    """The resident's rows as `batches.decode_resident` reads the same blobs with Polars:
    the number their list gives, then each record batch's resident column, and the other
    columns of those that hold the resident."""
    assert found.hint is not None and found.batches is not None
    number: Future[int | None] = Future()
    number.set_result(batches._number_in(found.hint, found.resident_id, check=False))
    frames = [frame for batch in found.batches
              for frame in batches._rows_of(batch, found.resident_id, number, check=False)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=batches.EVENTS_TEXT_SCHEMA)


def _rows_frame(found: ResidentBatches, rows: list | None) -> pl.DataFrame:
    assert rows is not None
    return batches.decode_early(None, NEVER, found.resident_id, found, rows)  # type: ignore[arg-type]


EVENTS = st.lists(st.tuples(
    st.sampled_from(IDS), st.sampled_from(INDICATORS),
    st.dates(date(1900, 1, 1), date(2100, 12, 31)),
    st.none() | st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=40)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, rows=st.integers(1, 9), piece=st.integers(1, 4))
def test_by_hand_reads_what_polars_reads(events: list, rows: int, piece: int) -> None:
    """Random imports in batches of ``rows`` events, each in record batches of ``piece``
    rows: every resident's rows, to the value (nulls, dates before 1970, the extreme
    Int64s), whether the residents list holds their id inline or in a data buffer."""
    made = _encoded(events, rows, piece)
    for resident_id in {e[0] for e in events}:
        first = next(n for n, e in enumerate(events, 1) if e[0] == resident_id)
        found = _found(made, resident_id, first)
        got = read_by_hand(found)
        assert got is not None
        assert_frame_equal(_rows_frame(found, got), _by_polars(found))
        assert len(got) == sum(e[0] == resident_id for e in events)


def _one_import() -> list[batches.Batch]:
    """Four events in two batches, the first in two record batches (2 rows, then 1)."""
    return _encoded([("R1", "dog", date(2023, 1, 5), None),
                     ("R2", "other", date(1969, 12, 31), -1250),
                     ("R1", "red-light", date(2023, 2, 1), 300),
                     ("R3", "dog", date(2023, 3, 1), None)], rows=3, piece=2)


def test_the_rows_and_their_values() -> None:
    """R1's two events, one in each batch, in event-id order, with the rule's points (None)
    and a resident's own; R2's date before 1970."""
    made = _one_import()
    assert read_by_hand(_found(made, "R1")) == [
        (1, "dog", (date(2023, 1, 5) - date(1970, 1, 1)).days, None),
        (3, "red-light", (date(2023, 2, 1) - date(1970, 1, 1)).days, 300)]
    assert read_by_hand(_found(made, "R2")) == [(2, "other", -1, -1250)]


def test_an_id_the_list_does_not_hold_is_left_to_polars() -> None:
    """Not in the hint's list (another import's, or none): Polars looks in every list. A
    long id whose length and first four bytes a listed one shares is not taken for it."""
    assert read_by_hand(_found(_one_import(), "R9")) is None
    assert read_by_hand(_found(_one_import(), "R")) is None
    made = _encoded([("R-2016-000001-x", "dog", date(2023, 1, 5), None)], rows=3, piece=2)
    assert read_by_hand(_found(made, "R-2016-000001-x")) == [
        (1, "dog", (date(2023, 1, 5) - date(1970, 1, 1)).days, None)]
    assert read_by_hand(_found(made, "R-2016-000002-x")) is None


def _rewritten(made: list[batches.Batch], **options: object) -> list[batches.Batch]:
    """The same batches with their data written otherwise."""
    out = []
    for b in made:
        buffer = pl.read_ipc_stream(io.BytesIO(b.data)).write_ipc_stream(None, **options)
        assert buffer is not None
        out.append(batches.Batch(b.first_event_id, b.last_event_id, b.rows, b.indicators,
                                 buffer.getvalue(), b.residents, b.sources))
    return out


@pytest.mark.parametrize("options", [{"compression": "uncompressed"},
                                     {"compression": "lz4"}])
def test_a_stream_written_otherwise_is_left_to_polars(options: dict) -> None:
    made = _rewritten(_one_import(), **options)
    assert read_by_hand(_found(made, "R1")) is None


def test_a_residents_list_of_plain_strings_is_left_to_polars() -> None:
    """Written as Polars' oldest format writes text (offsets, not views), as a ledger made
    by another version might hold it: Polars reads it, this reader does not."""
    made = _one_import()
    listed = pl.read_ipc_stream(io.BytesIO(made[0].residents)).write_ipc_stream(
        None, compression="zstd", compat_level=pl.CompatLevel.oldest())
    assert listed is not None
    made[0] = batches.Batch(**{**made[0].__dict__, "residents": listed.getvalue()})
    found = _found(made, "R1")
    assert read_by_hand(found) is None
    assert _by_polars(found)["event_id"].to_list() == [1, 3]


@pytest.mark.parametrize("change", [
    lambda f: f.with_columns(pl.col("code").cast(pl.Int8)),     # another type
    lambda f: f.with_columns(pl.col("resident").cast(pl.Int64)),
    lambda f: f.with_columns(pl.col("code").cast(pl.String)),
    lambda f: f.drop("points"),                                 # a column missing
    lambda f: f.with_columns(code=pl.lit(None, pl.UInt16)),     # a null code
    lambda f: f.head(1),                                        # fewer rows than its ids
])
def test_a_batch_of_another_shape_is_left_to_polars(change: object) -> None:
    made = _one_import()
    data = change(pl.read_ipc_stream(io.BytesIO(made[0].data)))  # type: ignore[operator]
    buffer = data.write_ipc_stream(None, compression="zstd")
    assert buffer is not None
    made[0] = batches.Batch(made[0].first_event_id, made[0].last_event_id, made[0].rows,
                            made[0].indicators, buffer.getvalue(), made[0].residents,
                            made[0].sources)
    assert read_by_hand(_found(made, "R1")) is None


@pytest.mark.parametrize("indicators", ["{}", "[1]", "not json", "[]"])
def test_an_indicator_list_it_cannot_name_from_is_left_to_polars(indicators: str) -> None:
    made = _one_import()
    made[0] = batches.Batch(made[0].first_event_id, made[0].last_event_id, made[0].rows,
                            indicators, made[0].data, made[0].residents, made[0].sources)
    assert read_by_hand(_found(made, "R1")) is None


@settings(max_examples=300)
@given(where=st.integers(0, 10**6), to=st.integers(0, 255), blob=st.integers(0, 2))
def test_changed_bytes_never_give_rows_of_their_own(where: int, to: int, blob: int) -> None:
    """A byte changed anywhere in a batch or the residents list (by someone who also wrote
    its SHA-256 anew): the reader answers None, or the rows Polars reads from the same
    bytes; where Polars refuses them (its flatbuffer checks read more than this needs), the
    rows of the bytes as written, read from parts the change did not touch. Never other
    rows, and never an error of its own."""
    made = _one_import()
    truth = _by_polars(_found(made, "R1"))
    at = 0 if blob < 2 else 1
    part = "residents" if blob == 1 else "data"
    raw = bytearray(getattr(made[at], part))
    raw[where % len(raw)] = to
    made[at] = batches.Batch(**{**made[at].__dict__, part: bytes(raw)})
    found = _found(made, "R1")
    got = read_by_hand(found)
    if got is None:
        return
    try:
        want = _by_polars(found)
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 - Polars refuses them
        want = truth
    assert_frame_equal(_rows_frame(found, got), want)


def test_a_stream_parses_into_its_schema_and_record_batches() -> None:
    made = _one_import()
    stream = ipc.parse(made[0].data)
    assert [(c.name, c.kind, c.bits, c.signed) for c in stream.columns] == [
        ("event_id", ipc.INT, 64, True), ("resident", ipc.INT, 32, True),
        ("code", ipc.INT, 16, False), ("occurred_on", ipc.DATE, 32, True),
        ("points", ipc.INT, 64, True)]
    assert [b.rows for b in stream.batches] == [2, 1]
    assert [b.rows for b in ipc.parse(made[1].data).batches] == [1]


@pytest.mark.parametrize("cut", [0, 3, 9, -1, -9])
def test_a_cut_stream_is_unreadable(cut: int) -> None:
    data = _one_import()[0].data
    with pytest.raises(ipc.Unreadable):
        ipc.parse(data[:cut] if cut else b"")


def test_a_value_found_across_two_values_hides_no_aligned_one() -> None:
    """256 then 0 are the bytes 00 01 00 00 00 00 00 00: the zeros of 0 are found first at
    byte 2, across the two; each search starts one byte on, so the aligned one at byte 4 is
    found too. 65536 (00 00 01 00) lies only across 1 and 256."""
    def packed(*numbers: int) -> bytes:
        return b"".join(v.to_bytes(4, "little", signed=True) for v in numbers)

    assert list(ipc.positions(packed(256, 0), "i", 0)) == [1]
    assert list(ipc.positions(packed(1, 256, 7, 256), "i", 256)) == [1, 3]
    assert list(ipc.positions(packed(1, 256), "i", 65536)) == []


def test_without_zstandard_polars_reads_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a platform where `zstandard` cannot be imported, the hand reader stands aside."""
    from scs_cli.ledger import early

    made = _one_import()
    assert read_by_hand(_found(made, "R1")) is not None
    monkeypatch.setattr(early, "zstandard", None)
    assert read_by_hand(_found(made, "R1")) is None
    assert _by_polars(_found(made, "R1"))["event_id"].to_list() == [1, 3]
