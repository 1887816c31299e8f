"""Reading event files (CSV or JSON Lines) into one frame of text columns, lines numbered.

The whole file is read by Polars; files it cannot read as a table (ragged CSV rows, bad
UTF-8, a line that is not a JSON object) are re-read line by line, only to name every bad
line exactly. CSV lines count the header as line 1; JSON Lines count from 1. What the rows
mean is checked by `importer`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli.core.errors import Problem, ProblemsError, ScsError, UsageError
from scs_cli.core.output import unguarded_cells

COLUMNS = ("resident_id", "indicator", "occurred_on", "agency", "reference", "note", "city",
           "points")
REQUIRED = ("resident_id", "indicator", "occurred_on")
# the first character a letter or digit: an id never reads as a spreadsheet formula or option
RESIDENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json-lines": "jsonl", ".ndjson": "jsonl"}
Progress = Callable[[str, int, int], None]
PROBLEM_SCHEMA: dict[str, Any] = {"_row": pl.Int64, "column": pl.String, "message": pl.String}
FILE_PROBLEM_SCHEMA: dict[str, Any] = {"line": pl.Int64, "column": pl.String,
                                       "message": pl.String}


class BadRowsError(ScsError):
    """An import refused: one line per problem, then what to do; nothing was imported."""

    def __init__(self, file: str, lines: list[str], bad_rows: int, *,
                 skip_invalid: bool = True):
        self.file = file
        self.problem_lines = lines
        self.bad_rows = bad_rows
        rows = f"{bad_rows} bad row{'s' if bad_rows != 1 else ''}" if bad_rows else "bad file"
        how = ("fix them and import again, or use --skip-invalid to import the good rows "
               "and write the bad ones to a rejects file") if skip_invalid else (
               "fix the header and import again")
        self.summary = f"{file}: {rows}; nothing was imported ({how})"
        super().__init__("\n".join([*lines, self.summary]))

    def lines(self) -> list[str]:
        return [*self.problem_lines, self.summary]


def _problem_frame(rows: Sequence[tuple[Any, ...]] = (),
                   schema: dict[str, Any] = PROBLEM_SCHEMA) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=schema, orient="row")


@dataclass(frozen=True)
class RawRows:
    """An event file read as text: one row per data line, before any check."""

    file: str
    frame: pl.DataFrame  # text columns as in the file, plus `_row` and `_line` (Int64)
    columns: tuple[str, ...]  # the file's columns (CSV header; union of JSON keys)
    file_problems: pl.DataFrame  # line, column, message: the file as a whole is wrong
    row_problems: pl.DataFrame  # _row, column, message: rows that could not be parsed
    sha256: str
    kind: str  # "csv" or "jsonl"

    @property
    def rows(self) -> int:
        return self.frame.height


def file_kind(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"{path}: cannot tell the event file's format from its suffix "
                         f"{path.suffix or '(none)'!r}",
                         "name it .csv (with a header row) or .jsonl / .json-lines")
    return kind


def read_rows(path: str | Path) -> RawRows:
    """Read an event file; raise one clear line when it cannot be read at all."""
    path = Path(path)
    kind = file_kind(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProblemsError([Problem(str(path), "", "no such file",
                                     "check the path of the event file")]) from None
    except IsADirectoryError:
        raise ProblemsError([Problem(str(path), "", "is a directory, not an event file")]
                            ) from None
    except OSError as exc:
        raise ProblemsError([Problem(str(path), "", f"cannot be read: {exc.strerror}")]
                            ) from None
    if not data or data.isspace():  # not `data.strip()`: that copies the whole file
        raise ProblemsError([Problem(str(path), "", "is empty",
                                     "a CSV file needs at least its header row")])
    reader = _read_csv if kind == "csv" else _read_jsonl
    # The csv module refuses a field over 128 KiB (a huge header name, a long note): no
    # field can be longer than the file, so that is the limit while this file is read.
    limit = csv.field_size_limit(max(len(data), csv.field_size_limit()))
    # hashlib releases the GIL on large buffers: hash while Polars parses.
    try:
        with ThreadPoolExecutor(1) as pool:
            hashing = pool.submit(lambda: hashlib.sha256(data).hexdigest())
            frame, columns, file_problems, row_problems = reader(str(path), data)
            sha = hashing.result()
    finally:
        csv.field_size_limit(limit)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns
                               if c not in ("_row", "_line"))
    if kind == "csv" and REJECTS_ERROR in columns:
        frame, columns = _mended_rejects(frame, columns)
    return RawRows(str(path), frame, tuple(columns), file_problems, row_problems, sha, kind)


# The column a rejects file adds (`importer.write_rejects`): a CSV with it is a rejects
# file, perhaps mended, and imports as it is.
REJECTS_ERROR = "error"


def _mended_rejects(frame: pl.DataFrame, columns: list[str]
                    ) -> tuple[pl.DataFrame, list[str]]:
    """A rejects file's rows as the original file had them: its `error` column ignored,
    and the formula guard its cells were written with (a leading ``'``) removed."""
    frame = frame.drop(UNKNOWN + REJECTS_ERROR, strict=False)
    values = [c for c in frame.columns if c not in ("_row", "_line")]
    return (frame.with_columns(unguarded_cells(pl.col(c)).alias(c) for c in values),
            [c for c in columns if c != REJECTS_ERROR])


UNKNOWN = "?"  # prefix of a column the file has but SPEC §3 does not know


def _known(records: pl.DataFrame) -> pl.DataFrame:
    """The file's columns, an unknown one renamed ``?name``: it is reported as a problem,
    and may be named like an internal column (`_row`, `_line`)."""
    return records.rename({c: UNKNOWN + c for c in records.columns if c not in COLUMNS})


def _finish(records: pl.DataFrame, lines: pl.Series) -> pl.DataFrame:
    """Add `_line`, drop blank rows, then number the rest (`_row`) and turn "" into null."""
    frame = _known(records).with_columns(lines.cast(pl.Int64).alias("_line"))
    values = [c for c in frame.columns if c != "_line"]
    if values:
        # Rewrite only the columns that hold "" and filter only if a row is blank: on a
        # clean file of millions of rows both are no-ops that would copy every column.
        empty = frame.select(pl.col(c).eq("").any() for c in values).row(0)
        frame = frame.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
                                   for c, has in zip(values, empty, strict=True) if has)
        blank = pl.all_horizontal(pl.col(c).is_null() for c in values)
        if frame.select(blank.any()).item():
            frame = frame.filter(~blank)
    return frame.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def _numbered(records: pl.DataFrame, lines: list[int]) -> pl.DataFrame:
    """The slow readers' rows as they are (an unreadable row stays, all null, for its
    problem to name): `_line`, `_row`, and "" turned into null."""
    frame = _known(records)
    values = frame.columns
    return frame.with_columns(
        pl.Series("_line", lines, dtype=pl.Int64),
        *(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in values),
    ).with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def _read_csv(file: str, data: bytes
              ) -> tuple[pl.DataFrame, list[str], pl.DataFrame, pl.DataFrame]:
    header = _csv_header(data)
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError,
            pl.exceptions.ShapeError):
        return _read_csv_slowly(file, data)
    file_problems = _header_problems(header)
    if len(header) != frame.width:  # a header Polars read differently: take the slow path
        return _read_csv_slowly(file, data)
    if _short_rows(data, len(header), frame.height):  # Polars pads them: the slow path names
        return _read_csv_slowly(file, data)          # each one
    frame.columns = _marked_repeats(header)
    # A file with header problems is refused whatever its rows hold: check its known columns
    # only, or a 100,000-column header costs minutes of per-column work.
    keep = COLUMNS if file_problems.height else [c for c in frame.columns if "\x00" not in c]
    frame = frame.select([c for c in frame.columns if c in keep])
    if data.count(b'"') % 2:  # a quote left open somewhere: the slow path finds its row
        return _read_csv_slowly(file, data)
    physical = data.count(b"\n") + (not data.endswith(b"\n"))
    if physical != frame.height + 1:  # a quoted value spans lines: count like csv does
        starts = _csv_record_lines(data)
        if starts is None or len(starts) != frame.height:
            return _read_csv_slowly(file, data)
        lines = pl.Series(starts)
    else:
        lines = pl.int_range(2, frame.height + 2, eager=True)
    return (_finish(frame, lines), list(dict.fromkeys(header)), file_problems,
            _problem_frame())


