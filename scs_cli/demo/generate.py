"""The synthetic event generator: realistic, importable, reproducible event files.

`generate_events` draws a whole population at once with NumPy (no Python loop per
event, so 10 million events take seconds) and returns a Polars frame that `scs ledger
import` accepts with full validation:

- every event's indicator is defined by the catalogue version in force on its date, its
  agency is one of that version's `reporters` (else a plausible agency for the kind of
  conduct), and only `points_range` indicators carry `points`, inside the range;
- dates run over several years up to `until` (never after today), resident ids are
  opaque pseudonyms (``R0000123``) and every (agency, reference) pair is unique;
- the shape is plausible: per-resident counts are heavy-tailed (most residents have few
  events, a few have hundreds), good deeds outnumber offences, a minority of residents
  commit most offences, small deeds are more frequent than large ones, and some events
  repeat the resident's previous one within days, so limits and escalations are hit.

The same arguments give the same frame, and the writer gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from scs_cli.core.errors import UsageError
from scs_cli.core.output import check_output_path, decimal_text, write_atomic
from scs_cli.rules.model import Catalogue, Indicator, adoption_problems, cents, from_cents
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path

DEFAULT_UNTIL = date(2024, 12, 31)  # fixed, so that a seed alone fixes the output
DEFAULT_SPAN_YEARS = 10  # at most this many years of history before `until`
FORMATS = (".csv", ".jsonl")
COLUMNS = ("resident_id", "indicator", "occurred_on", "agency", "reference", "points")

# Shape parameters (documented in docs/demo.md).
REPEAT_SHARE = 0.12  # events that repeat the resident's previous one within days
REPEAT_GAP_DAYS = 7.0  # mean gap of such a repeat
COUNT_SIGMA = 1.0  # lognormal spread of residents' event counts
OFFENCE_ALPHA, OFFENCE_BETA = 0.6, 2.4  # Beta propensity to offend: mean 0.2, most near 0
SIZE_EXPONENT = 0.8  # frequency ~ 1 / (1 + |points|) ** this: small deeds are frequent

_EPOCH = date(1970, 1, 1)

# Who plausibly records conduct of each behaviour domain when the catalogue names no reporter.
DOMAIN_AGENCIES = {
    "finance": "bank", "contract": "court", "judicial": "court", "tax": "tax-bureau",
    "fraud": "police", "market": "market-regulation", "traffic": "police",
    "utilities": "utility", "public-order": "police", "crime": "police",
    "environment": "environment-bureau", "family": "civil-affairs", "civic": "civil-affairs",
    "honours": "civil-affairs", "pets": "police", "religion": "civil-affairs",
    "party": "party-committee", "health": "health-commission", "ethnicity": "civil-affairs",
    "biometrics": "police",
}
FALLBACK_AGENCY = "credit-office"


def agency_for(ind: Indicator) -> tuple[str, ...]:
    """The agencies that may record an event of ``ind`` (its reporters, else a plausible one)."""
    if ind.reporters:
        return tuple(ind.reporters)
    domain = ind.behavior.split(".", 1)[0] if ind.behavior else ""
    return (DOMAIN_AGENCIES.get(domain, FALLBACK_AGENCY),)


def _day(d: date) -> int:
    return (d - _EPOCH).days


def check_versions(catalogues: Sequence[Catalogue], catalogue_names: Sequence[str] = ()
                   ) -> list[Catalogue]:
    """The versions sorted by date, refusing what a ledger would refuse to adopt together."""
    if not catalogues:
        raise UsageError("no catalogue given", "pass --catalogue FILE (e.g. rongcheng-2016)")
    ordered: list[Catalogue] = []
    for i, cat in enumerate(catalogues):
        name = catalogue_names[i] if i < len(catalogue_names) else cat.label
        if cat.city.id != catalogues[0].city.id:
            raise UsageError(f"{name}: catalogue is for city {cat.city.id!r}, the first one "
                             f"for {catalogues[0].city.id!r}",
                             "give versions of one city's catalogue only")
        problems = adoption_problems(ordered, cat)
        if problems:
            raise UsageError(f"{name}: {problems[0]}")
        if not cat.indicators:
            raise UsageError(f"{name}: catalogue {cat.label} has no indicators to generate",
                             "give a catalogue with at least one indicator")
        ordered.append(cat)
    return sorted(ordered, key=lambda c: c.effective_from)


def date_span(versions: Sequence[Catalogue], until: date, since: date | None = None,
              today: date | None = None) -> tuple[date, date]:
    """First and last date events may fall on; refuse the future and dates before any rule."""
    today = today or date.today()
    if until > today:
        raise UsageError(f"--until {until} is in the future",
                         f"give a date on or before today ({today}); a ledger refuses "
                         "future events")
    first = versions[0].effective_from
    if until < first:
        raise UsageError(f"--until {until} is before the first catalogue takes effect "
                         f"({first})", f"give a date on or after {first}")
    if since is None:
        # Several years of history, but no more than DEFAULT_SPAN_YEARS.
        since = max(first, until.replace(year=until.year - DEFAULT_SPAN_YEARS, day=1))
    elif since < first or since > until:
        raise UsageError(f"--since {since} is outside {first} … {until}",
                         "give a date between the first catalogue's effective date and --until")
    return since, until


@dataclass(frozen=True)
class _Tables:
    """Per-version lookup tables over the union of indicator ids (rows: versions)."""

    ids: list[str]  # union of indicator ids, in first-seen order
    starts: np.ndarray  # effective_from of each version, as epoch days
    defined: np.ndarray  # bool [version, indicator]
    weight: np.ndarray  # float [version, sign(0 good, 1 offence), indicator], rows sum to 1
    agencies: list[str]
    reporter: np.ndarray  # int [version, indicator, k] agency index (padded)
    n_reporters: np.ndarray  # int [version, indicator]
    range_lo: np.ndarray  # int64 [version, indicator] hundredths (0 when no range)
    range_hi: np.ndarray
    has_range: np.ndarray  # bool [version, indicator]


def _tables(versions: Sequence[Catalogue]) -> _Tables:
    ids: list[str] = []
    for cat in versions:
        ids.extend(i for i in cat.indicators if i not in ids)
    index = {iid: k for k, iid in enumerate(ids)}
    nv, ni = len(versions), len(ids)
    defined = np.zeros((nv, ni), dtype=bool)
    weight = np.zeros((nv, 2, ni))
    agencies: list[str] = []
    per_ind: list[list[tuple[int, ...]]] = []
    range_lo = np.zeros((nv, ni), dtype=np.int64)
    range_hi = np.zeros((nv, ni), dtype=np.int64)
    has_range = np.zeros((nv, ni), dtype=bool)
    for v, cat in enumerate(versions):
        row: list[tuple[int, ...]] = [()] * ni
        for ind in cat.indicators.values():
            k = index[ind.id]
            defined[v, k] = True
            # An indicator that can cost points (or scores 0, a pure tier cap) is an offence.
            sign = 0 if ind.is_positive and not ind.is_negative else 1
            size = float(max(abs(ind.worst), abs(ind.best)))
            if size == 0:  # a pure sanction (points 0 with a tier cap): rare
                size = 50.0
            weight[v, sign, k] = 1.0 / (1.0 + size) ** SIZE_EXPONENT
            names = agency_for(ind)
            for name in names:
                if name not in agencies:
                    agencies.append(name)
            row[k] = tuple(agencies.index(n) for n in names)
            if ind.points_range is not None:
                has_range[v, k] = True
                range_lo[v, k], range_hi[v, k] = (cents(x) for x in ind.points_range)
        per_ind.append(row)
        for sign in (0, 1):
            total = weight[v, sign].sum()
            if total == 0:  # a version with no good deeds (or no offences): use the other kind
                weight[v, sign] = weight[v, 1 - sign]
                total = weight[v, sign].sum()
            weight[v, sign] /= total
    width = max(len(r) for row in per_ind for r in row) or 1
    reporter = np.zeros((nv, ni, width), dtype=np.int64)
    n_reporters = np.ones((nv, ni), dtype=np.int64)
    for v, row in enumerate(per_ind):
        for k, r in enumerate(row):
            if r:
                reporter[v, k, :len(r)] = r
                n_reporters[v, k] = len(r)
    starts = np.array([_day(c.effective_from) for c in versions], dtype=np.int64)
    return _Tables(ids, starts, defined, weight, agencies, reporter, n_reporters,
                   range_lo, range_hi, has_range)


def resident_ids(count: int) -> list[str]:
    """Opaque pseudonyms ``R0000001``…, wide enough for ``count``."""
    width = max(7, len(str(count)))
    return [f"R{k:0{width}d}" for k in range(1, count + 1)]


def _draw_indicators(rng: np.random.Generator, t: _Tables, version: np.ndarray,
                     offence: np.ndarray, indicator: np.ndarray, todo: np.ndarray) -> None:
    """Fill ``indicator[todo]`` from each (version, kind) frequency table: one draw per group."""
    for v in range(len(t.starts)):
        for sign in (0, 1):
            sel = np.flatnonzero(todo & (version == v) & (offence == bool(sign)))
            if sel.size:
                indicator[sel] = rng.choice(len(t.ids), size=sel.size, p=t.weight[v, sign])


def generate_events(catalogues: Sequence[Catalogue], residents: int, events: int, seed: int,
                    until: date = DEFAULT_UNTIL, since: date | None = None,
                    today: date | None = None) -> pl.DataFrame:
    """A reproducible synthetic event file for one city's catalogue versions.

    Returns columns ``resident_id``, ``indicator``, ``occurred_on`` (Date), ``agency``,
    ``reference`` (String) and ``points`` (Int64 hundredths, null unless the indicator has a
    `points_range`), in date order. Every resident gets at least one event when
    ``events >= residents``. Same arguments, same frame.
    """
    if residents < 1 or events < 1:
        raise UsageError("--residents and --events must be at least 1")
    versions = check_versions(catalogues)
    first, last = date_span(versions, until, since, today)
    t = _tables(versions)
    rng = np.random.default_rng(seed)
    lo, hi = _day(first), _day(last)

    # Residents: at least one event each, the rest spread by heavy-tailed activity.
    activity = rng.lognormal(0.0, COUNT_SIGMA, residents)
    if events >= residents:
        counts = 1 + rng.multinomial(events - residents, activity / activity.sum())
    else:
        counts = np.bincount(rng.choice(residents, size=events, p=activity / activity.sum()),
                             minlength=residents)
    resident = np.repeat(np.arange(residents, dtype=np.int64), counts)

    # Dates: the system grows, so later years are busier (density rising as sqrt).
    day = lo + np.floor(rng.random(events) ** (2 / 3) * (hi - lo + 1)).astype(np.int64)
    day = np.minimum(day, hi)

    # Repeats: an event may repeat the resident's previous one a few days later (a second
    # arrears in the same month, a dog off the leash again), which exercises limits and
    # escalations. A run of repeats copies its first event, with cumulative gaps. (A
    # resident's events are not in date order here; the file is sorted at the end.)
    first_of_resident = np.ones(events, dtype=bool)
    first_of_resident[1:] = resident[1:] != resident[:-1]
    repeat = (rng.random(events) < REPEAT_SHARE) & ~first_of_resident
    anchor = np.flatnonzero(~repeat)[np.cumsum(~repeat) - 1]
    gaps = np.where(repeat, rng.geometric(1.0 / (1.0 + REPEAT_GAP_DAYS), events) - 1, 0)
    walked = np.cumsum(gaps)
    day = np.where(repeat, np.minimum(day[anchor] + walked - walked[anchor], hi), day)

    # Offences come mostly from a minority of residents; good deeds from everyone.
    propensity = rng.beta(OFFENCE_ALPHA, OFFENCE_BETA, residents)
    offence = rng.random(events) < propensity[resident]
    offence = np.where(repeat, offence[anchor], offence)

    version = np.searchsorted(t.starts, day, side="right") - 1
    indicator = np.zeros(events, dtype=np.int64)
    _draw_indicators(rng, t, version, offence, indicator, ~repeat)
    indicator = np.where(repeat, indicator[anchor], indicator)
    # A repeat that crossed into a version without its indicator gets a fresh one.
    stale = ~t.defined[version, indicator]
    if stale.any():
        _draw_indicators(rng, t, version, offence, indicator, stale)

    # Agency: one of the indicator's reporters in the version in force on the day.
    pick = np.floor(rng.random(events) * t.n_reporters[version, indicator]).astype(np.int64)
    agency = t.reporter[version, indicator, pick]

    # Points for points_range indicators: agencies set round-ish values, so draw whole or
    # half points inside the range (exact hundredths when the range is narrower than that).
    has_points = t.has_range[version, indicator]
    ranged = np.flatnonzero(has_points)
    lo_c = t.range_lo[version[ranged], indicator[ranged]]
    hi_c = t.range_hi[version[ranged], indicator[ranged]]
    step = np.where((hi_c - lo_c) >= 50, 50, 1)
    first_step = -((-lo_c) // step) * step  # smallest multiple of step >= lo
    n_steps = (hi_c - first_step) // step + 1
    points = np.zeros(events, dtype=np.int64)
    points[ranged] = first_step + np.floor(rng.random(ranged.size) * n_steps).astype(
        np.int64) * step
    del version, pick, anchor, gaps, walked, repeat, offence, first_of_resident

    # File order: by date (a stable radix sort on the day offset), as agencies' batches
    # would arrive. Strings are made once per resident, indicator and agency, then gathered.
    order = np.argsort((day - lo).astype(np.uint16 if hi - lo < 65536 else np.int64),
                       kind="stable")
    ids = pl.select(_padded(pl.int_range(1, residents + 1, dtype=pl.Int64), "R",
                            max(7, len(str(residents))))).to_series()
    return pl.DataFrame({
        "resident_id": ids.gather(resident[order]),
        "indicator": pl.Series(t.ids, dtype=pl.String).gather(indicator[order]),
        "occurred_on": pl.Series(day[order].astype(np.int32)).cast(pl.Date),
        "agency": pl.Series(t.agencies, dtype=pl.String).gather(agency[order]),
        "points": pl.Series(points[order], dtype=pl.Int64),
        "has_points": pl.Series(has_points[order]),
    }).select(
        "resident_id", "indicator", "occurred_on", "agency",
        # The seed is part of the reference, so files made with other seeds import together.
        _padded(pl.int_range(1, events + 1, dtype=pl.Int64), f"S{seed}-",
                max(8, len(str(events)))).alias("reference"),
        pl.when(pl.col("has_points")).then(pl.col("points")).alias("points"),
    )


def _padded(numbers: pl.Expr, prefix: str, width: int) -> pl.Expr:
    """``prefix`` + zero-padded number (adding 10**width and dropping the 1 beats zfill)."""
    return pl.lit(prefix) + (numbers + 10**width).cast(pl.String).str.slice(1)


def points_text(points: pl.Series) -> pl.Series:
    """Hundredths as the shortest exact decimal text (``-1250`` → ``-12.5``, ``500`` → ``5``).

    Few distinct values occur, so each is formatted once and mapped (formatting every row
    with string expressions costs seconds at ten million rows).
    """

    values = points.drop_nulls().unique().to_list()
    return points.replace_strict(values, [decimal_text(from_cents(v)) for v in values],
                                 default=None, return_dtype=pl.String)


def write_events(frame: pl.DataFrame, path: str | Path) -> str:
    """Write generated events as CSV or JSON Lines (by suffix); return the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"{path}: cannot write events as {suffix or 'a file without suffix'}",
                         "name the output .csv or .jsonl")
    if suffix == ".csv":
        cells = frame.with_columns(points_text(frame["points"]))
        write_atomic(path, cells.write_csv)
        return "csv"
    # JSON Lines: points as an exact JSON number, and only on rows that carry them. Each
    # line is built as text and written unquoted, so nothing goes through Python per row.
    text = frame.with_columns(points_text(frame["points"]))
    lines = text.select(
        pl.concat_str(
            pl.lit('{"resident_id":'), _json_str("resident_id"),
            pl.lit(',"indicator":'), _json_str("indicator"),
            pl.lit(',"occurred_on":"'), pl.col("occurred_on").cast(pl.String),
            pl.lit('","agency":'), _json_str("agency"),
            pl.lit(',"reference":'), _json_str("reference"),
            pl.when(pl.col("points").is_not_null())
            .then(pl.lit(',"points":') + pl.col("points")).otherwise(pl.lit("")),
            pl.lit("}"),
        ).alias("line"))
    write_atomic(path, lambda tmp: lines.write_csv(tmp, include_header=False,
                                                   quote_style="never"))
    return "jsonl"


