"""Issue 19, item 10: six inputs that ended in a traceback end in one line and exit 1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

EVENTS = ("resident_id,indicator,occurred_on,agency,reference\n"
          "R1,red-light,2023-01-05,police,p-1\n"
          "R2,red-light,2023-01-06,police,p-2\n")


@pytest.fixture
def ledger(tiny_ledger) -> Path:  # type: ignore[no-untyped-def]
    return tiny_ledger(EVENTS)  # type: ignore[no-any-return]


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def by_hand(path: Path, *statements: str, table: str | None = None) -> None:
    """Edit a ledger as someone with the file could: `table`'s guard triggers are dropped
    for the edit and put back after it."""
    conn = sqlite3.connect(path)
    guards = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                          "tbl_name = ?", (table,)).fetchall() if table else []
    for name, _ in guards:
        conn.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        conn.execute(statement)
    for _, sql in guards:
        conn.execute(sql)
    conn.commit()
    conn.close()


def one_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_a_csv_header_field_over_128_kib(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("resident_id,indicator,occurred_on," + "x" * 140_000 + "\n"
                    "R1,red-light,2023-01-05,n\n", encoding="utf-8")
    before = dump(ledger)
    text = one_error(scs("ledger", "import", ledger, path))
    assert "unknown column" in text and len(text) < 1000  # the name is cut, not printed whole
    assert dump(ledger) == before


def test_a_note_over_128_kib_on_many_lines_imports(scs, ledger: Path, tmp_path: Path):
    path = tmp_path / "long.csv"
    note = "x\n" * 100_000
    path.write_text(f'resident_id,indicator,occurred_on,agency,reference,note\n'
                    f'R3,red-light,2023-01-07,police,p-3,"{note}"\n', encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 0, result.stderr
    conn = sqlite3.connect(ledger)
    assert conn.execute("SELECT note FROM events WHERE resident_id = 'R3'").fetchone() == (
        note,)
    conn.close()


def test_a_deeply_nested_dataset_manifest(scs, ledger: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    assert scs("ledger", "export", ledger, "--format", "parquet", "--output", folder
               ).exit_code == 0
    (folder / "dataset.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    text = one_error(scs("score", folder, "--as-of", "2024-01-01"))
    assert "dataset.json cannot be read: nested too deeply" in text


def test_verify_names_a_non_date_in_the_events_table(scs, ledger: Path) -> None:
    by_hand(ledger, "UPDATE events SET occurred_on = 'garbage' WHERE event_id = 1",
            "UPDATE events SET occurred_on = 20230106 WHERE event_id = 2", table="events")
    text = one_error(scs("ledger", "verify", ledger))
    assert "events table and batches disagree on 2 event(s), first 1" in text


@pytest.mark.parametrize("damage", ["substr(result, 1, length(result) / 2)", "x'00'"])
def test_runs_verify_on_a_damaged_stored_result(scs, ledger: Path, damage: str) -> None:
    assert scs("score", ledger, "--as-of", "2024-01-01", "--save").exit_code == 0
    by_hand(ledger, f"UPDATE runs SET result = {damage}", table="runs")
    text = one_error(scs("runs", "verify", ledger, "1"))
    # The stored result is checked against its chain link before it is parsed (SPEC §7).
    assert "saved run 1 was changed after it was saved" in text


@pytest.mark.parametrize(("table", "column", "first"), [
    ("voids", "reason", ("ledger", "void", "{ledger}", "1", "--reason", "wrong person")),
    ("objections", "grounds", ("objection", "file", "{ledger}", "1", "--on", "2023-02-01",
                               "--grounds", "not me"))])
def test_explain_and_statement_on_text_that_is_not_utf8(
        scs, ledger: Path, tmp_path: Path, table: str, column: str,
        first: tuple[str, ...]) -> None:
    assert scs(*(a.format(ledger=ledger) for a in first)).exit_code == 0
    by_hand(ledger, f"UPDATE {table} SET {column} = CAST(x'ff41' AS TEXT)", table=table)
    text = one_error(scs("explain", ledger, "R1", "--as-of", "2024-01-01"))
    assert f"column '{column}'" in text
    one_error(scs("statement", ledger, "R1", "--as-of", "2024-01-01", "--output",
                  tmp_path / "letters", "--no-pdf"))


@pytest.mark.parametrize(("table", "command"), [
    ("voids", ("ledger", "void", "{ledger}", "2", "--reason", "x")),
    ("objection_decisions", ("objection", "decide", "{ledger}", "1", "--upheld", "--on",
                             "2023-02-02")),
    ("lifts", ("ledger", "lift", "{ledger}", "2", "--on", "2023-02-02")),
    ("imports", ("ledger", "import", "{ledger}", "{more}"))])
def test_a_trigger_added_by_hand_that_ignores_inserts(scs, ledger: Path, tmp_path: Path,
                                                      table: str,
                                                      command: tuple[str, ...]) -> None:
    assert scs("objection", "file", ledger, "1", "--on", "2023-02-01", "--grounds", "no"
               ).exit_code == 0
    more = tmp_path / "more.csv"
    more.write_text(EVENTS.replace("p-", "q-").replace("R", "S"), encoding="utf-8")
    by_hand(ledger, f"CREATE TRIGGER by_hand BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(IGNORE); END")
    before = dump(ledger)
    text = one_error(scs(*(a.format(ledger=ledger, more=more) for a in command)))
    assert f"a new {table} row was not stored" in text
    assert dump(ledger) == before
