"""The synthetic generator (`scs demo generate`) and the demo (`scs demo`)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from scs_cli.core.errors import UsageError
from scs_cli.demo.generate import generate_events, write_events
from scs_cli.rules.model import CatalogueHistory, cents
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

R2016 = load_catalogue(resolve_catalogue_path("rongcheng-2016"))
R2021 = load_catalogue(resolve_catalogue_path("rongcheng-2021"))
TINY = load_catalogue(EXAMPLES / "tiny.toml")


@pytest.fixture(scope="module")
def two_versions() -> pl.DataFrame:
    return generate_events([R2016, R2021], residents=2000, events=20_000, seed=11)


def test_same_seed_same_bytes_other_seed_other_file(tmp_path):
    frames = [generate_events([R2016], 300, 3000, seed) for seed in (5, 5, 6)]
    for i, frame in enumerate(frames):
        write_events(frame, tmp_path / f"e{i}.csv")
        write_events(frame, tmp_path / f"e{i}.jsonl")
    for suffix in ("csv", "jsonl"):
        first = (tmp_path / f"e0.{suffix}").read_bytes()
        assert first == (tmp_path / f"e1.{suffix}").read_bytes()
        assert first != (tmp_path / f"e2.{suffix}").read_bytes()


def test_cli_same_seed_gives_byte_identical_files(scs, tmp_path):
    for name in ("a.csv", "b.csv"):
        result = scs("demo", "generate", "--residents", "50", "--events", "400", "--seed", "3",
                     "--output", tmp_path / name)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == str(tmp_path / name)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert "wrote 400 events for 50 residents" in result.stderr


def test_events_follow_the_version_in_force_its_reporters_and_ranges(two_versions):
    history = CatalogueHistory([R2016, R2021])
    frame = two_versions
    assert frame.height == 20_000
    by_version = {"2016": 0, "2021": 0}
    for row in frame.iter_rows(named=True):
        cat = history.in_force(row["occurred_on"])
        assert cat is not None
        ind = cat.indicators.get(row["indicator"])
        assert ind is not None, (row, cat.version)  # defined by the version in force
        by_version[cat.version] += 1
        if ind.reporters:
            assert row["agency"] in ind.reporters, row
        else:
            assert row["agency"], row
        if ind.points_range is None:
            assert row["points"] is None, row
        else:
            low, high = (cents(x) for x in ind.points_range)
            assert low <= row["points"] <= high, row
    # Both versions are used, and indicators the 2021 version dropped stop after it.
    assert min(by_version.values()) > 1000
    dropped = set(R2016.indicators) - set(R2021.indicators)
    late = frame.filter(pl.col("occurred_on") >= R2021.effective_from)
    assert not set(late["indicator"].unique()) & dropped
    assert set(frame["indicator"].unique()) & dropped


def test_points_written_with_at_most_two_decimals(tmp_path):
    frame = generate_events([TINY, ], 300, 6000, seed=2)
    path = tmp_path / "e.csv"
    write_events(frame, path)
    written = pl.read_csv(path, schema_overrides={"points": pl.String})
    texts = written["points"].drop_nulls()
    assert texts.len() > 0
    for text in texts:
        value = Decimal(text)
        assert -50 <= value <= -5 and -value.as_tuple().exponent <= 2, text
    # The frame's hundredths and the file's text agree.
    assert [cents(Decimal(t)) for t in texts] == frame["points"].drop_nulls().to_list()


def test_jsonl_rows_carry_points_only_for_range_indicators(tmp_path):
    frame = generate_events([TINY], 100, 2000, seed=4)
    path = tmp_path / "e.jsonl"
    write_events(frame, path)
    rows = pl.read_ndjson(path, schema_overrides={"points": pl.Float64})
    assert rows.columns == ["resident_id", "indicator", "occurred_on", "agency", "reference",
                            "points"]
    with_points = rows.filter(pl.col("points").is_not_null())
    assert set(with_points["indicator"]) == {"other"}
    assert rows.height == 2000


def test_dates_span_years_up_to_until_and_never_the_future():
    until = date(2023, 6, 30)
    frame = generate_events([R2016], 500, 5000, seed=1, until=until)
    assert frame["occurred_on"].max() <= until
    assert frame["occurred_on"].min() >= R2016.effective_from
    assert frame["occurred_on"].dt.year().n_unique() >= 5
    assert frame["occurred_on"].is_sorted()  # file order is date order
    with pytest.raises(UsageError, match="--until 2030-01-01 is in the future"):
        generate_events([R2016], 10, 100, seed=1, until=date(2030, 1, 1),
                        today=date(2025, 1, 1))


def test_future_until_is_one_line_exit_1(scs, tmp_path):
    result = scs("demo", "generate", "--until", "2999-01-01", "--output", tmp_path / "e.csv")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: --until 2999-01-01 is in the future (give a date on or before today "
        f"({date.today()}); a ledger refuses future events)\n")
    assert not (tmp_path / "e.csv").exists()


def test_bad_suffix_and_other_city_are_refused(scs, tmp_path):
    result = scs("demo", "generate", "--output", tmp_path / "e.txt")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {tmp_path / 'e.txt'}: cannot write events as .txt "
                             "(name the output .csv or .jsonl)\n")
    tiny = EXAMPLES / "tiny.toml"
    result = scs("demo", "generate", "-c", "rongcheng-2016", "-c", tiny,
                 "--output", tmp_path / "e.csv")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {tiny}: catalogue is for city 'exampleton', the first "
                             "one for 'rongcheng' (give versions of one city's catalogue "
                             "only)\n")


def test_resident_ids_are_pseudonyms_and_references_unique(two_versions):
    frame = two_versions
    assert frame["resident_id"].str.contains(r"^R[0-9]{7}$").all()
    assert frame["resident_id"].n_unique() == 2000  # every resident has an event
    assert frame.select("agency", "reference").is_unique().all()
    assert frame["reference"].n_unique() == frame.height


def test_shape_good_deeds_heavy_tail_limits_and_escalations(two_versions):
    frame = two_versions
    good = {i.id for c in (R2016, R2021) for i in c.indicators.values()
            if i.is_positive and not i.is_negative}
    n_good = frame["indicator"].is_in(list(good)).sum()
    assert n_good > 2 * (frame.height - n_good)  # good deeds outnumber offences
    counts = frame.group_by("resident_id").len()["len"]
    assert counts.median() <= 8 and counts.max() >= 8 * counts.median()  # heavy tail
    # Offences are concentrated: the worst tenth of residents commit a large share.
    offences = frame.filter(~pl.col("indicator").is_in(list(good)))
    per = offences.group_by("resident_id").len()["len"].sort(descending=True)
    assert per.head(200).sum() > 0.3 * per.sum()
    # Some residents go over a monthly limit: two bank arrears in one month.
    monthly = (frame.filter(pl.col("indicator") == "bank-loan-arrears")
               .group_by("resident_id", pl.col("occurred_on").dt.truncate("1mo")).len())
    assert monthly["len"].max() >= 2


def test_escalating_indicators_recur_for_some_residents():
    frame = generate_events([TINY], 300, 3000, seed=9)
    dogs = frame.filter(pl.col("indicator") == "dog").group_by("resident_id").len()
    assert dogs["len"].max() >= 3  # a third occurrence reaches the last escalation step
    # Indicators with no reporters get a plausible agency for their kind of conduct.
    agencies = dict(frame.select("indicator", "agency").unique().iter_rows())
    assert agencies["blood-donation"] == "civil-affairs"
    assert agencies["other"] == "court"


def test_generate_is_vectorized_enough_for_a_large_file():
    # Not a timing: 200k events must simply come out right and with every resident.
    frame = generate_events([R2016], 20_000, 200_000, seed=1)
    assert frame.height == 200_000 and frame["resident_id"].n_unique() == 20_000


def test_generated_file_imports_with_full_validation(scs, tmp_path):
    events = tmp_path / "events.csv"
    assert scs("demo", "generate", "-c", "rongcheng-2016", "-c", "rongcheng-2021",
               "--residents", "1000", "--events", "10000", "--seed", "8",
               "--output", events).exit_code == 0
    jsonl = tmp_path / "events.jsonl"
    assert scs("demo", "generate", "-c", "rongcheng-2016", "-c", "rongcheng-2021",
               "--residents", "500", "--events", "5000", "--seed", "9",
               "--output", jsonl).exit_code == 0
    ledger = tmp_path / "city.sqlite"
    assert scs("ledger", "init", ledger, "--catalogue", "rongcheng-2016").exit_code == 0
    assert scs("ledger", "adopt", ledger, "rongcheng-2021").exit_code == 0
    for path, rows in ((events, 10_000), (jsonl, 5000)):
        result = scs("ledger", "import", ledger, path)
        assert result.exit_code == 0, result.stderr[:2000]  # any bad row would import nothing
        assert f"{rows:,}" in result.stderr + result.stdout
    assert not list(tmp_path.glob("*.rejects.csv"))
    import sqlite3

    con = sqlite3.connect(ledger)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 15_000
    con.close()



@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One small demo for the tests below (200 residents, 2,000 events)."""
    from typer.testing import CliRunner

    from scs_cli.cli.app import app

    root = tmp_path_factory.mktemp("demo")
    target = root / "tmp"
    result = CliRunner().invoke(app, ["demo", "--residents", "200", "--output", str(target)],
                                catch_exceptions=False)
    return target, result


