"""`scs score DIR --engine spark`: the same scores as one machine, on local Spark (SPEC §6).

Every Spark test shares one local[2] session (starting Spark takes most of a test's time).
Without PySpark or Java they skip and say why; in CI (`SCS_REQUIRE_SPARK=1`, set by
.ci/run) they fail instead, so a broken install cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import feature_ledger  # noqa: E402

from scs_cli.ledger.dataset import export_dataset  # noqa: E402
from scs_cli.ledger.store import Ledger  # noqa: E402
from scs_cli.scale.batch import open_cities, score_datasets  # noqa: E402
from scs_cli.scoring.batch import score_ledger  # noqa: E402
from scs_cli.scoring.files import render, result_frame  # noqa: E402


def _missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java for Spark (apt-get install openjdk-17-jre-headless)"
    return None


MISSING = _missing()
REQUIRED = os.environ.get("SCS_REQUIRE_SPARK") == "1"
needs_spark = pytest.mark.skipif(MISSING is not None and not REQUIRED,
                                 reason=MISSING or "Spark is here")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if MISSING:
        pytest.fail(f"SCS_REQUIRE_SPARK=1 but {MISSING}")
    from scs_cli.scale.spark import spark_session

    session = spark_session("local[2]", app="scs tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Two cities' ledgers and datasets: (ledger, dataset) by city id."""
    made = {}
    # few buckets: each is a task per job, and here a task costs more than its residents
    for city, residents, events, buckets in (("exampleton", 300, 3000, 3),
                                             ("otherton", 60, 500, 2)):
        folder = tmp_path_factory.mktemp(city)
        built = feature_ledger.build(folder, residents, events,
                                     city=None if city == "exampleton" else city)
        with Ledger.open(built.path) as ledger:
            export_dataset(ledger, folder / "dataset", buckets=buckets)
        made[city] = (built.path, folder / "dataset")
        made[f"{city}-stages"] = built.stages  # type: ignore[assignment]
    return made


def csv_of(run: Any) -> str:
    return render(result_frame(run.result.residents), "csv")


@needs_spark
def test_spark_equals_one_machine_at_every_as_of_and_known_at(spark, cities) -> None:  # type: ignore[no-untyped-def]
    from scs_cli.scale.spark import score_on_spark

    ledger, dataset = cities["exampleton"]
    stages = cities["exampleton-stages"]
    later = datetime(2100, 1, 1, tzinfo=UTC)
    for as_of in feature_ledger.AS_OF:
        for stamp in (stages[0], stages[2], later):
            expected = csv_of(score_ledger(ledger, as_of, stamp))
            assert expected.count("\n") > 1
            (run,) = score_on_spark([dataset], as_of, stamp, spark=spark)
            assert csv_of(run) == expected, (as_of, stamp)
            (local,) = score_datasets([dataset], as_of, stamp)
            assert run.summary == local.summary


@needs_spark
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table"])
def test_cli_on_spark_prints_what_the_ledger_prints(scs, spark, cities, fmt: str) -> None:  # type: ignore[no-untyped-def]
    ledger, dataset = cities["exampleton"]
    at = cities["exampleton-stages"][3].isoformat()
    args = ("--as-of", "2023-09-01", "--known-at", at, "-f", fmt)
    ours = scs("score", dataset, "--engine", "spark", *args)
    assert ours.exit_code == 0, ours.stderr
    assert ours.stdout == scs("score", ledger, *args).stdout


