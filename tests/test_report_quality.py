"""The data-quality section from kept counts is the section computed straight from every
decoded event (the way reports computed it before the counts were kept, issue 23), and a
kept count part that is damaged, or was counted from other sources, is never used."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import prepare
from scs_cli.ledger.source import LedgerFile
from scs_cli.report.quality import (
    BURST_FACTOR,
    HEAVY_MIN_EVENTS,
    HEAVY_QUANTILE,
    LATE_DAYS,
    MAX_BURSTS,
    NO_AGENCY,
    QualityInput,
    SavedRun,
    _say,
    quality_section,
)
from scs_cli.report.suppression import count, hide, protect
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import load_catalogue
from scs_cli.scoring.prepared import QUALITY, PreparedCache, prepared_rows
from scs_cli.scoring.quality import QualityCounts, quality_counts

TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny.toml"
CAT = load_catalogue(TINY)
HISTORY = CatalogueHistory([CAT])
NAMES = sorted(CAT.indicators)
DAY0 = date(2022, 1, 1)


# --- the section straight from the decoded events (the reference) ------------------------

def straight(inp: QualityInput, public: bool) -> dict[str, Any]:
    """The section as computed from every event's agency before counts were kept."""
    events = inp.data.events.select("event_id", "resident", "occurred_on", "agency")
    events = events.filter(pl.col("occurred_on") <= inp.as_of)
    warnings: list[str] = []
    return {
        "late_recorded": _late(inp, events, public, warnings),
        "recorded_after_run": _after_run(inp, events, public, warnings),
        "bursts": _bursts(events, public, warnings),
        "heavy_residents": _heavy(events, public, warnings),
        "by_agency": _by_agency(inp, events, public, warnings),
        "warnings": warnings,
    }


def _agency(name: str | None) -> str:
    return NO_AGENCY if name is None else name


def _late(inp: QualityInput, events: pl.DataFrame, public: bool,
          warnings: list[str]) -> dict[str, Any]:
    """Events recorded more than `LATE_DAYS` after they occurred, by agency, after the
    ledger's first import.

    The first import of a new ledger is its history, recorded years after the fact by
    nature: counting it made the warning fire on every new ledger (on all of the demo's
    events), so it said nothing. Those events are counted apart, as the backfill; a late
    event in any later import is an agency reporting late, and is warned about."""
    late: dict[str, Any] = {"threshold_days": LATE_DAYS, "available": False, "events": None,
                            "by_agency": [], "suppressed": False, "backfill_events": None}
    if inp.recorded is None:
        return late
    ranges = inp.recorded.sort("first_event_id")
    # each event's import: the last range starting at or before its id (no sort, no join)
    at = ranges["first_event_id"].search_sorted(events["event_id"], side="right")
    pos = (at.cast(pl.Int64) - 1).alias("pos")
    found = events.select("event_id", "occurred_on", "agency", pos).filter(pl.col("pos") >= 0)
    recorded_on = pl.lit(ranges["recorded_at"].dt.date()).gather(pl.col("pos"))
    late_all = found.filter(
        (pl.col("event_id") <= pl.lit(ranges["last_event_id"]).gather(pl.col("pos")))
        & ((recorded_on - pl.col("occurred_on")).dt.total_days() > LATE_DAYS))
    lagged = late_all.filter(pl.col("pos") > 0)  # the first import (pos 0) is the backfill
    backfill = late_all.height - lagged.height
    late["backfill_events"] = backfill if not public or not protect([backfill])[0] else None
    per = lagged.group_by("agency").agg(pl.len().alias("n")).sort(
        ["n", "agency"], descending=[True, False], nulls_last=True)
    names = [_agency(a) for a in per["agency"].to_list()]
    values = [int(v) for v in per["n"].to_list()]
    marks = protect([*values, sum(values)]) if public else [False] * (len(values) + 1)
    late.update(available=True, events=None if marks[-1] else sum(values),
                suppressed=marks[-1],
                by_agency=[hide({"agency": a, "events": n}, m, ("events",))
                           for a, n, m in zip(names, values, marks, strict=False)])
    if values:
        share = (f" ({late['events'] / events.height:.0%} of all)"
                 if late["events"] is not None and events.height else "")
        warnings.append(f"{_say(late['events'])} events{share} were recorded more than "
                        f"{LATE_DAYS} days after they occurred, in imports after the ledger's "
                        "first (agencies reporting late, or old records found since)")
    return late


