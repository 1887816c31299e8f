"""What every command shares: consoles, option types, date parsing, error mapping."""

from __future__ import annotations

import errno
import os
import sys
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console
    from typer._click import Context  # typer's own click, not the click package

from scs_cli.core.errors import ScsError, UsageError
from scs_cli.core.output import Format, terminal_text

# Output that is not a terminal (a file, a pipe, `| head`) has no width to fit: tables are
# printed whole, however wide, so no id, date or number is ever cut or folded there.
PIPED_WIDTH = 100_000


def _console_class() -> type[Console]:
    from rich.console import ConsoleDimensions

    class StdoutConsole(_safe_console_class()):  # type: ignore[misc]
        """Fits a terminal's width; prints whole into a file or pipe.

        The terminal's width (its size, or ``COLUMNS``) only applies to a terminal; a width
        the program sets itself (the demo's 120-column explain file) always applies."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self._width_from_env = self._width

        @property
        def size(self) -> ConsoleDimensions:
            if not self.is_terminal and self._width == self._width_from_env:
                return ConsoleDimensions(PIPED_WIDTH, super().size.height)
            return super().size

        @size.setter
        def size(self, new_size: tuple[int, int]) -> None:
            self._width, self._height = new_size

        def print(self, *objects: Any, **options: Any) -> None:
            """A table whose ids, dates and numbers (its no-wrap columns) do not fit the
            width is printed one record at a time, each column's value beside its name:
            rich would cut every column to fit, and a line longer than the terminal would
            be folded by the terminal anywhere, ids included."""
            from rich.table import Table

            return super().print(*(_as_records(o) if isinstance(o, Table)
                                   and _width_needed(self, o) > self.width else o
                                   for o in objects), **options)

    return StdoutConsole


def _width_needed(console: Console, table: Any) -> int:
    """The narrowest a table can be without cutting a cell of a no-wrap column: those
    cells at full width, the other columns at their longest word (rich's own measure
    lets every cell wrap at spaces, so it would split a date from its time)."""
    from rich.measure import Measurement
    from rich.padding import Padding

    options = console.options.update_width(PIPED_WIDTH)
    _, right, _, left = Padding.unpack(table.padding)
    total = (2 if table.box and table.show_edge else 0) + \
        (len(table.columns) - 1 if table.box else 0)
    for column in table.columns:
        widths = [Measurement.get(console, options, cell) for cell in
                  [column.header, *column.cells]]
        width = max((m.maximum if column.no_wrap else m.minimum for m in widths), default=0)
        total += max(width, column.min_width or 0, column.width or 0) + left + right
    return total


def fits(table: Any) -> bool:
    """Whether a table fits stdout's width with its no-wrap cells whole (always, into a
    file or pipe); a command can then choose a narrower layout of its own."""
    console = getattr(out, "console", out)
    return _width_needed(console, table) <= console.width


def _as_records(table: Any) -> Any:
    """The table's rows as blocks of `column  value` lines (as `psql -x` does), each block
    under a rule with its row number; values fold, so a long text folds in its column."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.table import Table

    columns = table.columns
    parts: list[Any] = [table.title] if table.title else []
    rows = list(zip(*(list(c.cells) for c in columns), strict=True))
    for number, cells in enumerate(rows, 1):
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True, style="bold")
        block.add_column(overflow="fold")
        for column, cell in zip(columns, cells, strict=True):
            block.add_row(column.header, cell)
        parts += [Rule(f"{number} of {len(rows)}", align="left", style="dim"), block]
    return Group(*parts)


class _LazyConsole:
    """A rich Console made on first use: `--help` and `--format json` never load rich
    (about 45 ms of start-up)."""

    def __init__(self, whole_when_piped: bool = False, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_whole_when_piped", whole_when_piped)
        object.__setattr__(self, "_console", None)

    @property
    def console(self) -> Console:
        """The Console itself (tests patch its width)."""
        return self._get()

    def _get(self) -> Console:
        console = object.__getattribute__(self, "_console")
        if console is None:
            make = (_console_class() if object.__getattribute__(self, "_whole_when_piped")
                    else _safe_console_class())
            console = make(**object.__getattribute__(self, "_options"))
            object.__setattr__(self, "_console", console)
        return console  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)

    def __enter__(self) -> Console:  # rich's Live and Progress enter their console
        return self._get().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._get().__exit__(*exc)


