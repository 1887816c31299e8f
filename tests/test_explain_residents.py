"""`explain_residents`: several residents explained from one evaluation of their data
together say, for each, exactly what `explain` says of that resident alone (issue 23's
letters run a bundle of residents through the kernel at once)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine_properties import (
    INVARIANT_EXAMPLES,
    PROFILE,
    Scenario,
    days,
    listed_scenarios,
    scenarios,
)
from test_explain import AS_OF, CATALOGUE, ev

from scs_cli.core.errors import ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.explain.explain import each_resident, explain, explain_residents
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import parse_catalogue


def _alone_and_together(data: LedgerData, history: CatalogueHistory, bundle: list[str],
                        as_of: date) -> None:
    try:
        alone = [explain(data, history, rid, as_of).to_record() for rid in bundle]
    except ScsError as refused:  # a date no version covers: the bundle is refused alike
        with pytest.raises(ScsError) as also:
            explain_residents(data, history, bundle, as_of)
        assert str(also.value) == str(refused)
        return
    together = explain_residents(data, history, bundle, as_of)
    assert [x.resident_id for x in together] == bundle
    for rid, want, got in zip(bundle, alone, (x.to_record() for x in together), strict=True):
        assert got == want, f"resident {rid} explained in a bundle differs from alone"


@settings(PROFILE, max_examples=INVARIANT_EXAMPLES)
@given(scn=st.one_of(scenarios(), listed_scenarios()), data=st.data())
def test_residents_explained_together_are_each_explained_as_alone(scn: Scenario,
                                                                  data: st.DataObject) -> None:
    # Random ledgers and catalogue histories of the engine's property tests: consent
    # participation (residents with events and no consent in force are not scored, and
    # residents with consent rows only), caps, lists with repairs, objections, lifts.
    ledger = scn.data()
    everyone = sorted({e["resident_id"] for e in scn.events}
                      | {c["resident_id"] for c in scn.consents})
    if not everyone:
        return
    bundle = data.draw(st.lists(st.sampled_from(everyone), min_size=1, unique=True))
    as_of = data.draw(st.one_of(st.just(scn.as_of), days(late=True)))
    _alone_and_together(ledger, scn.history(), bundle, as_of)


CONSENT = CatalogueHistory([parse_catalogue(
    CATALOGUE.replace('[sanctions.review]', '[policy]\nparticipation = "consent"\n'
                      '[sanctions.review]'), "consent.toml")])


def test_a_bundle_mixing_scored_unscored_and_consent_only_residents() -> None:
    # r1 consents (scored), r2 refused (explained, not scored), r3 has a consent row only
    # and no event (scored without events), r4 never consented (not scored)
    data = LedgerData.build(
        events=[ev(1, "2024-01-05", "red-light", "r1"), ev(2, "2024-01-06", "dog", "r2"),
                ev(3, "2024-02-01", "speeding", "r1"), ev(4, "2024-02-03", "dog", "r4")],
        consents=[{"resident_id": "r1", "on": date(2024, 1, 1), "consent": True, "seq": 1},
                  {"resident_id": "r2", "on": date(2024, 1, 1), "consent": False, "seq": 2},
                  {"resident_id": "r3", "on": date(2024, 1, 1), "consent": True, "seq": 3}])
    together = {x.resident_id: x for x in explain_residents(data, CONSENT,
                                                            ["r4", "r2", "r3", "r1"], AS_OF)}
    assert {rid: x.scored for rid, x in together.items()} == {
        "r1": True, "r2": False, "r3": True, "r4": False}
    # the unscored are judged by the rules all the same: their events are worded
    assert [e.event_id for e in together["r2"].events] == [2]
    assert together["r2"].events[0].points < 0
    _alone_and_together(data, CONSENT, ["r4", "r2", "r3", "r1"], AS_OF)


def test_an_unknown_resident_in_a_bundle_is_refused_by_name() -> None:
    data = LedgerData.build(events=[ev(1, "2024-01-05", "red-light", "r1")])
    with pytest.raises(ScsError, match="resident 'nobody' has no events"):
        explain_residents(data, CONSENT, ["r1", "nobody"], AS_OF)


def test_each_resident_is_for_residents_of_one() -> None:
    data = LedgerData.build(
        events=[ev(1, "2024-01-05", "red-light", "r1"), ev(2, "2024-01-06", "dog", "r2"),
                ev(3, "2024-02-01", "speeding", "r1")],
        voids=[{"event_id": 3}], lifts=[{"event_id": 2, "lifted_on": date(2024, 3, 1)}],
        objections=[{"objection_id": 1, "event_id": 1, "filed_on": date(2024, 1, 9),
                     "decided_on": None, "outcome": None}],
        consents=[{"resident_id": "r3", "on": date(2024, 1, 1), "consent": True, "seq": 1}])
    split = each_resident(data, ["r1", "r2", "r3"])
    for rid in ("r1", "r2", "r3"):
        want, got = data.for_residents([rid]), split[rid]
        for name in ("events", "voids", "lifts", "objections", "consents", "residents",
                     "repairs"):
            assert getattr(got, name).equals(getattr(want, name)), (rid, name)
        assert got.indicators == want.indicators
