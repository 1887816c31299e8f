"""A `Source`: a ledger file and its exported dataset answer the same questions alike.

`open_source(path)` is the one place that decides what a path is; score, eligible and explain
then read either kind through the same calls, as known at any moment.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import feature_ledger  # noqa: E402

from scs_cli.core.frames import LedgerData  # noqa: E402
from scs_cli.explain.explain import explain_source  # noqa: E402
from scs_cli.ledger.source import LedgerFile  # noqa: E402
from scs_cli.ledger.store import Ledger  # noqa: E402
from scs_cli.scale.source import DatasetFolder, open_source  # noqa: E402

LATER = datetime.fromisoformat("2100-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> feature_ledger.FeatureLedger:
    return feature_ledger.build(tmp_path_factory.mktemp("city"), residents=60, events=600)


@pytest.fixture(scope="module")
def dataset(city: feature_ledger.FeatureLedger) -> Path:
    from scs_cli.ledger.dataset import export_dataset

    target = city.path.parent / "dataset"
    with Ledger.open(city.path) as ledger:
        export_dataset(ledger, target, buckets=4)
    return target


def text(data: LedgerData) -> pl.DataFrame:
    return data.events.select("event_id", "occurred_on", "points",
                              resident_id=data.resident_ids(), indicator=data.indicator_ids())


def moments(city: feature_ledger.FeatureLedger) -> list[datetime | None]:
    return [*city.stages, None]


def test_open_source_decides_the_kind_once(city, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    with open_source(city.path) as ledger, open_source(dataset) as folder:
        assert isinstance(ledger, LedgerFile) and ledger.kind == "ledger"
        assert isinstance(folder, DatasetFolder) and folder.kind == "dataset"
        assert ledger.ledger is not None and folder.ledger is None  # only a ledger saves runs
        assert (ledger.city_id, ledger.city_name) == (folder.city_id, folder.city_name)
        assert ledger.head() == folder.head()


def test_both_kinds_give_the_same_rules_and_frames_as_known_at(city, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    with open_source(city.path) as ledger, open_source(dataset) as folder:
        for at in moments(city):
            assert [a.sha256 for a in ledger.adopted(at)] == [a.sha256 for a in folder.adopted(at)]
            assert ledger.history(at).versions == folder.history(at).versions
            ours, theirs = ledger.data(at), folder.data(at)
            assert text(ours).equals(text(theirs)), at  # residents may be numbered otherwise
            for name in ("voids", "lifts", "objections", "consents"):
                assert getattr(ours, name).equals(getattr(theirs, name)), (name, at)
            with_sources = folder.data(at, sources=True).events
            assert with_sources.select("event_id", "agency", "reference").equals(
                ledger.data(at, sources=True).events.select("event_id", "agency", "reference"))


def test_explain_reads_a_dataset_as_it_reads_the_ledger(city, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    with open_source(city.path) as ledger, open_source(dataset) as folder:
        residents = ledger.data().residents["resident_id"].to_list()[:8]
        for at in moments(city):
            for resident in residents:
                try:
                    expected = explain_source(ledger, resident, date(2023, 3, 1), at)
                except Exception as exc:  # not in the ledger yet: the dataset says the same
                    with pytest.raises(type(exc)) as raised:
                        explain_source(folder, resident, date(2023, 3, 1), at)
                    assert str(raised.value).replace(str(dataset), "X").replace(
                        "dataset", "ledger") == str(exc).replace(str(city.path), "X")
                    continue
                got = explain_source(folder, resident, date(2023, 3, 1), at)
                assert got.to_record() == expected.to_record(), (resident, at)


def test_the_commands_take_either_kind(scs, city, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    with open_source(city.path) as ledger:
        resident = ledger.data().residents["resident_id"][0]
    args = ("--as-of", "2023-03-01", "--format", "json")
    from_ledger = scs("explain", city.path, resident, *args)
    from_dataset = scs("explain", dataset, resident, *args)
    assert from_ledger.exit_code == 0 and from_dataset.exit_code == 0, from_dataset.stderr
    assert json.loads(from_dataset.stdout) == json.loads(from_ledger.stdout)
    with Ledger.open(city.path) as opened:
        reward = sorted(opened.history().versions[-1].rewards)[0]
    eligible = ("eligible", reward, "--as-of", "2023-03-01", "--format", "csv")
    ours = scs(eligible[0], dataset, *eligible[1:])
    assert ours.exit_code == 0, ours.stderr
    assert ours.stdout == scs(eligible[0], city.path, *eligible[1:]).stdout


def test_a_ledger_and_a_dataset_of_other_cities_score_together(scs, city, tmp_path: Path
                                                               ) -> None:  # type: ignore[no-untyped-def]
    other = feature_ledger.build(tmp_path / "other", residents=30, events=200, city="otherton")
    out = tmp_path / "scores"
    out.mkdir()
    result = scs("score", city.path, other.path, "--as-of", "2023-03-01", "-f", "csv",
                 "-o", out)
    assert result.exit_code == 0, result.stderr
    for name, ledger in (("exampleton", city.path), ("otherton", other.path)):
        alone = scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv")
        assert (out / f"{name}.csv").read_text() == alone.stdout


def test_save_is_refused_on_a_dataset(scs, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", dataset, "--save")
    assert result.exit_code == 1
    assert result.stderr == ("error: --save records a run in a ledger; a dataset is a "
                             "read-only copy (score the ledger itself with --save)\n")


def test_a_report_of_the_dataset_is_the_ledgers(scs, city, dataset: Path, tmp_path: Path
                                                ) -> None:  # type: ignore[no-untyped-def]
    at = city.stages[-1].isoformat()
    pages = {}
    # the ledger's second report reads its data-quality counts back from beside the kept
    # frame; the dataset's counts its events' sources each time
    for name, path in (("ledger", city.path), ("kept", city.path), ("dataset", dataset)):
        result = scs("report", path, "--as-of", "2023-03-01", "--known-at", at,
                     "--output", tmp_path / name)
        assert result.exit_code == 0, result.stderr
        pages[name] = json.loads((tmp_path / name / "exampleton" / "report.json").read_text())
    assert pages["dataset"] == pages["ledger"] == pages["kept"]
