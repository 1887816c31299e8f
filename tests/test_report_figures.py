"""The report's figures and rendering, on hand-made frames (no ledger, no engine)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from scs_cli.core.frames import LedgerData
from scs_cli.report.charts import city_charts
from scs_cli.report.figures import (
    AdoptedVersion,
    CityInput,
    SavedRun,
    bin_edges,
    city_figures,
    month_ends,
    protect,
)
from scs_cli.report.render import city_html, city_json, city_markdown
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import load_catalogue

TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny.toml"
AS_OF = date(2024, 3, 31)
RESIDENTS_SCHEMA = {"resident_id": pl.String, "score": pl.Int64, "tier": pl.String,
                    "rewards": pl.List(pl.String), "sanctions": pl.List(pl.String)}


@pytest.fixture(scope="module")
def tiny():
    return load_catalogue(TINY)


def residents(rows):  # (id, score in points, tier, rewards, sanctions)
    return pl.DataFrame([{"resident_id": r, "score": s * 100, "tier": t, "rewards": rw,
                          "sanctions": sn} for r, s, t, rw, sn in rows],
                        schema=RESIDENTS_SCHEMA, orient="row")


def make_input(cat, res, *, events=None, engine_events=None, objections=None, voids=None,
               lifts=None, recorded=None, last_run=None, monthly=None):
    data = LedgerData.build(events or [], voids=voids, lifts=lifts, objections=objections)
    ev = engine_events if engine_events is not None else pl.DataFrame(
        schema={"event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
                "version": pl.String, "points": pl.Int64, "status": pl.String})
    return CityInput(scheme=cat, history=CatalogueHistory([cat]),
                     adopted=(AdoptedVersion("1", cat.effective_from, "0" * 64),),
                     as_of=AS_OF, known_at=datetime(2024, 4, 1, tzinfo=UTC), data=data,
                     residents=res, events=ev, monthly=monthly or {AS_OF: res},
                     last_run=last_run, recorded=recorded)


# --- suppression -------------------------------------------------------------------------

def test_protect_hides_small_counts_and_one_more_so_none_can_be_subtracted_out():
    assert protect([10, 20, 30]) == [False, False, False]
    # one small cell alone could be worked out from the total: the smallest other goes too
    assert protect([3, 20, 30]) == ["<5", "complement", False]
    assert protect([3, 0, 30]) == ["<5", "<5", False]  # zero is below 5 as well


def test_protect_in_two_dimensions_keeps_every_row_and_column_safe():
    # 2×2 table, rows and columns both have published totals
    counts = [2, 50, 40, 60]
    groups = [[0, 1], [2, 3], [0, 2], [1, 3]]
    marks = protect(counts, groups)
    for g in groups:
        assert sum(1 for i in g if marks[i]) != 1, (g, marks)
    assert marks[0] == "<5"


# --- dates and bins ----------------------------------------------------------------------

def test_month_ends_are_the_twelve_before_or_on_as_of():
    assert month_ends(date(2024, 3, 31))[-1] == date(2024, 3, 31)
    ends = month_ends(date(2024, 3, 15))
    assert len(ends) == 12
    assert ends[0] == date(2023, 3, 31) and ends[-1] == date(2024, 2, 29)


def test_bins_are_fixed_by_the_catalogue_not_by_the_data(tiny):
    lo, width, bins = bin_edges(tiny)
    assert lo <= 90_000 and lo + width * bins >= 100_000  # covers every tier boundary
    assert bins <= 30


# --- sections ----------------------------------------------------------------------------

def test_tiers_distribution_and_rewards_add_up(tiny):
    rows = [(f"r{i:03d}", 1000, "A", ["discount"], []) for i in range(7)]
    rows += [(f"s{i:03d}", 950, "B", [], []) for i in range(3)]
    rows += [(f"t{i:03d}", 100, "C", [], ["review"]) for i in range(12)]
    doc = city_figures(make_input(tiny, residents(rows)), public=False, generated_by="t")
    assert [(t["tier"], t["residents"]) for t in doc["tiers"]] == [("A", 7), ("B", 3),
                                                                   ("C", 12)]
    assert sum(b["residents"] for b in doc["score_distribution"]["bins"]) == 22
    assert doc["score_distribution"]["bins"][0]["residents"] == 12  # 100 is below the range
    assert doc["rewards"][0]["residents"] == 7
    assert doc["sanctions"][0]["by_tier"] == [{"tier": "C", "residents": 12,
                                               "suppressed": False}]
    assert doc["headline"]["residents_scored"] == 22
    # exact: (11050 / 22 − 1000) = −497.727… → −497.73, never through a float
    assert doc["headline"]["mean_relative_to_base"] == Decimal("-497.73")
    assert "-497.73" in json.dumps(json.loads(city_json(doc), parse_float=str))


def test_a_reward_band_lists_only_its_tiers_and_says_its_whole_condition(tiny):
    """A reward with max_tier/max_score (SPEC §2, a band) is counted over its band only."""
    band = replace(tiny.rewards["discount"], min_tier="C", max_tier="B",
                   max_score=Decimal("999.5"))
    cat = replace(tiny, rewards={"discount": band})
    rows = [(f"s{i:03d}", 950, "B", ["discount"], []) for i in range(3)]
    rows += [(f"t{i:03d}", 100, "C", ["discount"], []) for i in range(2)]
    doc = city_figures(make_input(cat, residents(rows)), public=False, generated_by="t")
    reward = doc["rewards"][0]
    assert [t["tier"] for t in reward["by_tier"]] == ["B", "C"]  # not A, above the band
    assert reward["residents"] == 5
    assert reward["condition"].startswith("tier C or better and B or worse")
    assert "score ≤ 999.5" in reward["condition"]


def test_public_hides_small_tiers_their_shares_and_a_complement(tiny):
    rows = [(f"r{i:03d}", 1000, "A", [], []) for i in range(40)]
    rows += [(f"s{i:03d}", 950, "B", [], []) for i in range(30)]
    rows += [("t000", 100, "C", [], [])]
    doc = city_figures(make_input(tiny, residents(rows)), public=True, generated_by="t")
    by = {t["tier"]: t for t in doc["tiers"]}
    assert by["C"]["residents"] is None and by["C"]["share"] is None
    assert by["C"]["suppressed"] == "<5"
    assert by["B"]["residents"] is None and by["B"]["suppressed"] == "complement"
    assert by["A"]["residents"] == 40
    assert doc["headline"]["residents_scored"] == 71
    # no count below 5 survives anywhere in the document
    assert not [n for n in _counts(doc) if n < 5]


def _counts(doc):
    """Every published count of a document (fields named like counts)."""
    keys = {"residents", "events", "voids", "lifts", "objections", "upheld", "pending",
            "overdue", "residents_scored", "events_recorded", "events_counted"}

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in keys and isinstance(v, int) and not isinstance(v, bool):
                    yield v
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)
    return list(walk(doc))


def test_indicators_count_only_counting_events_by_category(tiny):
    ev = pl.DataFrame({
        "event_id": [1, 2, 3, 4], "resident_id": ["a", "a", "b", "b"],
        "indicator": ["red-light", "red-light", "red-light", "dog"],
        "version": ["1"] * 4, "points": [-5000, 0, -5000, -300],
        "status": ["counted", "expired", "capped", "counted"]})
    res = residents([("a", 950, "B", [], []), ("b", 897, "C", [], [])])
    doc = city_figures(make_input(tiny, res, engine_events=ev), public=False,
                       generated_by="t")
    red = next(i for i in doc["indicators"] if i["indicator"] == "red-light")
    assert (red["events"], red["residents"], red["points"]) == (2, 2, -100)
    assert doc["indicators"][0]["indicator"] == "red-light"  # most applied first
    cats = {c["category"]: c for c in doc["categories"]}
    assert cats["traffic"]["events"] == 2 and cats[None]["events"] == 1
    assert doc["headline"]["events_counted"] == 3


def test_transitions_against_the_saved_run(tiny):
    res = residents([("a", 1000, "A", [], []), ("b", 950, "B", [], []),
                     ("c", 950, "B", [], [])])
    then = pl.DataFrame({"resident_id": ["a", "b", "z"], "tier": ["B", "B", "C"]})
    run = SavedRun(as_of=date(2024, 2, 29), tiers=then, run_id=3)
    doc = city_figures(make_input(tiny, res, last_run=run), public=False, generated_by="t")
    cells = {(c["from"], c["to"]): c["residents"] for c in doc["transitions"]["cells"]}
    assert cells[("B", "A")] == 1 and cells[("B", "B")] == 1
    assert cells[("(not in saved run)", "B")] == 1
    assert cells[("C", "(not scored now)")] == 1
    assert sum(cells.values()) == 4
    none = city_figures(make_input(tiny, res), public=False, generated_by="t")
    assert none["transitions"]["saved_run"] is None
    assert "No saved run yet" in city_markdown(none, {n: n for n in city_charts(none)})


def test_a_run_saved_for_the_report_date_is_named_not_denied(tiny):
    """A run of the report's own date is not compared with, and the page says it exists."""
    from dataclasses import replace

    res = residents([("a", 1000, "A", [], [])])
    same_day = replace(make_input(tiny, res), runs_not_before=1)
    doc = city_figures(same_day, public=False, generated_by="t")
    assert doc["transitions"] | {"cells": []} == {
        "saved_run": None, "runs_not_before": 1, "from": [], "to": [], "cells": []}
    text = city_markdown(doc, {n: n for n in city_charts(doc)})
    assert "No saved run yet" not in text
    assert (f"No run saved before {AS_OF.isoformat()} to compare with: 1 saved run scored on "
            f"{AS_OF.isoformat()} or later is not compared") in text