def test_demo_end_to_end(demo_run):
    target, result = demo_run
    assert result.exit_code == 0, result.stderr
    ledger = target / "ledger.sqlite"
    explained = sorted(target.glob("explain-R*.txt"))
    report = target / "report" / "index.html"
    assert ledger.exists() and report.exists() and (target / "scores.csv").exists()
    assert len(explained) == 1 and explained[0].with_suffix(".json").exists()
    # The tour names what it made and the next commands, with the real resident id.
    tour = result.stderr
    resident = explained[0].stem.removeprefix("explain-")
    for name in ("ledger.sqlite", "scores.csv", explained[0].name, "report/index.html"):
        assert name in tour
    assert f"scs explain {ledger} {resident} --as-of 2024-12-31" in tour
    text = explained[0].read_text()
    assert text.startswith(f"Resident {resident} — rongcheng catalogue 2021, as of 2024-12-31")
    assert (target / "report" / "rongcheng" / "report.md").exists()


def test_the_demo_suggests_an_impact_that_runs(demo_run):
    """The tour's "try next" shows what the 2021 rules would do to the 2016 population,
    and the line runs as printed."""
    import shlex

    from typer.testing import CliRunner

    from scs_cli.cli.app import app

    target, result = demo_run
    lines = [line.strip() for line in result.stderr.splitlines()
             if line.strip().startswith("scs impact ")]
    assert lines == [f"scs impact {target / 'ledger.sqlite'} --baseline rongcheng-2016 "
                     "--reform rongcheng-2021 --as-of 2024-12-31"]
    done = CliRunner().invoke(app, [*shlex.split(lines[0])[1:], "--format", "json"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["residents"]["baseline"] == 200  # the 2016 rules score everyone
    assert doc["residents"]["reform"] < 200  # the 2021 rules only those who consent


def test_demo_ledger_holds_office_records_and_a_saved_run(demo_run):
    import sqlite3

    target, _ = demo_run
    con = sqlite3.connect(target / "ledger.sqlite")
    count = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("events", "catalogues", "consents", "voids", "lifts", "objections",
                       "objection_decisions", "runs")}
    con.close()
    assert count["events"] == 2000 and count["catalogues"] == 2
    assert count["consents"] > 100 and count["voids"] >= 3 and count["lifts"] >= 1
    assert count["objections"] > count["objection_decisions"] >= 1  # some still pending
    assert count["runs"] == 1  # the scores were saved as a run `scs runs verify` can check
    scores = pl.read_csv(target / "scores.csv")
    assert scores.columns == ["resident_id", "score", "tier", "rewards"]
    assert 100 < scores.height < 200  # only residents whose consent is in force are scored


def test_demo_refuses_an_earlier_demo_unless_forced(demo_run, scs):
    target, _ = demo_run
    result = scs("demo", "--residents", "20", "--output", target)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {target}: already holds an earlier demo's ledger.sqlite "
                             "(add --force to replace it, or give another --output "
                             "directory)\n")
    other = target.parent / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = scs("demo", "--residents", "30", "--output", other)
    assert result.exit_code == 0, result.stderr
    result = scs("demo", "--residents", "30", "--output", other, "--force", "--seed", "5")
    assert result.exit_code == 0, result.stderr
    assert (other / "notes.txt").read_text() == "mine"  # --force replaces only demo files
    assert len(list(other.glob("explain-*.txt"))) == 1
