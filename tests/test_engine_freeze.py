"""`engine.freeze`: the data as it stood on a day, which explain's projection scores forward.

The expectations are written out by hand (which rows stay, which decisions are not yet made),
and the frozen data is then scored against a ledger built by hand with only those facts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from scs_cli.core.frames import LedgerData
from scs_cli.engine.freeze import freeze
from scs_cli.engine.kernel import score
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import load_catalogue

D = date
TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny.toml"
DAY = D(2024, 6, 30)


def event(eid: int, on: date, indicator: str = "red-light", resident: str = "r1") -> dict:
    return {"event_id": eid, "resident_id": resident, "indicator": indicator, "occurred_on": on}


def ledger() -> LedgerData:
    return LedgerData.build(
        events=[event(1, D(2024, 1, 1)), event(2, D(2024, 3, 1), "dog"),
                event(3, D(2024, 7, 15))],                       # 3: after the day
        lifts=[{"event_id": 2, "lifted_on": D(2024, 12, 1)}],    # a known plan: stays
        objections=[
            {"objection_id": 1, "event_id": 1, "filed_on": D(2024, 2, 1),
             "decided_on": D(2024, 3, 1), "outcome": "rejected"},   # decided by the day
            {"objection_id": 2, "event_id": 2, "filed_on": D(2024, 5, 1),
             "decided_on": D(2024, 8, 1), "outcome": "upheld"},     # decided after: pending
            {"objection_id": 3, "event_id": 3, "filed_on": D(2024, 7, 20),
             "decided_on": None, "outcome": None}],                 # filed after: not yet
        consents=[{"resident_id": "r1", "on": D(2024, 1, 1), "consent": True, "seq": 1},
                  {"resident_id": "r1", "on": D(2024, 9, 1), "consent": False, "seq": 2}])


def test_nothing_after_the_day_remains_and_later_decisions_are_not_yet_made():
    frozen = freeze(ledger(), DAY)
    assert frozen.events["event_id"].to_list() == [1, 2]
    assert frozen.objections.rows() == [
        (1, 1, D(2024, 2, 1), D(2024, 3, 1), "rejected"),
        (2, 2, D(2024, 5, 1), None, None)]
    assert frozen.consents.rows() == [("r1", D(2024, 1, 1), True, 1)]
    assert frozen.lifts.rows() == [(2, D(2024, 12, 1))]


def test_data_with_nothing_later_is_returned_itself():
    data = ledger()
    assert freeze(data, D(2025, 1, 1)) is data  # so its preparation can be reused


def test_scored_forward_it_is_the_ledger_of_the_days_facts_alone():
    history = CatalogueHistory([load_catalogue(TINY)])
    by_hand = LedgerData.build(
        events=[event(1, D(2024, 1, 1)), event(2, D(2024, 3, 1), "dog")],
        lifts=[{"event_id": 2, "lifted_on": D(2024, 12, 1)}],
        objections=[{"objection_id": 1, "event_id": 1, "filed_on": D(2024, 2, 1),
                     "decided_on": D(2024, 3, 1), "outcome": "rejected"},
                    {"objection_id": 2, "event_id": 2, "filed_on": D(2024, 5, 1),
                     "decided_on": None, "outcome": None}],
        consents=[{"resident_id": "r1", "on": D(2024, 1, 1), "consent": True, "seq": 1}])
    for later in (D(2024, 7, 1), D(2024, 12, 1), D(2025, 6, 1), D(2026, 1, 2)):
        ours = score(freeze(ledger(), DAY), history, later)
        theirs = score(by_hand, history, later)
        assert ours.residents.equals(theirs.residents), later
        assert ours.events.drop("resident_id").equals(theirs.events.drop("resident_id"))