def test_objections_pending_overdue_oldest_first(tiny):
    objs = [{"objection_id": 1, "event_id": 1, "filed_on": date(2024, 3, 25)},
            {"objection_id": 2, "event_id": 1, "filed_on": date(2024, 1, 2)},
            {"objection_id": 3, "event_id": 1, "filed_on": date(2024, 1, 5),
             "decided_on": date(2024, 1, 9), "outcome": "rejected"},
            {"objection_id": 4, "event_id": 1, "filed_on": date(2024, 2, 1),
             "decided_on": date(2024, 4, 9), "outcome": "upheld"}]  # decided after as-of
    ev = [{"event_id": 1, "resident_id": "a", "indicator": "dog",
           "occurred_on": date(2024, 1, 1)}]
    res = residents([("a", 997, "B", [], [])])
    doc = city_figures(make_input(tiny, res, events=ev, objections=objs), public=False,
                       generated_by="t")
    o = doc["objections"]
    assert [p["objection_id"] for p in o["pending_list"]] == [2, 4, 1]
    assert [p["objection_id"] for p in o["overdue_list"]] == [2, 4]  # 15d deadline
    assert o["pending_list"][0]["age_days"] == (AS_OF - date(2024, 1, 2)).days
    pub = city_figures(make_input(tiny, res, events=ev, objections=objs), public=True,
                       generated_by="t")["objections"]
    assert pub["pending"] is None and pub["pending_list"] is None