def _json_str(name: str) -> pl.Expr:
    """A string column as JSON string literals (ids and slugs need no escapes; stay safe)."""
    escaped = (pl.col(name).str.replace_all("\\", "\\\\", literal=True)
               .str.replace_all('"', '\\"', literal=True))
    return pl.lit('"') + escaped + pl.lit('"')


@dataclass(frozen=True)
class GenerateResult:
    """What `scs demo generate` made."""

    path: Path
    format: str
    events: int
    residents: int  # residents with at least one event
    first: date
    last: date
    good_deeds: int
    offences: int
    with_points: int
    per_version: dict[str, int]


def summarize(frame: pl.DataFrame, versions: Sequence[Catalogue], path: Path,
              fmt: str) -> GenerateResult:
    """Counts a person checks after generating: span, kinds of conduct, versions used."""
    sign: dict[str, bool] = {}
    for cat in versions:
        for ind in cat.indicators.values():
            sign[ind.id] = ind.is_positive and not ind.is_negative
    good = frame["indicator"].is_in([k for k, v in sign.items() if v]).sum()
    starts = pl.Series([c.effective_from for c in versions], dtype=pl.Date)
    vidx = starts.search_sorted(frame["occurred_on"], side="right") - 1
    counts = vidx.value_counts()
    per_version = {versions[int(k)].version: int(n)
                   for k, n in zip(counts[counts.columns[0]], counts["count"], strict=True)}
    return GenerateResult(
        path=path, format=fmt, events=frame.height,
        residents=frame["resident_id"].n_unique(),
        first=frame["occurred_on"].min(), last=frame["occurred_on"].max(),  # type: ignore[arg-type]
        good_deeds=int(good), offences=frame.height - int(good),
        with_points=int(frame["points"].is_not_null().sum()),
        per_version=dict(sorted(per_version.items())),
    )


def generate_file(catalogue_paths: Sequence[str | Path], residents: int, events: int,
                  seed: int, output: str | Path, until: date = DEFAULT_UNTIL,
                  since: date | None = None,
                  progress: Callable[[str], None] | None = None) -> GenerateResult:
    """Load catalogues (files or bundled names), generate events and write them to ``output``."""

    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise UsageError(f"{output}: cannot write events as "
                         f"{output.suffix or 'a file without suffix'}",
                         "name the output .csv or .jsonl")
    names = [str(p) for p in catalogue_paths]
    check_output_path(output, {f"the catalogue {n}": resolve_catalogue_path(n) for n in names})
    loaded = [load_catalogue(resolve_catalogue_path(p)) for p in catalogue_paths]
    versions = check_versions(loaded, names)
    if progress:
        progress(f"generating {events:,} events for {residents:,} residents")
    frame = generate_events(versions, residents, events, seed, until, since)
    if progress:
        progress(f"writing {output}")
    fmt = write_events(frame, output)
    return summarize(frame, versions, output, fmt)
