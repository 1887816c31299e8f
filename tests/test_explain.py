"""`scs explain`: every point of one resident's score, with its rule and reason."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scs_cli.core.frames import LedgerData
from scs_cli.explain.explain import explain
from scs_cli.ledger.reads import LedgerNotes
from scs_cli.rules.model import CatalogueHistory, cents
from scs_cli.rules.schema import parse_catalogue

CATALOGUE = """
schema = 1
[city]
id = "testville"
name = "Testville"
[catalogue]
version = "1"
effective_from = 2020-01-01
[scale]
base = 1000
min = 0
max = 1100
[[tiers]]
name = "A"
min = 1000
[[tiers]]
name = "B"
min = 950
[[tiers]]
name = "C"
min = 900
[[tiers]]
name = "D"
[categories.traffic]
name = "Traffic"
max_deduction = 60
[indicators.red-light]
name = "Running a red light"
category = "traffic"
points = -20
basis = "Road Traffic Safety Law, art. 90"
source = "Invented 2024, p. 1"
expires_after = "2y"
limit = { count = 1, per = "month" }
[indicators.speeding]
name = "Speeding"
category = "traffic"
points = -30
basis = "Road Traffic Safety Law, art. 99"
expires_after = "1y"
[indicators.dog]
name = "Dog off leash"
escalation = [-3, -6, -12]
escalation_window = "2y"
basis = "Dog rules"
expires_after = "3y"
[indicators.litter]
name = "Littering"
points = -5
max_deduction = 8
basis = "City cleanliness rules"
expires_after = "1y"
[indicators.donation]
name = "Donating blood"
points = 10.5
max_award = 21
basis = "Blood Donation Law"
[indicators.other]
name = "Other misconduct"
points_range = [-50, -5]
basis = "Local rule"
[indicators.petition]
name = "Petitioning"
points = -10
tier_cap = "C"
basis = "Letters and Visits Regulation"
expires_after = "2y"
[indicators.defaulter]
name = "Judgment defaulter"
points = -100
score_cap = 649
basis = "Supreme People's Court"
[rewards.discount]
name = "Transit discount"
min_tier = "A"
clean_for = "1y"
[rewards.loan]
name = "Easier loans"
min_tier = "B"
min_score = 990
[sanctions.review]
name = "Enhanced review"
max_tier = "C"
[sanctions.ban]
name = "Ban"
max_tier = "D"
"""

AS_OF = date(2024, 3, 31)


@pytest.fixture(scope="module")
def history() -> CatalogueHistory:
    return CatalogueHistory([parse_catalogue(CATALOGUE, "testville.toml")])


@pytest.fixture
def kernel() -> Any:
    from scs_cli.engine.kernel import score

    return score


def ev(event_id: int, day: str, indicator: str, resident: str = "r1",
       points: str | None = None) -> dict[str, Any]:
    return {"event_id": event_id, "resident_id": resident, "indicator": indicator,
            "occurred_on": date.fromisoformat(day),
            "points": None if points is None else cents(Decimal(points))}


def by_id(x: Any) -> dict[int, Any]:
    return {e.event_id: e for e in x.events}


# --- statuses and their reasons ------------------------------------------------------------

def test_every_status_has_its_reason(history: CatalogueHistory) -> None:
    data = LedgerData.build(
        events=[
            ev(1, "2024-01-05", "red-light"),
            ev(2, "2024-01-20", "red-light"),             # 2nd in January: over the limit
            ev(3, "2021-06-01", "red-light"),             # expired 2023-06-01
            ev(4, "2023-09-01", "litter"),                # lifted
            ev(5, "2024-02-01", "other", points="-12.5"),  # voided
            ev(6, "2024-02-10", "dog"),                   # suspended by objection 7
            ev(7, "2024-05-01", "donation"),              # after the as-of date
            ev(8, "2023-07-01", "dog"),
            ev(9, "2024-03-01", "dog"),                   # 2nd occurrence within 2y
        ],
        voids=[{"event_id": 5}],
        lifts=[{"event_id": 4, "lifted_on": date(2024, 1, 15)}],
        objections=[{"objection_id": 7, "event_id": 6, "filed_on": date(2024, 3, 1),
                     "decided_on": None, "outcome": None}],
    )
    notes = LedgerNotes({5: "wrong resident"}, {7: "it was my neighbour's dog"})
    x = explain(data, history, "r1", AS_OF, notes)
    e = by_id(x)
    assert [line.event_id for line in x.events] == [3, 8, 4, 1, 2, 5, 6, 9, 7]
    assert e[1].status == "counted" and e[1].points == Decimal(-20)
    assert e[1].reason == "counts until 2026-01-05 (expires_after 2y)"
    assert e[1].basis == "Road Traffic Safety Law, art. 90"
    assert e[1].source == "Invented 2024, p. 1" and e[1].version == "1"
    assert e[2].status == "over-limit" and e[2].points == 0
    assert e[2].reason == "2nd in month 2024-01: over the limit of 1 per month"
    assert e[3].status == "expired"
    assert e[3].reason == "expired on 2023-06-01 (expires_after 2y)"
    assert e[4].status == "lifted" and e[4].reason == "lifted on 2024-01-15"
    assert e[5].status == "voided"
    assert e[5].reason == "voided: recorded in error (wrong resident)"
    assert e[5].nominal_points == Decimal("-12.5")  # the agency's own points
    assert e[6].status == "suspended"
    assert e[6].reason == "objection 7 pending since 2024-03-01 (it was my neighbour's dog)"
    assert e[7].status == "future"
    assert e[7].reason == "occurs on 2024-05-01, after the as-of date 2024-03-31"
    assert e[8].reason == ("1st occurrence within 2y: escalation step 1; "
                           "counts until 2026-07-01 (expires_after 3y)")
    # the suspended event 6 is not an earlier occurrence: event 9 is the 2nd, not the 3rd
    assert e[9].nominal_points == Decimal(-6)
    assert e[9].reason.startswith("2nd occurrence within 2y: escalation step 2; counts")


def test_more_reasons_upheld_objection_no_rule_range_and_weeks() -> None:
    text = CATALOGUE.replace('limit = { count = 1, per = "month" }',
                             'limit = { count = 1, per = "week" }')
    hist = CatalogueHistory([parse_catalogue(text, "weeks.toml")])
    data = LedgerData.build(
        events=[ev(1, "2020-12-31", "red-light"), ev(2, "2021-01-01", "red-light"),
                ev(3, "2024-01-01", "other", points="-7.5"),
                ev(4, "2024-01-02", "speeding"), ev(5, "2024-01-03", "no-such-rule")],
        objections=[{"objection_id": 3, "event_id": 4, "filed_on": date(2024, 1, 10),
                     "decided_on": date(2024, 2, 1), "outcome": "upheld"}])
    e = by_id(explain(data, hist, "r1", AS_OF))
    # 2020-12-31 and 2021-01-01 are in the same ISO week 2020-W53
    assert e[2].reason == "2nd in week 2020-W53: over the limit of 1 per week"
    assert e[3].reason == ("points set by the reporting agency within -50 to -5; counts: "
                           "the catalogue sets no expiry")
    assert e[3].points == Decimal("-7.5")
    assert e[4].reason == "voided: objection 3 upheld on 2024-02-01"
    assert e[5].status == "voided"
    assert e[5].reason == ("voided: no rule in force (version 1, in force on 2024-01-03, has "
                           "no indicator 'no-such-rule')")
    assert e[5].basis is None and e[5].points == 0


def test_capped_events_and_caps_as_adjustments(history: CatalogueHistory) -> None:
    data = LedgerData.build(events=[
        ev(1, "2024-01-05", "red-light"), ev(2, "2024-02-05", "red-light"),
        ev(3, "2024-03-05", "red-light"), ev(4, "2024-03-06", "speeding"),  # traffic: -90
        ev(5, "2024-03-01", "litter"), ev(6, "2024-03-02", "litter"),     # -10 → -8
        ev(7, "2024-01-01", "donation"), ev(8, "2024-02-01", "donation"),
        ev(9, "2024-03-01", "donation"),                                  # 31.5 → 21
    ])
    x = explain(data, history, "r1", AS_OF)
    e = by_id(x)
    assert e[4].status == "capped" and e[4].capped_by == "category:traffic"
    assert e[4].points == Decimal(-30)  # what it adds before caps
    assert "capped by the category cap on traffic (max_deduction 60)" in e[4].reason
    # traffic keeps the earliest 60 (red lights 1-3): speeding (4) is cut whole
    assert e[4].kept_points == 0
    assert e[4].reason.endswith("capped by the category cap on traffic (max_deduction 60): "
                                "earlier events reached the cap, so its -30 does not count")
    # litter keeps 5 (-5) whole and 6 (the later) keeps -3 of its -5
    assert e[5].status == "counted" and e[5].capped_by is None and e[5].kept_points == -5
    assert e[6].status == "capped" and e[6].capped_by == "indicator:litter"
    assert e[6].reason.endswith("capped by the indicator cap on litter (max_deduction 8): "
                                "keeps -3 of -5")
    assert "(max_award 21)" in e[9].reason
    assert [e[i].status for i in (7, 8, 9)] == ["counted", "counted", "capped"]
    adj = {(a.scope, a.key): a for a in x.adjustments}
    assert adj["category", "traffic"].amount == Decimal(30)
    assert adj["indicator", "litter"].amount == Decimal(2)
    assert adj["indicator", "donation"].amount == Decimal("-10.5")
    assert adj["category", "traffic"].reason == (
        "Traffic (category traffic): negative points take off at most 60 in all "
        "(max_deduction)")
    assert adj["indicator", "donation"].reason == (
        "Donating blood (indicator donation): positive points add at most 21 in all "
        "(max_award)")
    # score = base + Σ points + Σ adjustments, every point accounted for
    assert x.score == 1000 + sum(ev.points for ev in x.events) + sum(
        a.amount for a in x.adjustments)
    assert x.score == Decimal("953")
    assert x.score_reason == "base 1000 - 68.5 from events + 21.5 from caps = 953"


# --- the main reasons the score is not higher ------------------------------------------------

def test_reasons_ranked_by_what_they_actually_cost_at_most_four(
        history: CatalogueHistory) -> None:
    data = LedgerData.build(events=[
        ev(1, "2024-01-05", "red-light"), ev(2, "2024-02-05", "red-light"),
        ev(3, "2024-03-05", "red-light"), ev(4, "2024-03-06", "speeding"),  # traffic → 60
        ev(5, "2024-03-01", "litter"), ev(6, "2024-03-02", "litter"),     # → 8
        ev(7, "2024-03-03", "other", points="-45"),                       # 45
        ev(8, "2023-01-01", "petition"),                                  # 10
        ev(9, "2024-01-01", "dog"),                                       # 3
        ev(10, "2024-01-01", "donation"),                                 # positive
        ev(11, "2020-01-01", "speeding"),                                 # expired: not scored
    ])
    x = explain(data, history, "r1", AS_OF)
    assert [(f.factor, f.cost) for f in x.reasons] == [
        ("category:traffic", Decimal(60)), ("other", Decimal(45)),
        ("petition", Decimal(10)), ("litter", Decimal(8))]
    assert x.reasons[0].events == (1, 2, 3, 4)
    assert "held to 60 by the category cap" in x.reasons[0].text
    assert x.reasons[3].text.startswith("Littering: 2 counting events cost 8 (after the "
                                        "indicator cap)")
    assert all(11 not in f.events for f in x.reasons)


def test_no_reasons_when_nothing_costs_points(history: CatalogueHistory) -> None:
    data = LedgerData.build(events=[ev(1, "2024-01-01", "donation"),
                                    ev(2, "2020-01-01", "speeding")])
    x = explain(data, history, "r1", AS_OF)
    assert x.reasons == ()
    assert x.score == Decimal("1010.5")


def test_score_cap_is_a_reason_and_named_in_the_score(history: CatalogueHistory) -> None:
    data = LedgerData.build(events=[ev(1, "2024-01-01", "defaulter"),
                                    ev(2, "2024-01-02", "litter")])
    x = explain(data, history, "r1", AS_OF)
    assert x.score == Decimal(649) and x.tier == "D"
    assert x.reasons[0].factor == "score-cap" and x.reasons[0].cost == Decimal(246)
    assert x.reasons[0].text == "score capped at 649 by event 1 (Judgment defaulter)"
    assert x.reasons[1].factor == "defaulter" and x.reasons[1].cost == 100
    assert x.score_reason == ("base 1000 - 105 from events = 895; score capped at 649 by "
                              "event 1 (Judgment defaulter) → 649")
    assert x.tier_reason == "649 < 900 → D"


# --- tier and why ---------------------------------------------------------------------

def test_tier_reason_by_score_band(history: CatalogueHistory) -> None:
    data = LedgerData.build(events=[ev(1, "2024-01-05", "red-light"),
                                    ev(2, "2024-01-06", "donation")])
    x = explain(data, history, "r1", AS_OF)
    assert (x.score, x.tier) == (Decimal("990.5"), "B")
    assert x.tier_reason == "950 ≤ 990.5 < 1000 → B"
    top = explain(LedgerData.build(events=[ev(1, "2024-01-06", "donation")]), history,
                  "r1", AS_OF)
    assert top.tier_reason == "1010.5 ≥ 1000 → A"


def test_tier_reason_names_the_capping_event(history: CatalogueHistory) -> None:
    data = LedgerData.build(events=[ev(17, "2023-06-01", "petition"),
                                    ev(18, "2024-01-06", "donation")])
    x = explain(data, history, "r1", AS_OF)
    assert (x.score, x.tier) == (Decimal("1000.5"), "C")
    assert x.tier_reason == ("tier capped at C by event 17 (Petitioning); the score band "
                             "alone gives A (1000.5 ≥ 1000 → A)")
    same = explain(LedgerData.build(events=[ev(17, "2023-06-01", "petition"),
                                            ev(18, "2024-01-06", "speeding"),
                                            ev(19, "2024-02-06", "speeding")]),
                   history, "r1", AS_OF)
    assert same.tier_reason == ("900 ≤ 930 < 950 → C; event 17 (Petitioning) also caps the "
                                "tier at C")


# --- rewards and sanctions --------------------------------------------------------------

def test_reward_and_sanction_reasons(history: CatalogueHistory) -> None:
    clean = explain(LedgerData.build(events=[ev(1, "2023-01-01", "donation"),
                                             ev(2, "2023-01-01", "red-light")]),
                    history, "r1", AS_OF)
    rewards = {r.id: r for r in clean.rewards}
    assert (clean.score, clean.tier) == (Decimal("990.5"), "B")
    assert not rewards["discount"].applies
    assert rewards["discount"].reason == "tier B is below A"
    assert rewards["loan"].applies
    assert rewards["loan"].reason == "tier B is B or better; score 990.5 ≥ 990"
    sanctions = {s.id: s for s in clean.sanctions}
    assert not sanctions["review"].applies
    assert sanctions["review"].reason == "tier B is better than C"

    dirty = explain(LedgerData.build(events=[ev(1, "2024-03-01", "red-light")] + [
        ev(i, f"2023-0{i}-01", "donation") for i in range(2, 5)]), history, "r1", AS_OF)
    rewards = {r.id: r for r in dirty.rewards}
    assert dirty.tier == "A"
    assert not rewards["discount"].applies
    assert rewards["discount"].reason == ("a negative event on 2024-03-01 is inside "
                                          "clean_for 1y (event 1, Running a red light)")

    low = explain(LedgerData.build(events=[ev(1, "2024-01-01", "defaulter")]), history,
                  "r1", AS_OF)
    sanctions = {s.id: s for s in low.sanctions}
    assert sanctions["ban"].applies and sanctions["ban"].reason == "tier D is D or worse"
    assert {r.id: r.reason for r in low.rewards}["loan"] == (
        "tier D is below B; score 649 is below 990")


def test_reasons_agree_with_the_kernel_on_who_gets_what(history: CatalogueHistory,
                                                         kernel: Any) -> None:
    events = [ev(1, "2024-03-01", "red-light", "a"), ev(2, "2023-01-01", "donation", "a"),
              ev(3, "2023-01-01", "donation", "b"), ev(4, "2023-02-01", "petition", "c"),
              ev(5, "2024-01-01", "defaulter", "d"), ev(6, "2022-01-01", "litter", "e")]
    data = LedgerData.build(events=events)
    batch = kernel(data, history, AS_OF).residents
    for row in batch.to_dicts():
        x = explain(data, history, row["resident_id"], AS_OF)
        assert cents(x.score) == row["score"] and x.tier == row["tier"]
        assert sorted(r.id for r in x.rewards if r.applies) == row["rewards"]
        assert sorted(s.id for s in x.sanctions if s.applies) == row["sanctions"]
        # the words never contradict the verdict: a refusal names a failing condition
        for r in x.rewards:
            assert ("below" in r.reason or "is inside" in r.reason) == (not r.applies)


# --- projection ----------------------------------------------------------------------------

def test_projection_dates_and_scores_match_the_kernel(history: CatalogueHistory,
                                                      kernel: Any) -> None:
    data = LedgerData.build(
        events=[ev(1, "2023-06-01", "speeding"),     # expires 2024-06-01
                ev(2, "2023-02-01", "red-light"),    # expires 2025-02-01
                ev(3, "2023-05-01", "litter"),       # lifted 2024-04-15 (already dated)
                ev(4, "2023-06-01", "petition"),     # tier cap C until 2025-06-01
                ev(5, "2024-01-01", "donation"),     # positive: no projection date
                ev(6, "2024-06-01", "dog")],         # after the as-of: ignored
        lifts=[{"event_id": 3, "lifted_on": date(2024, 4, 15)}])
    x = explain(data, history, "r1", AS_OF)
    assert [(p.date, p.events) for p in x.projection] == [
        (date(2024, 4, 15), (3,)), (date(2024, 6, 1), (1,)), (date(2025, 2, 1), (2,)),
        (date(2025, 6, 1), (4,))]
    frozen = data.for_residents(["r1"])
    frozen = LedgerData(frozen.events.filter(pl.col("event_id") != 6), frozen.voids,
                        frozen.lifts, frozen.objections, frozen.consents)
    for p in x.projection:
        row = kernel(frozen, history, p.date).residents.to_dicts()[0]
        assert cents(p.score) == row["score"] and p.tier == row["tier"]
    assert [(p.score, p.tier) for p in x.projection] == [
        (Decimal("950.5"), "C"), (Decimal("980.5"), "C"), (Decimal("1000.5"), "C"),
        (Decimal("1010.5"), "A")]
    assert x.projection[0].reason == "event 3 (Littering, -5) is lifted"
    assert x.projection[1].reason == "event 1 (Speeding, -30) expires"


def test_events_that_never_stop_have_no_projection(history: CatalogueHistory) -> None:
    x = explain(LedgerData.build(events=[ev(1, "2024-01-01", "defaulter")]), history, "r1",
                AS_OF)
    assert x.projection == ()


def test_a_cap_that_costs_no_points_is_projected_when_it_ends() -> None:
    """A court's listing that caps the score but costs no points: its end is a date on
    which the score may rise, or may not (another cap holds it), and the projection says
    which rather than that nothing is due to stop counting."""
    text = CATALOGUE.replace("[rewards.discount]", """[indicators.listed]
