"""Scoring datasets on Apache Spark with the same kernel as on one machine.

For each city, one Spark job: its events and its consents (recorded by known-at) are
grouped by the dataset's resident bucket and cogrouped, so each call of the kernel
receives whole residents as Arrow tables (`cogroup(...).applyInArrow`); the city's rules
and its marks on events (voids, lifts, objections: a few rows per thousand events) are
broadcast to the tasks. Each task runs `engine.kernel.score` on its residents and returns
their rows, which the driver puts in resident-id order: the kernel works within one
resident, so any split of residents gives the same rows as one machine.

`scs lists DIR --engine spark` runs the same plan with `engine.listings.listings_of` in
place of the kernel (`listings_on_spark`); repairs are broadcast with the marks.

Cities are separate jobs of one Spark application (a few at a time, each submitted from its
own driver thread and job group): no stage reads, joins or unions two cities' rows
(tests/test_spark.py checks the physical plans).

PySpark is the optional extra ``scs[spark]``; it is imported only in this module, and only
when a Spark run is asked for.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from scs_cli.core.errors import ScsError, UsageError
from scs_cli.engine.kernel import score
from scs_cli.engine.listings import LISTINGS_SCHEMA, listings_of
from scs_cli.rules.model import CatalogueHistory
from scs_cli.scale.batch import City, open_cities, result_of, run_of
from scs_cli.scale.dataset import Marks, ledger_data
from scs_cli.scoring.batch import ScoreRun
from scs_cli.scoring.lists import ListsRun, found_run

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[*]"
CITIES_AT_ONCE = 4
RESIDENTS_DDL = ("resident_id string, score long, tier string, rewards array<string>, "
                 "sanctions array<string>")
# What the tasks return: Polars gives large_string, which Spark refuses against the DDL.
RESIDENTS_ARROW = pa.schema([
    ("resident_id", pa.string()), ("score", pa.int64()), ("tier", pa.string()),
    ("rewards", pa.list_(pa.string())), ("sanctions", pa.list_(pa.string())),
])
LISTINGS_DDL = ("`list` string, resident_id string, since date, until date, "
                "entered_by array<long>, repair long, measures array<string>")
LISTINGS_ARROW = pa.schema([
    ("list", pa.string()), ("resident_id", pa.string()), ("since", pa.date32()),
    ("until", pa.date32()), ("entered_by", pa.list_(pa.int64())), ("repair", pa.int64()),
    ("measures", pa.list_(pa.string())),
])
EVENT_COLUMNS = ("bucket", "event_id", "resident_id", "indicator", "occurred_on", "points",
                 "recorded_at")
CONSENT_COLUMNS = ("bucket", "consent_id", "resident_id", "on_date", "consent", "recorded_at")
LOG4J = Path(__file__).with_name("log4j2.properties")
INSTALL = ("install the extra with `pip install 'scs[spark]'` and Java 17 "
           "(Debian: openjdk-17-jre-headless)")

Progress = Callable[[str], None]


class SparkError(ScsError):
    """Spark could not be started, or a Spark job failed."""


@dataclass(frozen=True)
class Job:
    """What every task of one city's job receives, by broadcast."""

    history: CatalogueHistory
    as_of: date
    known_at: datetime
    marks: Marks


