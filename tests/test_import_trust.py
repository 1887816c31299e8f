"""Issue 19, the input half: re-sent rows, unterminated quotes, exact JSON numbers and the
rejects file (SPEC §3)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from scs_cli.ledger.store import Ledger

BAD_ROWS = Path(__file__).parent / "bad_rows"
HEADER = "resident_id,indicator,occurred_on,agency,reference,note\n"
SENT = ("R1,red-light,2023-01-05,police,{r1},first\n"
        "R2,red-light,2023-01-06,police,{r2},second\n")


@pytest.fixture
def ledger(tmp_path: Path, scs, tiny_catalogue: Path) -> Path:
    path = tmp_path / "city.db"
    assert scs("ledger", "init", path, "--catalogue", tiny_catalogue).exit_code == 0
    assert scs("ledger", "adopt", path, BAD_ROWS / "tiny-v2.toml").exit_code == 0
    return path


def snapshot(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def events(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT event_id, resident_id, reference, note FROM events "
                            "ORDER BY event_id").fetchall()
    finally:
        conn.close()


def sent(ledger: Path, scs, tmp_path: Path) -> None:
    """The agency's file, first sent with its references."""
    first = tmp_path / "sent.csv"
    first.write_text(HEADER + SENT.format(r1="P-1", r2="P-2"), encoding="utf-8")
    assert scs("ledger", "import", ledger, first).exit_code == 0


# --- 4. re-sent rows ---------------------------------------------------------------------

@pytest.mark.parametrize(("blank", "shown"), [
    ("", "blank column"), ("   ", "spaces"), ("\u00a0", "a no-break space"),
    ("\u200b", "a zero-width space"), ("\ufeff\u2060", "a BOM and a word joiner"),
    ("\u3000", "an ideographic space")])
def test_a_file_resent_without_its_references_is_refused(scs, ledger: Path, tmp_path: Path,
                                                         blank: str, shown: str) -> None:
    sent(ledger, scs, tmp_path)
    before = snapshot(ledger)
    again = tmp_path / "again.csv"
    again.write_text(HEADER + SENT.format(r1=blank, r2=blank), encoding="utf-8")
    result = scs("ledger", "import", ledger, again)
    assert result.exit_code == 1, shown
    assert result.stderr.splitlines()[:2] == [
        f"error: {again}:2: row: possible repeat of event 1 (reference 'P-1') (the same "
        "resident, indicator, date, agency and points, and no reference)",
        f"error: {again}:3: row: possible repeat of event 2 (reference 'P-2') (the same "
        "resident, indicator, date, agency and points, and no reference)"]
    assert snapshot(ledger) == before
    assert scs("ledger", "import", ledger, again, "--allow-repeats").exit_code == 0
    assert len(events(ledger)) == 4


def test_a_file_resent_without_the_reference_column_is_refused(scs, ledger: Path,
                                                               tmp_path: Path) -> None:
    sent(ledger, scs, tmp_path)
    again = tmp_path / "again.jsonl"
    again.write_text(json.dumps({"resident_id": "R2", "indicator": "red-light",
                                 "occurred_on": "2023-01-06", "agency": "police"}) + "\n",
                     encoding="utf-8")
    result = scs("ledger", "import", ledger, again)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {again}:1: row: possible repeat of event 2 "
                                    "(reference 'P-2')")


@pytest.mark.parametrize("variant", [
    " P-1 ", "P-1\u00a0", "\u00a0P-1", "\u200bP-1", "P\u200d-1", "P-1\ufeff", "Ｐ－１",
    "\u3000P-1"])
def test_a_reference_written_differently_is_the_same_reference(
        scs, ledger: Path, tmp_path: Path, variant: str) -> None:
    sent(ledger, scs, tmp_path)
    again = tmp_path / "again.csv"
    again.write_text(HEADER + SENT.format(r1=variant, r2="P-2"), encoding="utf-8")
    result = scs("ledger", "import", ledger, again)
    assert result.exit_code == 0, result.stderr
    assert "imported 0 events" in result.stderr and "2 duplicates skipped" in result.stderr
    assert len(events(ledger)) == 2