def _safe_console_class() -> type[Console]:
    """A rich Console that removes control characters from every piece of text it shows.

    Catalogue names, notes, grounds and resident ids come from files anyone may write; an
    escape sequence among them could rewrite the screen. Rich's own styling travels as
    styles and control segments, which are left alone."""
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        def render(self, renderable: Any, options: Any = None) -> Any:
            for segment in super().render(renderable, options):
                if segment.control is None and segment.text:
                    clean = terminal_text(segment.text)
                    if clean != segment.text:
                        segment = Segment(clean, segment.style)
                yield segment

        def on_broken_pipe(self) -> None:
            # rich would exit 1 here; ScsGroup.invoke ends a closed pipe quietly with 0
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return SafeConsole


# Data goes to stdout, everything for people to stderr. Markup is off: a note, grounds or
# catalogue name of `[link=…]x[/link]` in a table cell or title prints as those characters
# (styling is given as styles, Text objects; the few strings written with markup say so).
out: Console = _LazyConsole(whole_when_piped=True, soft_wrap=True,  # type: ignore[assignment]
                            markup=False)
err: Console = _LazyConsole(stderr=True, soft_wrap=True, markup=False)  # type: ignore[assignment]

SHOW_TRACEBACK = {"on": False}


class ScsGroup(TyperGroup):
    """The one place library errors become exit codes: ScsError → one line each, exit 1."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScsError as exc:
            if SHOW_TRACEBACK["on"]:
                raise
            for line in exc.lines():
                typer.echo(f"error: {one_line(line)}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            if SHOW_TRACEBACK["on"] and exc.errno != errno.EPIPE:
                raise
            _silence_stdout()
            if exc.errno == errno.EPIPE:  # `scs … | head`: the reader has all it wants
                ctx.exit(0)
            where = exc.filename if exc.filename is not None else "standard output"
            typer.echo(f"error: {terminal_text(str(where))}: cannot be written or read: "
                       f"{exc.strerror or exc} (check the file, the folder and free space)",
                       err=True)
            ctx.exit(1)

    def format_commands(self, ctx: Context, formatter: Any) -> None:
        """Each command with its whole summary (the first paragraph of its help), wrapped
        rather than cut at 45 characters with "..."."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, summary(cmd.short_help or cmd.help or "")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        _plain_coercion(self, ctx)
        _plain_words(self)
        return super().parse_args(ctx, args)


def summary(help_text: str) -> str:
    """A command's summary: the first paragraph of its help, whole, on one line."""
    import inspect

    return " ".join(inspect.cleandoc(help_text).split("\n\n")[0].split())


def one_line(text: str) -> str:
    """An error line as one terminal line: a line break quoted from a file is shown as
    ``\\n``, and control characters are removed."""
    return terminal_text(text.replace("\r", "\\r").replace("\n", "\\n"))