def test_data_quality_flags_late_records_bursts_heavy_residents_and_voids(tiny):
    events, eid = [], 0
    day0 = date(2023, 1, 1)
    for d in range(60):  # the police record 2 a day…
        for _ in range(2):
            eid += 1
            events.append({"event_id": eid, "resident_id": f"p{eid % 30}", "indicator": "dog",
                           "occurred_on": day0 + timedelta(days=d), "agency": "police"})
    for _ in range(25):  # …and 25 on one day
        eid += 1
        events.append({"event_id": eid, "resident_id": "heavy", "indicator": "dog",
                       "occurred_on": date(2023, 3, 1), "agency": "police"})
    for _ in range(40):  # one resident with 65 events in all, far above everyone else
        eid += 1
        events.append({"event_id": eid, "resident_id": "heavy", "indicator": "dog",
                       "occurred_on": date(2023, 4, 1) + timedelta(days=eid % 40),
                       "agency": "tax"})
    recorded = pl.DataFrame({"first_event_id": [1, 101], "last_event_id": [100, eid],
                             "recorded_at": [datetime(2023, 6, 1, tzinfo=UTC),
                                             datetime(2025, 1, 1, tzinfo=UTC)]})
    res = residents([("heavy", 500, "C", [], [])])
    doc = city_figures(make_input(tiny, res, events=events, recorded=recorded,
                                  voids=[{"event_id": 1}, {"event_id": 2}],
                                  lifts=[{"event_id": 3, "lifted_on": date(2023, 5, 1)}]),
                       public=False, generated_by="t")
    dq = doc["data_quality"]
    # recorded 2025-01-01: events that occurred before 2024-01-01 are late
    assert dq["late_recorded"]["events"] == eid - 100
    burst = dq["bursts"]["days"][0]
    assert (burst["agency"], burst["date"], burst["events"]) == ("police", date(2023, 3, 1),
                                                                 27)
    assert dq["heavy_residents"]["residents"] == 1
    police = next(a for a in dq["by_agency"] if a["agency"] == "police")
    assert (police["events"], police["voids"], police["lifts"]) == (145, 2, 1)
    assert len(dq["warnings"]) >= 3


