"""Ledgers as an older build of scs wrote them, for the tests that older ledgers still open,
verify and score. Not a test module."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator

import polars as pl
import pytest

from scs_cli.ledger import batches, schema


def _without_notes(blob: bytes) -> bytes:
    frame = pl.read_ipc_stream(io.BytesIO(blob)).drop("note")
    buffer = frame.write_ipc_stream(None, compression=batches.COMPRESSION)
    assert buffer is not None
    return buffer.getvalue()


@contextlib.contextmanager
def before_noted_batches() -> Iterator[None]:
    """Inside, scs writes as a build before schema step 0004 did: no such step, and each
    batch's `sources` blob holds agency and reference only."""
    encode = batches.encode

    def older(frame: pl.DataFrame, known: pl.DataFrame) -> list[batches.Batch]:
        return [dataclasses.replace(b, sources=_without_notes(b.sources))
                for b in encode(frame, known)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS
                                             if m[0] != "0004_noted_batches"])
        patch.setattr(batches, "encode", older)
        yield
