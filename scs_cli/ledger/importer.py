"""Reading and validating event files (CSV or JSON Lines) for `scs ledger import`.

The file is read by `reader` into one Polars frame of text columns, and every check is a
vectorized expression over all rows: no Python loop per row on the normal path.

A problem is reported as ``FILE:LINE: COLUMN: reason (how to mend)``. CSV lines count the
header as line 1; JSON Lines count from 1. Problems of the file as a whole (an unknown or
missing column) cannot be skipped; problems of a row can (``--skip-invalid``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli.core.errors import ScsError
from scs_cli.core.output import decimal_text, safe_cells, write_atomic
from scs_cli.ledger.reader import COLUMNS, REQUIRED, RESIDENT_ID, UNKNOWN, Progress, RawRows
from scs_cli.rules.model import CatalogueHistory, cents

# --- validation ------------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """The rows of one file judged against a ledger's catalogues."""

    raw: RawRows
    good: pl.DataFrame  # valid rows, typed: see `_typed`
    problems: pl.DataFrame  # _row, _line, column, message (row problems, in file order)
    file_problems: pl.DataFrame  # line, column, message

    def lines(self) -> list[str]:
        """Every problem as ``FILE:LINE: COLUMN: reason (how to mend)``, file order."""
        file_lines = self.file_problems.select(
            pl.format("{}:{}: {}: {}", pl.lit(self.raw.file), "line", "column", "message"))
        row_lines = self.problems.select(
            pl.format("{}:{}: {}: {}", pl.lit(self.raw.file), "_line", "column", "message"))
        return file_lines.to_series().to_list() + row_lines.to_series().to_list()

    @property
    def bad_rows(self) -> int:
        return self.problems["_row"].n_unique() if self.problems.height else 0

    def rejects(self) -> pl.DataFrame:
        """The bad rows as they were, with an `error` column naming every problem."""
        errors = self.problems.group_by("_row", maintain_order=True).agg(
            pl.format("line {}: {}: {}", "_line", "column", "message").str.join("; ")
            .alias("error"))
        have = set(self.raw.frame.columns)
        columns = [pl.col(c) if c in COLUMNS else pl.col(UNKNOWN + c).alias(c)
                   for c in self.raw.columns if (c if c in COLUMNS else UNKNOWN + c) in have]
        return (self.raw.frame.join(errors, on="_row", how="inner")
                .sort("_row").select([*columns, "error"]))