# --- rendering ---------------------------------------------------------------------------

def test_html_is_self_contained_and_names_no_resident(tiny):
    rows = [(f"resident-{i:03d}", 1000 - 10 * i, "A" if i == 0 else "B", [], [])
            for i in range(9)]
    ev = pl.DataFrame({"event_id": [1], "resident_id": ["resident-001"],
                       "indicator": ["dog"], "version": ["1"], "points": [-300],
                       "status": ["counted"]})
    doc = city_figures(make_input(tiny, residents(rows), engine_events=ev), public=False,
                       generated_by="t")
    charts = city_charts(doc)
    page = city_html(doc, charts)
    assert "Content-Security-Policy" in page
    assert page.count("<svg") == len(charts) == 4
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # several charts on one page: no id clash
    texts = [page, city_markdown(doc, {n: n for n in charts}), city_json(doc), *charts.values()]
    for rid, *_ in rows:
        assert not any(rid in t for t in texts)
    assert json.loads(city_json(doc))["tiers"][1]["residents"] == 8


def test_tallied_counting_events_sum_as_the_per_event_rows_do() -> None:
    """The report sums the engine's counting events (numbers, no text) instead of its
    per-event rows; both must give the same tables."""
    from datetime import date as _date

    from test_engine_unit import _random_ledger

    from scs_cli.engine.kernel import evaluate, prepare
    from scs_cli.report.figures import counted, tallied

    history, data = _random_ledger(7, n=600)
    prepared = prepare(data, history)
    detailed = evaluate(prepared, _date(2022, 6, 1))
    tally = evaluate(prepared, _date(2022, 6, 1), detail=False, tally=True)
    assert tally.counting is not None and tally.counting.height > 0
    want, got = counted(detailed.events, history), tallied(tally.counting, history)
    order = ["indicator", "version"]
    assert got.per_rule.sort(order).equals(want.per_rule.sort(order))
    assert (got.residents, got.category_residents, got.total) == \
        (want.residents, want.category_residents, want.total)


def test_index_colours_follow_tier_names_not_ranks():
    """Suining's "A" (its best tier) must not wear the colour of Rongcheng's "AAA"."""
    from scs_cli.report.charts import cities_chart, index_tier_positions

    rongcheng = {"city": {"name": "Rongcheng"},
                 "tiers": [{"tier": t, "share": 0.1} for t in ("AAA", "AA", "A", "B", "C", "D")]}
    suining = {"city": {"name": "Suining"},
               "tiers": [{"tier": t, "share": 0.25} for t in ("A", "B", "C", "D")]}
    pos = index_tier_positions([rongcheng, suining])
    assert set(pos) == {"AAA", "AA", "A", "B", "C", "D"}
    assert len(set(pos.values())) == len(pos)          # no two names share a colour
    assert pos["AAA"] > pos["AA"] > pos["A"] > pos["B"] > pos["C"] > pos["D"]
    svg = cities_chart([rongcheng, suining])
    assert "tier (one colour per name)" in svg  # the legend (svg text stays text)