@needs_spark
def test_cli_on_spark_writes_parquet_like_the_ledger(scs, spark, cities, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, dataset = cities["exampleton"]
    ours, theirs = tmp_path / "spark.parquet", tmp_path / "ledger.parquet"
    assert scs("score", dataset, "--engine", "spark", "--as-of", "2024-12-31",
               "-o", ours).exit_code == 0
    assert scs("score", ledger, "--as-of", "2024-12-31", "-o", theirs).exit_code == 0
    assert pl.read_parquet(ours).equals(pl.read_parquet(theirs))


@needs_spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
def test_several_cities_in_one_application_never_meet(spark, cities) -> None:  # type: ignore[no-untyped-def]
    from scs_cli.scale.spark import city_frame, plan_text, score_on_spark

    paths = [cities["exampleton"][1], cities["otherton"][1]]
    as_of, at = date(2023, 3, 1), datetime(2100, 1, 1, tzinfo=UTC)
    runs = score_on_spark(paths, as_of, at, spark=spark, cities_at_once=2)
    for run, city in zip(runs, ("exampleton", "otherton"), strict=True):
        assert run.result.scheme.city.id == city
        assert csv_of(run) == csv_of(score_ledger(cities[city][0], as_of, at))
    # each city was its own job group, and its own jobs (run side by side here)
    tracker = spark.sparkContext.statusTracker()
    jobs = [set(tracker.getJobIdsForGroup(f"scs-{c}")) for c in ("exampleton", "otherton")]
    assert all(jobs) and not jobs[0] & jobs[1]
    # and each city's plan reads that city's files only, with no join and no union
    for city, other in (("exampleton", "otherton"), ("otherton", "exampleton")):
        (opened,) = open_cities([cities[city][1]], as_of, at)
        frame = city_frame(spark, opened, as_of, at)
        frame.collect()
        plan = plan_text(frame)
        assert "FlatMapCoGroupsInArrow" in plan
        assert str(cities[city][1]) in plan and str(cities[other][1]) not in plan
        assert "Join" not in plan and "Union" not in plan


@needs_spark
def test_spark_refuses_a_baseline(scs, spark, cities, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, dataset = cities["exampleton"]
    result = scs("score", dataset, "--engine", "spark", "--baseline", feature_ledger.TINY)
    assert result.exit_code == 1
    assert result.stderr == ("error: --baseline compares on one machine only (drop --engine "
                             "spark to compare with a baseline)\n")


def test_without_pyspark_the_spark_engine_is_one_line(scs, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger = tmp_path / "c.db"
    assert scs("ledger", "init", ledger, "--catalogue", feature_ledger.TINY).exit_code == 0
    assert scs("ledger", "export", ledger, "-f", "parquet", "-o", tmp_path / "d").exit_code == 0
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "pyspark", None)
    result = scs("score", tmp_path / "d", "--engine", "spark", "--as-of", "2023-01-01")
    assert result.exit_code == 1
    assert result.stderr == ("error: --engine spark needs PySpark, which is not installed "
                             "(install the extra with `pip install 'scs[spark]'` and Java 17 "
                             "(Debian: openjdk-17-jre-headless))\n")


def test_a_failed_task_is_named_by_its_cause() -> None:
    from scs_cli.scale.spark import _first_line

    error = RuntimeError("An exception was thrown from the Python worker:\nTraceback (most "
                         "recent call last):\n  File \"x.py\", line 1\nModuleNotFoundError: "
                         "No module named 'scs_cli'\n SQLSTATE: 38000")
    assert _first_line(error) == "ModuleNotFoundError: No module named 'scs_cli'"
    assert _first_line(RuntimeError("\n  Java gateway exited  \n")) == "Java gateway exited"


@pytest.fixture(scope="module")
def listville(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """examples/lists.toml's city with generated events (a black list, a count list and a
    red list all hold residents) and one granted repair: (ledger, dataset, repaired id)."""
    from typer.testing import CliRunner

    from scs_cli.cli.app import app
    from scs_cli.scoring.lists import decide_repair, file_repair, ledger_listings

    folder = tmp_path_factory.mktemp("listville")
    catalogue = feature_ledger.ROOT / "examples" / "lists.toml"
    ledger, events = folder / "city.db", folder / "events.csv"
    runner = CliRunner()
    for args in (["demo", "generate", "--catalogue", str(catalogue), "-o", str(events),
                  "-n", "200", "--events", "3000", "--seed", "7"],
                 ["ledger", "init", str(ledger), "--catalogue", str(catalogue)],
                 ["ledger", "import", str(ledger), str(events)]):
        assert runner.invoke(app, args).exit_code == 0, args
    listed = ledger_listings(ledger, date(2023, 12, 31), only="court-defaulters").listings
    repaired = listed.filter(pl.col("since") <= date(2023, 9, 1))["resident_id"][0]
    number = file_repair(ledger, repaired, "court-defaulters", date(2023, 12, 31), "paid")
    decide_repair(ledger, number, "granted", date(2024, 1, 15))
    with Ledger.open(ledger) as opened:
        export_dataset(opened, folder / "dataset", buckets=3)
    return ledger, folder / "dataset", repaired


@needs_spark
def test_spark_lists_what_the_dataset_and_the_ledger_list(scs, spark, listville) -> None:  # type: ignore[no-untyped-def]
    ledger, dataset, repaired = listville
    for day in ("2022-06-30", "2024-01-10", "2024-02-01", "2024-12-31"):
        args = ("--as-of", day, "--format", "csv")
        ours = scs("lists", dataset, "--engine", "spark", *args)
        assert ours.exit_code == 0, ours.stderr
        assert ours.stdout == scs("lists", dataset, *args).stdout == scs(
            "lists", ledger, *args).stdout, day
        kinds = {line.split(",")[0] for line in ours.stdout.splitlines()[1:]}
        assert kinds == {"court-defaulters", "traffic-offenders", "model-residents"}, day
        court = [line.split(",") for line in ours.stdout.splitlines()
                 if line.startswith(f"court-defaulters,{repaired},")]
        if day == "2024-01-10":  # the repair granted on 2024-01-15 ends this listing
            assert [(row[3], row[5]) for row in court] == [("2024-01-15", "1")]
        if day == "2024-02-01":
            assert court == []


@needs_spark
def test_spark_lists_one_list_publicly_with_its_measures(spark, listville) -> None:  # type: ignore[no-untyped-def]
    from scs_cli.scale.batch import dataset_listings
    from scs_cli.scale.spark import listings_on_spark

    _, dataset, _ = listville
    at, day = datetime(2100, 1, 1, tzinfo=UTC), date(2023, 6, 30)
    for only, public in ((None, True), ("court-defaulters", False), ("model-residents", True)):
        ours = listings_on_spark(dataset, day, at, only=only, public=public, spark=spark)
        local = dataset_listings(dataset, day, at, only=only, public=public)
        assert ours.listings.height, (only, public)
        assert ours.listings.equals(local.listings), (only, public)  # measures too
    # an unpublished list under --public: nothing to compute, and no Spark job
    tracker = spark.sparkContext.statusTracker()
    jobs = set(tracker.getJobIdsForGroup("scs-lists-listville"))
    assert jobs  # the runs above were named by the city
    none = listings_on_spark(dataset, day, at, only="traffic-offenders", public=True,
                             master="spark://nowhere:1")
    assert none.listings.height == 0
    assert set(tracker.getJobIdsForGroup("scs-lists-listville")) == jobs


def test_lists_on_spark_refuse_a_ledger_and_a_master_alone(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger = tmp_path / "c.db"
    assert scs("ledger", "init", ledger, "--catalogue", feature_ledger.TINY).exit_code == 0
    result = scs("lists", ledger, "--engine", "spark", "--as-of", "2023-01-01")
    assert result.exit_code == 1
    assert result.stderr == (f"error: --engine spark lists exported datasets, and {ledger} "
                             "is a ledger file (export it first with `scs ledger export "
                             "LEDGER --format parquet --output DIR`, then list DIR)\n")
    result = scs("lists", ledger, "--master", "local[1]", "--as-of", "2023-01-01")
    assert result.exit_code == 1
    assert result.stderr == "error: --master goes with --engine spark (add --engine spark)\n"


def test_listings_of_any_split_of_residents_are_the_listings_of_all(listville) -> None:  # type: ignore[no-untyped-def]
    """What makes the Spark tasks right: a listing, red lists included (granted among the
    residents scored), depends on its own resident alone, so any split gives the same rows."""
    from scs_cli.engine.listings import listings_of

    ledger, _, _ = listville
    with Ledger.open(ledger) as opened:
        data, history = opened.scoring_data(), opened.history()
    ids = sorted(data.residents["resident_id"].to_list())
    for day in (date(2022, 6, 30), date(2024, 1, 10), date(2024, 12, 31)):
        whole = listings_of(data, history, day)
        assert set(whole["list"]) == {"court-defaulters", "traffic-offenders",
                                      "model-residents"}
        for parts in (2, 7):
            pieces = [listings_of(data.for_residents(ids[k::parts]), history, day)
                      for k in range(parts)]
            assert pl.concat(pieces).sort("list", "resident_id").equals(whole), (day, parts)
