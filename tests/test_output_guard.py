"""Outputs never destroy inputs (SPEC §7): every output option against every input path,
its -wal/-shm/-journal siblings, other names for it, and folders holding it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from scs_cli.core.errors import OutputError
from scs_cli.core.guard import check_targets

AS_OF = "2022-12-31"


def event_file(path: Path, rows: int, prefix: str) -> Path:
    i = pl.int_range(0, rows)
    pl.select(
        resident_id=pl.format("R{}", i % 37),
        indicator=pl.when(i % 2 == 0).then(pl.lit("blood-donation")).otherwise(
            pl.lit("red-light")),
        occurred_on=(pl.lit(date(2021, 1, 1)) + pl.duration(days=i % 500)
                     ).dt.to_string("%Y-%m-%d"),
        agency=pl.lit("police"),
        reference=pl.format(f"{prefix}-{{}}", i),
    ).write_csv(path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture
def city(scs, tmp_path: Path, tiny_catalogue: Path) -> Path:  # type: ignore[no-untyped-def]
    ledger = tmp_path / "city.db"
    assert scs("ledger", "init", ledger, "--catalogue", tiny_catalogue).exit_code == 0
    result = scs("ledger", "import", ledger, event_file(tmp_path / "events.csv", 300, "A"))
    assert result.exit_code == 0, result.stderr
    return ledger


def events_of(ledger: Path) -> int:
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def test_report_into_the_folder_holding_the_ledger_as_index_json_is_refused(
        scs, city: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    moved = out / "index.json"
    city.rename(moved)
    before = digest(moved)
    result = scs("report", moved, "--as-of", AS_OF, "--output", out)
    assert result.exit_code == 1
    assert "index.json" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert digest(moved) == before
    assert sorted(p.name for p in out.iterdir()) == ["index.json"]  # nothing written


@pytest.mark.parametrize("name", ["report.json", "index.html", "report.md", "tiers.svg"])
def test_report_refuses_a_ledger_where_a_city_file_would_go(
        scs, city: Path, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    from scs_cli.report.charts import CHARTS

    if name.endswith(".svg"):
        name = f"{next(iter(CHARTS))}.svg"
    out = tmp_path / "out"
    (out / "exampleton").mkdir(parents=True)
    moved = out / "exampleton" / name
    city.rename(moved)
    before = digest(moved)
    result = scs("report", moved, "--as-of", AS_OF, "--output", out)
    assert result.exit_code == 1, result.stdout
    assert digest(moved) == before
    assert [p.name for p in (out / "exampleton").iterdir()] == [name]
    assert not (out / "index.html").exists()


def test_rejects_into_the_wal_of_a_ledger_held_open_is_refused_and_loses_nothing(
        scs, city: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reader = sqlite3.connect(city)  # a reader keeps the WAL from being checkpointed away
    reader.execute("SELECT count(*) FROM events").fetchone()
    try:
        good = event_file(tmp_path / "more.csv", 20, "B")
        bad = tmp_path / "bad.csv"
        bad.write_text(good.read_text() + "R1,no-such-indicator,2021-03-01,police,B-x\n")
        result = scs("ledger", "import", city, bad, "--skip-invalid", "--rejects",
                     f"{city}-wal")
        assert result.exit_code == 1
        assert "wal" in result.stderr and "Traceback" not in result.stderr
    finally:
        reader.close()
    assert events_of(city) == 300
    assert scs("ledger", "verify", city).exit_code == 0


def _targets(city: Path, tmp_path: Path) -> dict[str, Path]:
    """Every other name an input goes by, and the files SQLite keeps beside it."""
    link = tmp_path / "link.db"
    os.link(city, link)
    sym = tmp_path / "sym.csv"
    sym.symlink_to(city)
    copy = tmp_path / "other-ledger.csv"
    copy.write_bytes(city.read_bytes())
    return {"ledger": city, "wal": Path(f"{city}-wal"), "shm": Path(f"{city}-shm"),
            "journal": Path(f"{city}-journal"), "hard link": link, "symlink": sym,
            "another database": copy, "events": tmp_path / "events.csv",
            "catalogue": tmp_path / "tiny.toml", "dotted": tmp_path / "." / "city.db"}


def _file_commands(city: Path, tmp_path: Path, target: Path) -> list[list[str | Path]]:
    catalogue = tmp_path / "tiny.toml"
    return [
        ["score", city, "--as-of", AS_OF, "--output", target],
        ["score", city, "--as-of", AS_OF, "--catalogue", catalogue, "--output", target],
        ["ledger", "export", city, "--format", "csv", "--output", target],
        ["ledger", "import", city, tmp_path / "events.csv", "--again", "--skip-invalid",
         "--rejects", target],
        ["ledger", "stats", city, "--output", target],
    ]


def test_every_file_output_against_every_input_name_is_refused(
        scs, city: Path, tmp_path: Path, tiny_catalogue: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tiny.toml").write_bytes(tiny_catalogue.read_bytes())
    targets = _targets(city, tmp_path)
    watched = [city, *(Path(f"{city}{s}") for s in ("-wal", "-shm", "-journal")),
               tmp_path / "events.csv", tmp_path / "tiny.toml",
               tmp_path / "other-ledger.csv"]
    for role, target in targets.items():
        for args in _file_commands(city, tmp_path, target):
            if role in ("catalogue", "events") and target not in args[:-1]:
                continue  # not an input of that command: it may be written
            before = {p: digest(p) for p in watched}
            result = scs(*args)
            assert result.exit_code in (1, 2), (role, args, result.stdout)
            assert "Traceback" not in result.stderr
            assert {p: digest(p) for p in watched} == before, (role, args)
    assert events_of(city) == 300
    assert scs("ledger", "verify", city).exit_code == 0


def test_statement_and_export_into_folders_holding_inputs_are_refused(
        scs, city: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "letters"
    out.mkdir()
    moved = out / "R1.html"
    city.rename(moved)
    before = digest(moved)
    result = scs("statement", moved, "R1", "--as-of", AS_OF, "--no-pdf", "--output", out)
    assert result.exit_code == 1 and digest(moved) == before
    result = scs("statement", moved, "R1", "--as-of", AS_OF, "--no-pdf", "--output", moved)
    assert result.exit_code == 1 and digest(moved) == before
    for target in (moved, out):  # the ledger itself, or the (non-empty) folder holding it
        result = scs("ledger", "export", moved, "--format", "parquet", "--output", target)
        assert result.exit_code in (1, 2) and digest(moved) == before


def test_score_output_inside_a_dataset_folder_is_refused(
        scs, city: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ds"
    assert scs("ledger", "export", city, "--format", "parquet", "--output", folder
               ).exit_code == 0
    result = scs("score", folder, "--as-of", AS_OF, "--output", folder / "scores.csv")
    assert result.exit_code == 1 and "inside the dataset" in result.stderr
    assert not (folder / "scores.csv").exists()


def test_the_guard_checks_every_target_before_refusing_none(city: Path, tmp_path: Path
                                                            ) -> None:
    fine = tmp_path / "a.csv"
    with pytest.raises(OutputError, match="-wal|wal file"):
        check_targets([fine, Path(f"{city}-wal")])
    with pytest.raises(OutputError, match="SQLite database"):
        check_targets([fine, city])
    fine.touch()
    with pytest.raises(OutputError, match="is the input"):
        check_targets([tmp_path / "." / "a.csv"], {"the input": fine})
    assert check_targets([fine, tmp_path / "b.csv"]) == [fine, tmp_path / "b.csv"]