def _silence_stdout() -> None:
    """Point stdout at the null device: what is still buffered for a closed pipe or a full
    disk would otherwise fail again at exit, with Python's own message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test runner's): nothing to flush
        pass


class _PlainParam:
    """Coerces a str, Path or enum argument as typer does, without pydantic.

    typer (0.2x) coerces every non-flag value through a pydantic TypeAdapter; importing
    pydantic and building the adapters costs about 0.15 s per command, half of the 0.3 s
    SPEC §6 allows `scs explain`. For the plain annotations these commands use, the
    parsers typer's adapters wrap are called directly; anything else (a bad choice, for
    its message) goes to typer's own coercion.
    """

    def __init__(self, convert: Any) -> None:
        self.convert = convert

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return self.convert(value, param, ctx)
            except ValueError:
                pass
        from typer._coercion import build_runtime_param

        return build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=ctx)


class _PlainPaths:
    """Coerces a variadic `list[Path]` argument (LEDGER…) as typer does, without pydantic."""

    def __init__(self, info: Any) -> None:
        self.info = info

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        from typer._param_types import coerce_cli_path

        if value is None or not all(isinstance(v, str) for v in value):
            from typer._coercion import build_runtime_param

            return build_runtime_param(param.type_descriptor).coerce(value, param=param,
                                                                     ctx=ctx)
        return [coerce_cli_path(Path(v), self.info, path_type=Path, param=param, ctx=ctx)
                for v in value]


def _plain_words(command: Any) -> None:
    """Usage lines and help in plain words: ``scs explain [OPTIONS] LEDGER RESIDENT`` and
    ``--output PATH``, where typer would print Python (``{ledger} {resident}``,
    ``<list[Path]>``, ``<int range>``). An argument is named by its metavar (else its name in
    capitals); ``[NAME]`` when optional, ``NAME...`` when it takes several; an option's value
    by a word for its type."""
    for sub in getattr(command, "commands", {}).values():
        _plain_words(sub)
    for param in command.params:
        if getattr(param, "_plain_words", False):
            continue
        param._plain_words = True
        if param.param_type_name == "argument":
            many = "..." if param.nargs != 1 else ""
            word = (param.metavar or param.name.upper()).removesuffix("...")
            param.metavar = word + many
            usage = param.metavar if param.required else f"[{word}]{many}"
            param._usage_display_name = lambda usage=usage: usage
            param.display_type_rich = lambda ctx: None  # the name says it: no "<path>"
        elif (param.param_type_name == "option" and param.metavar is None
              and not getattr(param, "is_flag", False) and not getattr(param, "count", False)):
            param.metavar = _value_word(param)


def _value_word(param: Any) -> str:
    desc = getattr(param, "type_descriptor", None)
    if desc is not None and getattr(desc, "is_choice", False):
        return "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
    kind = getattr(desc, "annotation", None)
    words: dict[Any, str] = {Path: "PATH", int: "N", str: "TEXT", float: "NUMBER"}
    return words.get(kind) or str(getattr(kind, "__name__", "VALUE")).upper()


def _to_typer(value: str, param: Any, ctx: Any) -> Any:
    raise ValueError(value)


def _plain_coercion(command: Any, ctx: Context) -> None:
    """Give the plain parameters of a command (and its subcommands) a `_PlainParam`.

    Leans on typer internals (`_runtime_param`, `type_descriptor`): when they are not
    there, nothing changes and typer coerces as usual."""
    try:
        from typer._param_types import coerce_cli_choice, coerce_cli_path
    except ImportError:
        return
    for sub in getattr(command, "commands", {}).values():
        _plain_coercion(sub, ctx)
    for param in [*command.params, command.get_help_option(ctx)]:
        desc = getattr(param, "type_descriptor", None)
        if (param is not None and desc is not None and param.nargs == -1
                and not param.multiple and desc.annotation == list[Path]
                and desc.file_annotation is None and desc.parameter_info.path_type is None
                and getattr(param, "_runtime_param", False) is None):
            param._runtime_param = _PlainPaths(desc.parameter_info)
            continue
        if (param is None or desc is None or getattr(param, "_runtime_param", False) is not None
                or param.multiple or param.nargs != 1 or desc.file_annotation is not None):
            continue
        kind, info = desc.annotation, desc.parameter_info
        if info.parser is not None:  # `formats`: its parser is the whole conversion
            param._runtime_param = _PlainParam(lambda v, p, c, parse=info.parser: parse(v))
        elif kind is bool:  # a flag left unset is None; any text goes to typer
            param._runtime_param = _PlainParam(_to_typer)
        elif kind is str:
            param._runtime_param = _PlainParam(lambda v, p, c: v)
        elif kind is Path and info.path_type is None:
            param._runtime_param = _PlainParam(lambda v, p, c, info=info: coerce_cli_path(
                Path(v), info, path_type=Path, param=p, ctx=c))
        elif isinstance(kind, type) and issubclass(kind, Enum):
            param._runtime_param = _PlainParam(lambda v, p, c, kind=kind, info=info:
                                               coerce_cli_choice(
                                                   v, choices=tuple(kind),
                                                   case_sensitive=info.case_sensitive, ctx=c))


def parse_date(value: str | None, option: str, default: date | None = None) -> date:
    """An ISO date from the command line (``2024-03-31``)."""
    if value is None:
        return default or date.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date", "write YYYY-MM-DD") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise UsageError(f"{option} {value} is too far out",
                         f"give a date from {EARLIEST_DATE} to {LATEST_DATE}: rules look up "
                         "to 100 years back and ahead of it")
    return day


# Dates have to leave room for a catalogue's longest duration (100 years, SPEC §2) on either
# side before Python's calendar ends (0001 and 9999).
EARLIEST_DATE = date(101, 1, 1)
LATEST_DATE = date(9898, 12, 31)
MAX_ID = 2**63 - 1  # SQLite's INTEGER


def check_id(value: int | None) -> int | None:
    """A typer callback: an event or objection id SQLite can hold, else one line, exit 1."""
    if value is not None and not 1 <= value <= MAX_ID:
        raise UsageError(f"id {value} is outside 1 to {MAX_ID:,}",
                         "use an id that `scs ledger history` or `scs objection list` shows")
    return value


def parse_timestamp(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 timestamp; UTC when it has no offset."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a timestamp",
                         "write e.g. 2024-03-31T12:00:00Z") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    try:
        return ts.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is still the year 0 in UTC
        raise UsageError(f"{option} {value!r} is before 0001-01-01 or after 9999-12-31 in UTC",
                         "give a timestamp within those years") from None


def stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (text shown there is sanitised)."""
    return sys.stdout.isatty()