name = "Listed by a court"
points = 0
score_cap = 949
expires_after = "2y"
basis = "Supreme People's Court"
[rewards.discount]""")
    hist = CatalogueHistory([parse_catalogue(text, "listed.toml")])
    alone = explain(LedgerData.build(events=[ev(1, "2023-03-01", "listed")]), hist, "r1",
                    AS_OF)
    assert (alone.score, alone.tier) == (Decimal(949), "C")
    assert [(p.date, p.events, p.score, p.tier) for p in alone.projection] == [
        (date(2025, 3, 1), (1,), Decimal(1000), "A")]
    assert alone.projection[0].reason == ("event 1 (Listed by a court, score at most 949) "
                                          "expires")
    held = explain(LedgerData.build(events=[ev(1, "2023-03-01", "listed"),
                                            ev(2, "2023-04-01", "defaulter")]),
                   hist, "r1", AS_OF)
    # the listing ends, and the defaulter's cap (no expiry) still holds the score at 649
    assert [(p.date, p.score) for p in held.projection] == [(date(2025, 3, 1), Decimal(649))]


# --- consent and unknown residents ------------------------------------------------------

def test_resident_without_consent_is_explained_but_not_scored() -> None:
    text = CATALOGUE.replace('[sanctions.review]', '[policy]\nparticipation = "consent"\n'
                             '[sanctions.review]')
    hist = CatalogueHistory([parse_catalogue(text, "consent.toml")])
    data = LedgerData.build(events=[ev(1, "2024-01-05", "red-light")],
                            consents=[{"resident_id": "r1", "on": date(2024, 1, 1),
                                       "consent": False, "seq": 1}])
    x = explain(data, hist, "r1", AS_OF)
    assert not x.scored and x.score is None and x.tier is None
    assert x.tier_reason.startswith("not scored: participation in testville 1 is by consent")
    assert by_id(x)[1].status == "counted"  # the records are kept and judged
    assert not any(r.applies for r in x.rewards) and x.projection == ()


def test_unknown_resident_is_an_error(history: CatalogueHistory) -> None:
    from scs_cli.core.errors import ScsError

    data = LedgerData.build(events=[ev(1, "2024-01-05", "red-light")])
    with pytest.raises(ScsError, match="resident 'nobody' has no events"):
        explain(data, history, "nobody", AS_OF)


# --- JSON -----------------------------------------------------------------------------------

def test_json_record_has_the_spec_keys(history: CatalogueHistory) -> None:
    import json

    from scs_cli.core.output import to_json

    data = LedgerData.build(events=[ev(1, "2024-01-05", "red-light"),
                                    ev(2, "2024-01-06", "donation")])
    record = json.loads(to_json(explain(data, history, "r1", AS_OF).to_record()))
    assert {"resident_id", "as_of", "score", "tier", "tier_reason", "reasons", "events",
            "rewards", "sanctions", "projection"} <= set(record)
    assert record["score"] == 990.5 and record["as_of"] == "2024-03-31"
    assert {"event_id", "indicator", "occurred_on", "nominal_points", "points", "status",
            "reason"} <= set(record["events"][0])
    assert record["events"][0]["points"] == -20
    # what the kernel found, as data too: red light is the traffic category's, kept whole
    first = record["events"][0]
    assert (first["kept_points"], first["category"], first["limit_rank"],
            first["occurrence"]) == (-20, "traffic", 1, None)
    assert {"id", "applies", "reason"} <= set(record["rewards"][0])
    assert {"id", "applies", "reason"} <= set(record["sanctions"][0])
    assert {"date", "score", "tier"} <= set(record["projection"][0])
    assert isinstance(record["projection"][0]["score"], (int, float))


# --- explain and the batch can never disagree ---------------------------------------------

INDICATORS = ("red-light", "speeding", "dog", "litter", "donation", "other", "petition",
              "defaulter")


@st.composite
def ledgers(draw: Any) -> LedgerData:
    n = draw(st.integers(1, 14))
    events = []
    for i in range(1, n + 1):
        indicator = draw(st.sampled_from(INDICATORS))
        day = draw(st.dates(date(2021, 1, 1), date(2024, 6, 30)))
        points = str(draw(st.integers(-50, -5))) if indicator == "other" else None
        events.append(ev(i, day.isoformat(), indicator, draw(st.sampled_from("abc")),
                         points))
    ids = st.integers(1, n)
    voids = [{"event_id": i} for i in draw(st.sets(ids, max_size=2))]
    lifts = [{"event_id": i, "lifted_on": draw(st.dates(date(2022, 1, 1), date(2024, 12, 31)))}
             for i in draw(st.sets(ids, max_size=2))]
    objections = []
    for k, i in enumerate(draw(st.sets(ids, max_size=2)), 1):
        filed = draw(st.dates(date(2023, 1, 1), date(2024, 6, 30)))
        decided = draw(st.one_of(st.none(), st.dates(filed, date(2024, 12, 31))))
        objections.append({"objection_id": k, "event_id": i, "filed_on": filed,
                           "decided_on": decided,
                           "outcome": None if decided is None else draw(
                               st.sampled_from(["upheld", "rejected"]))})
    return LedgerData.build(events, voids, lifts, objections)


def test_explain_words_the_kernels_step_breaker_and_subtotals(
        history: CatalogueHistory) -> None:
    # a fourth dog occurrence takes the last step again; two negative events sit inside
    # clean_for, and the later one (by date) is the one named; 11 judgment defaulters take
    # the score below the scale's minimum, so it is clamped before the score cap
    data = LedgerData.build(events=[
        ev(1, "2023-01-01", "dog"), ev(2, "2023-06-01", "dog"), ev(3, "2024-01-01", "dog"),
        ev(4, "2024-02-01", "dog"), ev(5, "2024-03-02", "speeding"),
        ev(6, "2024-01-05", "red-light")])
    x = explain(data, history, "r1", AS_OF)
    assert by_id(x)[4].reason.startswith(
        "4th occurrence within 2y: escalation step 3 (the last step repeats); ")
    rewards = {r.id: r for r in x.rewards}
    # the latest by date (event 5), not the highest id (event 6)
    assert rewards["discount"].reason == ("tier C is below A; a negative event on 2024-03-02 "
                                          "is inside clean_for 1y (event 5, Speeding)")
    kernel_checks = score_result(data, history).checks
    assert kernel_checks is not None
    assert kernel_checks.filter(pl.col("id") == "discount")["breaker"].to_list() == [5]

    low = LedgerData.build(events=[ev(i, f"2024-01-{i:02d}", "defaulter") for i in range(1, 12)])
    x = explain(low, history, "r1", AS_OF)
    sub = score_result(low, history).subtotals
    assert sub is not None
    row = sub.to_dicts()[0]
    assert (row["with_points"], row["after_clamp"], row["score"]) == (-10000, 0, 0)
    assert x.score_reason == ("base 1000 - 1100 from events = -100; "
                              "score clamped to the scale's minimum 0 → 0")
    assert x.tier_reason == "0 < 900 → D"


def score_result(data: LedgerData, history: CatalogueHistory) -> Any:
    from scs_cli.engine.kernel import score

    return score(data, history, AS_OF)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=ledgers())
def test_explain_agrees_with_the_reference_scorer(history: CatalogueHistory,
                                                  data: LedgerData) -> None:
    # The expectation is independent of the engine: tests/reference_scorer.py, written from
    # the spec, judges each event; explain must print its numbers and name its facts.
    from reference_scorer import reference_score

    ref = reference_score(data, history, AS_OF)
    for rid, want in ref.residents.items():
        x = explain(data, history, rid, AS_OF)
        assert (x.score, x.tier) == (want.score, want.tier)
        assert tuple(sorted(r.id for r in x.rewards if r.applies)) == want.rewards
        assert tuple(sorted(s.id for s in x.sanctions if s.applies)) == want.sanctions
        assert sorted((a.scope, a.key, a.amount) for a in x.adjustments) == sorted(
            (a.scope, a.key, a.amount) for a in ref.adjustments if a.resident_id == rid)
        for e in x.events:
            r = ref.events[e.event_id]
            assert (e.status, e.points, e.capped_by) == (r.status, r.points, r.capped_by)
            if r.status == "over-limit":  # the period the reference names, its own way
                assert e.reason.startswith(f"{_ordinal(r.limit_rank)} in ")
                assert f" {r.period}: over the limit" in e.reason
            if r.occurrence is not None and r.status in ("counted", "capped"):
                assert f"{_ordinal(r.occurrence)} occurrence" in e.reason
                assert f"escalation step {r.step}" in e.reason
            if r.capped_by is not None:
                assert f"capped by the {r.capped_by.replace(':', ' cap on ')}" in e.reason
        # every point accounted for: base + Σ points + Σ adjustments
        assert x.score == 1000 + sum(e.points for e in x.events) + sum(
            a.amount for a in x.adjustments)
        costs = [f.cost for f in x.reasons]
        assert len(costs) <= 4 and costs == sorted(costs, reverse=True)
        assert all(c > 0 for c in costs)
        days = [p.date for p in x.projection]
        assert days == sorted(set(days)) and all(d > AS_OF for d in days)


def _ordinal(n: int | None) -> str:
    assert n is not None
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# --- through the real CLI, on a ledger made by the real CLI --------------------------------

EVENTS_CSV = """resident_id,indicator,occurred_on,agency,reference,points
r1,red-light,2024-01-05,police,A1,
r1,red-light,2024-01-20,police,A2,
r1,speeding,2023-06-01,police,A3,
r1,litter,2023-05-01,city,A4,
r1,other,2024-02-01,court,A5,-12.5
r1,dog,2024-02-10,police,A6,
r1,petition,2023-06-01,petitions,A7,
r1,donation,2024-01-06,hospital,A8,
r2,donation,2023-01-01,hospital,B1,
r2,red-light,2021-01-01,police,B2,
r3,defaulter,2022-05-05,court,C1,
r3,dog,2022-05-06,police,C2,
r3,dog,2023-05-06,police,C3,
"""


@pytest.fixture
def ledger(scs: Any, tmp_path: Any) -> Any:
    catalogue = tmp_path / "testville.toml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text(EVENTS_CSV, encoding="utf-8")
    path = tmp_path / "testville.db"
    for args in (("ledger", "init", path, "--catalogue", catalogue),
                 ("ledger", "import", path, events),
                 ("ledger", "void", path, "5", "--reason", "wrong resident"),
                 ("ledger", "lift", path, "4", "--on", "2024-01-15"),
                 ("ledger", "consent", path, "r1", "--on", "2024-01-01"),
                 ("objection", "file", path, "6", "--on", "2024-03-01", "--grounds",
                  "not my dog")):
        result = scs(*args)
        assert result.exit_code == 0, result.stderr
    return path


def test_cli_json_from_a_real_ledger(scs: Any, ledger: Any) -> None:
    import json

    result = scs("explain", ledger, "r1", "--as-of", "2024-03-31", "--format", "json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert list(record)[:4] == ["resident_id", "as_of", "known_at", "city"]
    assert {"resident_id", "as_of", "score", "tier", "tier_reason", "reasons", "events",
            "rewards", "sanctions", "projection"} <= set(record)
    events = {e["event_id"]: e for e in record["events"]}
    assert events[5]["status"] == "voided"
    assert events[5]["reason"] == "voided: recorded in error (wrong resident)"
    assert events[5]["nominal_points"] == -12.5 and events[5]["points"] == 0
    assert events[4]["reason"] == "lifted on 2024-01-15"
    assert events[6]["reason"] == "objection 1 pending since 2024-03-01 (not my dog)"
    assert events[7]["status"] == "counted" and events[7]["basis"] == (
        "Letters and Visits Regulation")
    # 1000 - 20 (red-light) - 30 (speeding) - 10 (petition) + 10.5 (donation) = 950.5,
    # the petition caps the tier at C
    assert record["score"] == 950.5 and record["tier"] == "C"
    assert record["tier_reason"].startswith("tier capped at C by event 7 (Petitioning)")
    assert [p["date"] for p in record["projection"]] == ["2024-06-01", "2025-06-01",
                                                          "2026-01-05"]


def test_cli_known_at_hides_later_rows(scs: Any, ledger: Any) -> None:
    import json
    import sqlite3

    with sqlite3.connect(ledger) as conn:
        (void_at,) = conn.execute("SELECT recorded_at FROM voids").fetchone()
        (import_at,) = conn.execute("SELECT max(recorded_at) FROM events").fetchone()
    assert import_at < void_at
    result = scs("explain", ledger, "r1", "--as-of", "2024-03-31", "--known-at", import_at,
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    events = {e["event_id"]: e for e in json.loads(result.stdout)["events"]}
    assert events[5]["status"] == "counted"  # the void was not yet recorded
    assert events[6]["status"] == "counted"  # nor the objection


def test_cli_table_is_for_people(scs: Any, ledger: Any, monkeypatch: pytest.MonkeyPatch
                                 ) -> None:
    from scs_cli.cli.common import out

    # a 100-column terminal (`out` makes its rich Console on first use)
    monkeypatch.setattr(getattr(out, "console", out), "_width", 100)
    result = scs("explain", ledger, "r1", "--as-of", "2024-03-31")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert max(len(line) for line in text.splitlines()) <= 100
    for needle in ("Score 950.5, tier C", "Main reasons the score is not higher",
                   "voided: recorded in error", "Letters and Visits Regulation",
                   "If nothing else happens", "tier C is below A"):
        assert needle in text


def test_cli_unknown_resident_is_one_line(scs: Any, ledger: Any) -> None:
    result = scs("explain", ledger, "nobody", "--as-of", "2024-03-31")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {ledger}: no resident 'nobody' in this ledger (check the id: `scs ledger "
        "history LEDGER RESIDENT` lists a resident's rows)\n")


def test_cli_bad_date_is_one_line(scs: Any, ledger: Any) -> None:
    result = scs("explain", ledger, "r1", "--as-of", "2024-13-01")
    assert result.exit_code == 1
    assert result.stderr == "error: --as-of '2024-13-01' is not a date (write YYYY-MM-DD)\n"


def test_explain_agrees_with_scoring_the_whole_ledger(ledger: Any) -> None:
    from scs_cli.engine.kernel import score
    from scs_cli.explain.explain import explain_ledger
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as book:
        batch = score(book.scoring_data(), book.history(), AS_OF).residents.to_dicts()
    assert [r["resident_id"] for r in batch] == ["r1", "r2", "r3"]
    for row in batch:
        x = explain_ledger(ledger, row["resident_id"], AS_OF)
        assert (cents(x.score), x.tier) == (row["score"], row["tier"])
        assert sorted(r.id for r in x.rewards if r.applies) == row["rewards"]


def test_one_resident_is_read_by_index_as_the_ledger_would_give_it(ledger: Any) -> None:
    import sqlite3

    from scs_cli.ledger.reads import resident_data
    from scs_cli.ledger.store import Ledger

    with sqlite3.connect(ledger) as conn:
        stamps = [r[0] for r in conn.execute(
            "SELECT recorded_at FROM events UNION SELECT recorded_at FROM voids "
            "UNION SELECT recorded_at FROM objections ORDER BY 1")]
    with Ledger.open(ledger) as book:
        for known_at in (None, *(datetime.fromisoformat(s) for s in stamps)):
            whole = book.scoring_data(known_at).for_residents(["r1"])
            mine = resident_data(book, "r1", known_at)
            for name in ("events", "voids", "lifts", "objections", "consents"):
                a, b = getattr(whole, name), getattr(mine, name)
                if name == "events":  # as text: the two number residents differently
                    a, b = (d.events.select("event_id", "occurred_on", "points",
                                            resident_id=d.resident_ids(),
                                            indicator=d.indicator_ids())
                            for d in (whole, mine))
                assert a.sort(a.columns).equals(b.sort(b.columns)), (name, known_at)


def test_explain_gives_the_score_that_scs_score_gives(scs: Any, ledger: Any) -> None:
    import csv
    import io
    import json

    result = scs("score", ledger, "--as-of", "2024-03-31", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["resident_id"] for r in rows] == ["r1", "r2", "r3"]
    for row in rows:
        shown = scs("explain", ledger, row["resident_id"], "--as-of", "2024-03-31",
                    "--format", "json")
        record = json.loads(shown.stdout)
        assert Decimal(str(record["score"])) == Decimal(row["score"])
        assert record["tier"] == row["tier"]
        granted = sorted(r["id"] for r in record["rewards"] if r["applies"])
        assert ";".join(granted) == row["rewards"]


@pytest.mark.parametrize("as_of", [date(2023, 12, 31), AS_OF])
def test_projection_is_the_engine_score_of_the_data_as_it_stood(ledger: Any,
                                                               as_of: date) -> None:
    """The projection reuses the engine's preparation of the resident's data when nothing
    in it happens after as-of (2024-03-31); with later events or objections (2023-12-31)
    it prepares the data frozen at as-of. Either way each point is `engine.score`."""
    from scs_cli.engine.kernel import score
    from scs_cli.explain.explain import explain_ledger
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as book:
        data, history = book.scoring_data().for_residents(["r1"]), book.history()
    on = pl.lit(as_of)
    later = pl.col("decided_on") > on
    frozen = LedgerData(
        data.events.filter(pl.col("occurred_on") <= on), data.voids, data.lifts,
        data.objections.filter(pl.col("filed_on") <= on).with_columns(
            pl.when(later).then(None).otherwise(pl.col("decided_on")).alias("decided_on"),
            pl.when(later).then(None).otherwise(pl.col("outcome")).alias("outcome")),
        data.consents.filter(pl.col("on") <= on), data.residents, data.indicators)
    projection = explain_ledger(ledger, "r1", as_of).projection
    assert projection
    for point in projection:
        row = score(frozen, history, point.date).residents.row(0, named=True)
        assert (cents(point.score), point.tier) == (row["score"], row["tier"])


def test_cli_explain_does_not_load_pydantic(ledger: Any) -> None:
    """typer coerces arguments through pydantic (~0.15 s to load); `scs explain` is given
    plain coercion instead (scs_cli.cli.common), and a bad choice still gets typer's own
    message."""
    import subprocess
    import sys

    code = ("import sys\nfrom typer.testing import CliRunner\nfrom scs_cli.cli.app import app\n"
            f"r = CliRunner().invoke(app, ['explain', {str(ledger)!r}, 'r1', '--as-of', "
            "'2024-03-31', '--format', 'json'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print('pydantic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_cli_bad_format_is_typers_usage_error(scs: Any, ledger: Any) -> None:
    result = scs("explain", ledger, "r1", "--format", "xml")
    assert result.exit_code == 2
    assert "'xml' is not one of 'table', 'json'" in result.stderr