def _bursts(events: pl.DataFrame, public: bool, warnings: list[str]) -> dict[str, Any]:
    """Days on which one agency's count is far above its usual (median) day."""
    per_day = (events.lazy().group_by("agency", "occurred_on").agg(pl.len().alias("n"))
               .with_columns(pl.col("n").median().over("agency").alias("median")).collect())
    bursts = per_day.filter(pl.col("n") > BURST_FACTOR * pl.col("median")).with_columns(
        (pl.col("n") / pl.col("median")).alias("ratio")).sort(
        ["ratio", "n", "agency", "occurred_on"], descending=[True, True, False, False])
    rows = []
    for agency, day, n, median, _ in bursts.head(MAX_BURSTS).iter_rows():
        events_n, mark = count(int(n), public)
        rows.append({"agency": _agency(agency), "date": day, "events": events_n,
                     "median_daily": median if events_n is not None else None,
                     "suppressed": mark})
    if bursts.height:
        warnings.append(f"{bursts.height:,} agency-days had more than {BURST_FACTOR}× the "
                        "agency's median daily count of events (a campaign, or a batch "
                        "dated on one day)")
    return {"factor": BURST_FACTOR, "agency_days": bursts.height, "days": rows}


def _heavy(events: pl.DataFrame, public: bool, warnings: list[str]) -> dict[str, Any]:
    """How many residents have implausibly many events (never who)."""
    # runs of equal resident numbers: sorting integers is several times faster than
    # grouping strings
    per_res = events.select(pl.col("resident").sort().rle().struct.field("len")
                            .alias("n"))["n"]
    cutoff = float(HEAVY_MIN_EVENTS)
    if per_res.len():
        cutoff = max(float(per_res.quantile(HEAVY_QUANTILE, "linear") or 0), cutoff)
    heavy_n, heavy_mark = count(int((per_res > cutoff).sum()), public)
    if heavy_n or heavy_mark:
        warnings.append(f"{_say(heavy_n)} residents have more than {cutoff:,.0f} events "
                        "each (duplicated records, or one id shared by several people)")
    return {"quantile": HEAVY_QUANTILE, "min_events": HEAVY_MIN_EVENTS,
            "threshold": round(cutoff, 2), "residents": heavy_n, "suppressed": heavy_mark}


def _by_agency(inp: QualityInput, events: pl.DataFrame, public: bool,
               warnings: list[str]) -> list[dict[str, Any]]:
    """Events, voids, lifts, objections and upheld objections per recording agency."""
    data = inp.data
    touched = pl.concat([data.voids["event_id"], data.lifts["event_id"],
                         data.objections["event_id"]]).unique()
    # the few events that were voided, lifted or objected to, with their agency
    agency_of = events.filter(pl.col("event_id").is_in(touched.implode())).select(
        "event_id", "agency")
    objs = data.objections.join(agency_of, on="event_id")
    columns = {"events": events, "voids": data.voids.join(agency_of, on="event_id"),
               "lifts": data.lifts.join(agency_of, on="event_id"), "objections": objs,
               "upheld": objs.filter(pl.col("outcome") == "upheld")}
    counts = {name: {_agency(a): n for a, n in frame.group_by("agency").len().iter_rows()}
              for name, frame in columns.items()}
    rows: list[dict[str, Any]] = [
        {"agency": a, **{k: int(counts[k].get(a, 0)) for k in columns}, "suppressed": False}
        for a in sorted(counts["events"])]
    for key in columns:  # each column adds up to a total shown elsewhere
        marks = protect([r[key] for r in rows]) if public else [False] * len(rows)
        for row, mark in zip(rows, marks, strict=True):
            if mark:
                row[key] = None
                row["suppressed"] = row["suppressed"] or mark
    for row in rows:
        if row["events"] and row["voids"] and row["voids"] > 0.05 * row["events"]:
            warnings.append(f"agency {row['agency']}: {row['voids']:,} of {row['events']:,} "
                            "events were voided (more than 5%)")
    return rows


def _after_run(inp: QualityInput, events: pl.DataFrame, public: bool,
               warnings: list[str]) -> dict[str, Any]:
    """Events recorded after the last saved run that occurred on or before its date: the
    run, as saved, no longer says what the ledger now says about that date."""
    found: dict[str, Any] = {"run_id": None, "as_of": None, "events": None,
                             "suppressed": False}
    run = inp.last_run
    if run is None or run.known_at is None or inp.recorded is None:
        return found
    later = inp.recorded.filter(pl.col("recorded_at") > run.known_at)
    within = pl.lit(False)
    for first, last in later.select("first_event_id", "last_event_id").iter_rows():
        within = within | pl.col("event_id").is_between(first, last)
    n = events.filter(within & (pl.col("occurred_on") <= run.as_of)).height
    hidden = protect([n])[0] if public else False
    found.update(run_id=run.run_id, as_of=run.as_of, events=None if hidden else n,
                 suppressed=hidden)
    if n:
        ident = f"run {run.run_id}" if run.run_id is not None else "the saved run"
        warnings.append(f"{_say(found['events'])} events recorded after {ident} was saved "
                        f"occurred on or before its date ({run.as_of}): the run no longer "
                        f"matches what the ledger says about {run.as_of} (scoring that date "
                        "again would count them)")
    return found


