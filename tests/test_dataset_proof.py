"""Datasets proven like ledgers (SPEC §7, issue 19 item 1): add, drop, alter and duplicate
files and rows of an exported dataset, with and without a manifest made consistent with
the change; a stray or missing file is refused on every read, and every change is refused
against the published head."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import feature_ledger  # noqa: E402

from scs_cli.core.errors import ScsError  # noqa: E402
from scs_cli.ledger.store import Ledger  # noqa: E402
from scs_cli.scale.proof import prove  # noqa: E402

AS_OF = "2023-03-01"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A dataset of the feature ledger (every kind of row) and the head published with it."""
    from scs_cli.ledger.dataset import export_dataset

    city = feature_ledger.build(tmp_path_factory.mktemp("city"))
    target = city.path.parent / "dataset"
    with Ledger.open(city.path) as ledger:
        export_dataset(ledger, target, buckets=4)
        head = ledger.head()
    return target, str(head)


def copy_of(exported: tuple[Path, str], tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(exported[0], folder)
    return folder


def relist(folder: Path, head: tuple[int, str] | None = None) -> None:
    """Make the manifest agree with the folder as it now is (a careful forger)."""
    manifest = json.loads((folder / "dataset.json").read_text())
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    manifest["files"] = [{"path": f, "rows": pl.read_parquet(folder / f).height,
                          "sha256": hashlib.sha256((folder / f).read_bytes()).hexdigest()}
                         for f in files]
    if head is not None:
        manifest["ledger"]["head"] = {"rows": head[0], "hash": head[1]}
    (folder / "dataset.json").write_text(json.dumps(manifest))


def a_bucket(folder: Path) -> Path:
    return sorted((folder / "events").glob("bucket=*/part-0.parquet"))[1]


def rewrite(file: Path, change: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
    change(pl.read_parquet(file, hive_partitioning=False)).write_parquet(file)


def copy_part(folder: Path) -> None:
    part = a_bucket(folder)
    shutil.copy(part, part.with_name("part-1.parquet"))


def drop_bucket(folder: Path) -> None:
    shutil.rmtree(a_bucket(folder).parent)


def drop_row(folder: Path) -> None:
    rewrite(a_bucket(folder), lambda f: f.slice(1))


def duplicate_row(folder: Path) -> None:
    rewrite(a_bucket(folder), lambda f: pl.concat([f, f.head(1)]))


def alter_row(folder: Path) -> None:
    rewrite(a_bucket(folder), lambda f: f.with_columns(
        occurred_on=pl.when(pl.int_range(pl.len()) == 0).then(
            pl.col("occurred_on") - pl.duration(days=1)).otherwise(pl.col("occurred_on"))))


def alter_note(folder: Path) -> None:
    """A note the chain covers (in its batch's `sources` blob) changed in the files."""
    rewrite(a_bucket(folder), lambda f: f.with_columns(
        note=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("changed by hand"))
        .otherwise(pl.col("note"))))


def drop_void(folder: Path) -> None:
    rewrite(folder / "voids.parquet", lambda f: f.slice(1))


def alter_objection(folder: Path) -> None:
    rewrite(folder / "objections.parquet", lambda f: f.with_columns(
        filed_on=pl.col("filed_on") + pl.duration(days=400)))


def alter_chain(folder: Path) -> None:
    rewrite(folder / "chain.parquet", lambda f: f.with_columns(
        canonical=pl.col("canonical").str.replace("2020", "2021")))


def alter_blob(folder: Path) -> None:
    rewrite(folder / "batches.parquet", lambda f: f.with_columns(
        sources=pl.col("residents")))


MUTATIONS = [copy_part, drop_bucket, drop_row, duplicate_row, alter_row, alter_note, drop_void,
             alter_objection, alter_chain, alter_blob]


def one_line_refusal(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return str(result.stderr)


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__)
def test_a_change_without_its_manifest_is_refused_before_scoring(  # type: ignore[no-untyped-def]
        scs, exported, tmp_path: Path, mutate) -> None:
    folder = copy_of(exported, tmp_path)
    mutate(folder)
    one_line_refusal(scs("score", folder, "--as-of", AS_OF))
    one_line_refusal(scs("ledger", "verify", folder))


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__)
def test_a_change_with_a_consistent_manifest_is_refused_against_the_head(  # type: ignore[no-untyped-def]
        scs, exported, tmp_path: Path, mutate) -> None:
    folder = copy_of(exported, tmp_path)
    mutate(folder)
    relist(folder)
    one_line_refusal(scs("score", folder, "--as-of", AS_OF, "--head", exported[1]))
    one_line_refusal(scs("ledger", "verify", folder, "--head", exported[1]))
    one_line_refusal(scs("ledger", "verify", folder))  # rows against the chain in the files