NO_ROWS = pl.DataFrame(schema={"_row": pl.Int64, "_line": pl.Int64})


def _short_rows(data: bytes, width: int, records: int) -> bool:
    """Whether some row may have fewer fields than the header (Polars fills them with null).

    Without quotes every field but the last ends at a comma, so one C-speed count decides
    (a mismatch may also be blank lines: the slow path sorts that out). With quotes, the
    csv module counts each record's fields."""
    if b'"' not in data:
        return data.count(b",") != (width - 1) * (records + 1)
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace",
                            newline="")
    return any(0 < len(row) < width for row in csv.reader(text))


def _marked_repeats(header: list[str]) -> list[str]:
    """The header with each repeated name marked ``name\x00i`` (dropped later).

    A set of names seen, not ``header[:i]``: a 100,000-column header stays linear."""
    seen: set[str] = set()
    names = []
    for i, name in enumerate(header):
        names.append(f"{name}\x00{i}" if name in seen else name)
        seen.add(name)
    return names


def _csv_header(data: bytes) -> list[str]:
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace",
                            newline="")
    return next(csv.reader(text), [])


def _csv_record_lines(data: bytes) -> list[int] | None:
    """The line on which each data record starts, as the csv module counts them; None if
    a quote is not closed where CSV allows (the slow path then names that row)."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace",
                            newline="")
    reader = csv.reader(text, strict=True)
    starts: list[int] = []
    try:
        next(reader, None)
        last = reader.line_num
        for _ in reader:
            starts.append(last + 1)
            last = reader.line_num
    except csv.Error:
        return None
    return starts


def _header_problems(header: list[str]) -> pl.DataFrame:
    rows = []
    if len(header) == 1 and ";" in header[0] and set(header[0].split(";")) & set(COLUMNS):
        return _problem_frame([(1, "header", "is separated by semicolons; scs reads CSV "
                                "separated by commas (save the file with commas as the "
                                "separator)")], FILE_PROBLEM_SCHEMA)
    seen: set[str] = set()
    for name in header:
        shown = name if len(name) <= 70 else name[:69] + "…"  # a 1 MB name is not printed
        if name in seen:
            rows.append((1, shown, "column named twice in the header (keep one)"))
            continue
        seen.add(name)
        if name not in COLUMNS and name != REJECTS_ERROR:
            rows.append((1, shown or "(empty)", "unknown column (allowed columns: "
                         + ", ".join(COLUMNS) + ")"))
    for name in REQUIRED:
        if name not in header:
            rows.append((1, name, "missing column (the header must name resident_id, "
                         "indicator and occurred_on)"))
    return _problem_frame(rows, FILE_PROBLEM_SCHEMA)


def _decode_lines(data: bytes) -> tuple[str, list[int]]:
    """Decode as UTF-8 line by line; lines that are not UTF-8 become empty and are named."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, bad = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append("")
            bad.append(number)
    return "\n".join(lines), bad


