"""The `scs score` and `scs eligible` command-line contract."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

EVENTS = """resident_id,indicator,occurred_on,agency,reference,points
r1,red-light,2021-01-05,,,
r1,red-light,2021-01-06,,,
r2,dog,2021-02-06,,,
r2,dog,2022-02-06,,,
r2,dog,2023-02-06,,,
r3,blood-donation,2021-02-07,,,
r3,blood-donation,2021-03-07,,,
r3,blood-donation,2021-04-07,,,
r4,defaulter,2021-04-07,,,
r4,other,2021-04-07,court,x1,-20
r5,other,2022-04-07,court,x2,-7.5
"""

CSV = """resident_id,score,tier,rewards
r1,1000,A,discount
r2,985,B,
r3,1021,A,discount
r4,649,C,
r5,992.5,B,
"""


@pytest.fixture
def ledger(tiny_ledger) -> Path:  # type: ignore[no-untyped-def]
    return tiny_ledger(EVENTS)


def variant(tiny_catalogue: Path, tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = tiny_catalogue.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_header_order_and_exact_numbers(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", "2023-03-01", "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout == CSV


def test_json_is_an_array_of_four_key_objects_with_numbers(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", "2023-03-01", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout, parse_float=Decimal)
    assert [list(r) for r in rows] == [["resident_id", "score", "tier", "rewards"]] * 5
    assert rows[0] == {"resident_id": "r1", "score": 1000, "tier": "A",
                       "rewards": ["discount"]}
    assert rows[4]["score"] == Decimal("992.5") and rows[4]["rewards"] == []


def test_jsonl_is_one_object_per_line(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", "2023-03-01", "--format", "jsonl")
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert json.loads(lines[3]) == {"resident_id": "r4", "score": 649, "tier": "C",
                                    "rewards": []}


def test_table_is_a_summary(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", "2023-03-01")
    assert result.exit_code == 0
    assert "Exampleton: 5 residents scored on 2023-03-01" in result.stdout
    assert "Scores: min 649, 10% 649, 25% 985, median 992.5, 75% 1000, 90% 1021, max 1021" \
        in result.stdout
    assert "r1" not in result.stdout  # no per-resident lines
    for line in ("│ A    │         2 │ 40.0% │", "│ reward   │ discount │"):
        assert line in result.stdout


@pytest.mark.parametrize("suffix", ["csv", "json", "jsonl", "parquet"])
def test_output_format_follows_the_suffix(scs, ledger: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                          suffix: str) -> None:
    target = tmp_path / f"scores.{suffix}"
    result = scs("score", ledger, "--as-of", "2023-03-01", "--output", target)
    assert result.exit_code == 0
    assert f"wrote 5 rows to {target} ({suffix})" in result.stderr
    if suffix == "parquet":
        frame = pl.read_parquet(target)
        assert frame.columns == ["resident_id", "score", "tier", "rewards"]
        assert frame["score"].to_list() == [Decimal(x) for x in
                                            ("1000", "985", "1021", "649", "992.5")]
        assert frame["rewards"].to_list()[0] == ["discount"]
    else:
        same = scs("score", ledger, "--as-of", "2023-03-01", "--format", suffix)
        assert target.read_text() == same.stdout


def test_output_with_a_bad_suffix_is_refused(scs, ledger: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "scores.txt"
    result = scs("score", ledger, "--output", target)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {target}: cannot tell the output format from the suffix "
                             "'.txt' (use a name ending in .csv, .json, .jsonl, .parquet)\n")


def test_as_of_before_the_first_version(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", "2019-12-31")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {ledger}: no catalogue version is in force on "
                             "2019-12-31 (the first adopted version takes effect on "
                             "2020-01-01; score at that date or later)\n")


def test_bad_dates_are_usage_errors(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", "2023-13-01")
    assert result.exit_code == 1
    assert result.stderr == "error: --as-of '2023-13-01' is not a date (write YYYY-MM-DD)\n"


def test_known_at_hides_later_imports(scs, ledger: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv",
                 "--known-at", "2000-01-01T00:00:00")
    assert before.exit_code == 1
    assert "no catalogue was adopted by 2000-01-01T00:00:00+00:00" in before.stderr
    more = tmp_path / "more.csv"
    more.write_text("resident_id,indicator,occurred_on\nr9,defaulter,2022-01-01\n")
    now = scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv")
    assert scs("ledger", "import", ledger, more).exit_code == 0
    stamp = "2100-01-01T00:00:00"
    assert "r9" not in now.stdout
    assert "r9,649,C," in scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv",
                              "--known-at", stamp).stdout


def test_known_at_before_a_correction_gives_the_old_score(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3
    from datetime import datetime, timedelta

    (recorded,) = sqlite3.connect(ledger).execute(
        "SELECT max(recorded_at) FROM events").fetchone()
    before = (datetime.fromisoformat(recorded) + timedelta(microseconds=1)).isoformat()
    # event 9 put r4 on the defaulter list (-100, score capped at 649); voided, r4 keeps
    # only the court's -20
    assert scs("ledger", "void", ledger, "9", "--reason", "wrong person").exit_code == 0
    now = scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv").stdout
    then = scs("score", ledger, "--as-of", "2023-03-01", "-f", "csv",
               "--known-at", before).stdout
    assert "\nr4,980," in now
    assert then == CSV


def test_what_if_catalogue_judges_every_event(scs, ledger: Path, tiny_catalogue: Path,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    reform = variant(tiny_catalogue, tmp_path, "reform.toml",
                     ('points = -50\nbasis = "Road', 'points = -80\nbasis = "Road'),
                     ('version = "1"\neffective_from = 2020-01-01',
                      'version = "reform"\neffective_from = 2030-01-01'))
    result = scs("score", ledger, "--as-of", "2021-06-01", "-f", "csv", "--catalogue", reform)
    assert result.exit_code == 0
    assert "r1,920,B," in result.stdout  # -80 although the reform takes effect in 2030
    assert "r1,950,B," in scs("score", ledger, "--as-of", "2021-06-01", "-f", "csv").stdout


def test_what_if_of_another_city_is_refused(scs, ledger: Path, tiny_catalogue: Path,  # type: ignore[no-untyped-def]
                                            tmp_path: Path) -> None:
    other = variant(tiny_catalogue, tmp_path, "other.toml",
                    ('id = "exampleton"', 'id = "elsewhere"'))
    for option in ("--catalogue", "--baseline"):
        result = scs("score", ledger, option, other)
        assert result.exit_code == 1
        assert result.stderr == (f"error: {ledger}: {other} is a catalogue of city "
                                 "'elsewhere', but this ledger belongs to 'exampleton' (a "
                                 "ledger is only ever scored with its own city's catalogue)\n")


def test_what_if_cannot_be_saved(scs, ledger: Path, tiny_catalogue: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--catalogue", tiny_catalogue, "--save")
    assert result.exit_code == 1
    assert result.stderr == ("error: --save records runs under the adopted catalogues; a "
                             "what-if (--catalogue) cannot be saved (drop --save or "
                             "--catalogue)\n")


def test_baseline_transition_matrix_and_movers(scs, ledger: Path, tiny_catalogue: Path,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    # the baseline has no blood-donation cap and a harsher dog rule
    baseline = variant(tiny_catalogue, tmp_path, "baseline.toml",
                       ("max_award = 21\n", ""),
                       ("escalation = [-3, -6, -12]", "escalation = [-30, -60, -120]"))
    table = scs("score", ledger, "--as-of", "2023-03-01", "--baseline", baseline)
    assert table.exit_code == 0
    out = table.stdout
    assert "Tier transitions: rows exampleton 1 (baseline), columns current" in out
    # r2: 910 (B) under the baseline → 985 (B); dog -30 -60 -60: 850 → C. Check rows.
    assert "│ A                  │ 2 │ 0 │ 0 │" in out
    assert "│ C                  │ 0 │ 1 │ 1 │" in out
    assert "Moving up: 1; moving down: 0; same tier: 4" in out
    movers = scs("score", ledger, "--as-of", "2023-03-01", "--baseline", baseline, "-f", "csv")
    assert movers.stdout == ("resident_id,baseline_score,baseline_tier,score,tier\n"
                             "r2,850,C,985,B\n")


def test_eligible_lists_residents_of_a_reward(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("eligible", ledger, "discount", "--as-of", "2023-03-01")
    assert result.exit_code == 0
    assert result.stdout == "resident_id,score,tier\nr1,1000,A\nr3,1021,A\n"
    assert "2 of 5 residents eligible for discount (Transit discount) on 2023-03-01" \
        in result.stderr
    as_json = scs("eligible", ledger, "discount", "--as-of", "2023-03-01", "-f", "json")
    assert json.loads(as_json.stdout)[1] == {"resident_id": "r3", "score": 1021, "tier": "A"}


def test_eligible_unknown_reward_names_the_rewards(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("eligible", ledger, "free-bus", "--as-of", "2023-03-01")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {ledger}: no reward 'free-bus' in catalogue exampleton 1 "
                             "in force on 2023-03-01 (its rewards: discount)\n")


def test_missing_ledger_is_one_line(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("score", tmp_path / "none.db")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and "none.db" in result.stderr


def test_engine_does_not_import_the_cli() -> None:
    import subprocess
    import sys

    code = ("import sys, scs_cli.engine.kernel, scs_cli.scoring.batch, scs_cli.scoring.runs; "
            "print(any(m.split('.')[0] in ('typer', 'rich', 'click') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