# --- random small ledgers ------------------------------------------------------------------

AGENCIES = st.sampled_from([None, "police", "court", "tax bureau"])
EVENTS = st.lists(st.tuples(st.integers(0, 5), st.sampled_from(NAMES), st.integers(0, 1200),
                            AGENCIES), max_size=60)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[QualityInput, pl.DataFrame]:
    """A ledger's events (several imports, some ids in none), voids, lifts, objections,
    a saved run or none, and an as-of date; with the prepared frame's residents and days."""
    rows = draw(EVENTS)
    # a busy day of one agency (a burst), and a resident with many events (heavy)
    busy, agency = draw(st.integers(0, 25)), draw(AGENCIES)
    rows += [(k % 6, NAMES[k % len(NAMES)], 300, agency) for k in range(busy)]
    many = draw(st.sampled_from([0, 40, 60, 80]))
    rows += [(0, NAMES[k % len(NAMES)], (k * 7) % 250, "police") for k in range(many)]
    rows = draw(st.permutations(rows))
    n = len(rows)
    events = [{"event_id": i + 1, "resident_id": f"r{r}", "indicator": ind,
               "occurred_on": DAY0 + timedelta(days=d), "agency": a}
              for i, (r, ind, d, a) in enumerate(rows)]
    ids = st.integers(1, max(n, 1))
    voids = [{"event_id": e} for e in draw(st.lists(ids, max_size=8, unique=True))] if n else []
    lifts = [{"event_id": e, "lifted_on": DAY0 + timedelta(days=draw(st.integers(0, 1300)))}
             for e in draw(st.lists(ids, max_size=5, unique=True))] if n else []
    objections = []
    for k, e in enumerate(draw(st.lists(ids, max_size=6)) if n else []):
        outcome = draw(st.sampled_from([None, "upheld", "dismissed"]))
        filed = DAY0 + timedelta(days=draw(st.integers(0, 1300)))
        objections.append({"objection_id": k + 1, "event_id": e, "filed_on": filed,
                           "decided_on": filed + timedelta(days=9) if outcome else None,
                           "outcome": outcome})
    data = LedgerData.build(events, voids=voids, lifts=lifts, objections=objections)
    recorded = None
    if draw(st.booleans()) or draw(st.booleans()) or not n:  # mostly with imports
        cuts = sorted(set(draw(st.lists(st.integers(2, max(n, 2)), max_size=4))))
        starts = [1, *[c for c in cuts if c <= n]]
        bounds = [(a, b - 1) for a, b in zip(starts, [*starts[1:], n + 1], strict=True)]
        # one import's ids in no range (before, between or after the others), or none
        skip = draw(st.integers(-1, len(bounds) - 1)) if len(bounds) > 1 else -1
        times = sorted(draw(st.lists(st.integers(0, 1500), min_size=len(bounds),
                                     max_size=len(bounds))))
        order = draw(st.permutations(range(len(bounds))))  # ranges in any order
        recorded = pl.DataFrame(
            {"first_event_id": [bounds[i][0] for i in order if i != skip],
             "last_event_id": [bounds[i][1] for i in order if i != skip],
             "recorded_at": [datetime(2022, 1, 1, 12, tzinfo=UTC) + timedelta(days=times[i])
                             for i in order if i != skip]},
            schema={"first_event_id": pl.Int64, "last_event_id": pl.Int64,
                    "recorded_at": pl.Datetime("us", "UTC")})
    run = None
    if draw(st.booleans()) or draw(st.booleans()):  # mostly with a saved run
        run = SavedRun(as_of=DAY0 + timedelta(days=draw(st.integers(0, 1300))),
                       tiers=pl.DataFrame(schema={"resident_id": pl.String, "tier": pl.String}),
                       run_id=draw(st.sampled_from([None, 3])),
                       known_at=datetime(2022, 1, 1, tzinfo=UTC) + timedelta(
                           days=draw(st.integers(0, 1500)), hours=1))
    as_of = DAY0 + timedelta(days=draw(st.integers(0, 1300)))
    frame = prepare(data, HISTORY).frame.select(who="rix", day="day")
    return QualityInput(data, as_of, recorded, run), frame