def test_letter_case_tells_references_apart(scs, ledger: Path, tmp_path: Path) -> None:
    sent(ledger, scs, tmp_path)
    again = tmp_path / "again.csv"
    again.write_text(HEADER + SENT.format(r1="p-1", r2="P-2"), encoding="utf-8")
    assert scs("ledger", "import", ledger, again).exit_code == 0
    assert [e[2] for e in events(ledger)] == ["P-1", "P-2", "p-1"]


def test_references_are_stored_as_written_and_compared_normalised(
        scs, ledger: Path, tmp_path: Path) -> None:
    """A ledger recorded before the rule (a reference kept with its spaces) keeps working:
    the recorded reference is keyed like the new one."""
    first = tmp_path / "first.csv"
    first.write_text(HEADER + SENT.format(r1="Ａ-1\u00a0", r2="A-2"), encoding="utf-8")
    assert scs("ledger", "import", ledger, first).exit_code == 0
    assert [e[2] for e in events(ledger)] == ["Ａ-1\u00a0", "A-2"]
    again = tmp_path / "again.csv"
    again.write_text(HEADER + SENT.format(r1="A-1", r2="A-2"), encoding="utf-8")
    result = scs("ledger", "import", ledger, again)
    assert result.exit_code == 0, result.stderr
    assert "imported 0 events" in result.stderr
    with Ledger.open(ledger) as opened:
        assert opened.verify().problems == []