def _read_csv_slowly(file: str, data: bytes
                     ) -> tuple[pl.DataFrame, list[str], pl.DataFrame, pl.DataFrame]:
    text, bad_lines = _decode_lines(data)
    # Lines as the csv module counts them (\n, \r\n or \r end one): reading can restart
    # on any of them.
    physical = io.StringIO(text, newline="").readlines()
    reader = csv.reader(_lines_from(physical, 0), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        return (NO_ROWS, [], _problem_frame(
            [(1, "header", f"cannot be read as CSV: {exc}")], FILE_PROBLEM_SCHEMA),
            _problem_frame())
    file_problems = _header_problems(header)
    first: dict[str, int] = {}  # each name's first position, found in one pass
    for i, name in enumerate(header):
        first.setdefault(name, i)
    unique = list(first)
    positions = list(first.values())
    records: list[list[str | None]] = []
    lines: list[int] = []
    problems: list[tuple[int, str, str]] = []
    bad = set(bad_lines)
    offset = 0  # lines before the current reader's text (it restarts after a bad quote)
    last = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # A quote not closed where CSV allows: this record's first line is the bad
            # row, and reading starts again on the next line, so an unterminated quote
            # never swallows the lines after it into one note.
            line = offset + last + 1
            # the line alone, read leniently, keeps its values for the rejects file
            alone = next(csv.reader([physical[line - 1].rstrip("\r\n")]), []) \
                if line <= len(physical) else []
            records.append([alone[p] for p in positions] if len(alone) == len(header)
                           else [None] * len(unique))
            lines.append(line)
            problems.append((len(records) - 1, "row", f"cannot be read as CSV: {exc} (a "
                             "quote opened on this line is not closed; double a quote "
                             "inside a quoted value: \"\")"))
            reader = csv.reader(_lines_from(physical, line), strict=True)
            offset, last = line, 0
            continue
        line = offset + last + 1
        last = reader.line_num
        if not record and line not in bad:
            continue  # a blank line
        records.append([record[p] if p < len(record) else None for p in positions]
                       if len(record) == len(header) else [None] * len(unique))
        lines.append(line)
        if line in bad:
            problems.append((len(records) - 1, "row",
                             "is not UTF-8 text (save the file as UTF-8)"))
        elif len(record) != len(header):
            problems.append((len(records) - 1, "row",
                             f"has {len(record)} fields but the header has {len(header)} "
                             "(quote values that contain commas)"))
    frame = _numbered(pl.DataFrame(records, schema={c: pl.String for c in unique},
                                   orient="row"), lines)
    return frame, unique, file_problems, _problem_frame(problems)


def _lines_from(lines: list[str], start: int) -> Iterator[str]:
    """The lines from index `start` on, without copying the list."""
    return (lines[i] for i in range(start, len(lines)))


_JSON_SCALARS = (pl.String, pl.Int64, pl.Int32, pl.Int16, pl.Int8, pl.UInt64, pl.UInt32,
                 pl.UInt16, pl.UInt8, pl.Float64, pl.Float32, pl.Null)
# Polars reads a JSON number with a fraction as a binary float: exact only while the number
# has at most 15 significant digits and no exponent (then the float's shortest text has the
# number's value). A file with a run of 16 digits (or dots) anywhere, or a digit before an
# `e`, takes the slow path, where every number is its own text: -4.9999999999999999999 is
# never read as -5.
_DIGITS = bytes.maketrans(b"0123456789.eE", b"###########EE")


def _maybe_inexact(data: bytes) -> bool:
    """Whether a number in the file may have more than 15 significant digits or an
    exponent (at C speed: one translate, two searches; a regex takes a second per 10 MB)."""
    marked = data.translate(_DIGITS)
    return b"#" * 16 in marked or b"#E" in marked


def _read_jsonl(file: str, data: bytes
                ) -> tuple[pl.DataFrame, list[str], pl.DataFrame, pl.DataFrame]:
    blank = data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data
    if not blank:
        try:
            frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        except Exception:  # noqa: BLE001 - any trouble: find the bad lines exactly
            frame = None
        if frame is not None and all(t in _JSON_SCALARS for t in frame.dtypes):
            floats = [c for c, t in frame.schema.items() if t.is_float()]
            frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
            if not floats or not (_maybe_inexact(data) or frame.select(
                    pl.any_horizontal(pl.col(c).str.contains("[eEn]").any() for c in floats)
            ).item()):  # a float shown with an exponent, or inf/NaN: the slow path
                lines = pl.int_range(1, frame.height + 1, eager=True)
                return (_finish(frame, lines), list(frame.columns), _problem_frame(
                    schema=FILE_PROBLEM_SCHEMA), _problem_frame())
    return _read_jsonl_slowly(file, data)


def _read_jsonl_slowly(file: str, data: bytes
                       ) -> tuple[pl.DataFrame, list[str], pl.DataFrame, pl.DataFrame]:
    text, bad_lines = _decode_lines(data)
    bad = set(bad_lines)
    records: list[dict[str, str | None]] = []
    lines: list[int] = []
    problems: list[tuple[int, str, str]] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() and number not in bad:
            continue
        row: dict[str, str | None] = {}
        why = ""
        if number in bad:
            why = "is not UTF-8 text (save the file as UTF-8)"
        else:
            try:
                # every number as the text written: exact, never a binary float
                value = json.loads(line, parse_float=str, parse_int=str)
            except ValueError as exc:
                value, why = None, f"is not valid JSON: {exc.args[0].split(':')[0]}"
            except RecursionError:  # the json module recurses once per nested [ or {
                value, why = None, "is nested too deeply (write one flat object per line)"
            if value is not None and not isinstance(value, dict):
                why = "is not a JSON object (write one {\"resident_id\": …} object per line)"
            elif isinstance(value, dict):
                for key, cell in value.items():
                    columns.setdefault(key, None)
                    if cell is None or isinstance(cell, str):
                        row[key] = cell
                    else:
                        why = why or (f"{key!r} must be text or a number, not "
                                      f"{type(cell).__name__}")
        records.append({} if why else row)
        lines.append(number)
        if why:
            problems.append((len(records) - 1, "row", why))
    names = list(columns)
    frame = _numbered(pl.DataFrame([[r.get(c) for c in names] for r in records],
                                   schema={c: pl.String for c in names}, orient="row"), lines)
    return frame, names, _problem_frame(schema=FILE_PROBLEM_SCHEMA), _problem_frame(problems)
