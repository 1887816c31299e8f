"""Saved score runs: `scs score --save`, `scs runs list`, `scs runs verify`."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from scs_cli.ledger.store import Ledger
from scs_cli.scoring import runs as runs
from scs_cli.scoring.runs import Change, Difference, RunChangedError, Verification, compare_results

EVENTS = """resident_id,indicator,occurred_on,agency,reference,points
r1,red-light,2021-01-05,,,
r2,dog,2021-02-06,,,
r3,blood-donation,2021-02-07,,,
r4,defaulter,2021-04-07,,,
"""


@pytest.fixture
def ledger(tiny_ledger) -> Path:  # type: ignore[no-untyped-def]
    return tiny_ledger(EVENTS)


def save(scs, ledger: Path, as_of: str = "2022-06-01") -> int:  # type: ignore[no-untyped-def]
    result = scs("score", ledger, "--as-of", as_of, "--save", "-f", "csv")
    assert result.exit_code == 0
    assert result.stderr.startswith("saved run ")
    return int(result.stderr.split()[2])


def test_saved_run_records_times_hashes_and_digest_of_the_csv(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    csv = scs("score", ledger, "--as-of", "2022-06-01", "-f", "csv").stdout
    run_id = save(scs, ledger)
    with Ledger.open(ledger) as opened:
        run = opened.run(run_id)
        shas = [a.sha256 for a in opened.adopted()]
    assert run.as_of == date(2022, 6, 1)
    assert run.digest == hashlib.sha256(csv.encode()).hexdigest()
    assert list(run.catalogue_sha256s) == shas
    assert run.residents == 4
    stored = run.result()
    assert stored.columns == ["resident_id", "score", "tier", "rewards"]
    assert stored["score"].to_list() == [95000, 99700, 101050, 64900]


def test_verify_unchanged(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    run_id = save(scs, ledger)
    result = scs("runs", "verify", ledger, run_id)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"run {run_id} unchanged: as-of 2022-06-01, known-at ")


def test_verify_reproduces_a_past_run_after_later_imports_and_adoptions(  # type: ignore[no-untyped-def]
        scs, ledger: Path, tiny_catalogue: Path, tmp_path: Path) -> None:
    run_id = save(scs, ledger)
    more = tmp_path / "more.csv"
    more.write_text("resident_id,indicator,occurred_on\nr1,defaulter,2022-01-01\n"
                    "r9,dog,2022-02-01\n")
    assert scs("ledger", "import", ledger, more).exit_code == 0
    assert scs("ledger", "void", ledger, "2", "--reason", "entered twice").exit_code == 0
    v2 = tmp_path / "v2.toml"
    v2.write_text(tiny_catalogue.read_text().replace('version = "1"', 'version = "2"')
                  .replace("effective_from = 2020-01-01", "effective_from = 2021-01-01")
                  .replace("points = -100", "points = -200"))
    assert scs("ledger", "adopt", ledger, v2).exit_code == 0
    # scored now, the same date gives other numbers …
    now = scs("score", ledger, "--as-of", "2022-06-01", "-f", "csv").stdout
    assert "r9" in now
    # … but the saved run is pinned by its known-at
    result = scs("runs", "verify", ledger, run_id)
    assert result.exit_code == 0, result.stderr
    assert "unchanged" in result.stdout


def test_verify_reports_what_differs(scs, ledger: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A run that no longer recomputes to its digest (simulated: the ledger is
    append-only, so here the engine is made to give r2 ten more points)."""
    run_id = save(scs, ledger)
    import scs_cli.scoring.runs as engine  # runs calls the engine through its own name

    real = engine.score

    def shifted(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        residents = result.residents.with_columns(
            score=pl.when(pl.col("resident_id") == "r2").then(pl.col("score") + 1000)
            .otherwise(pl.col("score")))
        return type(result)(result.as_of, result.scheme, residents, result.events,
                            result.adjustments)

    monkeypatch.setattr(engine, "score", shifted)
    result = scs("runs", "verify", ledger, run_id)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {ledger}: run {run_id} (as-of 2022-06-01, known-at ")
    assert lines[0].endswith(") no longer gives the result it saved")
    assert lines[1] == "error: 1 resident changed: r2: 997 B → 1007 B"


def test_compare_results_counts_changes_additions_and_removals() -> None:
    old = pl.DataFrame({"resident_id": ["a", "b", "c", "d"], "score": [100000, 95000, 90000,
                                                                       80000],
                        "tier": ["A", "B", "B", "C"]})
    new = pl.DataFrame({"resident_id": ["a", "b", "d", "e"], "score": [100000, 96050, 80000,
                                                                       100000],
                        "tier": ["A", "B", "C", "A"]})
    diff = compare_results(old, new)
    assert (diff.changed, diff.added, diff.removed, diff.residents) == (1, 1, 1, 3)
    assert [str(c) for c in diff.examples] == ["b: 950 B → 960.5 B", "c: 900 B → not scored",
                                               "e: not scored → 1000 A"]
    assert compare_results(old, old).residents == 0


def test_run_changed_message_names_catalogue_changes(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    run_id = save(scs, ledger)
    with Ledger.open(ledger) as opened:
        record = opened.run(run_id)
    stored = record.catalogue_sha256s[0]
    check = Verification(record, "f" * 64, ("a" * 64,), Difference(
        2, 0, 0, (Change("r1", Decimal(950), "B", Decimal(1000), "A"),
                  Change("r2", Decimal("997.5"), "B", Decimal(997), "B"))))
    assert not check.unchanged
    lines = RunChangedError(str(ledger), check).lines()
    assert lines[1] == (f"the catalogues adopted by known-at differ: saved with {stored[:12]} "
                        f"(now missing); now also {'a' * 12}")
    assert lines[2] == "2 residents changed: r1: 950 B → 1000 A; r2: 997.5 B → 997 B"


def test_runs_list(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    empty = scs("runs", "list", ledger)
    assert empty.exit_code == 0 and "no saved runs" in empty.stderr
    first, second = save(scs, ledger), save(scs, ledger, "2023-01-01")
    listed = json.loads(scs("runs", "list", ledger, "-f", "json").stdout)
    assert [(r["run_id"], r["as_of"], r["residents"]) for r in listed] == [
        (first, "2022-06-01", 4), (second, "2023-01-01", 4)]
    assert "2023-01-01" in scs("runs", "list", ledger).stdout


def test_verify_unknown_run(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("runs", "verify", ledger, "7")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {ledger}: no saved run 7 (`scs score LEDGER --save` "
                             "saves one)\n")


def test_digest_is_of_the_canonical_csv() -> None:
    residents = pl.DataFrame({"resident_id": ["a"], "score": [98750], "tier": ["B"],
                              "rewards": [["x", "y"]], "sanctions": [[]]},
                             schema_overrides={"sanctions": pl.List(pl.String)})
    assert runs.canonical_csv(residents) == "resident_id,score,tier,rewards\na,987.5,B,x;y\n"
    assert runs.digest(residents) == hashlib.sha256(
        b"resident_id,score,tier,rewards\na,987.5,B,x;y\n").hexdigest()


# --- a saved run's stored result is checked on every read (issue 19, item 5) -------------

def _flip_result_byte(ledger: Path, run_id: int, *, relink: bool = False) -> None:
    """Change one byte of a run's stored result, bypassing the triggers; with ``relink``
    rewrite it as a valid table with one tier changed, and its chain link's content hash."""
    import sqlite3

    from scs_cli.ledger import chain

    conn = sqlite3.connect(ledger)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                            ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    blob = bytearray(conn.execute("SELECT result FROM runs WHERE run_id = ?", (run_id,)
                                  ).fetchone()[0])
    if relink:  # a valid table with one tier changed, as a careful forger would write
        import io

        frame = pl.read_parquet(io.BytesIO(bytes(blob)))
        frame = frame.with_columns(tier=pl.when(pl.int_range(pl.len()) == 0)
                                   .then(pl.lit("vAA")).otherwise(pl.col("tier")))
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        blob = bytearray(buffer.getvalue())
    else:
        blob[len(blob) // 2] ^= 0x17
    conn.execute("UPDATE runs SET result = ? WHERE run_id = ?", (bytes(blob), run_id))
    if relink:
        conn.execute("UPDATE chain SET content_sha256 = ? WHERE table_name = 'runs' AND "
                     "row_id = ?", (chain.content_sha256(conn, "runs", run_id), run_id))
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()


def test_a_flipped_byte_in_a_stored_result_is_one_line_for_every_reader(  # type: ignore[no-untyped-def]
        scs, ledger: Path, tmp_path: Path) -> None:
    run_id = save(scs, ledger)
    _flip_result_byte(ledger, run_id)
    result = scs("runs", "verify", ledger, run_id)
    assert result.exit_code == 1
    assert f"saved run {run_id} was changed after it was saved" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    letters = scs("statement", ledger, "--changed-since", run_id, "--as-of", "2022-06-01",
                  "--no-pdf", "--output", tmp_path / "letters")
    assert letters.exit_code == 1 and "was changed after it was saved" in letters.stderr
    assert not (tmp_path / "letters").exists() or not any((tmp_path / "letters").iterdir())


def test_a_stored_result_changed_with_its_chain_link_still_fails_its_digest(  # type: ignore[no-untyped-def]
        scs, ledger: Path) -> None:
    run_id = save(scs, ledger)
    _flip_result_byte(ledger, run_id, relink=True)
    result = scs("runs", "verify", ledger, run_id)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