def score_bucket(job: Job, events: pa.Table, consents: pa.Table) -> pa.Table:
    """The kernel on one bucket's residents: their events and consents, as Arrow."""
    data = ledger_data(_frame(events), job.marks, _frame(consents), job.known_at)
    result = score(data, job.history, job.as_of, detail=False)
    return result.residents.select(RESIDENTS_ARROW.names).to_arrow().cast(RESIDENTS_ARROW)


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def spark_session(master: str | None = None, app: str = "scs score") -> SparkSession:
    """A Spark session whose Python workers run this interpreter, quiet on stderr."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkError(f"--engine spark needs PySpark, which is not installed ({INSTALL})"
                         ) from None
    # PySpark starts its Python workers with PYSPARK_PYTHON (else `python3`, which may
    # not have scs): this interpreter, unless the person running scs chose one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    quiet = f"-Dlog4j2.configurationFile={LOG4J.as_uri()}"
    builder = (SparkSession.builder.master(master or DEFAULT_MASTER).appName(app)
               # the workers must run this interpreter, where scs and its Polars are
               .config("spark.pyspark.python", sys.executable)
               .config("spark.pyspark.driver.python", sys.executable)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.extraJavaOptions", quiet)
               .config("spark.executor.extraJavaOptions", quiet))
    try:
        with _quiet():
            return builder.getOrCreate()
    except Exception as exc:  # a missing Java, a bad master URL: PySpark's many kinds
        raise SparkError(f"Spark could not be started (master {master or DEFAULT_MASTER}): "
                         f"{_first_line(exc)} ({INSTALL}; give a reachable --master)"
                         ) from None


def _active_session() -> SparkSession | None:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def city_frame(spark: SparkSession, city: City, as_of: date, known_at: datetime) -> DataFrame:
    """The Spark plan that scores one city: its buckets cogrouped, the kernel per bucket."""
    job = spark.sparkContext.broadcast(Job(city.history, as_of, known_at,
                                           city.dataset.marks(known_at)))

    def kernel(events: pa.Table, consents: pa.Table) -> pa.Table:
        return score_bucket(job.value, events, consents)

    return _cogrouped(spark, city, known_at, kernel, RESIDENTS_DDL)


def _cogrouped(spark: SparkSession, city: City, known_at: datetime,
               kernel: Callable[[pa.Table, pa.Table], pa.Table], ddl: str) -> DataFrame:
    """A city's events and consents seen by known-at, cogrouped by resident bucket, with
    ``kernel`` called on each bucket's whole residents and returning rows of ``ddl``."""
    from pyspark.sql import functions as F

    seen = F.col("recorded_at") <= F.lit(known_at)
    folder = city.dataset.file("events")
    events = spark.read.parquet(str(folder)) if any(folder.glob("bucket=*/*.parquet")) \
        else spark.createDataFrame([], _events_ddl())
    # One partition per bucket, the same on both sides: the cogroup needs no other
    # shuffle, and the session's own settings are left as they were.
    parts = city.dataset.buckets
    events = events.where(seen).select(*EVENT_COLUMNS).repartition(parts, "bucket")
    consents = spark.read.parquet(str(city.dataset.file("consents"))).where(seen).select(
        *CONSENT_COLUMNS).repartition(parts, "bucket")
    return events.groupBy("bucket").cogroup(consents.groupBy("bucket")).applyInArrow(
        kernel, ddl)


def _events_ddl() -> str:
    return ("bucket int, event_id long, resident_id string, indicator string, "
            "occurred_on date, points decimal(18,2), recorded_at timestamp")


def score_on_spark(paths: Sequence[str | Path], as_of: date, known_at: datetime | None = None,
                   *, master: str | None = None, catalogue: str | Path | None = None,
                   baseline: str | Path | None = None, spark: SparkSession | None = None,
                   cities_at_once: int = CITIES_AT_ONCE, head: str | None = None,
                   progress: Progress | None = None) -> list[ScoreRun]:
    """Score each dataset on Spark, one job per city, in one Spark application
    (``cities_at_once`` jobs at a time, each from its own driver thread).

    ``spark``: a session to use (and leave running); otherwise the active session of this
    process if there is one (a notebook's, the tests'), else one started on ``master``
    (default ``local[*]``) and stopped at the end."""
    if baseline is not None:
        raise UsageError("--baseline compares on one machine only",
                         "drop --engine spark to compare with a baseline")
    tick = progress or (lambda what: None)
    known_at = known_at or datetime.now(UTC)
    cities = open_cities(paths, as_of, known_at, catalogue=catalogue, head=head)
    session = spark or _active_session()
    owned = session is None
    if session is None:
        tick(f"starting Spark on {master or DEFAULT_MASTER}")
        session = spark_session(master)
    assert session is not None

    def one(city: City) -> ScoreRun:
        tick(f"scoring {city.dataset.city_id} on Spark at {as_of}")
        # the group is this thread's: each city's jobs are named by their city alone
        session.sparkContext.setJobGroup(f"scs-{city.dataset.city_id}",
                                         f"scs score {city.dataset.path}")
        try:
            table = city_frame(session, city, as_of, known_at).toArrow()
        except ScsError:
            raise
        except Exception as exc:  # Py4J, analysis and task errors alike
            raise SparkError(f"{city.dataset.path}: the Spark job failed: "
                             f"{_first_line(exc)}") from None
        residents = _frame(table).cast({"score": pl.Int64})  # type: ignore[dict-item]
        return run_of(city, as_of, known_at, result_of(city.history, as_of, residents))

    try:
        # A few cities' jobs at once keep a cluster busy while one city's job starts or
        # ends; each is still its own job with its own plan (map keeps the input order).
        with _quiet(), ThreadPoolExecutor(max(1, min(cities_at_once, len(cities)))) as pool:
            runs = list(pool.map(one, cities))
    finally:
        if owned:
            session.stop()
    return runs