def check_rows(raw: RawRows, history: CatalogueHistory, city_id: str, today: date
               ) -> Checked:
    """Judge every row by the catalogue version in force on its date."""
    frame = raw.frame
    for name in COLUMNS:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    missing_columns = set(REQUIRED) - set(raw.columns) if raw.kind == "csv" else set()
    unparsed = raw.row_problems["_row"]
    frame = frame.with_columns(pl.col("_row").is_in(unparsed.implode()).alias("_unparsed"))

    date_text = pl.col("occurred_on")
    frame = frame.with_columns(
        pl.when(date_text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
        .then(date_text.str.to_date("%Y-%m-%d", strict=False)).alias("_date"))
    frame = _look_up(frame, _versions_by_date(frame["_date"], history), "_date")
    # Look rules up by small integer keys: joins on integers, not strings, at this size.
    rules, indicator_codes, agency_codes = _rules(history)
    frame = frame.with_columns(
        (pl.col("_v") * 100_000 + pl.col("indicator").replace_strict(
            indicator_codes, default=None, return_dtype=pl.Int64)).alias("_rule_key"))
    frame = _look_up(frame, rules, "_rule_key")
    allowed = _reporters(history, indicator_codes, agency_codes)
    frame = frame.with_columns(
        (pl.col("_rule_key") * 10_000 + pl.col("agency").replace_strict(
            agency_codes, default=None, return_dtype=pl.Int64)).alias("_reporter_key"))
    frame = _look_up(frame, allowed, "_reporter_key")
    given = frame.filter(pl.col("points").is_not_null()).select(
        "_row", *points_columns(pl.col("points")))
    frame = _look_up(frame, given, "_row")
    known = pl.Series(sorted({i for v in history for i in v.indicators}), dtype=pl.String)
    first = history.versions[0].effective_from if len(history) else None

    checks = _checks(known, first, city_id, today, missing_columns)
    if raw.kind == "jsonl":  # keys are per line in JSON Lines: an unknown one is a row's
        for name in raw.columns:
            if name not in COLUMNS:
                checks.append((name, pl.col(UNKNOWN + name).is_not_null(), pl.lit(
                    "unknown key (allowed keys: " + ", ".join(COLUMNS) + ")")))
    # One pass finds the rows with any problem; each check then runs on those alone.
    suspects = frame.filter(~pl.col("_unparsed")
                            & pl.any_horizontal(condition for _, condition, _ in checks))
    parts = []
    for column, condition, message in checks:
        parts.append(suspects.filter(condition).select(
            "_row", "_line", pl.lit(column).alias("column"), message.alias("message")))
    rows_bad = raw.row_problems.join(frame.select("_row", "_line"), on="_row").select(
        "_row", "_line", "column", "message")
    order = {c: i for i, c in enumerate(("row", *COLUMNS))}
    problems = pl.concat([rows_bad, *parts]).with_columns(
        pl.col("column").replace_strict(order, default=len(order)).alias("_order")
    ).sort("_row", "_order").drop("_order")
    problems = _suggest(problems, known)
    bad = problems["_row"].unique()
    good = frame.filter(~pl.col("_row").is_in(bad.implode())) if bad.len() else frame
    return Checked(raw, _typed(good), problems, raw.file_problems)


def _look_up(frame: pl.DataFrame, table: pl.DataFrame, key: str) -> pl.DataFrame:
    """`frame` with `table`'s other columns added, matched on `key` (null where none is).

    Only the key column goes through the join: joining the whole frame would copy every
    column of millions of rows, once per lookup (measured)."""
    found = frame.select(key).join(table, on=key, how="left", maintain_order="left")
    return frame.hstack(found.drop(key).get_columns())


def _versions_by_date(dates: pl.Series, history: CatalogueHistory) -> pl.DataFrame:
    """Each distinct date with the index of the version in force on it (-1: none)."""
    distinct = dates.drop_nulls().unique()
    index = {id(v): i for i, v in enumerate(history.versions)}
    versions = []
    for day in distinct.to_list():  # one call per distinct date, not per row
        in_force = history.in_force(day)
        versions.append(index[id(in_force)] if in_force is not None else -1)
    return pl.DataFrame({"_date": distinct, "_v": pl.Series(versions, dtype=pl.Int64)})


def _rules(history: CatalogueHistory
           ) -> tuple[pl.DataFrame, dict[str, int], dict[str, int]]:
    """One row per (version, indicator) keyed by `_rule_key`, and the integer codes of
    indicator ids and reporting agencies used to build that key."""
    indicators = sorted({i for v in history for i in v.indicators})
    agencies = sorted({a for v in history for i in v.indicators.values()
                       for a in i.reporters or ()})
    indicator_codes = {name: n for n, name in enumerate(indicators)}
    agency_codes = {name: n for n, name in enumerate(agencies)}
    rows = []
    for i, version in enumerate(history.versions):
        for ind in version.indicators.values():
            low, high = ind.points_range or (None, None)
            rows.append((i * 100_000 + indicator_codes[ind.id], version.version,
                         ind.points_range is not None,
                         None if low is None else cents(low),
                         None if high is None else cents(high),
                         None if low is None else _plain(low),
                         None if high is None else _plain(high),
                         # an assumed list (no source gives it) binds no one: `reporter_notices`
                         ", ".join(ind.reporters)
                         if ind.reporters and "reporters" not in ind.assumed else None))
    frame = pl.DataFrame(rows, orient="row", schema={
        "_rule_key": pl.Int64, "_version": pl.String, "_ranged": pl.Boolean,
        "_low": pl.Int64, "_high": pl.Int64, "_low_text": pl.String, "_high_text": pl.String,
        "_reporters": pl.String})
    return frame, indicator_codes, agency_codes


def reporter_notices(good: pl.DataFrame, history: CatalogueHistory) -> list[str]:
    """Warnings for valid rows whose agency is outside an indicator's assumed `reporters`.

    The catalogue's list is its compiler's guess (no source gives it), so the row is kept:
    a guessed list must never refuse a real agency (SPEC §2, Provenance)."""
    assumed = {(v.version, i.id): i.reporters for v in history for i in v.indicators.values()
               if i.reporters and "reporters" in i.assumed}
    if not assumed or not good.height:
        return []
    pairs = good.filter(pl.col("agency").is_not_null()).select(
        "indicator", "agency", "occurred_on").group_by("indicator", "agency").agg(
        pl.col("occurred_on").min().alias("first"), pl.len().alias("rows")).sort(
        "indicator", "agency")
    notices = []
    for indicator, agency, first, rows in pairs.iter_rows():
        version = history.in_force(first)
        listed = assumed.get((version.version, indicator)) if version else None
        if listed and agency not in listed:
            notices.append(f"'{agency}' reported indicator '{indicator}' ({rows} row"
                           f"{'' if rows == 1 else 's'}), which its catalogue's reporters "
                           f"({', '.join(listed)}) do not name; that list is the catalogue's "
                           "assumption, not a published rule, so the rows were imported")
    return notices


def _reporters(history: CatalogueHistory, indicator_codes: dict[str, int],
               agency_codes: dict[str, int]) -> pl.DataFrame:
    keys = sorted({(i * 100_000 + indicator_codes[ind.id]) * 10_000 + agency_codes[agency]
                   for i, version in enumerate(history.versions)
                   for ind in version.indicators.values() for agency in ind.reporters or ()})
    return pl.DataFrame({"_reporter_key": pl.Series(keys, dtype=pl.Int64),
                         "_reporter_ok": pl.Series([True] * len(keys), dtype=pl.Boolean)})


def _plain(value: Any) -> str:
    return decimal_text(value)


# ASCII digits only: Polars' \d is Unicode, and "-٤٥" would otherwise pass as a number.
NUMBER = r"^([+-]?)([0-9]{1,13})?(?:\.([0-9]*))?$"


def points_columns(text: pl.Expr) -> list[pl.Expr]:
    """Parse points text exactly: `_points_ok`, `_decimals_ok`, `_cents` (Int64 hundredths)."""
    parts = text.str.extract_groups(NUMBER)
    sign, whole, frac = (parts.struct.field("1"), parts.struct.field("2"),
                         parts.struct.field("3"))
    frac = frac.str.strip_chars_end("0")
    ok = text.str.contains(NUMBER) & (whole.is_not_null() | (frac.str.len_chars() > 0))
    magnitude = (whole.fill_null("0").cast(pl.Int64, strict=False) * 100
                 + frac.fill_null("").str.pad_end(2, "0").str.slice(0, 2)
                 .replace("", "0").cast(pl.Int64, strict=False))
    value = pl.when(sign == "-").then(-magnitude).otherwise(magnitude)
    return [ok.fill_null(False).alias("_points_ok"),
            (frac.fill_null("").str.len_chars() <= 2).alias("_decimals_ok"),
            value.alias("_cents")]


def _checks(known: pl.Series, first: date | None, city_id: str, today: date,
            missing_columns: set[str]) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(column, condition for a problem, message) for every rule of SPEC §3."""
    col = pl.col
    has_rule = col("_version").is_not_null()
    date_ok = col("_date").is_not_null()
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []
    for name, fix in (("resident_id", "every event needs the resident's pseudonymous id"),
                      ("indicator", "give an indicator id of the adopted catalogue"),
                      ("occurred_on", "give the date the event happened, YYYY-MM-DD")):
        if name not in missing_columns:
            checks.append((name, col(name).is_null(), pl.lit(f"missing value ({fix})")))
    checks += [
        ("resident_id", col("resident_id").is_not_null()
         & ~col("resident_id").str.contains(RESIDENT_ID),
         pl.format("'{}' is not a resident id (use 1-64 of A-Z a-z 0-9 . _ : -, first a "
                   "letter or digit; no names)",
                   col("resident_id").str.slice(0, 70))),
        ("indicator", col("indicator").is_not_null() & ~col("indicator").is_in(
            known.implode()),
         pl.format("unknown indicator '{}' (use an indicator id of the adopted catalogue; "
                   "`scs catalogue show FILE` lists them)", col("indicator"))),
        ("occurred_on", col("occurred_on").is_not_null() & ~date_ok,
         pl.format("'{}' is not a date (write YYYY-MM-DD, e.g. 2024-03-31)",
                   col("occurred_on"))),
        ("occurred_on", date_ok & (col("_date") > today),
         pl.format("{} is in the future (today is {} UTC; record events after they happen)",
                   col("occurred_on"), pl.lit(today.isoformat()))),
    ]
    if first is not None:
        checks.append(("occurred_on", date_ok & (col("_date") <= today) & (col("_v") < 0)
                       & col("indicator").is_in(known.implode()),
                       pl.format("no adopted catalogue version is in force on {} (the first "
                                 "takes effect on {}; check the date or adopt an earlier "
                                 "version)", col("occurred_on"), pl.lit(first.isoformat()))))
    checks += [
        ("indicator", date_ok & (col("_date") <= today) & (col("_v") >= 0) & ~has_rule
         & col("indicator").is_in(known.implode()),
         pl.format("indicator '{}' is not in the catalogue version in force on {} (check the "
                   "date, or adopt a version that defines it)", col("indicator"),
                   col("occurred_on"))),
        ("city", col("city").is_not_null() & (col("city") != city_id),
         pl.format("'{}' is another city; this ledger belongs to '{}' (import each city's "
                   "events into that city's own ledger)", col("city"), pl.lit(city_id))),
        ("agency", has_rule & col("_reporters").is_not_null() & col("agency").is_null(),
         pl.format("missing value (indicator '{}' may only be reported by: {})",
                   col("indicator"), col("_reporters"))),
        ("agency", has_rule & col("_reporters").is_not_null() & col("agency").is_not_null()
         & col("_reporter_ok").is_null(),
         pl.format("'{}' may not report indicator '{}' (its reporters are: {})",
                   col("agency"), col("indicator"), col("_reporters"))),
        ("points", has_rule & ~col("_ranged") & col("points").is_not_null(),
         pl.format("indicator '{}' has fixed points in version {}; leave points empty",
                   col("indicator"), col("_version"))),
        ("points", has_rule & col("_ranged") & col("points").is_null(),
         pl.format("missing value (indicator '{}' needs points from {} to {})",
                   col("indicator"), col("_low_text"), col("_high_text"))),
        ("points", has_rule & col("_ranged") & col("points").is_not_null()
         & ~col("_points_ok"),
         pl.format("'{}' is not a number (write e.g. -12.5)", col("points").str.slice(0, 40))),
        ("points", has_rule & col("_ranged") & col("_points_ok") & ~col("_decimals_ok"),
         pl.format("{} has more than 2 decimal places (points are exact to the hundredth)",
                   col("points"))),
        ("points", has_rule & col("_ranged") & col("_points_ok") & col("_decimals_ok")
         & ((col("_cents") < col("_low")) | (col("_cents") > col("_high"))),
         pl.format("{} is outside the range of indicator '{}' (give points from {} to {})",
                   col("points"), col("indicator"), col("_low_text"), col("_high_text"))),
    ]
    return checks


def _suggest(problems: pl.DataFrame, known: pl.Series) -> pl.DataFrame:
    """Add "did you mean" to unknown indicators (one lookup per distinct unknown id)."""
    unknown = problems.filter(pl.col("message").str.starts_with("unknown indicator '"))
    if not unknown.height:
        return problems
    names = known.to_list()
    hints = {}
    for message in unknown["message"].unique().to_list():
        wrong = message.split("'")[1]
        close = difflib.get_close_matches(wrong, names, n=1)
        if close:
            hints[message] = (f"unknown indicator '{wrong}' (did you mean '{close[0]}'? "
                              "`scs catalogue show FILE` lists the indicators)")
    if not hints:
        return problems
    return problems.with_columns(pl.col("message").replace(hints))


def _typed(good: pl.DataFrame) -> pl.DataFrame:
    """Valid rows in ledger form: dates as Date, points as hundredths and canonical text."""
    typed = good.select(
        "_row", "_line", "resident_id", "indicator",
        pl.col("_date").alias("occurred_on"), "agency", "reference", "note",
        pl.when(pl.col("_ranged")).then(pl.col("_cents")).cast(pl.Int64).alias("points"))
    # Format each distinct value once: formatting every row costs most of a second.
    distinct = typed["points"].drop_nulls().unique()
    texts = distinct.to_frame().select(points_text(pl.col("points"))).to_series()
    return typed.with_columns(pl.col("points").replace_strict(
        distinct, texts, default=None, return_dtype=pl.String).alias("points_text"))


def points_text(hundredths: pl.Expr) -> pl.Expr:
    """Int64 hundredths as the shortest exact decimal text (``-1250`` → ``-12.5``)."""
    size = hundredths.abs()
    frac = size % 100
    tail = (pl.when(frac == 0).then(pl.lit(""))
            .when(frac % 10 == 0).then(pl.format(".{}", frac // 10))
            .otherwise(pl.format(".{}", frac.cast(pl.String).str.zfill(2))))
    return pl.when(hundredths.is_not_null()).then(pl.concat_str(
        pl.when(hundredths < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (size // 100).cast(pl.String), tail))


# Removed before references are compared: zero-width spaces and joiners, word joiner, BOM.
ZERO_WIDTH = "[\u200b-\u200d\u2060\ufeff]"


def reference_key(reference: pl.Expr) -> pl.Expr:
    """The reference as references are compared (SPEC §3): NFKC-normalised (fullwidth
    ``Ａ-1`` is ``A-1``, a no-break space a space), zero-width characters removed, surrounding
    spaces trimmed; letter case kept. A reference left empty is no reference (null).

    References are stored as written and compared by this key, so a ledger recorded before
    the rule keeps working: its references are keyed the same way when read."""
    key = (reference.str.normalize("NFKC").str.replace_all(ZERO_WIDTH, "")
           .str.strip_chars())
    return pl.when(key != "").then(key)


def _keyed_references(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with `reference` replaced by its `reference_key`; only the references that
    are not plain ASCII go through NFKC (a clean column costs one scan)."""
    if "reference" not in frame.columns:
        return frame
    plain = frame.select(pl.col("reference").str.contains(r"^[!-~]+$").fill_null(True).all()
                         ).item()
    if plain:
        return frame
    return frame.with_columns(reference_key(pl.col("reference")).alias("reference"))


def drop_duplicates(good: pl.DataFrame, recorded: pl.DataFrame
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose (agency, reference) is already recorded, or repeats an earlier row of
    the same file, are skipped. Rows lacking either are never duplicates. References are
    compared by `reference_key`.

    ``recorded`` has event_id, agency, reference of every recorded event. Returns the kept
    rows and the skipped ones: `_line`, the recorded `event_id` they duplicate, or else
    `_of_row`, the earlier row of this file (whose event id is known once ids are given).
    """
    keyed = _keyed_references(good.select("_row", "_line", "agency", "reference")).filter(
        pl.col("agency").is_not_null() & pl.col("reference").is_not_null())
    # Cheap checks over every row first; the joins that name what is duplicated then run
    # on the few rows found (all of them only when a file is imported again).
    first = keyed.select(pl.struct("agency", "reference").is_first_distinct()).to_series()
    parts = []
    if not first.all():
        later = keyed.filter(~first)
        earlier = keyed.filter(first).select("agency", "reference", _of_row="_row")
        parts.append(later.join(earlier, on=["agency", "reference"], how="left",
                                maintain_order="left").select(
            "_row", "_line", event_id=pl.lit(None, pl.Int64), _of_row="_of_row"))
    known = _keyed_references(recorded).filter(pl.col("agency").is_not_null()
                                               & pl.col("reference").is_not_null())
    if known.height:
        seen = keyed.join(known.select("agency", "reference", "event_id"),
                          on=["agency", "reference"], how="inner", maintain_order="left")
        if seen.height:
            parts.append(seen.select("_row", "_line", "event_id",
                                     _of_row=pl.lit(None, pl.Int64)))
    if not parts:
        return good, pl.DataFrame(schema={"_row": pl.Int64, "_line": pl.Int64,
                                          "event_id": pl.Int64, "_of_row": pl.Int64})
    skipped = parts[0]
    if len(parts) > 1 or skipped["_row"].n_unique() != skipped.height:
        # a row both repeating the file and already recorded: the recorded event wins
        # (and of an (agency, reference) recorded twice, which verify reports, the first)
        skipped = (pl.concat(parts).sort("_row", pl.col("event_id").is_null(), "event_id")
                   .unique("_row", keep="first", maintain_order=True))
    kept = good.filter(~pl.col("_row").is_in(skipped["_row"].implode()))
    return kept, skipped


REPEAT_KEY = ("resident_id", "indicator", "occurred_on", "agency", "points")


def possible_repeats(file: str, good: pl.DataFrame, recorded: pl.DataFrame | None
                     ) -> list[str]:
    """Rows without a reference identical (resident, indicator, date, agency, points) to
    an earlier row of the file or to any recorded event (with a reference or without: an
    agency may re-send its file without the reference column), each as one line naming
    what it repeats. A reference that is only spaces or zero-width characters is none.
    ``recorded``: REPEAT_KEY, event_id and, if known, reference of recorded events."""
    loose = _keyed_references(good.select("_line", "reference", *REPEAT_KEY)).filter(
        pl.col("reference").is_null()).drop("reference")
    if not loose.height:
        return []
    loose = loose.with_columns(_first=pl.col("_line").first().over(REPEAT_KEY))
    found = loose.filter(pl.col("_line") != pl.col("_first")).select(
        "_line", what=pl.format("line {}", "_first"))
    if recorded is not None and recorded.height:
        if "reference" not in recorded.columns:
            recorded = recorded.with_columns(reference=pl.lit(None, pl.String))
        # only the recorded events that share a key with a loose row are grouped
        recorded = recorded.join(loose.select(REPEAT_KEY).unique(), on=list(REPEAT_KEY),
                                 how="semi", nulls_equal=True)
        earlier = recorded.sort("event_id").group_by(REPEAT_KEY, maintain_order=True).agg(
            pl.col("event_id").first(), pl.col("reference").first())  # the first event
        again = loose.join(earlier, on=list(REPEAT_KEY), how="inner", nulls_equal=True)
        found = pl.concat([found, again.select("_line", what=pl.when(
            pl.col("reference").is_null()).then(pl.format("event {}", "event_id"))
            .otherwise(pl.format("event {} (reference '{}')", "event_id",
                                 pl.col("reference").str.slice(0, 70))))])
    found = found.group_by("_line").agg(pl.col("what").sort().first()).sort("_line")
    return [f"{file}:{line}: row: possible repeat of {what} (the same resident, indicator, "
            "date, agency and points, and no reference)" for line, what in found.rows()]


class RepeatsError(ScsError):
    """An import refused because some rows may record one occurrence twice."""

    def __init__(self, file: str, lines: list[str]):
        self.file = file
        self.problem_lines = lines
        count = len(lines)
        self.summary = (f"{file}: {count} possible repeat{'s' if count != 1 else ''}; nothing "
                        "was imported (give each event its reference, or, if they are "
                        "separate occurrences, import with --allow-repeats)")
        super().__init__("\n".join([*lines, self.summary]))

    def lines(self) -> list[str]:
        return [*self.problem_lines, self.summary]


def write_rejects(checked: Checked, path: Path) -> int:
    """Write the bad rows, with their `error`, as CSV; return how many."""
    rejects = checked.rejects()
    # Guarded like every CSV output: a cell `=HYPERLINK(…)` must not run in a spreadsheet.
    # Importing the rejects file removes the guard again (`reader`).
    rejects = rejects.with_columns(safe_cells(pl.col(c)).alias(c) for c in rejects.columns)
    write_atomic(path, rejects.write_csv, option="--rejects")
    return rejects.height


# --- writing ---------------------------------------------------------------------------

INSERT_ROWS = 100  # rows per INSERT statement: fewer round trips through the driver
NULLABLE = ("agency", "reference", "note", "points_text")


def insert_events(conn: Any, frame: pl.DataFrame, import_id: int, recorded_at: str,
                  progress: Progress | None = None) -> None:
    """Insert the events table's rows of one import (inside the caller's transaction).

    Missing values travel as "" and become NULL in SQL: binding Python's None costs the
    sqlite3 driver twice as much as a string (measured), and this loop is the import's
    bottleneck. So each chunk's statement is fitted to its optional columns: one with no
    value is a NULL literal (nothing bound), one with no missing value is bound as is
    (no NULLIF per row), and only a column with both goes through NULLIF.
    """
    head = ("INSERT INTO events (event_id, resident_id, indicator, occurred_on, agency, "
            "reference, note, points, import_id, recorded_at) VALUES ")
    tail = f"{int(import_id)},'{recorded_at}')"
    step = 50_000
    total = frame.height
    for start in range(0, total, step):
        part = frame.slice(start, step)
        bound = ["event_id", "resident_id", "indicator", "occurred_on"]
        cells = ["?"] * len(bound)
        select = [*bound[:3], pl.col("occurred_on").cast(pl.String)]
        for name in NULLABLE:
            nulls = part[name].null_count()
            if nulls == part.height:
                cells.append("NULL")
                continue
            bound.append(name)
            cells.append("?" if not nulls else "NULLIF(?,'')")
            select.append(pl.col(name) if not nulls else pl.col(name).fill_null(""))
        one = "(" + ",".join(cells) + "," + tail
        part = part.select(select)
        flat = list(chain.from_iterable(zip(*(part[c].to_list() for c in bound),
                                            strict=True)))
        width = len(bound) * INSERT_ROWS
        whole = len(flat) - len(flat) % width
        if whole:
            conn.executemany(head + ",".join([one] * INSERT_ROWS),
                             (flat[i:i + width] for i in range(0, whole, width)))
        rest = (len(flat) - whole) // len(bound)
        if rest:
            conn.execute(head + ",".join([one] * rest), flat[whole:])
        if progress:
            progress("recording", min(start + step, total), total)