def kept_and_read_back(counts: QualityCounts) -> QualityCounts:
    """The counts as a kept part reads them back (written beside a frame's folder)."""
    with tempfile.TemporaryDirectory() as folder:
        store = PreparedCache(Path(folder) / "cache")
        (store.directory / "k").mkdir(mode=0o700, parents=True)
        store.directory.chmod(0o700)
        assert store.save_counts("k", "counts-key", counts)
        got = store.load_counts("k", "counts-key")
    assert got is not None
    return got


@settings(max_examples=100)
@given(ledgers(), st.booleans())
def test_the_section_from_counts_is_the_section_from_every_event(made, public
                                                                ):  # type: ignore[no-untyped-def]
    inp, frame = made
    want = straight(inp, public)
    counts = quality_counts(inp.data, inp.recorded)
    for kept in (counts, kept_and_read_back(counts)):
        got = quality_section(QualityInput(inp.data, inp.as_of, inp.recorded, inp.last_run,
                                           kept, frame), public)
        assert got == want
        # the headline's events recorded, from the same counts
        assert kept.recorded_by(inp.as_of) == inp.data.events.filter(
            pl.col("occurred_on") <= inp.as_of).height
    # counted now from the decoded events when no counts are given: the same section
    assert quality_section(inp, public) == want


def test_the_random_ledgers_reach_every_warning() -> None:
    """The property above is only as good as its examples: each warning is raised by some
    of the ledgers it draws (the same draws on every run)."""
    words = ("days after they occurred", "median daily count", "events each", "were voided",
             "recorded after")
    seen: set[str] = set()

    @settings(max_examples=150, phases=[Phase.generate], database=None, derandomize=True)
    @given(ledgers())
    def draw(made):  # type: ignore[no-untyped-def]
        seen.update(k for w in straight(made[0], False)["warnings"] for k in words if k in w)

    draw()
    assert seen == set(words)


# --- kept beside the frame ------------------------------------------------------------------

@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """The report tests' ledger (voids, a lift, objections), a later import and a saved run."""
    from test_report import AS_OF, make_ledger, run, save_run

    path = make_ledger(tmp_path)
    later = tmp_path / "later.csv"
    later.write_text("resident_id,indicator,occurred_on,agency,reference\n"
                     "zq001-res,blood-donation,2020-01-03,hospital,late-1\n"
                     "zq002-res,dog,2024-06-03,,late-2\n")
    assert run("ledger", "import", path, later).exit_code == 0
    save_run(path, AS_OF.replace(day=1))
    return path


def read(path: Path, store: PreparedCache):  # type: ignore[no-untyped-def]
    """prepared_rows as a report calls it, as known now."""
    known = datetime.now(UTC)
    with LedgerFile.open(path) as source:
        shas = tuple(a.sha256 for a in source.adopted(known))
        return prepared_rows(source, known, source.history(known), shas,
                             quality=source.recorded(known), cache=store)


def fresh(path: Path) -> QualityCounts:
    known = datetime.now(UTC)
    with LedgerFile.open(path) as source:
        return quality_counts(source.data(known, sources=True), source.recorded(known))


def same(a: QualityCounts, b: QualityCounts) -> bool:
    return a.days.equals(b.days) and a.touched.sort("event_id").equals(
        b.touched.sort("event_id"))


def test_kept_counts_are_read_back_and_nothing_is_decoded(ledger: Path, tmp_path: Path
                                                          ) -> None:
    store = PreparedCache(tmp_path / "cache")
    first, second = read(ledger, store), read(ledger, store)
    assert not first.kept and first.data.events.height  # counted from the decoded events
    assert second.kept and second.data.events.height == 0  # no event nor agency decoded
    assert first.counts is not None and second.counts is not None
    assert same(second.counts, fresh(ledger)) and same(first.counts, second.counts)
    assert second.counts.touched.height == 4  # the void, the lift, both objections


def test_a_frame_kept_by_a_score_gets_its_counts_from_the_first_report(ledger: Path,
                                                                       tmp_path: Path) -> None:
    store = PreparedCache(tmp_path / "cache")
    known = datetime.now(UTC)
    with LedgerFile.open(ledger) as source:  # as `scs score` keeps it: no counts
        prepared_rows(source, known, source.history(known),
                      tuple(a.sha256 for a in source.adopted(known)), cache=store)
    (folder,) = [p for p in store.directory.iterdir() if p.is_dir()]
    assert not (folder / QUALITY).exists()
    first = read(ledger, store)
    assert first.kept and first.data.events.height and (folder / QUALITY).is_dir()
    second = read(ledger, store)
    assert second.kept and second.data.events.height == 0
    assert second.counts is not None and same(second.counts, fresh(ledger))