def test_the_messages_name_the_stray_and_the_missing_file(scs, exported, tmp_path: Path  # type: ignore[no-untyped-def]
                                                          ) -> None:
    folder = copy_of(exported, tmp_path)
    copy_part(folder)
    stray = a_bucket(folder).with_name("part-1.parquet").relative_to(folder).as_posix()
    assert f"{stray} is not listed in dataset.json" in one_line_refusal(
        scs("score", folder, "--as-of", AS_OF))
    folder = copy_of(exported, tmp_path / "again")
    gone = a_bucket(folder).relative_to(folder).as_posix()
    drop_bucket(folder)
    assert f"{gone}, listed in dataset.json, is missing" in one_line_refusal(
        scs("score", folder, "--as-of", AS_OF))


def test_a_consistent_rebuild_passes_alone_and_fails_against_the_published_head(  # type: ignore[no-untyped-def]
        scs, exported, tmp_path: Path) -> None:
    """What the check cannot do (docs/ledger.md): the last consent, its link and the
    manifest's head removed together pass; the published head catches it."""
    folder = copy_of(exported, tmp_path)
    chain = pl.read_parquet(folder / "chain.parquet")
    last = chain.row(-1, named=True)
    assert last["table_name"] == "consents"
    rewrite(folder / "chain.parquet", lambda f: f.head(f.height - 1))
    rewrite(folder / "consents.parquet",
            lambda f: f.filter(pl.col("consent_id") != last["row_id"]))
    relist(folder, (chain.height - 1, chain["hash"][-2]))
    assert scs("ledger", "verify", folder).exit_code == 0
    assert scs("score", folder, "--as-of", AS_OF).exit_code == 0
    assert "does not hold the history of the published head" in one_line_refusal(
        scs("score", folder, "--as-of", AS_OF, "--head", exported[1]))


def test_an_untouched_dataset_is_proven_and_scores_as_without_the_head(  # type: ignore[no-untyped-def]
        scs, exported) -> None:
    folder, head = exported
    done = scs("ledger", "verify", folder, "--head", head)
    assert done.exit_code == 0 and "holds the published head" in done.stderr
    plain = scs("score", folder, "--as-of", AS_OF, "-f", "csv")
    proven = scs("score", folder, "--as-of", AS_OF, "-f", "csv", "--head", head)
    assert proven.exit_code == 0 and proven.stdout == plain.stdout


def test_the_spark_path_refuses_a_stray_file_before_starting(  # type: ignore[no-untyped-def]
        scs, exported, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    folder = copy_of(exported, tmp_path)
    copy_part(folder)
    assert "is not listed in dataset.json" in one_line_refusal(
        scs("score", folder, "--as-of", AS_OF, "--engine", "spark"))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_cell_of_any_table_is_refused_against_the_head(  # type: ignore[no-untyped-def]
        exported, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    folder = copy_of(exported, tmp_path_factory.mktemp("fuzz"))
    files = sorted(p for p in folder.rglob("*.parquet") if p.name != "chain.parquet")
    file = data.draw(st.sampled_from(files), label="file")
    frame = pl.read_parquet(file, hive_partitioning=False)
    if not frame.height:
        return
    column = data.draw(st.sampled_from([c for c in frame.columns if c != "bucket"]),
                       label="column")
    row = data.draw(st.integers(0, frame.height - 1), label="row")
    value = frame[column][row]
    kind = frame.schema[column]
    if value is None or kind == pl.Binary:
        changed = frame.with_row_index().filter(pl.col("index") != row).drop("index")
    else:
        new = (value + "x" if isinstance(value, str) else not value if isinstance(value, bool)
               else value + 1 if kind.is_integer() else None)
        if new is None:  # dates, stamps, decimals: drop the row instead
            changed = frame.with_row_index().filter(pl.col("index") != row).drop("index")
        else:
            changed = frame.with_columns(pl.when(pl.int_range(pl.len()) == row)
                                         .then(pl.lit(new, kind)).otherwise(pl.col(column))
                                         .alias(column))
    if changed.equals(frame):
        return
    changed.write_parquet(file)
    relist(folder)
    with pytest.raises(ScsError):
        prove(folder, exported[1])


def test_a_head_whose_rows_do_not_match_its_link_is_refused(scs, exported) -> None:  # type: ignore[no-untyped-def]
    folder, head = exported
    rows, digest = head.split(":")
    wrong = f"{int(rows) + 1}:{digest}"
    assert f"is link {rows} of its chain, not link {int(rows) + 1}" in one_line_refusal(
        scs("ledger", "verify", folder, "--head", wrong))
