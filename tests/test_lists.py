"""`scs lists` and `scs repair` on a ledger and a dataset (SPEC §3, §4a)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scs_cli.ledger.store import Ledger

ROOT = Path(__file__).resolve().parent.parent
LISTS = ROOT / "examples" / "lists.toml"
EVENTS = """resident_id,indicator,occurred_on
r1,judgment-debtor,2021-03-01
r2,red-light,2021-01-01
r2,red-light,2021-02-01
r2,red-light,2021-03-01
r3,volunteering,2021-05-01
r3,volunteering,2021-05-02
"""
HEADER = "list,resident_id,since,until,entered_by,repair\n"


@pytest.fixture
def ledger(scs, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "city.db"
    events = tmp_path / "events.csv"
    events.write_text(EVENTS, encoding="utf-8")
    assert scs("ledger", "init", path, "--catalogue", LISTS).exit_code == 0
    assert scs("ledger", "import", path, events).exit_code == 0
    return path


def refused(result, line: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.stderr
    assert result.stderr == f"error: {line}\n"
    assert result.stdout == ""


def test_lists_csv_sorted_by_list_then_resident(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("lists", ledger, "--as-of", "2021-05-10", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == HEADER + (
        "court-defaulters,r1,2021-03-01,2023-03-01,1,\n"
        "model-residents,r3,2021-05-10,,,\n"
        "traffic-offenders,r2,2021-03-01,2021-09-01,4,\n")


def test_public_keeps_published_lists_only(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("lists", ledger, "--as-of", "2021-05-10", "--public", "--format", "json")
    assert [(r["list"], r["resident_id"]) for r in json.loads(result.stdout)] == [
        ("court-defaulters", "r1"), ("model-residents", "r3")]
    hidden = scs("lists", ledger, "--as-of", "2021-05-10", "--public", "--list",
                 "traffic-offenders", "--format", "csv")
    assert hidden.exit_code == 0 and hidden.stdout == HEADER


def test_public_never_shows_a_minor_list_even_when_published(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    minor = tmp_path / "minor.toml"
    minor.write_text(LISTS.read_text(encoding="utf-8").replace(
        'severity = "general"', 'severity = "minor"\npublished = true'), encoding="utf-8")
    path = tmp_path / "m.db"
    events = tmp_path / "e.csv"
    events.write_text(EVENTS, encoding="utf-8")
    scs("ledger", "init", path, "--catalogue", minor)
    scs("ledger", "import", path, events)
    every = scs("lists", path, "--as-of", "2021-05-10", "--list", "traffic-offenders",
                "--format", "csv")
    assert every.stdout.count("\n") == 2
    public = scs("lists", path, "--as-of", "2021-05-10", "--list", "traffic-offenders",
                 "--public", "--format", "csv")
    assert public.stdout == HEADER


def test_an_unknown_list_is_one_line(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    refused(scs("lists", ledger, "--as-of", "2021-05-10", "--list", "nope"),
            f"{ledger}: no list 'nope' in listville 1 (lists: court-defaulters, "
            "traffic-offenders, model-residents)")


def test_a_granted_repair_ends_the_listing_and_known_at_goes_back(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    filed = scs("repair", "file", ledger, "r1", "--list", "court-defaulters", "--on",
                "2021-05-10", "--grounds", "paid the debt")
    assert filed.exit_code == 0, filed.stderr
    assert filed.stdout == "1\n"  # the id alone, for scripts
    with Ledger.open(ledger) as opened:  # a moment after the filing, before the decision
        moment = str(opened._conn.execute("SELECT recorded_at FROM repairs").fetchone()[0])
    decided = scs("repair", "decide", ledger, "1", "--granted", "--on", "2021-06-01")
    assert decided.exit_code == 0, decided.stderr
    now = scs("lists", ledger, "--as-of", "2021-05-10", "--list", "court-defaulters",
              "--format", "csv")
    assert now.stdout == HEADER + "court-defaulters,r1,2021-03-01,2021-06-01,1,1\n"
    assert scs("lists", ledger, "--as-of", "2021-06-01", "--list", "court-defaulters",
               "--format", "csv").stdout == HEADER
    then = scs("lists", ledger, "--as-of", "2021-05-10", "--list", "court-defaulters",
               "--known-at", moment, "--format", "csv")
    assert then.stdout == HEADER + "court-defaulters,r1,2021-03-01,2023-03-01,1,\n"


def test_repair_refusals_leave_the_ledger_unchanged(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    with Ledger.open(ledger) as opened:
        head = opened.head()
    refused(scs("repair", "file", ledger, "r2", "--list", "court-defaulters", "--on",
                "2021-05-10", "--grounds", "x"),
            f"{ledger}: r2 is not on list 'court-defaulters' on 2021-05-10 (`scs lists LEDGER "
            "--as-of 2021-05-10 --list court-defaulters` shows who is)")
    refused(scs("repair", "file", ledger, "r1", "--list", "nope", "--on", "2021-05-10",
                "--grounds", "x"),
            f"{ledger}: unknown list 'nope' on 2021-05-10 (lists of the catalogue in force: "
            "court-defaulters, traffic-offenders, model-residents)")
    refused(scs("repair", "file", ledger, "r3", "--list", "model-residents", "--on",
                "2021-05-10", "--grounds", "x"),
            f"{ledger}: list 'model-residents' is a red list; credit repair takes a resident "
            "off a black list (name a black list)")
    refused(scs("repair", "decide", ledger, "7", "--granted", "--on", "2021-05-10"),
            f"{ledger}: no repair 7 (`scs repair list LEDGER` shows the pending ones)")
    with Ledger.open(ledger) as opened:
        assert opened.head() == head
    assert scs("repair", "file", ledger, "r1", "--list", "court-defaulters", "--on",
               "2021-05-10", "--grounds", "paid").stdout == "1\n"
    refused(scs("repair", "decide", ledger, "1", "--granted", "--on", "2021-05-31"),
            f"{ledger}: repair 1 cannot be granted on 2021-05-31: list 'court-defaulters' "
            "allows repair from 2021-06-01 (entry + repair_after) (grant it on or after "
            "2021-06-01, or refuse it)")
    assert scs("repair", "decide", ledger, "1", "--refused", "--on", "2021-05-31"
               ).exit_code == 0
    refused(scs("repair", "decide", ledger, "1", "--granted", "--on", "2021-06-02"),
            f"{ledger}: repair 1 is already decided (refused on 2021-05-31)")


def test_repair_list_shows_pending_ones_with_their_age(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    scs("repair", "file", ledger, "r1", "--list", "court-defaulters", "--on", "2021-05-10",
        "--grounds", "paid")
    result = scs("repair", "list", ledger, "--as-of", "2021-05-20", "--format", "csv")
    assert result.stdout == ("repair_id,resident_id,list,filed_on,age_days,grounds\n"
                             "1,r1,court-defaulters,2021-05-10,10,paid\n")
    assert scs("repair", "list", ledger, "--as-of", "2021-05-09", "--format", "csv"
               ).stdout == "repair_id,resident_id,list,filed_on,age_days,grounds\n"


def test_a_dataset_gives_the_same_listings(scs, ledger: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scs("repair", "file", ledger, "r1", "--list", "court-defaulters", "--on", "2021-05-10",
        "--grounds", "paid")
    scs("repair", "decide", ledger, "1", "--granted", "--on", "2021-06-01")
    folder = tmp_path / "dataset"
    exported = scs("ledger", "export", ledger, "--format", "parquet", "--output", folder)
    assert exported.exit_code == 0, exported.stderr
    for day in ("2021-05-10", "2021-06-01"):
        want = scs("lists", ledger, "--as-of", day, "--format", "csv").stdout
        assert scs("lists", folder, "--as-of", day, "--format", "csv").stdout == want
    assert "court-defaulters,r1,2021-03-01,2021-06-01,1,1" in scs(
        "lists", folder, "--as-of", "2021-05-10", "--format", "csv").stdout


def test_lists_never_change_a_score(scs, ledger: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain = tmp_path / "plain.toml"
    text = LISTS.read_text(encoding="utf-8")
    plain.write_text(text[:text.index("[lists.court-defaulters]")] + "[policy]\n"
                     'objection_deadline = "15d"\n', encoding="utf-8")
    with_lists = scs("score", ledger, "--as-of", "2021-05-10", "--format", "csv").stdout
    without = scs("score", ledger, "--as-of", "2021-05-10", "--catalogue", plain,
                  "--format", "csv").stdout
    assert with_lists == without and with_lists.count("\n") == 4


def test_explain_shows_each_list_why_until_when_and_the_repair_date(scs, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("explain", ledger, "r1", "--as-of", "2021-05-10", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["score"] == 900  # the list changes no point
    [listing] = doc["lists"]
    assert (listing["list"], listing["since"], listing["until"], listing["entered_by"],
            listing["repair_from"]) == ("court-defaulters", "2021-03-01", "2023-03-01", [1],
                                        "2021-06-01")
    assert [(m["id"], m["agency"], m["until"]) for m in listing["measures"]] == [
        ("no-air-travel", "civil-aviation", "2022-03-01"),
        ("no-rail-travel", "railways", "2021-08-28")]
    assert "a repair may be granted from 2021-06-01" in listing["reason"]
    table = scs("explain", ledger, "r1", "--as-of", "2021-05-10")
    assert "court-defaulters (black)" in table.stdout and "No air tickets" in table.stdout
    assert json.loads(scs("explain", ledger, "r2", "--as-of", "2021-02-01", "--format",
                          "json").stdout)["lists"] == []


def test_the_report_counts_residents_per_list_and_pending_repairs(scs, ledger: Path,  # type: ignore[no-untyped-def]
                                                                 tmp_path: Path) -> None:
    scs("repair", "file", ledger, "r1", "--list", "court-defaulters", "--on", "2021-03-01",
        "--grounds", "paid")
    for public in (False, True):
        folder = tmp_path / f"report-{public}"
        args = ["report", ledger, "--as-of", "2021-05-10", "--output", folder]
        assert scs(*args, *(["--public"] if public else [])).exit_code == 0
        doc = json.loads((folder / "listville" / "report.json").read_text())["lists"]
        counts = {x["id"]: x["residents"] for x in doc["lists"]}
        if public:  # published lists only, and counts below 5 hidden
            assert counts == {"court-defaulters": None, "model-residents": None}
            assert doc["repairs"]["pending_list"] is None
        else:
            assert counts == {"court-defaulters": 1, "traffic-offenders": 1,
                              "model-residents": 1}
            # filed 2021-03-01, due in the 15d objection deadline: overdue on 2021-05-10
            assert (doc["repairs"]["pending"], doc["repairs"]["overdue"]) == (1, 1)


def test_explain_shows_a_black_listing_of_a_resident_who_is_not_scored(scs, tmp_path: Path  # type: ignore[no-untyped-def]
                                                                       ) -> None:
    consent = tmp_path / "consent.toml"
    consent.write_text(LISTS.read_text(encoding="utf-8").replace(
        'objection_deadline = "15d"', 'objection_deadline = "15d"\nparticipation = "consent"'),
        encoding="utf-8")
    path, events = tmp_path / "c.db", tmp_path / "e.csv"
    events.write_text(EVENTS, encoding="utf-8")
    scs("ledger", "init", path, "--catalogue", consent)
    scs("ledger", "import", path, events)
    doc = json.loads(scs("explain", path, "r1", "--as-of", "2021-05-10", "--format",
                         "json").stdout)
    assert doc["scored"] is False
    assert [x["list"] for x in doc["lists"]] == ["court-defaulters"]
