"""The one output layer: one `Format`, one writer per format, one decimal-to-text function.

Records are plain dicts with stable keys; large tables are Polars frames whose points are
Int64 hundredths. Decimals are written in their shortest exact form (``1000``, ``987.5``);
in JSON they are number tokens written from that text, never through a float. Lists in
CSV cells are joined with ``;``.

What leaves through here is safe to open: CSV cells of free text that a spreadsheet would
run as a formula get a leading ``'``; Markdown escapes HTML; text for a terminal loses its
control characters. Files are never written in place: `write_atomic` writes a temporary
file beside the target and renames it, after `check_output_path` has refused any target
that is an input, the ledger or a SQLite database.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scs_cli.core.errors import OutputError, UsageError
from scs_cli.core.guard import check_target
from scs_cli.core.text import decimal_text, shown

if TYPE_CHECKING:
    import polars as pl


class Format(StrEnum):
    """Every output format of every command (each command says which it accepts)."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    html = "html"    # a self-contained page (scs impact)


MACHINE_FORMATS = (Format.csv, Format.json, Format.jsonl)
SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}


def format_for_path(path: str | Path) -> str:
    """The format a file suffix asks for; refuse suffixes we cannot write."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: cannot tell the output format from the suffix {suffix!r}",
                         "use a name ending in " + ", ".join(SUFFIXES))
    return SUFFIXES[suffix]


# --- numbers ---------------------------------------------------------------------------

def hundredths_text(hundredths: int) -> str:
    """Int64 hundredths (the engine's points) as `decimal_text`: -50 → ``-0.5``."""
    return decimal_text(Decimal(hundredths).scaleb(-2))


def points_text(column: pl.Expr) -> pl.Expr:
    """`hundredths_text` for a Polars column: 100000 → ``1000``, -50 → ``-0.5``.

    Through Polars' exact decimals (``987.50``), then trailing zeros and point dropped:
    a few times faster than assembling the digits from integer parts."""
    import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

    text = (column.cast(pl.Decimal(38, 2)) / 100).cast(pl.String)
    return text.str.strip_chars_end("0").str.strip_chars_end(".")


# --- safe text -------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"
_NUMBER_PATTERN = r"^[+-]?[0-9]+(\.[0-9]+)?$"


def safe_cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run: free text beginning ``= + - @``, tab or CR gets
    a leading ``'``. A plain number (``-5``) is no formula and stays as it is."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_cells(column: pl.Expr) -> pl.Expr:
    """`safe_cell` for a Polars string column."""
    import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

    risky = column.str.contains(_FORMULA_PATTERN) & ~column.str.contains(_NUMBER_PATTERN)
    return pl.when(risky).then(pl.lit("'") + column).otherwise(column)


def unguarded_cells(column: pl.Expr) -> pl.Expr:
    """The inverse of `safe_cells`: a cell `safe_cells` would have guarded loses its ``'``
    (``'=X`` → ``=X``); every other cell, ``'-5`` among them, stays as it is."""
    import polars as pl

    rest = column.str.slice(1)
    guarded = (column.str.starts_with("'") & rest.str.contains(_FORMULA_PATTERN)
               & ~rest.str.contains(_NUMBER_PATTERN))
    return pl.when(guarded).then(rest).otherwise(column)


# The one sanitiser (core/text.py), under the name the CLI has always imported.
terminal_text = shown


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def markdown_text(text: str) -> str:
    """Text for Markdown that renders as itself: every ``<`` that could open an HTML tag,
    comment or processing instruction is escaped, so no HTML in it ever runs. (A ``<``
    before a digit or a space, as in ``<5``, opens nothing and stays readable.)"""
    return _TAG_START.sub("&lt;", text)


def markdown_document(text: str) -> str:
    """A whole Markdown document built from catalogue or ledger text, made safe by
    `markdown_text`, except the ``<br>`` that tables use for line breaks (which runs
    nothing, whoever wrote it)."""
    return markdown_text(text).replace("&lt;br>", "<br>")


def markdown_cell(text: str) -> str:
    """`markdown_text` for a table cell: a ``|`` or a line break would end the cell."""
    return markdown_text(text).replace("|", "\\|").replace(
        "\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


# --- JSON ------------------------------------------------------------------------------

def to_json(data: Any, *, indent: int | None = 2) -> str:
    """JSON text laid out as ``json.dumps(data, indent=indent, ensure_ascii=False)`` would,
    but with every Decimal written as the exact number token `decimal_text` gives."""
    return _json(data, indent, 0)


def _json(value: Any, indent: int | None, depth: int) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):  # never a point or a score: shares, seconds
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return json.dumps(value.isoformat())
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        items = [f"{_json(_key(k), indent, depth + 1)}: {_json(v, indent, depth + 1)}"
                 for k, v in value.items()]
        return _container("{", items, "}", indent, depth)
    if isinstance(value, list | tuple | set | frozenset):
        return _container("[", [_json(v, indent, depth + 1) for v in value], "]", indent,
                          depth)
    if hasattr(value, "__dataclass_fields__"):
        return _json({k: getattr(value, k) for k in value.__dataclass_fields__}, indent, depth)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    if isinstance(key, int | Decimal):
        return decimal_text(key)
    raise TypeError(f"cannot write a {type(key).__name__} key as JSON")


def _container(open_: str, items: list[str], close: str, indent: int | None,
               depth: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(items) + close
    inner = "\n" + " " * (indent * (depth + 1))
    return open_ + inner + ("," + inner).join(items) + "\n" + " " * (indent * depth) + close


# --- records (small results: dicts) ----------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return decimal_text(value)
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return safe_cell(str(value))


def to_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    lines = [",".join(_quoted(c) for c in columns)]
    lines += [",".join(_quoted(_cell(rec.get(c))) for c in columns) for rec in records]
    return "\n".join(lines) + "\n"


def _quoted(cell: str) -> str:
    """A CSV field as Polars writes one: quoted when it holds a comma, a quote or a line
    break. (The csv module, with "\n" line ends, leaves a carriage return bare, which splits
    the row for every reader.)"""
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(to_json(r, indent=None) + "\n" for r in records)


def to_markdown(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown pipe table; every cell escaped (`markdown_cell`)."""
    def row(cells: Iterable[str]) -> str:
        return "| " + " | ".join(cells) + " |\n"

    lines = [row(markdown_cell(c) for c in columns), row("---" for _ in columns)]
    for rec in records:
        value = [rec.get(c) for c in columns]
        lines.append(row(markdown_cell(_plain(v)) for v in value))
    return "".join(lines)


def _plain(value: Any) -> str:
    """A cell's text without CSV's formula guard (Markdown runs no formulas)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ";".join(_plain(v) for v in value)
    return _cell(value)


WRITERS: dict[str, Callable[[list[dict[str, Any]], Sequence[str]], str]] = {
    "csv": to_csv,
    "json": lambda records, columns: to_json(records) + "\n",
    "jsonl": lambda records, columns: to_jsonl(records),
    "markdown": to_markdown,
}


def render(records: list[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Records as text in a written format (csv, json, jsonl or markdown)."""
    if fmt not in WRITERS:
        raise UsageError(f"format {fmt!r} is not a written format",
                         "use csv, json, jsonl or markdown")
    return WRITERS[fmt](records, columns)


def write_file(path: str | Path, records: list[dict[str, Any]], columns: Sequence[str],
               frame: Any = None) -> str:
    """Write records to ``path`` in the format its suffix names; return that format.

    ``frame`` (a Polars DataFrame of the same records) is used for Parquet when given,
    so large results are not converted row by row.
    """
    fmt = format_for_path(path)
    if fmt == "parquet":
        import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

        df = frame if frame is not None else pl.DataFrame(
            [{c: r.get(c) for c in columns} for r in records])
        write_atomic(path, df.write_parquet)
    else:
        write_text(path, render(records, columns, fmt))
    return fmt


# --- frames (large results: one row per resident or per event) -------------------------

def render_frame(frame: pl.DataFrame, fmt: str, points: Sequence[str] = (), *,
                 safe: bool = True) -> str:
    """``frame`` as csv, json or jsonl text; ``points`` names its Int64-hundredths columns.

    ``safe=False`` leaves CSV text cells unguarded: for digests of what a run computed,
    which must not change with how it is shown."""
    if fmt == "csv":
        buffer = io.StringIO()
        _csv_cells(frame, points, safe).write_csv(buffer, line_terminator="\n")
        return buffer.getvalue()
    if fmt not in ("json", "jsonl"):
        raise UsageError(f"format {fmt!r} is not a machine format", "use csv, json or jsonl")
    if frame.height == 0:
        return "" if fmt == "jsonl" else "[]\n"
    lines = frame.select(_json_line(frame, points).str.join(",\n" if fmt == "json" else "\n"))
    text = lines.item()
    return text + "\n" if fmt == "jsonl" else "[\n" + text + "\n]\n"


def write_frame(frame: pl.DataFrame, path: str | Path, points: Sequence[str] = ()) -> str:
    """Write ``frame`` to ``path`` in the format its suffix names; return the format.

    Parquet keeps points exact as decimals with 2 places and text as it is (no formula
    guard: Parquet cells are typed, never formulas)."""
    import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

    fmt = format_for_path(path)
    if fmt == "parquet":
        exact = frame.with_columns(pl.col(c).cast(pl.Decimal(18, 2)) / 100 for c in points)
        write_atomic(path, exact.write_parquet)
    elif fmt == "csv":
        cells = _csv_cells(frame, points, True)
        write_atomic(path, lambda tmp: cells.write_csv(tmp, line_terminator="\n"))
    else:
        write_text(path, render_frame(frame, fmt, points))
    return fmt


def _csv_cells(frame: pl.DataFrame, points: Sequence[str], safe: bool) -> pl.DataFrame:
    """Every column as the text of its CSV cell."""
    import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

    texts: dict[str, pl.Expr] = {}  # the text of each cell that could be a formula
    starts: dict[str, pl.Expr] = {}  # where that text begins (a list's first item)
    cells = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if name in points:
            cells.append(points_text(col).alias(name))
        elif isinstance(dtype, pl.List):
            # an empty list is an empty cell (null), not a quoted empty string
            texts[name] = pl.when(col.list.len() > 0).then(col.cast(pl.List(pl.String))
                                                           .list.join(";"))
            starts[name] = col.list.first().cast(pl.String)
            cells.append(texts[name].alias(name))
        elif dtype == pl.String:
            texts[name] = starts[name] = col
            cells.append(col)
        elif isinstance(dtype, pl.Decimal):
            # an exact decimal column written as `decimal_text` does
            text = col.cast(pl.String)
            cells.append(pl.when(text.str.contains(r"\."))
                         .then(text.str.strip_chars_end("0").str.strip_chars_end("."))
                         .otherwise(text).alias(name))
        else:
            cells.append(col.cast(pl.String))
    if safe and texts:
        # Guard only the text columns that hold a risky cell at all: one cheap prefix test
        # per column instead of two regular expressions on every cell (0.6 s at 500,000).
        risky = frame.select(pl.any_horizontal(start.str.starts_with(c)
                                               for c in _FORMULA_START).any().alias(name)
                             for name, start in starts.items()).row(0, named=True)
        cells = [safe_cells(texts[name]).alias(name) if risky.get(name) else cell
                 for name, cell in zip(frame.columns, cells, strict=True)]
    return frame.select(cells)


def _json_line(frame: pl.DataFrame, points: Sequence[str]) -> pl.Expr:
    """One compact JSON object per row, keys in column order."""
    import polars as pl  # lazy: the CLI imports this module, and `scs --help` must stay fast

    parts: list[pl.Expr] = []
    for name in frame.columns:
        if name in points:
            parts.append(pl.lit(f'"{name}":') + pl.coalesce(points_text(pl.col(name)),
                                                            pl.lit("null")))
        else:  # Polars escapes the text; strip the braces of a one-key object
            encoded = pl.struct(pl.col(name)).struct.json_encode()
            parts.append(encoded.str.slice(1, encoded.str.len_chars() - 2))
    return pl.lit("{") + pl.concat_str(parts, separator=",") + pl.lit("}")


# --- files -----------------------------------------------------------------------------

def check_output_path(path: str | Path, inputs: Mapping[str, str | Path | None] | None = None,
                      option: str = "--output") -> Path:
    """Refuse an output file that would destroy an input or cannot be written.

    ``inputs`` names what the command reads (``{"the ledger": ledger}``); the rules are
    `scs_cli.core.guard`'s (an input by any name, its -wal/-shm/-journal, any SQLite file,
    a folder); a file in a missing folder is refused too. One `OutputError`, raised before
    any work is done."""
    target = Path(path)
    fix = f"choose another {option} file"
    check_target(target, inputs, option)
    folder = target.parent
    if not folder.exists():
        raise OutputError(target, f"the folder {folder} does not exist",
                          f"create it first or {fix}")
    if not folder.is_dir():
        raise OutputError(target, f"{folder} is not a folder", fix)
    return target


def write_text(path: str | Path, text: str) -> None:
    """`write_atomic` for text (UTF-8)."""
    data = text.encode("utf-8")
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_atomic(path: str | Path, write: Callable[[Path], object],
                 option: str = "--output") -> None:
    """Call ``write(tmp)`` on a new file beside ``path``, then rename it into place.

    A reader never sees half a file, and a failed write leaves the old one as it was. A
    target that is no regular file (``/dev/stdout``, a pipe) is written directly: there
    is nothing to rename over. Every OSError is one `OutputError`."""
    given = Path(path)
    target = Path(os.path.realpath(given))  # through a symlink: keep the link, replace its file
    fix = f"check the folder and free space, or choose another {option} file"
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(given, f"cannot be written: {_reason(exc)}", fix) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(given, "is a folder, not a file",
                          f"give {option} a file name, such as {given / 'out.csv'}")
    if mode is None or stat.S_ISREG(mode):
        check_target(given, None, option)  # the last guard: never over a database
    if mode is not None and not stat.S_ISREG(mode):
        try:
            write(target)
        except OSError as exc:
            raise OutputError(given, f"cannot be written: {_reason(exc)}", fix) from None
        return
    # os.urandom, as secrets.token_hex: importing secrets (hmac, random) took 4 ms of
    # every command's start-up
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(given, f"cannot be written: {_reason(exc)}", fix) from None
    except Exception as exc:
        if _is_os_error(exc):  # Polars wraps I/O failures in its own errors
            raise OutputError(given, f"cannot be written: {exc}", fix) from None
        raise
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _is_os_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("no space", "os error", "permission denied",
                                   "no such file", "read-only"))


def safe_child(folder: str | Path, name: str, what: str = "a file name") -> Path:
    """``folder / name`` for a ``name`` made from an id (a city id): refused unless it is
    one plain path component, so nothing is ever written outside ``folder``."""
    bad = (not name or name in (".", "..") or name.startswith(".")
           or any(c in name for c in "/\\:\x00") or terminal_text(name) != name)
    if bad:
        raise OutputError(Path(folder), f"{what} {name!r} would leave this folder",
                          "ids used as file names are plain slugs such as rongcheng")
    return Path(folder) / name
