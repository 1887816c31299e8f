"""Machine-readable output: one writer per format, chosen through `Format`.

Records are plain dicts with stable keys. Decimals are written in their shortest exact
form (``1000``, ``987.5``); in JSON they are numbers. Lists in CSV cells are joined with
``;``. Parquet goes through Polars (imported only when asked for).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from scs_cli.core.errors import UsageError


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}


def format_for_path(path: str | Path) -> str:
    """The format a file suffix asks for; refuse suffixes we cannot write."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: cannot tell the output format from the suffix {suffix!r}",
                         "use a name ending in " + ", ".join(SUFFIXES))
    return SUFFIXES[suffix]


def decimal_text(value: Decimal | int) -> str:
    """Shortest exact decimal text: ``Decimal('1000.00')`` → ``1000``, ``987.50`` → ``987.5``."""
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(data: Any, *, indent: int | None = 2) -> str:
    return json.dumps(data, default=json_default, ensure_ascii=False, indent=indent)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return decimal_text(value)
    if isinstance(value, (list, tuple)):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def to_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([_cell(rec.get(c)) for c in columns])
    return buf.getvalue()


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(to_json(r, indent=None) + "\n" for r in records)


WRITERS: dict[str, Callable[[list[dict[str, Any]], Sequence[str]], str]] = {
    "csv": to_csv,
    "json": lambda records, columns: to_json(records) + "\n",
    "jsonl": lambda records, columns: to_jsonl(records),
}


def render(records: list[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Records as text in a machine format (csv, json or jsonl)."""
    if fmt not in WRITERS:
        raise UsageError(f"format {fmt!r} is not a machine format", "use csv, json or jsonl")
    return WRITERS[fmt](records, columns)


def write_file(path: str | Path, records: list[dict[str, Any]], columns: Sequence[str],
               frame: Any = None) -> str:
    """Write records to ``path`` in the format its suffix names; return that format.

    ``frame`` (a Polars DataFrame of the same records) is used for Parquet when given,
    so large results are not converted row by row.
    """
    fmt = format_for_path(path)
    path = Path(path)
    if fmt == "parquet":
        import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

        df = frame if frame is not None else pl.DataFrame(
            [{c: r.get(c) for c in columns} for r in records])
        df.write_parquet(path)
    else:
        path.write_text(render(records, columns, fmt), encoding="utf-8")
    return fmt
