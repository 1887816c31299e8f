"""`scs ledger import`: every bad-row reason, atomicity, --skip-invalid, duplicates, ids."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scs_cli.ledger.store import Ledger

BAD_ROWS = Path(__file__).parent / "bad_rows"
CASES = sorted(p for p in BAD_ROWS.iterdir() if p.suffix in (".csv", ".jsonl"))


@pytest.fixture
def ledger(tmp_path: Path, scs, tiny_catalogue: Path) -> Path:
    """A ledger with tiny.toml (version 1, 2020-01-01) and tiny-v2.toml (2023-06-01)."""
    path = tmp_path / "city.db"
    assert scs("ledger", "init", path, "--catalogue", tiny_catalogue).exit_code == 0
    assert scs("ledger", "adopt", path, BAD_ROWS / "tiny-v2.toml").exit_code == 0
    return path


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def snapshot(path: Path) -> tuple[bytes, list[str]]:
    """The file's bytes and its SQL dump (no scs connection is open when taken)."""
    data = path.read_bytes()
    conn = sqlite3.connect(path)
    try:
        dump = list(conn.iterdump())
    finally:
        conn.close()
    return data, dump


def errors(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [line.removeprefix("error: ") for line in result.stderr.splitlines()]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_rows_are_all_listed_and_nothing_changes(scs, ledger: Path, case: Path) -> None:
    before = snapshot(ledger)
    result = scs("ledger", "import", ledger, case)
    today = datetime.now(UTC).date().isoformat()
    text = case.with_suffix(".expected").read_text(encoding="utf-8")
    expected = text.replace("{file}", str(case)).replace("{today}", today).splitlines()
    assert result.exit_code == 1
    assert errors(result) == expected
    assert result.stdout == ""
    assert snapshot(ledger) == before  # byte for byte, and the same rows


def test_good_file_gets_consecutive_ids_in_file_order(scs, ledger: Path, tmp_path: Path):
    rows = [{"resident_id": f"R{i}", "indicator": "blood-donation",
             "occurred_on": "2023-01-05", "agency": "hospital", "reference": f"b-{i}"}
            for i in range(5)]
    first = write_csv(tmp_path / "a.csv", rows)
    result = scs("ledger", "import", ledger, first)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"{first}: imported 5 events (event ids 1–5) as import 1; "
                             "0 duplicates skipped; 0 rows rejected\n")
    second = write_csv(tmp_path / "b.csv", [{**r, "reference": f"c-{i}"}
                                            for i, r in enumerate(rows)])
    assert scs("ledger", "import", ledger, second).exit_code == 0
    conn = sqlite3.connect(ledger)
    got = conn.execute("SELECT event_id, resident_id, reference, import_id FROM events "
                       "ORDER BY event_id").fetchall()
    assert got == [(i + 1, f"R{i}", f"b-{i}", 1) for i in range(5)] + [
        (i + 6, f"R{i}", f"c-{i}", 2) for i in range(5)]
    assert conn.execute("SELECT import_id, rows, imported, first_event_id, last_event_id "
                        "FROM imports").fetchall() == [(1, 5, 5, 1, 5), (2, 5, 5, 6, 10)]


def test_reimport_counts_duplicates_and_adds_nothing(scs, ledger: Path, tmp_path: Path):
    rows = [
        {"resident_id": "R1", "indicator": "red-light", "occurred_on": "2023-01-05",
         "agency": "police", "reference": "p-1"},
        {"resident_id": "R1", "indicator": "red-light", "occurred_on": "2023-01-05",
         "agency": "police", "reference": "p-1"},  # repeats the row above in the same file
        {"resident_id": "R2", "indicator": "red-light", "occurred_on": "2023-02-05",
         "agency": "police", "reference": "p-2"},
        {"resident_id": "R3", "indicator": "blood-donation", "occurred_on": "2023-03-05",
         "agency": "", "reference": "no-agency"},  # no agency: never a duplicate
    ]
    path = write_csv(tmp_path / "events.csv", rows)
    result = scs("ledger", "import", ledger, path)
    assert result.stderr == (f"{path}:3: skipped: duplicates event 1 (same agency and "
                             "reference)\n"
                             f"{path}: imported 3 events (event ids 1–3) as import 1; "
                             "1 duplicate skipped; 0 rows rejected\n")
    before = snapshot(ledger)
    refused = scs("ledger", "import", ledger, path)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: {ledger}: {path} has the same bytes as import 1 "
                                     "(events.csv, recorded at ")
    assert refused.stderr.endswith("); nothing was imported (if it really holds new events, "
                                   "import it with --again)\n")
    assert snapshot(ledger) == before
    again = scs("ledger", "import", ledger, path, "--again")
    assert again.exit_code == 0
    assert again.stderr == (f"{path}:2: skipped: duplicates event 1 (same agency and "
                            "reference)\n"
                            f"{path}:3: skipped: duplicates event 1 (same agency and "
                            "reference)\n"
                            f"{path}:4: skipped: duplicates event 2 (same agency and "
                            "reference)\n"
                            f"{path}: imported 1 event (event ids 4–4) as import 2; "
                            "3 duplicates skipped; 0 rows rejected\n")
    conn = sqlite3.connect(ledger)
    assert conn.execute("SELECT count(*), count(DISTINCT reference) FROM events "
                        "WHERE agency IS NOT NULL").fetchone() == (2, 2)
    assert conn.execute("SELECT duplicates FROM imports ORDER BY import_id").fetchall() == [
        (1,), (3,)]