@pytest.mark.parametrize("damage", ["flipped", "truncated", "missing", "header", "key"])
def test_a_damaged_count_part_is_never_used(ledger: Path, tmp_path: Path, damage: str
                                           ) -> None:
    store = PreparedCache(tmp_path / "cache")
    read(ledger, store)
    (folder,) = [p / QUALITY for p in store.directory.iterdir() if p.is_dir()]
    days = folder / "days.arrow"
    if damage == "flipped":  # a value changed, the file still decodes
        frame = pl.read_ipc(days.read_bytes())
        frame = frame.with_columns(frame["events"].scatter(0, frame["events"][0] + 1))
        buffer = io.BytesIO()
        frame.write_ipc(buffer, compression="uncompressed")
        days.write_bytes(buffer.getvalue())
    elif damage == "truncated":
        days.write_bytes(days.read_bytes()[:200])
    elif damage == "missing":
        (folder / "touched.arrow").unlink()
    elif damage == "header":
        (folder / "header.json").write_text("{not json", encoding="utf-8")
    else:  # another key: counted from other sources, or other imports
        header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
        (folder / "header.json").write_text(json.dumps({**header, "key": "0" * 64}),
                                            encoding="utf-8")
    again = read(ledger, store)
    assert again.kept and again.data.events.height  # counted again from the events
    assert again.counts is not None and same(again.counts, fresh(ledger))
    third = read(ledger, store)  # and kept again, intact
    assert third.data.events.height == 0 and third.counts is not None
    assert same(third.counts, fresh(ledger))


def test_counts_of_other_sources_are_never_used(ledger: Path, tmp_path: Path) -> None:
    """The same events with another agency recorded (sources rewritten with a matching
    SHA-256, so every check passes): the frame is still the same, the counts are not."""
    from test_tamper import tamper

    store = PreparedCache(tmp_path / "cache")
    before = read(ledger, store).counts
    with sqlite3.connect(ledger) as conn:
        blob = conn.execute("SELECT sources FROM event_batches WHERE batch_id = 1").fetchone()[0]
    sources = pl.read_ipc_stream(io.BytesIO(blob))
    sources = sources.with_columns(agency=pl.lit("forged"))
    buffer = io.BytesIO()
    sources.write_ipc_stream(buffer, compression="zstd")
    import hashlib

    forged = buffer.getvalue()
    tamper(ledger, "UPDATE event_batches SET sources = ?, sources_sha256 = ? WHERE batch_id = 1",
           params=(forged, hashlib.sha256(forged).hexdigest()))
    after = read(ledger, store)
    assert after.kept and after.data.events.height  # the frame kept, the counts made again
    assert after.counts is not None and before is not None
    assert not same(after.counts, before) and same(after.counts, fresh(ledger))
    assert set(after.counts.days.filter(pl.col("import") == 0)["agency"]) == {"forged"}


def test_a_damaged_sources_blob_is_refused_even_with_kept_counts(ledger: Path,
                                                                 tmp_path: Path) -> None:
    from test_tamper import flip_a_byte

    from scs_cli.core.errors import LedgerError

    store = PreparedCache(tmp_path / "cache")
    read(ledger, store)
    flip_a_byte(ledger, part="sources")
    with pytest.raises(LedgerError, match="sources bytes"):
        read(ledger, store)


def test_a_report_from_kept_counts_is_the_report_without_a_cache(ledger: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    from test_report import AS_OF, run

    pages = {}
    for name in ("off", "counted", "kept"):
        if name == "off":
            monkeypatch.setenv("SCS_CACHE", "off")
        else:
            monkeypatch.delenv("SCS_CACHE", raising=False)
            monkeypatch.setenv("SCS_CACHE_DIR", str(tmp_path / "cache"))
        for public in ((), ("--public",)):
            out = tmp_path / f"{name}{len(public)}"
            assert run("report", ledger, "--as-of", AS_OF, "--known-at", "2100-01-01T00:00:00Z",
                       "--output", out, *public).exit_code == 0
            pages[name, public] = {p.relative_to(out): p.read_bytes()
                                   for p in out.rglob("*") if p.is_file()}
    for public in ((), ("--public",)):
        assert pages["counted", public] == pages["off", public] == pages["kept", public]
    shutil.rmtree(tmp_path / "cache")