def emit(text: str, nl: bool | None = None) -> None:
    """Machine output (csv, json, jsonl, markdown) to stdout exactly as written: not through
    rich, which would turn ``:warning:`` in a note into an emoji. Into a terminal the text
    is `shown` (escape sequences, BEL and bidi overrides removed); into a file or pipe it
    stays byte for byte."""
    if stdout_is_terminal():
        text = terminal_text(text)
    typer.echo(text, nl=not text.endswith("\n") if nl is None else nl)


def complete_catalogue(incomplete: str) -> list[str]:
    """Shell completion for a catalogue argument: bundled names, then .toml files."""
    from scs_cli.rules.schema import bundled_catalogue_paths

    names = [p.stem for p in bundled_catalogue_paths() if p.stem.startswith(incomplete)]
    files = sorted(str(p) for p in Path().glob(f"{incomplete}*.toml"))
    return names + files


def progress_enabled() -> bool:
    return sys.stderr.isatty()


LedgerArg = Annotated[Path, typer.Argument(help="The city's ledger file (SQLite).",
                                           show_default=False)]
SourceArg = Annotated[Path, typer.Argument(
    metavar="LEDGER", help="The city's ledger file (SQLite), or its dataset folder (made by "
    "`scs ledger export LEDGER --format parquet --output DIR`).", show_default=False)]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", metavar="YYYY-MM-DD",
                                              help="As of this date (default: today).",
                                              show_default=False)]
KnownAtOpt = Annotated[str | None, typer.Option(
    "--known-at", metavar="YYYY-MM-DDTHH:MM:SSZ",
    help="Only ledger rows recorded by this ISO timestamp (UTC if no offset).",
    show_default=False)]
MasterOpt = Annotated[str | None, typer.Option(
    "--master", help="With --engine spark: the Spark master URL (default local[*]).",
    show_default=False)]
def formats(*accepted: Format, help: str | None = None) -> Any:
    """The ``--format`` option of a command that writes the ``accepted`` formats: the one
    declaration its validation, its help and shell completion all read.

    Every command shares the one `Format`; anything else is refused as a usage error
    (exit 2) that names what this command writes, its help lists exactly those, and
    completion offers exactly those."""
    names = ", ".join(repr(f.value) for f in accepted)

    def parse(value: str | Format) -> Format:
        if isinstance(value, Format) and value in accepted:
            return value
        found = next((f for f in accepted if f.value == value), None)
        if found is None:
            raise typer.BadParameter(f"{str(value)!r} is not one of {names}.")
        return found

    def complete(incomplete: str) -> list[str]:
        return [f.value for f in accepted if f.value.startswith(incomplete)]

    return typer.Option("--format", "-f", metavar="[" + "|".join(f.value for f in accepted)
                        + "]", help=help or f"Output format: {names}.", parser=parse,
                        autocompletion=complete)


FormatOpt = Annotated[Format, formats(*(f for f in Format if f is not Format.html))]
