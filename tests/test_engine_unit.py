"""Unit tests of the scoring kernel, step by step, on tiny hand-built ledgers.

The data-driven cases (tests/cases) and the reference-scorer properties cover the spec
broadly; these pin the kernel's own mechanics: each step's edges, the calendar lookups,
the sort that groups residents, and the invariants the batch relies on.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import NoSchemeError, ScoreResult, score, score_series
from scs_cli.engine.rulebook import DayTable, day_number, threshold_day
from scs_cli.engine.sort import order_events
from scs_cli.rules.durations import Duration
from scs_cli.rules.model import Catalogue, CatalogueHistory, from_cents
from scs_cli.rules.schema import load_catalogue, parse_catalogue
from scs_cli.scoring.files import points_text, render

HEAD = """schema = 1
[city]
id = "testville"
name = "Testville"
[catalogue]
version = "{version}"
effective_from = {effective}
[scale]
base = 1000
{scale}
[[tiers]]
name = "A"
min = 1000
[[tiers]]
name = "B"
min = 900
[[tiers]]
name = "C"
"""


def catalogue(body: str, version: str = "1", effective: str = "2020-01-01",
              scale: str = "") -> Catalogue:
    return parse_catalogue(HEAD.format(version=version, effective=effective, scale=scale)
                           + body)


def ev(event_id: int, resident: str, indicator: str, day: str,
       points: str | None = None) -> dict[str, object]:
    return {"event_id": event_id, "resident_id": resident, "indicator": indicator,
            "occurred_on": date.fromisoformat(day),
            "points": None if points is None else int(Decimal(points) * 100)}


def run(cats: Catalogue | list[Catalogue], events: list[dict[str, object]], as_of: str,
        **frames: object) -> ScoreResult:
    history = CatalogueHistory(cats if isinstance(cats, list) else [cats])
    return score(LedgerData.build(events, **frames), history, date.fromisoformat(as_of))


def score_of(result: ScoreResult, resident: str) -> Decimal:
    row = result.residents.filter(pl.col("resident_id") == resident)
    return from_cents(row["score"].item())


def tier_of(result: ScoreResult, resident: str) -> str:
    return result.residents.filter(pl.col("resident_id") == resident)["tier"].item()


def statuses(result: ScoreResult) -> dict[int, str]:
    return dict(result.events.select("event_id", "status").iter_rows())


def points(result: ScoreResult) -> dict[int, int]:
    return dict(result.events.select("event_id", "points").iter_rows())


# --- calendar arithmetic ----------------------------------------------------------------

@pytest.mark.parametrize("text", ["1d", "15d", "1w", "2w", "1m", "2m", "3m", "6m", "12m",
                                  "13m", "1y", "2y", "3y", "4y", "5y"])
def test_day_table_ends_equal_duration_after_on_every_day(text: str) -> None:
    """Polars `dt.offset_by` (used for every window and expiry) clamps month ends and leap
    days exactly as dateutil does (2020-02-29 + 1y = 2021-02-28, 2021-01-31 + 1m = 02-28)."""
    duration = Duration.parse(text)
    first, last = date(1999, 1, 1), date(2031, 12, 31)
    table = DayTable(day_number(first), day_number(last))
    ends = table.end(duration).to_list()
    epoch = date(1970, 1, 1)
    for k, end in enumerate(ends):
        day = first + timedelta(days=k)
        assert epoch + timedelta(days=end) == duration.after(day), (day, text)


def test_leap_day_and_month_end_examples() -> None:
    table = DayTable(day_number(date(2020, 1, 1)), day_number(date(2021, 12, 31)))
    at = lambda d, t: date(1970, 1, 1) + timedelta(  # noqa: E731
        days=table.end(Duration.parse(t))[day_number(d) - table.first])
    assert at(date(2020, 2, 29), "1y") == date(2021, 2, 28)
    assert at(date(2021, 1, 31), "1m") == date(2021, 2, 28)
    assert at(date(2020, 1, 31), "1m") == date(2020, 2, 29)


@pytest.mark.parametrize("text", ["1d", "1w", "1m", "1y", "2y", "18m"])
def test_threshold_day_is_the_last_day_whose_window_has_passed(text: str) -> None:
    duration = Duration.parse(text)
    for as_of in (date(2021, 2, 28), date(2021, 3, 31), date(2024, 2, 29), date(2023, 3, 1),
                  date(2021, 3, 28)):
        t = threshold_day(duration, as_of)
        assert duration.after(t) <= as_of < duration.after(t + timedelta(days=1))


# --- step 1: the rule in force ----------------------------------------------------------

def test_rule_change_is_not_retroactive_and_scheme_comes_from_as_of_version() -> None:
    v1 = catalogue('[indicators.x]\nname = "X"\npoints = -10\n')
    v2 = parse_catalogue(HEAD.format(version="2", effective="2022-01-01", scale="")
                         .replace("min = 1000", "min = 990")
                         + '[indicators.x]\nname = "X"\npoints = -30\n')
    events = [ev(1, "r", "x", "2021-06-01"), ev(2, "r", "x", "2022-06-01")]
    result = run([v1, v2], events, "2022-12-31")
    assert points(result) == {1: -1000, 2: -3000}
    assert result.events["version"].to_list() == ["1", "2"]
    assert score_of(result, "r") == Decimal(960)
    # the tiers are those in force on the as-of date: A starts at 1000, then at 990
    early = run([v1, v2], [ev(1, "r", "x", "2021-06-01")], "2021-12-31")
    assert (score_of(early, "r"), tier_of(early, "r")) == (Decimal(990), "B")
    late = run([v1, v2], [ev(1, "r", "x", "2021-06-01")], "2022-01-01")
    assert (score_of(late, "r"), tier_of(late, "r"), late.scheme.version) == (
        Decimal(990), "A", "2")


def test_event_before_first_version_has_no_rule_and_no_version_is_an_error() -> None:
    v1 = catalogue('[indicators.x]\nname = "X"\npoints = -10\n')
    result = run(v1, [ev(1, "r", "x", "2019-12-31"), ev(2, "r", "y", "2020-05-01")],
                 "2021-01-01")
    assert statuses(result) == {1: "voided", 2: "voided"}
    assert result.events["version"].to_list() == [None, None]
    assert score_of(result, "r") == Decimal(1000)
    with pytest.raises(NoSchemeError, match="no catalogue version is in force on 2019-06-01"):
        run(v1, [], "2019-06-01")


# --- step 2: standing events ------------------------------------------------------------

def test_void_future_and_upheld_objection() -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\n')
    events = [ev(1, "r", "x", "2021-01-01"), ev(2, "r", "x", "2021-02-01"),
              ev(3, "r", "x", "2021-09-01"), ev(4, "r", "x", "2021-03-01")]
    result = run(cat, events, "2021-06-30", voids=[{"event_id": 1}], objections=[
        {"objection_id": 1, "event_id": 2, "filed_on": date(2021, 8, 1),
         "decided_on": date(2021, 8, 9), "outcome": "upheld"}])
    # an upheld objection known at known-at voids for good, even if decided after as-of
    assert statuses(result) == {1: "voided", 2: "voided", 3: "future", 4: "counted"}
    assert score_of(result, "r") == Decimal(990)


@pytest.mark.parametrize(("as_of", "status"), [
    ("2021-02-28", "counted"),     # before filing
    ("2021-03-01", "suspended"),   # filed on as-of
    ("2021-03-09", "suspended"),   # pending
    ("2021-03-10", "counted"),     # rejected on as-of: decided by as-of
])
def test_rejected_objection_suspends_only_between_filing_and_decision(as_of: str,
                                                                      status: str) -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\n')
    result = run(cat, [ev(1, "r", "x", "2021-01-01")], as_of, objections=[
        {"objection_id": 1, "event_id": 1, "filed_on": date(2021, 3, 1),
         "decided_on": date(2021, 3, 10), "outcome": "rejected"}])
    assert statuses(result) == {1: status}


def test_objection_does_not_suspend_when_policy_says_so() -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\n'
                    '[policy]\nobjection_suspends = false\n')
    result = run(cat, [ev(1, "r", "x", "2021-01-01")], "2021-06-01", objections=[
        {"objection_id": 1, "event_id": 1, "filed_on": date(2021, 3, 1)}])
    assert statuses(result) == {1: "counted"}


def test_suspended_event_is_not_an_earlier_occurrence() -> None:
    cat = catalogue('[indicators.d]\nname = "D"\nescalation = [-3, -6, -12]\n')
    events = [ev(1, "r", "d", "2021-01-01"), ev(2, "r", "d", "2021-02-01")]
    result = run(cat, events, "2021-06-01", objections=[
        {"objection_id": 1, "event_id": 1, "filed_on": date(2021, 3, 1)}])
    assert points(result) == {1: 0, 2: -300}


# --- step 3: limits ---------------------------------------------------------------------

def test_limit_per_iso_week_spans_the_year_end() -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\n'
                    'limit = { count = 1, per = "week" }\n')
    # 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53; 01-04 is W01
    events = [ev(1, "r", "x", "2020-12-31"), ev(2, "r", "x", "2021-01-03"),
              ev(3, "r", "x", "2021-01-04")]
    result = run(cat, events, "2021-06-01")
    assert statuses(result) == {1: "counted", 2: "over-limit", 3: "counted"}
    assert result.events.sort("event_id")["nominal"].to_list() == [-1000, 0, -1000]


@pytest.mark.parametrize(("per", "days", "expected"), [
    ("day", ["2021-05-01", "2021-05-01", "2021-05-02"], ["counted", "over-limit", "counted"]),
    ("month", ["2021-05-31", "2021-05-01", "2021-06-01"], ["over-limit", "counted",
                                                           "counted"]),
    ("year", ["2021-12-31", "2021-01-01", "2022-01-01"], ["over-limit", "counted",
                                                          "counted"]),
])
def test_limits_rank_by_date_then_event_id(per: str, days: list[str],
                                           expected: list[str]) -> None:
    cat = catalogue(f'[indicators.x]\nname = "X"\npoints = -10\n'
                    f'limit = {{ count = 1, per = "{per}" }}\n')
    result = run(cat, [ev(i + 1, "r", "x", d) for i, d in enumerate(days)], "2022-06-01")
    assert [statuses(result)[i + 1] for i in range(3)] == expected


def test_voided_event_does_not_use_up_the_limit_but_expired_one_does() -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\nexpires_after = "10d"\n'
                    'limit = { count = 1, per = "month" }\n')
    voided = run(cat, [ev(1, "r", "x", "2021-05-01"), ev(2, "r", "x", "2021-05-20")],
                 "2021-05-25", voids=[{"event_id": 1}])
    assert statuses(voided) == {1: "voided", 2: "counted"}
    expired = run(cat, [ev(1, "r", "x", "2021-05-01"), ev(2, "r", "x", "2021-05-20")],
                  "2021-05-25")
    assert statuses(expired) == {1: "expired", 2: "over-limit"}


# --- step 4: escalation -----------------------------------------------------------------

def test_escalation_window_edges_measured_forwards() -> None:
    cat = catalogue('[indicators.d]\nname = "D"\nescalation = [-3, -6, -12]\n'
                    'escalation_window = "1y"\n')
    events = [ev(1, "r", "d", "2020-02-29"), ev(2, "r", "d", "2021-02-27"),
              ev(3, "r", "d", "2021-02-28"), ev(4, "r", "d", "2021-03-01"),
              ev(5, "r", "d", "2021-03-01")]
    result = run(cat, events, "2021-06-01")
    # 2: event 1 inside (2020-02-29 + 1y = 2021-02-28 > 02-27) → 2nd; 3: event 1 outside
    # (02-28 is not after 02-28) → 2nd; 4: 2, 3 inside → 3rd; 5: same day, later id → 4th
    assert points(result) == {1: -300, 2: -600, 3: -600, 4: -1200, 5: -1200}


def test_escalation_without_window_counts_every_earlier_occurrence() -> None:
    cat = catalogue('[indicators.d]\nname = "D"\nescalation = [-3, -6]\nexpires_after = "1m"\n'
                    'limit = { count = 1, per = "day" }\n', effective="2018-01-01")
    events = [ev(1, "r", "d", "2019-01-01"), ev(2, "r", "d", "2021-01-01"),
              ev(3, "r", "d", "2021-01-01"), ev(4, "r", "d", "2021-05-01"),
              ev(5, "s", "d", "2021-05-01")]
    result = run(cat, events, "2021-05-10")
    # expired occurrences still count; over-limit ones do not; other residents apart
    assert statuses(result) == {1: "expired", 2: "expired", 3: "over-limit", 4: "counted",
                                5: "counted"}
    assert points(result) == {1: 0, 2: 0, 3: 0, 4: -600, 5: -300}


# --- step 5: counting -------------------------------------------------------------------

@pytest.mark.parametrize(("as_of", "status"), [("2022-12-31", "counted"),
                                               ("2023-01-01", "expired")])
def test_expiry_on_the_as_of_date(as_of: str, status: str) -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\nexpires_after = "2y"\n')
    result = run(cat, [ev(1, "r", "x", "2021-01-01")], as_of)
    assert statuses(result) == {1: status}
    assert result.events["stops_on"].item() == date(2023, 1, 1)


@pytest.mark.parametrize(("as_of", "status"), [("2021-03-09", "counted"),
                                               ("2021-03-10", "lifted")])
def test_lift_on_the_as_of_date(as_of: str, status: str) -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\nexpires_after = "2y"\n')
    result = run(cat, [ev(1, "r", "x", "2021-01-01")], as_of,
                 lifts=[{"event_id": 1, "lifted_on": date(2021, 3, 10)}])
    assert statuses(result) == {1: status}
    assert result.events["stops_on"].item() == date(2021, 3, 10)  # the earlier stop


# --- step 6: caps -----------------------------------------------------------------------

CAPS = """[categories.k]
name = "K"
max_deduction = 25
[indicators.x]
name = "X"
category = "k"
points = -10
max_deduction = 20
[indicators.y]
name = "Y"
category = "k"
points = -5
[indicators.g]
name = "G"
points = 4
max_award = 8
"""


def test_caps_hit_exactly_change_nothing() -> None:
    events = [ev(1, "r", "x", "2021-01-01"), ev(2, "r", "x", "2021-01-02"),
              ev(3, "r", "y", "2021-01-03"), ev(4, "r", "g", "2021-01-01"),
              ev(5, "r", "g", "2021-01-02")]
    result = run(catalogue(CAPS), events, "2021-06-01")
    assert set(statuses(result).values()) == {"counted"}
    assert result.adjustments.height == 0
    assert score_of(result, "r") == Decimal(1000 - 25 + 8)


def test_indicator_cap_then_category_cap_exceeded() -> None:
    events = [ev(i, "r", "x", f"2021-01-0{i}") for i in range(1, 4)] + [
        ev(4, "r", "y", "2021-01-04"), ev(5, "r", "y", "2021-01-05"),
        ev(6, "r", "g", "2021-01-01"), ev(7, "r", "g", "2021-01-02"),
        ev(8, "r", "g", "2021-01-03")]
    result = run(catalogue(CAPS), events, "2021-06-01")
    # x: -30 held at -20: 1 and 2 keep -10, 3 (the latest) is cut to 0 (+10); category k
    # holds -10, -10, 0 and y's -5 (4) and -5 (5): 25 kept, 5 cut to 0 (+5); g: 4 + 4 kept,
    # 8 cut to 0 (-4)
    adjustments = {(s, k): a for _, s, k, a in result.adjustments.iter_rows()}
    assert adjustments == {("indicator", "x"): 1000, ("category", "k"): 500,
                           ("indicator", "g"): -400}
    st = statuses(result)
    assert [st[i] for i in range(1, 9)] == ["counted", "counted", "capped", "counted",
                                            "capped", "counted", "counted", "capped"]
    assert score_of(result, "r") == Decimal(1000 - 25 + 8)
    by_event = dict(result.events.select("event_id", "capped_by").iter_rows())
    assert by_event[3] == "indicator:x" and by_event[5] == "category:k"
    assert by_event[8] == "indicator:g" and by_event[1] is None
    kept = dict(result.events.select("event_id", "kept").iter_rows())
    assert [kept[i] for i in range(1, 9)] == [-1000, -1000, 0, -500, 0, 400, 400, 0]


def test_score_is_base_plus_points_plus_adjustments() -> None:
    events = [ev(i, "r", "x", f"2021-01-0{i}") for i in range(1, 4)] + [
        ev(4, "s", "g", "2021-01-01"), ev(5, "s", "g", "2021-02-01"),
        ev(6, "s", "g", "2021-03-01")]
    result = run(catalogue(CAPS, scale="min = 0\nmax = 1005\n"), events, "2021-06-01")
    for rid, total in result.residents.select("resident_id", "score").iter_rows():
        pts = result.events.filter(pl.col("resident_id") == rid)["points"].sum()
        adj = result.adjustments.filter(pl.col("resident_id") == rid)["amount"].sum()
        assert total == 100000 + pts + adj
    assert ("s", "clamp", "max") in {r[:3] for r in result.adjustments.iter_rows()}


# --- steps 7–8: clamp, score cap, tiers -------------------------------------------------

def test_score_cap_goes_below_min_and_tier_cap_worsens_the_band() -> None:
    cat = catalogue('[indicators.bl]\nname = "Blacklist"\npoints = -1\nscore_cap = 649\n'
                    '[indicators.tc]\nname = "T"\npoints = 5\ntier_cap = "B"\n',
                    scale="min = 700\nmax = 1100\n")
    result = run(cat, [ev(1, "r", "bl", "2021-01-01"), ev(2, "s", "tc", "2021-01-01")],
                 "2021-06-01")
    assert (score_of(result, "r"), tier_of(result, "r")) == (Decimal(649), "C")
    assert (score_of(result, "s"), tier_of(result, "s")) == (Decimal(1005), "B")
    assert ("r", "score_cap", "bl", -35000) in set(result.adjustments.iter_rows())


def test_tier_band_boundaries() -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints_range = [-200, -0.01]\n')
    events = [ev(1, "a", "x", "2021-01-01", "-0.01"), ev(2, "b", "x", "2021-01-01", "-100"),
              ev(3, "c", "x", "2021-01-01", "-100.01"), ev(4, "d", "x", "2021-01-01", "-500")]
    result = run(cat, events, "2021-06-01")
    assert [tier_of(result, r) for r in "abcd"] == ["B", "B", "C", "C"]
    assert score_of(result, "a") == Decimal("999.99")
    assert score_of(result, "d") == Decimal(800)  # kept inside the rule's range


# --- step 9: rewards and sanctions ------------------------------------------------------

REWARDS = """[indicators.x]
name = "X"
points = -1
[indicators.g]
name = "G"
points = 1
[rewards.clean]
name = "Clean"
min_tier = "A"
clean_for = "1y"
[rewards.rich]
name = "Rich"
min_tier = "B"
min_score = 1001
[sanctions.review]
name = "Review"
max_tier = "B"
"""


@pytest.mark.parametrize(("day", "clean"), [("2020-03-01", True), ("2020-03-02", False)])
def test_reward_clean_for_edge(day: str, clean: bool) -> None:
    events = [ev(1, "r", "x", day), ev(2, "r", "g", "2020-01-01"),
              ev(3, "r", "g", "2020-01-02")]
    result = run(catalogue(REWARDS), events, "2021-03-01")
    rewards = result.residents["rewards"].item().to_list()
    assert ("clean" in rewards) is clean  # 2020-03-01 + 1y is not after 2021-03-01
    assert "rich" in rewards


def test_sanctions_and_rewards_lists_are_sorted() -> None:
    result = run(catalogue(REWARDS), [ev(1, "r", "x", "2021-01-01"),
                                      ev(2, "s", "g", "2021-01-01"),
                                      ev(3, "s", "g", "2021-01-02")], "2021-06-01")
    rows = {r[0]: (r[3], r[4]) for r in result.residents.iter_rows()}
    assert rows["r"] == ([], ["review"])
    assert rows["s"] == (["clean", "rich"], [])


# --- consent participation ----------------------------------------------------------------

def test_consent_decides_who_is_scored() -> None:
    cat = catalogue('[indicators.x]\nname = "X"\npoints = -10\n'
                    '[policy]\nparticipation = "consent"\n')
    events = [ev(1, "a", "x", "2021-01-01"), ev(2, "b", "x", "2021-01-01"),
              ev(3, "c", "x", "2021-01-01")]
    consents = [
        {"resident_id": "a", "on": date(2021, 1, 1), "consent": True, "seq": 1},
        {"resident_id": "b", "on": date(2021, 1, 1), "consent": True, "seq": 2},
        {"resident_id": "b", "on": date(2021, 2, 1), "consent": False, "seq": 3},
        {"resident_id": "d", "on": date(2021, 3, 1), "consent": False, "seq": 4},
        {"resident_id": "d", "on": date(2021, 3, 1), "consent": True, "seq": 5},
        {"resident_id": "e", "on": date(2021, 9, 1), "consent": True, "seq": 6},
    ]
    result = run(cat, events, "2021-06-01", consents=consents)
    assert result.residents["resident_id"].to_list() == ["a", "d"]
    assert score_of(result, "d") == Decimal(1000)  # consented, no events: the base
    assert result.events["resident_id"].to_list() == ["a"]


# --- invariants the batch relies on -------------------------------------------------------

def _random_ledger(seed: int, n: int = 400) -> tuple[CatalogueHistory, LedgerData]:
    rng = random.Random(seed)
    v1 = catalogue(CAPS + '[indicators.d]\nname = "D"\nescalation = [-1, -2, -4]\n'
                   'escalation_window = "6m"\nexpires_after = "2y"\n'
                   'limit = { count = 2, per = "month" }\n')
    events = [ev(i + 1, f"r{rng.randrange(40):02d}", rng.choice("xygd"),
                 str(date(2020, 1, 1) + timedelta(days=rng.randrange(900))))
              for i in range(n)]
    voids = [{"event_id": rng.randrange(1, n + 1)} for _ in range(10)]
    return CatalogueHistory([v1]), LedgerData.build(events, voids=voids)


def test_any_partition_of_residents_gives_the_same_rows() -> None:
    history, data = _random_ledger(1)
    whole = score(data, history, date(2022, 6, 1))
    ids = whole.residents["resident_id"].to_list()
    parts = [score(data.for_residents(ids[k::3]), history, date(2022, 6, 1))
             for k in range(3)]
    merged = pl.concat([p.residents for p in parts]).sort("resident_id")
    assert merged.equals(whole.residents)
    events = pl.concat([p.events for p in parts]).sort("event_id")
    assert events.equals(whole.events)


def test_row_order_of_the_ledger_does_not_matter() -> None:
    history, data = _random_ledger(2)
    shuffled = LedgerData.build(data.events.sample(fraction=1.0, shuffle=True, seed=5),
                                voids=data.voids)
    a, b = (score(d, history, date(2022, 6, 1)) for d in (data, shuffled))
    assert a.residents.equals(b.residents) and a.events.equals(b.events)


def test_score_series_equals_score_at_each_date() -> None:
    history, data = _random_ledger(3)
    dates = [date(2021, 1, 31), date(2021, 12, 31), date(2022, 6, 30)]
    series = score_series(data, history, dates)
    for day in dates:
        assert series[day].equals(score(data, history, day).residents.select(
            "resident_id", "score", "tier"))


def test_events_are_reported_by_event_id_with_the_contract_columns() -> None:
    history, data = _random_ledger(4, n=50)
    result = score(data, history, date(2022, 6, 1))
    assert result.events["event_id"].to_list() == sorted(data.events["event_id"].to_list())
    assert result.events.columns == ["event_id", "resident_id", "indicator", "occurred_on",
                                     "version", "nominal", "points", "status", "stops_on",
                                     "capped_by", "kept", "occurrence", "limit_rank",
                                     "category", "score_cap", "tier_cap", "suspended_by",
                                     "period", "step", "in_force"]
    assert set(result.events["status"]) <= {"voided", "future", "suspended", "over-limit",
                                            "lifted", "expired", "capped", "counted"}


@pytest.mark.parametrize("spread", [1, 1 << 22])
def test_events_are_ordered_by_resident_indicator_day_and_row(spread: int) -> None:
    """Sparse resident keys are renumbered 0…n-1; keys too wide to pack take the slow path."""
    rng = random.Random(9)
    keys = pl.Series([rng.randrange(30) * 7 * spread for _ in range(300)], dtype=pl.Int32)
    codes = pl.Series([rng.randrange(-1, 3) for _ in range(300)], dtype=pl.Int32)
    days = pl.Series([rng.randrange(100) * spread for _ in range(300)], dtype=pl.Int32)
    order = order_events(keys, codes, days, 0, 3)
    got = pl.DataFrame({"key": keys.gather(order.row), "ic": codes.gather(order.row),
                        "day": days.gather(order.row), "row": order.row, "rix": order.rix})
    assert (got["ic"] == order.ic).all() and (got["day"] == order.day).all()
    assert got.sort("key", "ic", "day", "row").equals(got)
    assert order.rix.to_list() == (got["key"].rank("dense").cast(pl.Int32) - 1).to_list()
    assert order.keys.to_list() == sorted(set(keys.to_list()))


def test_residents_come_out_in_resident_id_order_whatever_order_they_were_recorded() -> None:
    history, _ = _random_ledger(5, n=1)
    ids = ["r10", "b", "r2", "R3", "r1", "x.y:z-1"]
    events = [{"event_id": n + 1, "resident_id": r, "indicator": "x",
               "occurred_on": date(2022, 1, 1)} for n, r in enumerate(ids)]
    result = score(LedgerData.build(events), history, date(2022, 6, 1))
    assert result.residents["resident_id"].to_list() == sorted(ids)
    mine = score(LedgerData.build(events).for_residents(["x.y:z-1", "b"]), history,
                 date(2022, 6, 1))
    assert mine.residents["resident_id"].to_list() == ["b", "x.y:z-1"]


# --- output forms -----------------------------------------------------------------------

def test_points_are_written_in_shortest_exact_form() -> None:
    values = [100000, 98750, 98755, -50, -5, 0, 7, -123456]
    texts = pl.select(points_text(pl.lit(pl.Series(values)))).to_series().to_list()
    assert texts == ["1000", "987.5", "987.55", "-0.5", "-0.05", "0", "0.07", "-1234.56"]


@given(st.lists(st.integers(-10**15, 10**15), min_size=1, max_size=50))
def test_points_text_is_the_exact_decimal_for_any_hundredths(values: list[int]) -> None:
    texts = pl.select(points_text(pl.lit(pl.Series(values, dtype=pl.Int64)))).to_series()
    assert texts.to_list() == [format((Decimal(v) / 100).normalize(), "f") for v in values]


def test_render_forms() -> None:
    frame = pl.DataFrame({"resident_id": ["a", 'q"t'], "score": [98750, 100000],
                          "tier": ["B", "A"], "rewards": [[], ["x", "y"]]})
    assert render(frame, "csv") == 'resident_id,score,tier,rewards\na,987.5,B,\n"q""t",1000,A,x;y\n'
    assert render(frame, "jsonl").splitlines()[1] == \
        '{"resident_id":"q\\"t","score":1000,"tier":"A","rewards":["x","y"]}'
    assert render(frame.head(0), "json") == "[]\n"


# --- the bundled catalogues the nested caps and reward bands were made for ------------------

def test_suining_traffic_item_holds_fifty_across_its_indicators() -> None:
    # Creemers 2018, table 3: "Traffic violations (50)" inside the 530 social-management
    # budget. Red light (-50) and drunk driving (-50) together lose 50, not 100.
    suining = load_catalogue(bundled("suining-2010"))
    result = run(suining, [ev(1, "r", "red-light", "2010-03-01"),
                           ev(2, "r", "drunk-driving", "2010-04-01"),
                           ev(3, "s", "red-light", "2010-03-01")], "2010-06-01")
    assert score_of(result, "r") == Decimal(950) and score_of(result, "s") == Decimal(950)
    by_event = dict(result.events.select("event_id", "capped_by").iter_rows())
    assert by_event == {1: None, 2: "category:traffic-violations", 3: None}


@pytest.mark.parametrize(("records", "rewards"), [
    (["100", "97"], ["transit-discount-20"]),          # 697: the 20% band, never both
    (["100", "96.99"], ["transit-discount-10"]),       # 696.99: below 697
    (["100", "100", "100"], ["transit-discount-20"]),
])
def test_fuzhou_gives_one_transit_discount_at_every_score(records: list[str],
                                                         rewards: list[str]) -> None:
    # positive records of at most 100 each (the catalogue's assumed range)
    fuzhou = load_catalogue(bundled("fuzhou-2018"))
    events = [ev(i + 1, "r", "positive-record", f"2019-01-0{i + 1}", p)
              for i, p in enumerate(records)]
    result = run(fuzhou, events, "2019-06-01")
    assert score_of(result, "r") == 500 + sum(Decimal(p) for p in records)
    assert result.residents["rewards"].to_list() == [rewards]


def bundled(name: str) -> Path:
    return Path(__file__).resolve().parent.parent / "catalogues" / f"{name}.toml"
