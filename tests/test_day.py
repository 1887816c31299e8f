"""The facts of a day (`rules.day`): objections on a date, their due dates, consent in force.

Expected values are written out by hand from SPEC's wording; then the ledger's own SQL reading
(`Ledger.objections`) and the report and statement are checked against the same facts.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import feature_ledger  # noqa: E402

from scs_cli.core.frames import CONSENTS_SCHEMA, OBJECTIONS_SCHEMA  # noqa: E402
from scs_cli.ledger.store import Ledger  # noqa: E402
from scs_cli.rules.day import consenting, is_overdue, objection_due, objections_on  # noqa: E402
from scs_cli.rules.durations import Duration  # noqa: E402
from scs_cli.rules.model import Policy  # noqa: E402

D = date
FIFTEEN_DAYS = Policy(objection_deadline=Duration.parse("15d"))
OBJECTIONS = pl.DataFrame([
    # id, event, filed, decided, outcome
    (1, 10, D(2024, 1, 1), None, None),                       # never decided
    (2, 11, D(2024, 1, 10), D(2024, 1, 20), "upheld"),       # decided before the day
    (3, 12, D(2024, 1, 10), D(2024, 2, 1), "rejected"),      # decided after the day
    (4, 13, D(2024, 1, 16), None, None),                      # due on the day itself
    (5, 14, D(2024, 2, 5), None, None),                       # filed after the day
], schema=OBJECTIONS_SCHEMA, orient="row")
DAY = D(2024, 1, 31)


def test_an_objection_is_due_its_deadline_after_filing_and_overdue_the_day_after():
    assert objection_due(D(2024, 1, 16), FIFTEEN_DAYS) == D(2024, 1, 31)
    assert objection_due(D(2024, 1, 16), Policy()) is None  # no deadline: never due
    assert objection_due(D(2024, 1, 16), None) is None
    assert not is_overdue(D(2024, 1, 31), D(2024, 1, 31))
    assert is_overdue(D(2024, 1, 31), D(2024, 2, 1))
    assert not is_overdue(D(2024, 1, 31), D(2024, 2, 1), pending=False)
    assert not is_overdue(None, D(2100, 1, 1))


def test_objections_on_a_day_as_things_stood_then():
    frame = objections_on(OBJECTIONS, DAY, FIFTEEN_DAYS)
    rows = {r["objection_id"]: r for r in frame.iter_rows(named=True)}
    assert list(rows) == [1, 2, 3, 4]  # filed by the day, oldest filing first; 5 not yet
    assert [rows[i]["state"] for i in rows] == ["pending", "upheld", "pending", "pending"]
    assert rows[3]["decided_on"] is None and rows[3]["outcome"] is None  # decided later
    assert rows[2]["decided_on"] == D(2024, 1, 20) and rows[2]["outcome"] == "upheld"
    assert [rows[i]["due_on"] for i in rows] == [D(2024, 1, 16), D(2024, 1, 25),
                                                  D(2024, 1, 25), D(2024, 1, 31)]
    assert [rows[i]["overdue"] for i in rows] == [True, False, True, False]
    assert [rows[i]["age_days"] for i in rows] == [30, 21, 21, 15]
    no_deadline = objections_on(OBJECTIONS, DAY, Policy())
    assert no_deadline["due_on"].null_count() == 4 and not no_deadline["overdue"].any()


def test_consent_in_force_is_the_latest_row_on_or_before_the_day():
    consents = pl.DataFrame([
        ("a", D(2024, 1, 1), True, 1),
        ("a", D(2024, 1, 20), False, 2),   # withdrawn before the day
        ("b", D(2024, 1, 5), False, 3),
        ("b", D(2024, 1, 5), True, 4),     # same day, recorded last: consents
        ("c", D(2024, 1, 5), True, 5),
        ("c", D(2024, 2, 1), False, 6),    # withdrawal dated after the day: not yet
        ("d", D(2024, 2, 1), True, 7),     # consent dated after the day: not yet
    ], schema=CONSENTS_SCHEMA, orient="row")
    assert sorted(consenting(consents, DAY)["resident_id"]) == ["b", "c"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> feature_ledger.FeatureLedger:
    return feature_ledger.build(tmp_path_factory.mktemp("city"), residents=60, events=600)


def test_the_ledgers_sql_reading_agrees_with_the_days_facts(city) -> None:  # type: ignore[no-untyped-def]
    """`Ledger.objections(day)` (SQL) and `objections_on` (Polars) on the same rows."""
    with Ledger.open(city.path) as ledger:
        data = ledger.scoring_data()
        history = ledger.history()
        checked = 0
        for day in (D(2023, 3, 1), D(2024, 6, 30), D(2024, 11, 10), D(2024, 12, 31)):
            scheme = history.in_force(day)
            frame = objections_on(data.objections, day, scheme.policy if scheme else None)
            pending = frame.filter(pl.col("state") == "pending")
            sql = ledger.objections(day)
            assert [o.objection_id for o in sql] == pending["objection_id"].to_list(), day
            assert [(o.due_on, o.overdue, o.age_days) for o in sql] == list(zip(
                pending["due_on"].to_list(), pending["overdue"].to_list(),
                pending["age_days"].to_list(), strict=True)), day
            checked += len(sql)
        assert checked > 0  # the ledger has objections pending on some of these days