def test_the_first_import_is_a_backfill_not_late_reporting(tiny):
    """History imported into a new ledger is old by nature: no warning for it."""
    events = [{"event_id": i, "resident_id": f"r{i}", "indicator": "dog",
               "occurred_on": date(2020, 1, 1) + timedelta(days=i), "agency": "police"}
              for i in range(1, 21)]
    res = residents([("r1", 1000, "A", [], [])])
    only_first = pl.DataFrame({"first_event_id": [1], "last_event_id": [20],
                               "recorded_at": [datetime(2024, 3, 1, tzinfo=UTC)]})
    doc = city_figures(make_input(tiny, res, events=events, recorded=only_first),
                       public=False, generated_by="t")
    late = doc["data_quality"]["late_recorded"]
    assert (late["events"], late["backfill_events"]) == (0, 20)
    assert not any("days after they occurred" in w for w in doc["data_quality"]["warnings"])
    # the same events arriving in a second import are late reporting, and warned about
    second = pl.DataFrame({"first_event_id": [1, 11], "last_event_id": [10, 20],
                           "recorded_at": [datetime(2020, 1, 12, tzinfo=UTC),
                                           datetime(2024, 3, 1, tzinfo=UTC)]})
    doc = city_figures(make_input(tiny, res, events=events, recorded=second),
                       public=False, generated_by="t")
    late = doc["data_quality"]["late_recorded"]
    assert (late["events"], late["backfill_events"]) == (10, 0)
    assert any("10 events" in w and "after the ledger's first" in w
               for w in doc["data_quality"]["warnings"])


def test_events_recorded_after_a_saved_run_that_change_its_date_are_warned_about(tiny):
    """Events recorded after run 7 was saved: those dated on or before its as-of change what
    the ledger says about that date; those dated after it do not."""
    events = [{"event_id": i, "resident_id": f"r{i}", "indicator": "dog",
               "occurred_on": d, "agency": "police"}
              for i, d in enumerate([date(2024, 1, 5)] * 3 + [date(2024, 2, 20)] * 4
                                    + [date(2024, 3, 10)] * 2, 1)]
    saved = datetime(2024, 2, 1, 9, tzinfo=UTC)
    recorded = pl.DataFrame({"first_event_id": [1, 4], "last_event_id": [3, 9],
                             "recorded_at": [datetime(2024, 1, 10, tzinfo=UTC),
                                             datetime(2024, 3, 15, tzinfo=UTC)]})
    run = SavedRun(as_of=date(2024, 2, 29), tiers=pl.DataFrame(
        {"resident_id": ["r1"], "tier": ["A"]}), run_id=7, known_at=saved)
    res = residents([("r1", 1000, "A", [], [])])
    doc = city_figures(make_input(tiny, res, events=events, recorded=recorded, last_run=run),
                       public=False, generated_by="t")
    after = doc["data_quality"]["recorded_after_run"]
    assert (after["run_id"], after["as_of"], after["events"]) == (7, date(2024, 2, 29), 4)
    assert any(w.startswith("4 events recorded after run 7 was saved")
               for w in doc["data_quality"]["warnings"])
    # nothing recorded since the run: no warning
    quiet = replace(run, known_at=datetime(2024, 3, 16, tzinfo=UTC))
    doc = city_figures(make_input(tiny, res, events=events, recorded=recorded,
                                  last_run=quiet), public=False, generated_by="t")
    assert doc["data_quality"]["recorded_after_run"]["events"] == 0
    assert not any("after run" in w for w in doc["data_quality"]["warnings"])