def test_the_same_reference_twice_in_one_file_written_differently(
        scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(HEADER + "R1,red-light,2023-01-05,police,A-1,x\n"
                    "R2,red-light,2023-01-06,police,\u200bＡ-1 ,y\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 0, result.stderr
    assert "imported 1 event " in result.stderr and "1 duplicate skipped" in result.stderr


# --- 7. unterminated quotes --------------------------------------------------------------

UNTERMINATED = (HEADER + 'R1,red-light,2023-01-05,police,p-1,"unterminated\n'
                "R2,red-light,2023-01-06,police,p-2,fine\n"
                'R3,red-light,2023-01-07,police,p-3,"two\nlines"\n')


@pytest.mark.parametrize("tail", ["", 'R4,red-light,2023-01-08,police,p-4,"quoted"\n'])
def test_an_unterminated_quote_is_a_bad_row_with_its_line(scs, ledger: Path, tmp_path: Path,
                                                          tail: str) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(UNTERMINATED + tail, encoding="utf-8")
    before = snapshot(ledger)
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {path}:2: row: cannot be read as CSV")
    assert "not closed" in lines[0]
    assert lines[1].startswith(f"error: {path}: 1 bad row; nothing was imported")
    assert snapshot(ledger) == before
    result = scs("ledger", "import", ledger, path, "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert "1 row rejected" in result.stderr
    got = [(e[1], e[3]) for e in events(ledger)]
    assert got[:2] == [("R2", "fine"), ("R3", "two\nlines")]  # R2 is its own event
    assert len(got) == 2 + bool(tail)


def test_an_unterminated_quote_row_keeps_its_values_in_the_rejects_file(
        scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(UNTERMINATED, encoding="utf-8")
    assert scs("ledger", "import", ledger, path, "--skip-invalid").exit_code == 0
    rejects = tmp_path / "quote.csv.rejects.csv"
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["resident_id"], r["reference"], r["note"]) for r in rows] == [
        ("R1", "p-1", "unterminated")]
    assert rows[0]["error"].startswith("line 2: row: cannot be read as CSV")
    assert scs("ledger", "import", ledger, rejects).exit_code == 0  # nothing to mend left
    assert [(e[1], e[3]) for e in events(ledger)][-1] == ("R1", "unterminated")


def test_an_unterminated_quote_on_the_last_line_without_a_newline(
        scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "last.csv"
    path.write_text(HEADER + 'R1,red-light,2023-01-05,police,p-1,"open', encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:2: row: cannot be read as CSV")


# --- 8. exact JSON numbers ---------------------------------------------------------------

@pytest.mark.parametrize(("points", "why"), [
    ("-4.9999999999999999999", "has more than 2 decimal places"),
    ("-15.10000000000000001", "has more than 2 decimal places"),
    ("-12.345", "has more than 2 decimal places"),
    ("-100000000000000000000", "is not a number"),
    ("-1.25e1", "is not a number"),  # as in CSV: no exponents
    ("-12.5000000000000001", "has more than 2 decimal places")])
def test_json_numbers_are_read_as_written(scs, ledger: Path, tmp_path: Path, points: str,
                                          why: str) -> None:
    path = tmp_path / "exact.jsonl"
    path.write_text('{"resident_id": "R1", "indicator": "other", "occurred_on": '
                    f'"2023-01-05", "agency": "court", "reference": "c-1", "points": {points}}}'
                    "\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:1: points: ")
    assert why in result.stderr.splitlines()[0]
    assert points in result.stderr.splitlines()[0]  # the number as written


def test_exact_json_numbers_in_range_are_kept(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "exact.jsonl"
    path.write_text("".join(json.dumps({"resident_id": f"R{n}", "indicator": "other",
                                        "occurred_on": "2023-01-05", "agency": "court",
                                        "reference": f"c-{n}"})[:-1] + f', "points": {p}}}\n'
                            for n, p in enumerate(["-12.50", "-5.01", "-50", "-5.000"])),
                    encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 0, result.stderr
    with Ledger.open(ledger) as opened:
        assert opened.scoring_data().events["points"].to_list() == [-1250, -501, -5000, -500]


# --- 12. the rejects file ----------------------------------------------------------------

HOSTILE = (HEADER + 'R1,red-light,2023-01-05,police,p-1,"=HYPERLINK(""http://evil.example"")"\n'
           "R2,red-lite,2023-01-06,police,@SUM(A1),+X\n"
           "R3,red-light,2023-01-07,police,p-3,-5\n"
           "R4,red-lite,2023-01-08,police,\tp-4,-cmd\n"
           "R5,red-lite,2023-01-09,police,p-5,-5\n")


def test_the_rejects_file_is_formula_guarded(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE.replace("R1,red-light", "R1,red-lite"), encoding="utf-8")
    result = scs("ledger", "import", ledger, path, "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    with (tmp_path / "hostile.csv.rejects.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["note"] for r in rows] == ["'=HYPERLINK(\"http://evil.example\")", "'+X",
                                         "'-cmd", "-5"]
    assert [r["reference"] for r in rows] == ["p-1", "'@SUM(A1)", "'\tp-4", "p-5"]


def test_a_mended_rejects_file_imports_as_it_is(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE, encoding="utf-8")
    assert scs("ledger", "import", ledger, path, "--skip-invalid").exit_code == 0
    rejects = tmp_path / "hostile.csv.rejects.csv"
    assert rejects.read_text(encoding="utf-8").splitlines()[0].endswith(",error")
    mended = tmp_path / "mended.csv"
    mended.write_bytes(rejects.read_bytes().replace(b"red-lite", b"red-light"))
    result = scs("ledger", "import", ledger, mended)
    assert result.exit_code == 0, result.stderr
    assert events(ledger)[2:] == [(3, "R2", "@SUM(A1)", "+X"), (4, "R4", "\tp-4", "-cmd"),
                                  (5, "R5", "p-5", "-5")]


def test_an_unmended_rejects_file_is_refused_again_without_a_second_error_column(
        scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE, encoding="utf-8")
    assert scs("ledger", "import", ledger, path, "--skip-invalid").exit_code == 0
    rejects = tmp_path / "hostile.csv.rejects.csv"
    result = scs("ledger", "import", ledger, rejects, "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert "3 rows rejected" in result.stderr
    again = (tmp_path / "hostile.csv.rejects.csv.rejects.csv").read_text(encoding="utf-8")
    assert again.splitlines()[0] == HEADER.strip() + ",error"
    assert "'@SUM(A1)" in again  # guarded again, once
