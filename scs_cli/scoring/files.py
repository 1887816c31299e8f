"""Score tables (one row per resident) in the forms documented in docs/scoring.md.

The writers themselves are the output layer's (`scs_cli.core.output`): points in their
shortest exact decimal form, numbers in JSON, lists ``;``-joined in CSV, an absent value
empty in CSV and ``null`` in JSON; Parquet keeps points exact as decimals with 2 places.
This module only says which columns a score table has and which of them are points.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scs_cli.core.output import points_text, render_frame, write_frame

__all__ = ["RESULT_COLUMNS", "points_text", "render", "result_frame", "write"]

RESULT_COLUMNS = ("resident_id", "score", "tier", "rewards")


def result_frame(residents: pl.DataFrame) -> pl.DataFrame:
    """The four columns of `scs score` output (sanctions are for people: table, explain)."""
    return residents.select(RESULT_COLUMNS)


def render(frame: pl.DataFrame, fmt: str, points: Sequence[str] = ("score",), *,
           safe: bool = True) -> str:
    """``frame`` as csv, json or jsonl text; ``points`` names its Int64-hundredths columns."""
    return render_frame(frame, fmt, points, safe=safe)


def write(frame: pl.DataFrame, path: str | Path, points: Sequence[str] = ("score",)) -> str:
    """Write ``frame`` to ``path`` (checked by the caller) in the format its suffix names."""
    return write_frame(frame, path, points)
