"""Batch reports for local credit offices: `write_reports(ledgers, as_of, output)`.

For each city ledger (or, with ``open_source=scale.source.open_source``, its exported dataset:
any `Source`): read it once at known-at, prepare the engine once, score at the
as-of date (with every event's detail) and at the twelve month ends before it (scores
only), compute the figures (`figures`), draw the charts (`charts`) and write
``DIR/<city-id>/index.html``, ``report.md``, ``report.json`` and one ``.svg`` per chart;
then ``DIR/index.html`` (and ``index.json``) putting the cities side by side. Cities are
never pooled: each is scored on its own ledger with its own catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scs_cli import __version__
from scs_cli.core.errors import LedgerError, UsageError
from scs_cli.core.guard import check_folder, check_targets
from scs_cli.core.output import safe_child, write_text
from scs_cli.core.templates import Templates
from scs_cli.engine.kernel import evaluate, scheme_at
from scs_cli.engine.listings import listings
from scs_cli.engine.series import standings
from scs_cli.ledger.schema import stamp
from scs_cli.ledger.source import LedgerFile, Source
from scs_cli.report.artist import CHART_NAMES, EARLY_CHARTS, Artist
from scs_cli.report.figures import (
    AdoptedVersion,
    CityInput,
    QualityInput,
    SavedRun,
    city_figures,
    data_quality,
    early_figures,
    month_ends,
    monthly,
    tallied,
)
from scs_cli.report.lists_figures import lists_figure
from scs_cli.report.render import city_html, city_json, city_markdown, index_html, index_json
from scs_cli.scoring.prepared import prepared_rows

# progress(what, done, total): the CLI plugs a progress bar into it
Progress = Callable[[str, int, int], None]
# told of a city's input once its as-of date is scored, before its month ends are
# (`monthly` still empty): `write_reports` asks for the charts that can be drawn by then
Scored = Callable[[CityInput], None]
# how a path becomes a `Source`: a ledger file by default; the CLI passes
# `scale.source.open_source`, which takes a dataset folder too
Opener = Callable[[Path], Source]
STEPS_PER_CITY = 15  # read, score on the as-of date, 12 month ends, write the files


@dataclass(frozen=True)
class CityReport:
    city_id: str
    city_name: str
    ledger: Path
    directory: Path
    files: tuple[Path, ...]
    figures: dict[str, Any]


@dataclass(frozen=True)
class ReportResult:
    output: Path
    as_of: date
    known_at: datetime
    public: bool
    cities: tuple[CityReport, ...]
    files: tuple[Path, ...]        # every file written, city files first, the index last


def _check_cities(ledgers: Sequence[Path], as_of: date, known_at: datetime,
                  open_source: Opener) -> list[tuple[Path, str]]:
    """Each ledger's (or dataset's) city id. Two of one city, or one with no catalogue in
    force on the as-of date, are refused before anything is scored or written."""

    seen: dict[str, Path] = {}
    cities = []
    for path in ledgers:
        with open_source(path) as source:
            city = source.city_id
            history = source.history(known_at)
        if history.in_force(as_of) is None:
            first = history.versions[0].effective_from if len(history) else None
            raise LedgerError(path, f"no catalogue version is in force on {as_of}",
                              f"the first adopted version takes effect on {first}; report "
                              "on that date or later" if first
                              else "no catalogue was adopted by the known-at time")
        if city in seen:
            if path.resolve() == seen[city].resolve():
                raise LedgerError(path, "is named twice", "name each ledger once")
            raise LedgerError(path, f"belongs to city {city!r}, like {seen[city]}; a report "
                              "covers each city once", "give one ledger per city")
        seen[city] = path
        cities.append((path, city))
    return cities


def runs_not_before(ledger: Any, as_of: date, known_at: datetime) -> int:
    """How many runs recorded by known-at were scored on as-of or later (not compared)."""

    cut = stamp(known_at)
    return sum(1 for r in ledger.runs() if r.as_of >= as_of and r.recorded_at <= cut)


def last_run_before(ledger: Any, as_of: date, known_at: datetime) -> Any:
    """The saved run to compare with: the latest one scored before as-of (a run saved for
    the report's own date would compare the month with itself) and recorded by known-at."""

    cut = stamp(known_at)
    runs = [r for r in ledger.runs() if r.as_of < as_of and r.recorded_at <= cut]
    return max(runs, key=lambda r: (r.as_of, r.run_id)) if runs else None


def read_city(path: Path, as_of: date, known_at: datetime,
              tick: Callable[[str], None] | None = None,
              open_source: Opener = LedgerFile.open, public: bool | None = None,
              scored: Scored | None = None) -> Any:
    """Read one ledger once and score it at as-of and at the twelve month ends before.

    Returns the `CityInput` the figures are computed from; ``tick(what)`` is called after
    each of the `STEPS_PER_CITY` - 1 steps (reading, as-of scoring, each month end). Given
    ``public``, the data-quality section is computed in a thread beside the scoring (it
    reads only the ledger's rows), for a report with that ``public``. ``scored(input)`` is
    called once the as-of date is scored, before the month ends are.
    """
    step = tick or (lambda what: None)
    with open_source(path) as source:
        adopted = source.adopted(known_at)
        history = source.history(known_at)
        head = source.head(known_at)  # the history the report is computed from
        recorded = source.recorded(known_at)
        # the frame prepared earlier for these rows, and the data-quality counts beside it
        # (no event or agency decoded), if kept
        rows = prepared_rows(source, known_at, history, tuple(a.sha256 for a in adopted),
                             quality=recorded)
        data = rows.data
        last, not_before = None, 0
        if source.ledger is not None:  # saved runs live in a ledger file, not a dataset
            run = last_run_before(source.ledger, as_of, known_at)
            not_before = runs_not_before(source.ledger, as_of, known_at)
            if run is not None:
                last = SavedRun(as_of=run.as_of, run_id=run.run_id, known_at=run.known_at,
                                tiers=run.result().select("resident_id", "tier"))
    step("read")
    # the expensive part of scoring (sort, rule lookups) is done once for all 13 dates
    prepared = rows.prepared
    # each event's resident and day, in resident order: heavy residents (data quality)
    kernel = prepared.frame.select(who="rix", day="day")
    quality = None
    if public is not None:  # Polars works outside the GIL: the two overlap on two cores
        pool = ThreadPoolExecutor(1, thread_name_prefix="scs-quality")
        quality = (public, pool.submit(data_quality, QualityInput(
            data, as_of, recorded, last, rows.counts, kernel), public))
        pool.shutdown(wait=False)  # its thread ends with the work; the result is kept
    scheme = scheme_at(history, as_of)
    # The month ends (those with a version in force) share one pass over the events
    # (`engine.series`), on a thread beside the as-of scoring: both are mostly Polars work
    # outside the GIL, and neither keeps both cores busy alone (measured, issue 23).
    # Only their tiers: the report counts residents per tier, it never names them.
    days = [d for d in month_ends(as_of) if history.in_force(d) is not None]
    months = ThreadPoolExecutor(1, thread_name_prefix="scs-month-ends")
    month_end_standings = months.submit(standings, prepared, [d for d in days if d != as_of],
                                        tiers_only=True)
    months.shutdown(wait=False)  # its thread ends with the work; the result is kept
    now = evaluate(prepared, as_of, detail=False, tally=True, lists=bool(scheme.lists))
    # sum the counting events now, so that their frame is freed before the month ends run
    assert now.counting is not None  # asked for with tally=True
    summary = tallied(now.counting, history)
    residents = now.residents
    # who is listed, from the same preparation and evaluation (red lists included)
    listed = listings(prepared, data.repairs, as_of, scored=now) if scheme.lists else None
    del now
    step("scored on the as-of date")
    versions = tuple(AdoptedVersion(a.catalogue.version, a.catalogue.effective_from, a.sha256)
                     for a in sorted(adopted, key=lambda a: a.catalogue.effective_from))
    inp = CityInput(scheme=scheme, history=history, adopted=versions, as_of=as_of,
                    known_at=known_at, data=data, residents=residents, events=None,
                    summary=summary, monthly={}, last_run=last, recorded=recorded,
                    runs_not_before=not_before, ledger_head=(head.rows, head.hash),
                    listed=listed, quality=quality, counts=rows.counts,
                    kernel_residents=kernel)
    if scored is not None:
        scored(inp)

    for _ in range(12 - len(days)):
        step("month end before the first version")
    # the as-of date's standing is the evaluation above
    earlier = month_end_standings.result()
    by_month = {}
    for day in days:
        by_month[day] = residents.select("tier") if day == as_of else earlier[day]
        step(f"scored on {day}")
    return replace(inp, monthly=by_month)


def write_city(inp: Any, directory: Path, public: bool,
               templates: Templates | None = None, artist: Artist | None = None,
               early: tuple[dict[str, Any], int] | None = None) -> CityReport:
    """Figures → charts → files, for one city; the charts are drawn by ``artist`` (a
    worker process: `artist`) while the data-quality figures are computed. ``early``: the
    `early_figures` of this input and the ticket of the `EARLY_CHARTS` asked for from them
    (while the month ends were scored)."""

    draws = artist or Artist(None, None)  # none given: drawn in this process
    if early:  # the rest of the charts (the month ends) drawn while the figures are computed
        known = {**early[0], "monthly": monthly(inp, public)}
        tickets = [early[1], draws.charts(known, [n for n in CHART_NAMES
                                                  if n not in EARLY_CHARTS])]
    doc = city_figures(inp, public=public, generated_by=f"scs {__version__}", quality=False,
                       early=known if early else None)
    if not early:  # the charts read only what is computed by now
        tickets = [draws.charts(doc)]
    if inp.quality is not None and inp.quality[0] == public:  # computed beside the scoring
        doc["data_quality"] = inp.quality[1].result()
    else:
        doc["data_quality"] = data_quality(inp, public)
    if inp.scheme.lists:  # residents per list, repairs pending
        doc["lists"] = lists_figure(inp, public)
    drawn = {name: svg for ticket in tickets for name, svg in draws.answer(directory, ticket
                                                                          ).items()}
    charts = {name: drawn[name] for name in CHART_NAMES}  # the files' and pages' order
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for name, svg in charts.items():
        files.append(_write(directory / f"{name}.svg", svg))
    files.append(_write(directory / "index.html", city_html(doc, charts, templates)))
    files.append(_write(directory / "report.md",
                        city_markdown(doc, {n: f"{n}.svg" for n in charts})))
    files.append(_write(directory / "report.json", city_json(doc)))
    return CityReport(doc["city"]["id"], doc["city"]["name"], Path(), directory,
                      tuple(files), doc)


def _write(path: Path, text: str) -> Path:
    write_text(path, text)  # a temporary file renamed into place: never half a report
    return path


CITY_FILES = ("index.html", "report.md", "report.json")
INDEX_FILES = ("index.html", "index.json")


def _check_targets(output: Path, cities: Sequence[str], ledgers: Sequence[Path]) -> None:
    """Every file the report will write, checked before the first is written: none may be
    a ledger, its -wal/-shm/-journal, or any SQLite file (SPEC §7)."""
    inputs = {f"the ledger {p}": p for p in ledgers}
    check_folder(output, inputs)
    folders = [output / city for city in cities]
    for folder in folders:
        check_folder(folder, inputs)
    names = (*CITY_FILES, *(f"{n}.svg" for n in CHART_NAMES))
    check_targets([*(f / n for f in folders for n in names),
                   *(output / n for n in INDEX_FILES)], inputs)


def write_reports(ledgers: Sequence[str | Path], as_of: date, output: str | Path, *,
                  public: bool = False, known_at: datetime | None = None,
                  progress: Progress | None = None,
                  open_source: Opener = LedgerFile.open,
                  templates: str | Path | None = None) -> ReportResult:
    """Write the batch report of every ledger (one city each) and the index page;
    ``open_source`` turns each path into a `Source` (default: a ledger file); ``templates``
    is an office's folder of templates used before the bundled ones."""

    if not ledgers:
        raise UsageError("no ledger given", "name at least one ledger file")
    paths = [Path(p) for p in ledgers]
    known_at = (known_at or datetime.now(UTC)).astimezone(UTC)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: exists and is not a directory",
                         "give --output a directory (it is created if missing)")
    pages_from = Templates(templates)  # a missing folder is refused before any reading
    # matplotlib is imported, and the charts drawn, by a worker on the other core
    with Artist.start() as artist:
        cities = _check_cities(paths, as_of, known_at, open_source)
        for _, city in cities:  # a city id from a ledger names a folder: it stays inside output
            safe_child(output, city, "the city id")
        _check_targets(output, [c for _, c in cities], paths)
        total = len(cities) * STEPS_PER_CITY + 1
        step = 0

        def tick(what: str) -> None:
            nonlocal step
            step += 1
            if progress:
                progress(what, step, total)

        reports: list[CityReport] = []
        index_ticket = -1
        for n, (path, city) in enumerate(cities):
            if progress:
                progress(f"{city}: reading", step, total)
            def city_tick(what: str, city: str = city) -> None:
                tick(f"{city}: {what}")

            asked: list[tuple[dict[str, Any], int]] = []

            def scored(inp: CityInput, last: bool = n == len(cities) - 1,
                       asked: list[tuple[dict[str, Any], int]] = asked) -> None:
                nonlocal index_ticket
                early = early_figures(inp, public)  # drawn while the month ends are scored
                asked.append((early, artist.charts(early, EARLY_CHARTS)))
                if last:  # every city's tiers are known: the index chart too
                    index_ticket = artist.ask("cities", [
                        {k: d[k] for k in ("city", "tiers")}
                        for d in (*(r.figures for r in reports), early)])

            inp = read_city(path, as_of, known_at, city_tick, open_source, public, scored)
            report = write_city(inp, output / city, public, pages_from, artist, asked[0])
            reports.append(CityReport(report.city_id, report.city_name, path, report.directory,
                                      report.files, report.figures))
            tick(f"{city}: written")
        docs = [r.figures for r in reports]
        index_chart: str = artist.answer(output, index_ticket)
        index = [_write(output / "index.html", index_html(docs, index_chart, pages_from)),
                 _write(output / "index.json", index_json(docs))]
        tick("index written")
    files = tuple(f for r in reports for f in r.files) + tuple(index)
    return ReportResult(output, as_of, known_at, public, tuple(reports), files)
