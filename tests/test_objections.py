"""`scs objection file|decide|list`: ids on stdout, refusals, pending and overdue."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

EVENTS = """resident_id,indicator,occurred_on,agency,reference
R1,red-light,2023-01-05,police,p-1
R2,dog,2023-04-01,police,p-2
"""
TODAY = datetime.now(UTC).date()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()


@pytest.fixture
def ledger(tiny_ledger) -> Path:  # type: ignore[no-untyped-def]
    return tiny_ledger(EVENTS)


def refused(result, line: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.stderr
    assert result.stderr == f"error: {line}\n"


def test_file_prints_the_new_id_alone_on_stdout(ledger: Path, scs) -> None:
    result = scs("objection", "file", ledger, "1", "--on", "2024-01-01", "--grounds",
                 "it was my brother's car")
    assert result.exit_code == 0
    assert result.stdout == "1\n"
    assert result.stderr == f"{ledger}: objection 1 to event 1 filed on 2024-01-01\n"
    second = scs("objection", "file", ledger, "2", "--on", "2024-01-02", "--grounds", "no dog")
    assert second.stdout == "2\n"
    conn = sqlite3.connect(ledger)
    assert conn.execute("SELECT objection_id, event_id, filed_on, grounds FROM objections"
                        ).fetchall() == [(1, 1, "2024-01-01", "it was my brother's car"),
                                         (2, 2, "2024-01-02", "no dog")]


def test_filing_refusals(ledger: Path, scs) -> None:
    refused(scs("objection", "file", ledger, "9", "--on", "2024-01-01", "--grounds", "x"),
            f"{ledger}: no event 9 (`scs ledger history LEDGER RESIDENT` lists a resident's "
            "event ids)")
    refused(scs("objection", "file", ledger, "1", "--on", "2023-01-04", "--grounds", "x"),
            f"{ledger}: the filing date 2023-01-04 is before event 1 occurred (2023-01-05) "
            "(give a date on or after it)")
    refused(scs("objection", "file", ledger, "1", "--on", TOMORROW, "--grounds", "x"),
            f"{ledger}: the filing date {TOMORROW} is in the future (today is {TODAY} UTC) "
            "(record what has happened, dated on or before today)")
    refused(scs("objection", "file", ledger, "1", "--on", "2024-01-01", "--grounds", ""),
            f"{ledger}: an objection needs its grounds (say what the resident contests "
            "with --grounds)")
    assert scs("objection", "file", ledger, "1", "--on", "2024-01-01", "--grounds",
               "x").exit_code == 0
    refused(scs("objection", "file", ledger, "1", "--on", "2024-01-02", "--grounds", "y"),
            f"{ledger}: objection 1 to event 1 is still pending (decide it first with "
            "`scs objection decide LEDGER 1`)")
    assert scs("ledger", "void", ledger, "2", "--reason", "typo").exit_code == 0
    result = scs("objection", "file", ledger, "2", "--on", "2024-01-02", "--grounds", "y")
    assert result.exit_code == 1
    assert "event 2 is void (voided at " in result.stderr


def test_decide_and_its_refusals(ledger: Path, scs) -> None:
    assert scs("objection", "file", ledger, "1", "--on", "2024-01-10", "--grounds",
               "x").exit_code == 0
    refused(scs("objection", "decide", ledger, "7", "--upheld", "--on", "2024-01-11"),
            f"{ledger}: no objection 7 (`scs objection list LEDGER` shows the pending ones)")
    refused(scs("objection", "decide", ledger, "1", "--upheld", "--on", "2024-01-09"),
            f"{ledger}: the decision date 2024-01-09 is before objection 1 was filed "
            "(2024-01-10) (give a date on or after the filing)")
    refused(scs("objection", "decide", ledger, "1", "--rejected", "--on", TOMORROW),
            f"{ledger}: the decision date {TOMORROW} is in the future (today is {TODAY} UTC) "
            "(record what has happened, dated on or before today)")
    for flags in ((), ("--upheld", "--rejected")):
        result = scs("objection", "decide", ledger, "1", *flags, "--on", "2024-01-11")
        assert result.exit_code == 2
        assert "give exactly one of --upheld and --rejected" in result.stderr
    result = scs("objection", "decide", ledger, "1", "--rejected", "--on", "2024-01-11")
    assert result.exit_code == 0
    assert result.stderr == f"{ledger}: objection 1 rejected on 2024-01-11\n"
    refused(scs("objection", "decide", ledger, "1", "--upheld", "--on", "2024-01-12"),
            f"{ledger}: objection 1 is already decided (rejected on 2024-01-11)")
    # Rejected: the event counts again and may be contested anew.
    assert scs("objection", "file", ledger, "1", "--on", "2024-02-01", "--grounds",
               "new evidence").stdout == "2\n"
    assert scs("objection", "decide", ledger, "2", "--upheld", "--on",
               "2024-02-02").exit_code == 0
    conn = sqlite3.connect(ledger)
    assert conn.execute("SELECT objection_id, outcome, decided_on FROM objection_decisions"
                        ).fetchall() == [(1, "rejected", "2024-01-11"),
                                         (2, "upheld", "2024-02-02")]


def test_list_shows_pending_with_age_and_overdue(ledger: Path, scs) -> None:
    scs("objection", "file", ledger, "1", "--on", "2024-01-01", "--grounds", "first")
    scs("objection", "file", ledger, "2", "--on", "2024-01-20", "--grounds", "second")
    scs("objection", "decide", ledger, "2", "--rejected", "--on", "2024-01-25")
    result = scs("objection", "list", ledger, "--as-of", "2024-01-21", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["objection_id"], r["age_days"], r["due_on"], r["overdue"]) for r in rows] == [
        (1, 20, "2024-01-16", True), (2, 1, "2024-02-04", False)]
    assert rows[0]["resident_id"] == "R1" and rows[0]["indicator"] == "red-light"
    # On 2024-01-25 objection 2 is decided: only objection 1 is still pending.
    later = json.loads(scs("objection", "list", ledger, "--as-of", "2024-01-25",
                           "--format", "json").stdout)
    assert [r["objection_id"] for r in later] == [1]
    before = scs("objection", "list", ledger, "--as-of", "2023-12-31")
    assert before.exit_code == 0 and before.stdout == ""
    assert before.stderr == f"{ledger}: no objection pending on 2023-12-31\n"
    table = scs("objection", "list", ledger, "--as-of", "2024-01-21")
    assert table.stdout.startswith("Objections pending on 2024-01-21: 2, 1 overdue\n")