def test_skip_invalid_imports_good_rows_and_writes_rejects(scs, ledger: Path,
                                                           tmp_path: Path) -> None:
    source = BAD_ROWS / "points.csv"
    path = tmp_path / "points.csv"
    path.write_bytes(source.read_bytes())
    result = scs("ledger", "import", ledger, path, "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    rejects = tmp_path / "points.csv.rejects.csv"
    assert result.stderr == (f"{path}: imported 1 event (event ids 1–1) as import 1; "
                             "0 duplicates skipped; 7 rows rejected, written with their "
                             f"errors to {rejects}\n")
    with rejects.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["resident_id"] for r in rows] == ["R1", "R2", "R3", "R4", "R5", "R6", "R8"]
    assert list(rows[0]) == ["resident_id", "indicator", "occurred_on", "agency", "points",
                             "error"]
    assert rows[4]["points"] == "-12.345"
    assert rows[4]["error"] == ("line 6: points: -12.345 has more than 2 decimal places "
                                "(points are exact to the hundredth)")
    conn = sqlite3.connect(ledger)
    assert conn.execute("SELECT resident_id, points FROM events").fetchall() == [
        ("R7", "-12.5")]
    assert conn.execute("SELECT rows, imported, rejected FROM imports").fetchone() == (8, 1, 7)


