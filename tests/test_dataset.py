"""`scs ledger export --format parquet` and `scs score DIR` on one machine (SPEC §6)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import feature_ledger  # noqa: E402

from scs_cli.ledger.store import Ledger  # noqa: E402
from scs_cli.scale.batch import score_datasets  # noqa: E402
from scs_cli.scale.dataset import Dataset  # noqa: E402
from scs_cli.scoring.batch import score_ledger  # noqa: E402
from scs_cli.scoring.files import render, result_frame  # noqa: E402


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> feature_ledger.FeatureLedger:
    return feature_ledger.build(tmp_path_factory.mktemp("city"))


@pytest.fixture(scope="module")
def dataset(city: feature_ledger.FeatureLedger) -> Path:
    from scs_cli.ledger.dataset import export_dataset

    target = city.path.parent / "dataset"
    with Ledger.open(city.path) as ledger:
        export_dataset(ledger, target, buckets=8)
    return target


def csv_of(run) -> str:  # type: ignore[no-untyped-def]
    return render(result_frame(run.result.residents), "csv")


def known(stamp: datetime) -> str:
    return stamp.isoformat()


# --- the dataset as written -------------------------------------------------------------

def test_export_writes_the_layout_and_the_manifest(scs, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = hashlib.sha256(city.path.read_bytes()).hexdigest()
    target = tmp_path / "out"
    result = scs("ledger", "export", city.path, "--format", "parquet", "--output", target,
                 "--buckets", "4")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"{city.path}: exported 4,500 events of exampleton in "
                                    f"4 buckets to {target} (")
    assert hashlib.sha256(city.path.read_bytes()).hexdigest() == before  # ledger untouched
    names = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert names == ["batches.parquet", "catalogues.parquet", "chain.parquet",
                     "consents.parquet", "dataset.json",
                     "decisions.parquet", *(f"events/bucket={b}/part-0.parquet"
                                            for b in range(4)),
                     "imports.parquet", "lifts.parquet", "objections.parquet",
                     "repair_decisions.parquet", "repairs.parquet", "voids.parquet"]
    manifest = json.loads((target / "dataset.json").read_text())
    assert manifest["format"] == "scs-dataset" and manifest["version"] == 2
    assert manifest["city"] == {"id": "exampleton", "name": "Exampleton"}
    assert manifest["bucketing"]["buckets"] == 4
    assert manifest["tables"]["events"]["rows"] == 4500
    with Ledger.open(city.path) as ledger:  # the head an office publishes, as exported
        head = ledger.head()
    assert manifest["ledger"]["head"] == {"rows": head.rows, "hash": head.hash}
    assert Dataset.open(target).head == head
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {
        n: hashlib.sha256((target / n).read_bytes()).hexdigest()
        for n in names if n != "dataset.json"}
    assert not list(tmp_path.glob(".out.*"))  # nothing left under the temporary name


def test_events_lie_in_the_bucket_of_their_resident_as_documented(dataset: Path) -> None:
    # Read with PyArrow's own dataset reader, Hive partitions and all: no scs code.
    pads = pytest.importorskip("pyarrow.dataset", reason="PyArrow comes with scs[spark]")
    table = pads.dataset(dataset / "events", format="parquet", partitioning="hive").to_table()
    events = pl.from_arrow(table)
    assert isinstance(events, pl.DataFrame)
    rule = {r: int(hashlib.sha256(r.encode()).hexdigest()[:8], 16) % 8
            for r in events["resident_id"].unique().to_list()}
    assert all(rule[r] == b for r, b in events.select("resident_id", "bucket").iter_rows())
    consents = pl.read_parquet(dataset / "consents.parquet")
    assert all(rule.get(r, b) == b for r, b in consents.select("resident_id", "bucket")
               .iter_rows())


def test_every_column_is_as_the_ledger_recorded_it(city, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    conn = sqlite3.connect(city.path)
    events = pl.read_parquet(dataset / "events", hive_partitioning=True).sort("event_id")
    table = pl.DataFrame(conn.execute(
        "SELECT event_id, resident_id, indicator, occurred_on, agency, reference, note, "
        "points, import_id, recorded_at FROM events ORDER BY event_id").fetchall(),
        orient="row", schema=["event_id", "resident_id", "indicator", "occurred_on", "agency",
                              "reference", "note", "points", "import_id", "recorded_at"],
        infer_schema_length=None)
    assert events.height == table.height == 4500
    for column in ("event_id", "resident_id", "indicator", "agency", "reference", "note",
                   "import_id"):
        assert events[column].to_list() == table[column].to_list(), column
    assert events["occurred_on"].cast(pl.String).to_list() == table["occurred_on"].to_list()
    assert events["recorded_at"].dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_list() == \
        table["recorded_at"].to_list()
    assert events.schema["points"] == pl.Decimal(18, 2)  # exact, never a float
    from decimal import Decimal

    ranged = table.filter(pl.col("points").is_not_null())
    assert ranged.height > 0
    assert events.filter(pl.col("points").is_not_null())["points"].to_list() == \
        [Decimal(p) for p in ranged["points"].to_list()]
    assert events["note"].drop_nulls().len() > 0
    catalogues = pl.read_parquet(dataset / "catalogues.parquet")
    assert catalogues["version"].to_list() == ["1", "2"]
    assert catalogues["sha256"].to_list() == [hashlib.sha256(t.encode()).hexdigest()
                                              for t in catalogues["text"].to_list()]
    for name, sql in (("voids", "voids"), ("lifts", "lifts"), ("objections", "objections"),
                      ("decisions", "objection_decisions"), ("consents", "consents")):
        (rows,) = conn.execute(f"SELECT count(*) FROM {sql}").fetchone()
        assert pl.read_parquet(dataset / f"{name}.parquet").height == rows > 0, name
    conn.close()


# --- scoring it on one machine ----------------------------------------------------------

def test_scores_equal_the_ledgers_at_every_as_of_and_known_at(city, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    for as_of in feature_ledger.AS_OF:
        for stamp in (*city.stages, None):
            at = stamp or datetime.fromisoformat("2100-01-01T00:00:00+00:00")
            expected = csv_of(score_ledger(city.path, as_of, at))
            (run,) = score_datasets([dataset], as_of, at)
            assert csv_of(run) == expected, (as_of, stamp)
            assert run.catalogue_sha256s == score_ledger(city.path, as_of, at).catalogue_sha256s


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "table"])
def test_cli_output_is_byte_for_byte_the_ledgers(scs, city, dataset: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    at = known(city.stages[2])
    args = ("--as-of", "2023-03-01", "--known-at", at, "--format", fmt)
    from_ledger = scs("score", city.path, *args)
    from_dataset = scs("score", dataset, *args)
    assert from_dataset.exit_code == 0, from_dataset.stderr
    if fmt == "table":  # the first line names the city, not the file: the same
        assert from_dataset.stdout == from_ledger.stdout
    else:
        assert from_dataset.stdout == from_ledger.stdout and len(from_ledger.stdout) > 1000


def test_output_files_equal_the_ledgers(scs, city, dataset: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for suffix in ("csv", "parquet"):
        ours, theirs = tmp_path / f"d.{suffix}", tmp_path / f"l.{suffix}"
        assert scs("score", dataset, "--as-of", "2024-12-31", "-o", ours).exit_code == 0
        assert scs("score", city.path, "--as-of", "2024-12-31", "-o", theirs).exit_code == 0
        if suffix == "csv":
            assert ours.read_bytes() == theirs.read_bytes()
        else:
            assert pl.read_parquet(ours).equals(pl.read_parquet(theirs))


def test_what_if_and_baseline_on_a_dataset(scs, city, dataset: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reform = feature_ledger.catalogue(tmp_path, "reform", "2019-01-01",
                                      ("max_award = 21", "max_award = 50"))
    for option in ("--catalogue", "--baseline"):
        args = ("--as-of", "2023-03-01", option, reform, "-f", "csv")
        ours = scs("score", dataset, *args)
        assert ours.exit_code == 0, ours.stderr
        assert ours.stdout == scs("score", city.path, *args).stdout


def test_several_cities_each_to_its_own_file(scs, city, dataset: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = feature_ledger.build(tmp_path / "other", residents=40, events=300,
                                 city="otherton")
    other_set = tmp_path / "other-set"
    assert scs("ledger", "export", other.path, "-f", "parquet", "-o", other_set).exit_code == 0
    out = tmp_path / "scores"
    out.mkdir()
    result = scs("score", dataset, other_set, "--as-of", "2023-03-01", "-f", "jsonl",
                 "-o", out)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["exampleton.jsonl", "otherton.jsonl"]
    for name, ledger in (("exampleton", city.path), ("otherton", other.path)):
        alone = scs("score", ledger, "--as-of", "2023-03-01", "-f", "jsonl")
        assert (out / f"{name}.jsonl").read_text() == alone.stdout


# --- refusals: one line, exit 1, nothing written ----------------------------------------

def refused(result, line: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1
    assert result.stderr == f"error: {line}\n"


def test_export_refuses_a_folder_that_is_not_empty(scs, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    refused(scs("ledger", "export", city.path, "-f", "parquet", "-o", tmp_path / "full"),
            f"--output {tmp_path / 'full'} is a folder that is not empty (give a new or "
            "empty folder; an export never overwrites files)")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    refused(scs("ledger", "export", city.path, "-f", "csv", "-o", tmp_path / "e.parquet"),
            f"--format csv but --output {tmp_path / 'e.parquet'} names a parquet file (make "
            "them agree, or give --format parquet and a folder for the dataset)")
    refused(scs("ledger", "export", city.path, "-f", "parquet", "-o", tmp_path / "x",
                "--buckets", "0"),
            "--buckets 0 is out of range (give a number of buckets from 1 to 4096)")


def test_a_folder_that_is_not_a_dataset_is_refused(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refused(scs("score", tmp_path), f"{tmp_path}: is not an scs dataset (no dataset.json) "
            "(make one with `scs ledger export LEDGER --format parquet --output DIR`)")


def test_a_changed_file_is_refused(scs, dataset: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    voids = pl.read_parquet(copy / "voids.parquet")
    voids.head(0).write_parquet(copy / "voids.parquet")  # a void quietly dropped
    refused(scs("score", copy, "--as-of", "2023-03-01"),
            f"{copy}: voids.parquet does not match its SHA-256 in dataset.json (changed since "
            "the export) (export the ledger again)")


def test_dataset_options_that_make_no_sense_are_refused(scs, dataset: Path, city,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    refused(scs("score", dataset, "--save"), "--save records a run in a ledger; a dataset is "
            "a read-only copy (score the ledger itself with --save)")
    refused(scs("score", dataset, dataset, "-f", "csv"),
            "2 cities' rows are never written into one stream (give --output FOLDER: each "
            "city gets its own file there)")
    refused(scs("score", dataset, dataset),
            f"{dataset} and {dataset} are both datasets of city 'exampleton' (score one "
            "dataset per city in a run)")
    # a ledger and a dataset are both sources of a city: only two of one city are refused
    refused(scs("score", dataset, city.path), f"{city.path} and {dataset} are a ledger and a "
            "dataset of city 'exampleton' (score one ledger or dataset per city in a run)")
    refused(scs("score", dataset, "--master", "local[1]"),
            "--master goes with --engine spark (add --engine spark)")
    refused(scs("score", city.path, "--engine", "spark"),
            f"--engine spark scores exported datasets, and {city.path} is a ledger file "
            "(export it first with `scs ledger export LEDGER --format parquet --output DIR`, "
            "then score DIR)")
    missing = city.path.with_name("nowhere")
    refused(scs("score", missing, "--engine", "spark"),
            f"--engine spark scores exported datasets, and {missing} is not there (export "
            "it first with `scs ledger export LEDGER --format parquet --output DIR`, then "
            "score DIR)")
    early = scs("score", dataset, "--known-at", "2000-01-01T00:00:00", "-f", "csv")
    refused(early, f"{dataset}: no catalogue was adopted by 2000-01-01T00:00:00+00:00 (score "
            "with a later --known-at)")


def test_an_empty_ledger_exports_and_scores_nobody(scs, tiny_catalogue: Path,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    ledger = tmp_path / "empty.db"
    assert scs("ledger", "init", ledger, "--catalogue", tiny_catalogue).exit_code == 0
    assert scs("ledger", "export", ledger, "-f", "parquet", "-o", tmp_path / "d").exit_code == 0
    assert Dataset.open(tmp_path / "d").events().height == 0
    result = scs("score", tmp_path / "d", "--as-of", "2023-03-01", "-f", "csv")
    assert result.exit_code == 0
    assert result.stdout == scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv").stdout
