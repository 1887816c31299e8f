"""Score tables as CSV, JSON, JSON Lines and Parquet, written from the frame in one pass.

Half a million residents are not turned into Python dicts: the text is built by Polars
expressions. The forms are those of `scs_cli.core.output` (stable, documented in
docs/scoring.md): points in their shortest exact decimal form (``1000``, ``987.5``,
``-0.25``), numbers in JSON, lists ``;``-joined and sorted in CSV, an absent value empty
in CSV and ``null`` in JSON. Parquet keeps points exact as decimals with 2 places.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scs_cli.core.output import format_for_path

MACHINE_FORMATS = ("csv", "json", "jsonl")
RESULT_COLUMNS = ("resident_id", "score", "tier", "rewards")


def points_text(column: pl.Expr) -> pl.Expr:
    """Int64 hundredths as the shortest exact decimal: 100000 → ``1000``, -50 → ``-0.5``.

    Through Polars' exact decimals (``987.50``), then trailing zeros and point dropped:
    a few times faster than assembling the digits from integer parts."""
    text = (column.cast(pl.Decimal(38, 2)) / 100).cast(pl.String)
    return text.str.strip_chars_end("0").str.strip_chars_end(".")


def result_frame(residents: pl.DataFrame) -> pl.DataFrame:
    """The four columns of `scs score` output (sanctions are for people: table, explain)."""
    return residents.select(RESULT_COLUMNS)


def render(frame: pl.DataFrame, fmt: str, points: Sequence[str] = ("score",)) -> str:
    """``frame`` as csv, json or jsonl text; ``points`` names its Int64-hundredths columns."""
    if fmt == "csv":
        return _csv(frame, points)
    if frame.height == 0:
        return "" if fmt == "jsonl" else "[]\n"
    lines = frame.select(_json_line(frame, points).str.join(",\n" if fmt == "json" else "\n"))
    text = lines.item()
    return text + "\n" if fmt == "jsonl" else "[\n" + text + "\n]\n"


def write(frame: pl.DataFrame, path: str | Path, points: Sequence[str] = ("score",)) -> str:
    """Write ``frame`` to ``path`` in the format its suffix names; return the format."""
    fmt = format_for_path(path)
    if fmt == "parquet":
        frame.with_columns(pl.col(c).cast(pl.Decimal(18, 2)) / 100 for c in points
                           ).write_parquet(path)
    elif fmt == "csv":
        _csv_cells(frame, points).write_csv(path, line_terminator="\n")
    else:
        Path(path).write_text(render(frame, fmt, points), encoding="utf-8")
    return fmt


def _csv(frame: pl.DataFrame, points: Sequence[str]) -> str:
    buffer = io.StringIO()
    _csv_cells(frame, points).write_csv(buffer, line_terminator="\n")
    return buffer.getvalue()


def _csv_cells(frame: pl.DataFrame, points: Sequence[str]) -> pl.DataFrame:
    """Every column as the text of its CSV cell."""
    cells = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if name in points:
            cells.append(points_text(col).alias(name))
        elif isinstance(dtype, pl.List):
            # an empty list is an empty cell (null), not a quoted empty string
            cells.append(pl.when(col.list.len() > 0).then(col.list.join(";")).alias(name))
        elif dtype == pl.String:
            cells.append(col)
        else:
            cells.append(col.cast(pl.String))
    return frame.select(cells)


def _json_line(frame: pl.DataFrame, points: Sequence[str]) -> pl.Expr:
    """One compact JSON object per row, keys in column order."""
    parts: list[pl.Expr] = []
    for name in frame.columns:
        if name in points:
            parts.append(pl.lit(f'"{name}":') + pl.coalesce(points_text(pl.col(name)),
                                                            pl.lit("null")))
        else:  # Polars escapes the text; strip the braces of a one-key object
            encoded = pl.struct(pl.col(name)).struct.json_encode()
            parts.append(encoded.str.slice(1, encoded.str.len_chars() - 2))
    return pl.lit("{") + pl.concat_str(parts, separator=",") + pl.lit("}")