def test_skip_invalid_with_a_named_rejects_file(scs, ledger: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bad.csv"
    target.parent.mkdir()
    result = scs("ledger", "import", ledger, BAD_ROWS / "dates.csv", "--skip-invalid",
                 "--rejects", target)
    assert result.exit_code == 0
    assert len(target.read_text(encoding="utf-8").splitlines()) == 5  # header + 4 bad rows


def test_rejects_keep_an_unknown_key_under_its_own_name(scs, ledger: Path,
                                                         tmp_path: Path) -> None:
    target = tmp_path / "rejects.csv"
    result = scs("ledger", "import", ledger, BAD_ROWS / "internal_keys.jsonl",
                 "--skip-invalid", "--rejects", target)
    assert result.exit_code == 0, result.stderr
    header = target.read_text(encoding="utf-8").splitlines()[0]
    assert header == "resident_id,indicator,occurred_on,_v,_row,error"


def test_skip_invalid_cannot_skip_a_bad_header(scs, ledger: Path) -> None:
    before = snapshot(ledger)
    result = scs("ledger", "import", ledger, BAD_ROWS / "unknown_column.csv",
                 "--skip-invalid")
    assert result.exit_code == 1
    assert snapshot(ledger) == before


def test_jsonl_points_and_numbers_are_read_exactly(scs, ledger: Path, tmp_path: Path):
    path = tmp_path / "events.json-lines"
    lines = [
        {"resident_id": "R1", "indicator": "other", "occurred_on": "2023-01-05",
         "agency": "court", "reference": "c-1", "points": -12.5},
        {"resident_id": 42, "indicator": "other", "occurred_on": "2023-01-06",
         "agency": "court", "points": "-5"},
        {"resident_id": "R3", "indicator": "blood-donation", "occurred_on": "2023-01-07",
         "note": None},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 0, result.stderr
    with Ledger.open(ledger) as opened:
        data = opened.scoring_data()
    events = data.events.with_columns(resident_id=data.resident_ids())
    assert events["resident_id"].to_list() == ["R1", "42", "R3"]
    assert events["points"].to_list() == [-1250, -500, None]


def test_an_unknown_suffix_and_a_missing_file_are_one_line(scs, ledger: Path,
                                                           tmp_path: Path) -> None:
    result = scs("ledger", "import", ledger, tmp_path / "events.txt")
    assert result.exit_code == 1
    assert errors(result) == [f"{tmp_path / 'events.txt'}: cannot tell the event file's "
                              "format from its suffix '.txt' (name it .csv (with a header "
                              "row) or .jsonl / .json-lines)"]
    result = scs("ledger", "import", ledger, tmp_path / "nope.csv")
    assert result.exit_code == 1
    assert errors(result) == [f"{tmp_path / 'nope.csv'}: no such file (check the path of the "
                              "event file)"]


def test_header_only_file_imports_nothing_and_says_so(scs, ledger: Path, tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_text("resident_id,indicator,occurred_on\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 0
    assert result.stderr == (f"{path}: imported 0 events as import 1; 0 duplicates "
                             "skipped; 0 rows rejected\n")


def test_blank_lines_and_crlf_are_fine(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "windows.csv"
    path.write_bytes(b"\xef\xbb\xbfresident_id,indicator,occurred_on\r\n"
                     b"R1,red-light,2023-01-05\r\n\r\nR2,red-lite,2023-01-05\r\n\r\n")
    result = scs("ledger", "import", ledger, path)
    assert errors(result)[0] == (f"{path}:4: indicator: unknown indicator 'red-lite' (did "
                                 "you mean 'red-light'? `scs catalogue show FILE` lists the "
                                 "indicators)")


def test_rows_are_judged_by_the_version_in_force_on_their_date(scs, ledger: Path,
                                                                tmp_path: Path) -> None:
    # `dog` exists only in version 1 (until 2023-05-31): fine before, refused after.
    path = write_csv(tmp_path / "dog.csv", [
        {"resident_id": "R1", "indicator": "dog", "occurred_on": "2023-05-31"}])
    assert scs("ledger", "import", ledger, path).exit_code == 0


def test_a_ledger_of_another_city_refuses_a_whole_file(scs, tmp_path: Path) -> None:
    path = tmp_path / "rc.db"
    assert scs("ledger", "init", path, "--catalogue", "rongcheng-2016").exit_code == 0
    result = scs("ledger", "import", path, BAD_ROWS / "another_city.csv")
    assert result.exit_code == 1
    assert "'exampleton' is another city; this ledger belongs to 'rongcheng'" in result.stderr


# --- nothing counted twice by accident (SPEC §3) ---------------------------------------

LOOSE = ("resident_id,indicator,occurred_on,agency\n"
         "R1,red-light,2023-01-05,police\n"
         "R2,red-light,2023-01-06,police\n"
         "R1,red-light,2023-01-05,police\n")


def test_identical_rows_without_reference_are_refused_as_possible_repeats(
        scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "loose.csv"
    path.write_text(LOOSE, encoding="utf-8")
    before = snapshot(ledger)
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}:4: row: possible repeat of line 2 (the same resident, indicator, "
        "date, agency and points, and no reference)\n"
        f"error: {path}: 1 possible repeat; nothing was imported (give each event its "
        "reference, or, if they are separate occurrences, import with --allow-repeats)\n")
    assert snapshot(ledger) == before
    assert scs("ledger", "import", ledger, path, "--allow-repeats").exit_code == 0
    with Ledger.open(ledger) as opened:
        assert opened.scoring_data().events.height == 3


def test_a_row_repeating_a_recorded_event_is_refused(scs, ledger: Path,
                                                     tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("resident_id,indicator,occurred_on,agency\n"
                     "R1,red-light,2023-01-05,police\n", encoding="utf-8")
    assert scs("ledger", "import", ledger, first).exit_code == 0
    second = tmp_path / "second.jsonl"  # other bytes, other format, the same occurrence
    second.write_text('{"resident_id": "R1", "indicator": "red-light", "occurred_on": '
                      '"2023-01-05", "agency": "police"}\n'
                      '{"resident_id": "R1", "indicator": "red-light", "occurred_on": '
                      '"2023-01-06", "agency": "police"}\n', encoding="utf-8")
    result = scs("ledger", "import", ledger, second)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {second}:1: row: possible repeat of event 1 (the same resident, "
        "indicator, date, agency and points, and no reference)\n")


@pytest.mark.parametrize("points", ["-٤٥", "-４５", "-𝟓", "٤٥"])
def test_points_in_non_ascii_digits_are_bad_rows(scs, ledger: Path, tmp_path: Path,
                                                  points: str) -> None:
    path = tmp_path / "digits.csv"
    path.write_text("resident_id,indicator,occurred_on,agency,reference,points\n"
                    f"R1,other,2023-01-05,court,c-1,{points}\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:2: points: '{points}' is not a number "
                                    "(write e.g. -12.5)\n")


def test_a_date_in_non_ascii_digits_is_a_bad_row(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "date.csv"
    path.write_text("resident_id,indicator,occurred_on\nR1,red-light,２０２３-01-05\n",
                    encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:2: occurred_on: '２０２３-01-05' is not "
                                    "a date (write YYYY-MM-DD")


def test_a_huge_header_is_one_line(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    names = ",".join(f"c{i}" for i in range(100_000))
    path.write_text(f"{names}\n{','.join(['x'] * 100_000)}\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1  # in seconds: header checks are linear, rows never judged
    lines = result.stderr.splitlines()
    assert lines[0] == (f"error: {path}:1: c0: unknown column (allowed columns: resident_id, "
                        "indicator, occurred_on, agency, reference, note, city, points)")
    assert lines[-1] == (f"error: {path}: bad file; nothing was imported (fix the header "
                         "and import again)")


@pytest.mark.parametrize("quoted", [False, True])
def test_a_short_csv_row_is_always_refused(scs, ledger: Path, tmp_path: Path,
                                           quoted: bool) -> None:
    path = tmp_path / "short.csv"
    note = '"late, again"' if quoted else "late"
    path.write_text("resident_id,indicator,occurred_on,agency,reference,note\n"
                    f"R1,red-light,2023-01-05,police,p-1,{note}\n"
                    "R2,red-light,2023-01-06,police\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:3: row: has 4 fields but the header "
                                    "has 6")


def test_deep_nesting_in_json_lines_is_one_line(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"resident_id": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
                    encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:1: row: is nested too deeply")
    assert "Traceback" not in result.stderr


def test_a_semicolon_separated_file_gets_a_hint(scs, ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("resident_id;indicator;occurred_on\nR1;red-light;2023-01-05\n",
                    encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {path}:1: header: is separated by semicolons; scs reads CSV separated by "
        "commas (save the file with commas as the separator)\n")


def test_importing_an_indicator_lint_forbids_warns(scs, tmp_path: Path,
                                                   tiny_catalogue: Path) -> None:
    catalogue = tmp_path / "superstitious.toml"
    catalogue.write_text(tiny_catalogue.read_text(encoding="utf-8") + (
        '\n[indicators.superstition]\nname = "Superstitious activity"\npoints = -5\n'
        'basis = "Local rule"\n'), encoding="utf-8")
    ledger = tmp_path / "city.db"
    assert scs("ledger", "init", ledger, "--catalogue", catalogue).exit_code == 0
    path = tmp_path / "events.csv"
    path.write_text("resident_id,indicator,occurred_on,reference\n"
                    "R1,superstition,2023-01-05,s-1\n", encoding="utf-8")
    result = scs("ledger", "import", ledger, path)
    assert result.exit_code == 0
    warning = result.stderr.splitlines()[-1]
    assert warning.startswith("warning: events of indicator 'superstition' were imported, "
                              "but lint finds SCS101 in catalogue version 1: ")
    assert "religion or belief" in warning


@pytest.mark.parametrize("args", [
    ("ledger", "void", "{ledger}", str(2**64), "--reason", "x"),
    ("ledger", "lift", "{ledger}", str(2**64), "--on", "2024-01-01"),
    ("objection", "file", "{ledger}", str(2**64), "--on", "2024-01-01", "--grounds", "x"),
    ("objection", "decide", "{ledger}", str(2**64), "--upheld", "--on", "2024-01-01"),
])
def test_ids_beyond_64_bits_are_one_line(scs, ledger: Path, args: tuple[str, ...]) -> None:
    before = snapshot(ledger)
    result = scs(*(a.format(ledger=ledger) for a in args))
    assert result.exit_code in (1, 2)
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert snapshot(ledger) == before


def test_the_library_refuses_ids_beyond_64_bits(ledger: Path) -> None:
    from scs_cli.core.errors import LedgerError

    with Ledger.open(ledger) as opened:
        for call, what in ((lambda: opened.void(2**64, "x"), "event"),
                           (lambda: opened.lift(-1, datetime.now(UTC).date()), "event"),
                           (lambda: opened.decide_objection(2**64, "upheld",
                                                            datetime.now(UTC).date()),
                            "objection")):
            with pytest.raises(LedgerError, match=f"no {what} .*: {what} ids run from 1 to "
                               f"{2**63 - 1}"):
                call()