@dataclass(frozen=True)
class ListsJob:
    """What every task of a city's listings job receives, by broadcast: the marks on
    events and the repairs (a few rows per thousand events)."""

    history: CatalogueHistory
    as_of: date
    known_at: datetime
    marks: Marks
    repairs: pl.DataFrame
    only: str | None


def list_bucket(job: ListsJob, events: pa.Table, consents: pa.Table) -> pa.Table:
    """`engine.listings.listings_of` on one bucket's residents, as Arrow.

    Each listing depends on its resident alone: a black list on the resident's events and
    repairs (a repair ends only its own resident's listing), a red list on the resident's
    standing, granted as a reward is among the residents scored, here the bucket's."""
    data = replace(ledger_data(_frame(events), job.marks, _frame(consents), job.known_at),
                   repairs=job.repairs)
    found = listings_of(data, job.history, job.as_of, job.only)
    return found.select(LISTINGS_ARROW.names).to_arrow().cast(LISTINGS_ARROW)


def lists_frame(spark: SparkSession, city: City, as_of: date, known_at: datetime,
                only: str | None = None) -> DataFrame:
    """The Spark plan of one city's listings: its buckets cogrouped as `city_frame` does,
    the engine's listings per bucket."""
    job = spark.sparkContext.broadcast(ListsJob(
        city.history, as_of, known_at, city.dataset.marks(known_at),
        city.dataset.repairs(known_at), only))

    def kernel(events: pa.Table, consents: pa.Table) -> pa.Table:
        return list_bucket(job.value, events, consents)

    return _cogrouped(spark, city, known_at, kernel, LISTINGS_DDL)


def listings_on_spark(path: str | Path, as_of: date, known_at: datetime | None = None, *,
                      only: str | None = None, public: bool = False,
                      master: str | None = None, spark: SparkSession | None = None,
                      head: str | None = None, progress: Progress | None = None) -> ListsRun:
    """`scs lists DIR --engine spark`: what `scale.batch.dataset_listings` gives, computed
    in Spark tasks. The dataset and the list asked for are checked before Spark starts
    (an unpublished list under ``public`` starts nothing); ``spark`` and ``master`` as in
    `score_on_spark`."""
    tick = progress or (lambda what: None)
    known_at = known_at or datetime.now(UTC)
    (city,) = open_cities([path], as_of, known_at, head=head)

    def find(chosen: str | None) -> pl.DataFrame:
        session = spark or _active_session()
        owned = session is None
        if session is None:
            tick(f"starting Spark on {master or DEFAULT_MASTER}")
            session = spark_session(master, app="scs lists")
        assert session is not None
        tick(f"listing {city.dataset.city_id} on Spark at {as_of}")
        session.sparkContext.setJobGroup(f"scs-lists-{city.dataset.city_id}",
                                         f"scs lists {city.dataset.path}")
        try:
            with _quiet():
                table = lists_frame(session, city, as_of, known_at, chosen).toArrow()
        except ScsError:
            raise
        except Exception as exc:  # Py4J, analysis and task errors alike
            raise SparkError(f"{city.dataset.path}: the Spark job failed: "
                             f"{_first_line(exc)}") from None
        finally:
            if owned:
                session.stop()
        found = pl.concat([pl.DataFrame(schema=LISTINGS_SCHEMA), _frame(table)],
                          how="vertical_relaxed")
        return found.cast(LISTINGS_SCHEMA).sort("list", "resident_id")  # type: ignore[arg-type]

    return found_run(str(path), city.history, as_of, known_at, only, public, find)


def _first_line(exc: BaseException) -> str:
    """The line of a PySpark error that says what went wrong.

    A failed task's error carries the worker's Python traceback: its last
    ``SomeError: why`` line is the cause, not the first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", line)]
    return causes[-1] if causes else (lines[0] if lines else type(exc).__name__)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """PySpark warns that it does not yet fully support pandas 3; it is not used here.

    (Entered from the main thread only: the warnings filters are process-wide.)"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        yield


def plan_text(frame: Any) -> str:
    """The physical plan Spark chose for a frame (tests read it)."""
    return str(frame._jdf.queryExecution().executedPlan().toString())
