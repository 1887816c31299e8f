"""Property tests: the fast engine against the reference scorer, and invariants of scoring.

Hypothesis draws small random catalogues (one or two versions of one city, written as
TOML text and parsed by `parse_catalogue`, so valid by construction) and small random
ledgers whose dates crowd around the edges the spec cares about (month ends, leap days,
year ends, expiry and window edges). The main test asserts that `scs_cli.engine.kernel.score`
and `tests/reference_scorer.py` agree on every resident and every event. The invariants
run on both scorers.

Runs are derandomized (a fixed seed per test, no example database), so a run sees the
same examples every time; set SCS_PROPERTY_EXAMPLES to draw more locally. CI runs them a
second time with SCS_PROPERTY_FRESH=1 and a new --hypothesis-seed it prints, so new examples
are tried on every build and a failure can be drawn again. A failure
prints the shrunk example as a ready-made case file for tests/cases/ (its expected
values are the reference scorer's: check them against SPEC §4 before keeping it).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from reference_listings import engine_listings_view, reference_listings
from reference_scorer import ReferenceResult, engine_view, reference_score

from scs_cli.core.errors import ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import evaluate, prepare, score
from scs_cli.engine.listings import listings_of
from scs_cli.engine.series import standings
from scs_cli.rules.durations import Duration
from scs_cli.rules.model import CatalogueHistory, Indicator, cents
from scs_cli.rules.schema import parse_catalogue

settings.register_profile(
    "scs-engine", derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# CI's second run: new examples each time, from the seed it passes as --hypothesis-seed and
# prints, so a failure found once can be drawn again (`.ci/run`, docs/testing.md).
settings.register_profile(
    "scs-engine-fresh", derandomize=False, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(
    "scs-engine-fresh" if os.environ.get("SCS_PROPERTY_FRESH") else "scs-engine")
MAIN_EXAMPLES = int(os.environ.get("SCS_PROPERTY_EXAMPLES", "200"))
INVARIANT_EXAMPLES = max(10, MAIN_EXAMPLES // 4)

# --- What the strategies draw from --------------------------------------------------

D = Decimal
INDICATOR_IDS = ("a", "b", "c", "d", "e")
CATEGORY_IDS = ("c1", "c2", "c3")
RESIDENT_IDS = ("r1", "r10", "r2", "R3", "x.y:z-1", "b")  # string order != natural order
TIER_SETS = (("A", "B", "C"), ("AAA", "AA", "A", "B", "C", "D"), ("top", "bottom"))
POINTS = (-50, -20, -10, D("-12.5"), -3, D("-0.5"), D("0.5"), 5, 10, 20, D("10.25"))
RANGES = ((-50, -5), (D("-10"), D("-0.5")), (1, 10))
NEGATIVE_STEPS = (0, -1, -3, -6, -12, D("-2.5"))
POSITIVE_STEPS = (1, 5, 10)
DURATIONS = ("1d", "10d", "30d", "1w", "2w", "1m", "6m", "1y", "2y", "3y")
PERIODS = ("week", "day", "month", "year")
DEDUCTIONS = (5, 10, 15, 25, 40)
AWARDS = (5, 10, 25)
FIRST_DAY, LAST_DAY = date(2018, 10, 1), date(2024, 6, 30)
# Days where the calendar does something: month ends, leap days, ISO week 2020-W53.
SPECIAL_DAYS = tuple(
    [date(2020, 2, 28), date(2020, 2, 29), date(2020, 3, 1), date(2021, 2, 28),
     date(2021, 3, 1), date(2020, 12, 27), date(2020, 12, 28), date(2020, 12, 31),
     date(2021, 1, 1), date(2021, 1, 3), date(2021, 1, 4), date(2019, 12, 31),
     date(2020, 12, 31), date(2021, 1, 1), date(2021, 1, 2),  # twice: 2020-W53
     date(2020, 1, 1), date(2021, 12, 31), date(2022, 1, 1)]
    + [date(y, m, 1) - timedelta(days=1) for y in (2020, 2021) for m in range(2, 13)]
)
WEEK_53 = tuple(date(2020, 12, 28) + timedelta(days=i) for i in range(7))  # across a new year
OFFSETS = tuple(Duration.parse(t) for t in ("1d", "1w", "1m", "1y", "2y", "10d", "30d", "6m"))


@st.composite
def _calendar_day(draw: st.DrawFn, first: date, last: date, late: bool) -> date:
    # Year, month and day drawn apart: st.dates() crowds near `first`, and so does one
    # index into a long list; a few short choices spread over the whole range (with
    # `late`, the later years come first, so they are the likelier ones).
    years = range(first.year, last.year + 1)
    year = pick(draw, years[::-1] if late else years)
    month = pick(draw, range(1, 13))
    day = date(year, month, 1) + timedelta(days=pick(draw, range(31)))
    if day.month != month:  # past the month's end: take its last day
        day = day.replace(day=1) - timedelta(days=1)
    return min(max(day, first), last)


@functools.cache
def days(first: date = FIRST_DAY, last: date = LAST_DAY, late: bool = False
         ) -> st.SearchStrategy[date]:
    return st.one_of(_calendar_day(first, last, late),
                     st.sampled_from([d for d in SPECIAL_DAYS if first <= d <= last]))


BOOLS = st.booleans()


@functools.cache
def _choice(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def pick(draw: st.DrawFn, values: Any) -> Any:
    """One of `values` (a tuple or range). Strategies are made once per set of values:
    making them afresh for every draw made generating, and so shrinking, slow."""
    return draw(_choice(tuple(values)))


def pick_row(draw: st.DrawFn, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return rows[pick(draw, range(len(rows)))]


def chance(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` draws (at most: Hypothesis favours early choices, so
    the last one stands for "yes", and shrinking leads towards "no")."""
    return pick(draw, range(one_in)) == one_in - 1


@st.composite
def indicator_doc(draw: st.DrawFn, tiers: tuple[str, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "Indicator"}
    kind = pick(draw, ("points", "points", "points_range", "escalation",
                                 "escalation"))
    if kind == "points":
        doc["points"] = pick(draw, POINTS)
    elif kind == "points_range":
        doc["points_range"] = list(pick(draw, RANGES))
    else:
        steps = NEGATIVE_STEPS if pick(draw, range(5)) else POSITIVE_STEPS
        doc["escalation"] = [pick(draw, steps) for _ in range(pick(draw, (1, 2, 3)))]
        if draw(BOOLS):
            doc["escalation_window"] = pick(draw, DURATIONS)
    if chance(draw, 3):
        doc["limit"] = {"count": pick(draw, range(1, 3)), "per": pick(draw, PERIODS)}
    if draw(BOOLS):
        doc["expires_after"] = pick(draw, DURATIONS)
    if not chance(draw, 3):
        doc["category"] = pick(draw, CATEGORY_IDS)
    if pick(draw, range(4)) == 0:
        doc["max_deduction"] = pick(draw, DEDUCTIONS)
    if pick(draw, range(5)) == 0:
        doc["max_award"] = pick(draw, AWARDS)
    if pick(draw, range(6)) == 0:
        doc["tier_cap"] = pick(draw, tiers)
    if pick(draw, range(6)) == 0:
        doc["score_cap"] = pick(draw, (649, 900, 960, 990, D("995.5")))
    return doc


@st.composite
def catalogue_doc(draw: st.DrawFn, version: str, effective_from: date,
                  tiers: tuple[str, ...], indicator_ids: tuple[str, ...]) -> dict[str, Any]:
    mins = sorted(draw(st.sets(st.integers(180, 212), min_size=len(tiers) - 1,
                               max_size=len(tiers) - 1)), reverse=True)
    tier_docs: list[dict[str, Any]] = [{"name": n, "min": m * 5} for n, m in zip(tiers, mins,
                                                                                  strict=False)]
    tier_docs.append({"name": tiers[-1]})
    scale: dict[str, Any] = {"base": 1000}
    low = pick(draw, (None, None, 0, 900, 960))
    high = pick(draw, (None, None, 1010, 1050))
    if low is not None:
        scale["min"] = low
    if high is not None:
        scale["max"] = high
    rewards_only = chance(draw, 5)
    categories = {}
    for n, cid in enumerate(CATEGORY_IDS):
        cat: dict[str, Any] = {"name": cid.upper()}
        if draw(BOOLS):
            cat["max_deduction"] = pick(draw, DEDUCTIONS)
        if pick(draw, range(3)) == 0:
            cat["max_award"] = pick(draw, AWARDS)
        if n and not chance(draw, 2):  # nested: inside an earlier category, so no cycle
            cat["parent"] = pick(draw, CATEGORY_IDS[:n])
        categories[cid] = cat
    kept = [i for i in indicator_ids if not chance(draw, 20)] or [indicator_ids[0]]
    doc: dict[str, Any] = {
        "schema": 1,
        "city": {"id": "propville", "name": "Propville"},
        "catalogue": {"version": version, "effective_from": effective_from,
                      "mode": "rewards-only" if rewards_only else "rewards-and-penalties"},
        "scale": scale,
        "tiers": tier_docs,
        "categories": categories,
        "indicators": {i: draw(indicator_doc(tiers)) for i in kept},
    }
    rewards = {}
    for rid in [r for r in ("gold", "basic") if draw(BOOLS)]:
        # Worst tier first: the likeliest draw is a reward most residents can get.
        reward: dict[str, Any] = {"name": rid, "min_tier": pick(draw, tiers[::-1])}
        if draw(BOOLS):
            reward["min_score"] = pick(draw, (990, 1000, D("1000.5"), 1010))
        if chance(draw, 3):  # a band: this tier or worse (never better than min_tier)
            worst = tiers.index(reward["min_tier"])
            reward["max_tier"] = pick(draw, tiers[:worst + 1][::-1])
        if chance(draw, 3):
            reward["max_score"] = max(pick(draw, (960, 995, D("999.99"), 1000, 1020)),
                                      reward.get("min_score", 0))
        if not chance(draw, 3):
            reward["clean_for"] = pick(draw, DURATIONS)
        rewards[rid] = reward
    if rewards:
        doc["rewards"] = rewards
    if not rewards_only:
        sanctions = {sid: {"name": sid, "max_tier": pick(draw, tiers)}
                     for sid in ("review", "ban") if draw(BOOLS)}
        if sanctions:
            doc["sanctions"] = sanctions
    doc["policy"] = {
        "objection_suspends": not chance(draw, 3),
        "participation": "consent" if chance(draw, 3) else "all",
    }
    return doc


@dataclass(frozen=True)
class Scenario:
    """One catalogue history, one small ledger and an as-of date."""

    docs: tuple[dict[str, Any], ...]
    events: tuple[dict[str, Any], ...]  # points as Decimal (or None), like a case file
    voids: tuple[dict[str, Any], ...]
    lifts: tuple[dict[str, Any], ...]
    objections: tuple[dict[str, Any], ...]
    consents: tuple[dict[str, Any], ...]
    as_of: date
    repairs: tuple[dict[str, Any], ...] = ()  # as in a case file (list, granted)

    def texts(self) -> list[str]:
        return [tomli_w.dumps(doc) for doc in self.docs]

    def history(self) -> CatalogueHistory:
        return CatalogueHistory(parse_catalogue(text, f"<version {i + 1}>")
                                for i, text in enumerate(self.texts()))

    def data(self) -> LedgerData:
        events = [dict(e, points=None if e["points"] is None else cents(e["points"]))
                  for e in self.events]
        repairs = [{"repair_id": r["repair_id"], "resident_id": r["resident_id"],
                    "list_id": r["list"], "filed_on": r["filed_on"],
                    "decided_on": r.get("decided_on"),
                    "outcome": None if r.get("decided_on") is None
                    else "granted" if r["granted"] else "refused"} for r in self.repairs]
        return LedgerData.build(events=events, voids=list(self.voids), lifts=list(self.lifts),
                                objections=list(self.objections), consents=list(self.consents),
                                repairs=repairs)

    def case_toml(self, description: str, result: ReferenceResult | None) -> str:
        """This scenario as a tests/cases/ file, expecting what `result` says."""
        top: dict[str, Any] = {"description": description, "as_of": self.as_of}
        top["events"] = [{k: v for k, v in e.items() if v is not None} for e in self.events]
        for key in ("voids", "lifts", "objections", "consents", "repairs"):
            rows = [{k: v for k, v in r.items() if v is not None} for r in getattr(self, key)]
            if rows:
                top[key] = rows
        tail: dict[str, Any] = {}
        if result is None:
            top["expected_error"] = str(self.as_of)
        else:
            tail["expected"] = {
                rid: {"score": r.score, "tier": r.tier, "rewards": list(r.rewards),
                      "sanctions": list(r.sanctions)}
                for rid, r in result.residents.items()
            }
            tail["expected_events"] = {
                str(e.event_id): {"status": e.status, "points": e.points}
                for e in result.events.values()
            }
        # Top-level keys first, then each version as literal TOML text, then [expected].
        versions = "".join(f"\n[[catalogues]]\ntext = '''\n{text}'''\n"
                           for text in self.texts())
        return tomli_w.dumps(top) + versions + "\n" + tomli_w.dumps(tail)


def _recategorised(draw: st.DrawFn, docs: list[dict[str, Any]]) -> None:
    """Issue 12's shape: indicator `a` changes category between the versions, the later
    version caps `a` and both categories, so an indicator cap and a category cap both bind
    on events judged by different versions."""
    old, new = docs[0], docs[1]
    first_cat = pick(draw, CATEGORY_IDS)
    old["indicators"]["a"] = dict(old["indicators"].get("a", {"name": "A", "points": -50}),
                                  category=first_cat)
    rule = {k: v for k, v in new["indicators"].get("a", {"name": "A"}).items()
            if k != "category"}
    rule["max_deduction"] = pick(draw, DEDUCTIONS)
    if not chance(draw, 3):
        rule["category"] = pick(draw, tuple(c for c in CATEGORY_IDS if c != first_cat))
    if not any(k in rule for k in ("points", "points_range", "escalation")):
        rule["points"] = pick(draw, POINTS)
    new["indicators"]["a"] = rule
    for doc in (old, new):
        doc["categories"][first_cat]["max_deduction"] = pick(draw, DEDUCTIONS)


@st.composite
def scenarios(draw: st.DrawFn, recategorised: bool = False) -> Scenario:
    tiers = pick(draw, TIER_SETS)
    n_indicators = pick(draw, range(2 if recategorised else 1, len(INDICATOR_IDS) + 1))
    indicator_ids = INDICATOR_IDS[:n_indicators]
    first = pick(draw, (date(2019, 1, 1), date(2019, 7, 1)))
    docs = [draw(catalogue_doc("1", first, tiers, indicator_ids))]
    if recategorised or draw(BOOLS):
        second = draw(days(date(2020, 1, 1), date(2022, 6, 30)))
        docs.append(draw(catalogue_doc("2", second, tiers, indicator_ids)))
    if recategorised:
        _recategorised(draw, docs)
    history = CatalogueHistory(parse_catalogue(tomli_w.dumps(d)) for d in docs)

    residents = RESIDENT_IDS[:pick(draw, (1, 2, 2, 3, 3, 4, 5, 6))]
    events: list[dict[str, Any]] = []
    for i in range(pick(draw, range(41))):
        # Mostly a repeat of an earlier event (same resident and indicator, the same day,
        # a week, a month, a year on…) so limits, windows and same-day order get exercised.
        if events and not chance(draw, 3):
            like = pick_row(draw, events)
            step = pick(draw, (None, None, "special", "2020-W53") + OFFSETS)
            day = like["occurred_on"] if step is None else pick(draw, SPECIAL_DAYS) \
                if step == "special" else pick(draw, WEEK_53) if step == "2020-W53" \
                else min(step.after(like["occurred_on"]), LAST_DAY)
            resident = like["resident_id"] if not chance(draw, 4) else \
                pick(draw, residents)
            indicator = like["indicator"] if not chance(draw, 4) else \
                pick(draw, indicator_ids)
        else:
            day = draw(days(first, date(2023, 12, 31)))
            if chance(draw, 30):  # before any version: no rule in force
                day = first - timedelta(days=1)
            resident = pick(draw, residents)
            indicator = "a" if recategorised and draw(BOOLS) else pick(draw, indicator_ids)
        version = history.in_force(day)
        rule = version.indicators.get(indicator) if version else None
        points = None
        if rule is not None and rule.points_range is not None:
            low, high = rule.points_range
            points = Decimal(pick(draw, range(int(low * 2), int(high * 2) + 1))) / 2
            if chance(draw, 6):  # outside the range (kept inside it), or none at all
                points = pick(draw, (None, low - 5, high + D("0.5"), D(0), -low))
        elif chance(draw, 15):  # points on an event whose rule does not take them
            points = pick(draw, (D(-7), D(3)))
        events.append({"event_id": i + 1, "resident_id": resident, "indicator": indicator,
                       "occurred_on": day, "points": points})

    voids, lifts, objections = [], [], []
    for e in events:
        eid, day = e["event_id"], e["occurred_on"]
        if chance(draw, 15):
            voids.append({"event_id": eid})
        if chance(draw, 8):
            how = pick(draw, ("same day", "any day", "after"))
            lifted = day if how == "same day" else draw(days()) if how == "any day" \
                else pick(draw, OFFSETS).after(day)
            lifts.append({"event_id": eid, "lifted_on": lifted})
        for _ in range(pick(draw, (0,) * 12 + (1, 1, 2))):
            filed = day + timedelta(days=pick(draw, range(401)))
            decided = outcome = None
            if pick(draw, range(3)):
                decided = filed + timedelta(days=pick(draw, range(91)))
                outcome = pick(draw, ("rejected", "upheld", "rejected"))
            objections.append({"objection_id": len(objections) + 1, "event_id": eid,
                               "filed_on": filed, "decided_on": decided, "outcome": outcome})
    consents = []
    for rid in residents + ("z-no-events",):
        for _ in range(pick(draw, range(4))):
            # Sometimes on the same day as this resident's previous row: seq decides.
            mine = [c["on"] for c in consents if c["resident_id"] == rid]
            on = mine[-1] if mine and chance(draw, 2) else draw(days())
            consents.append({"resident_id": rid, "on": on, "consent": draw(BOOLS),
                             "seq": len(consents) + 1})

    # The as-of date: anywhere, or on (or a day either side of) a date where something
    # changes: an expiry, a window or clean_for edge, a lift, a filing or decision.
    voided = {v["event_id"] for v in voids} | {o["event_id"] for o in objections
                                                if o["outcome"] == "upheld"}
    contested = [o for o in objections if o["event_id"] not in voided]
    objection_days = [day for o in contested for day in (o["decided_on"], o["filed_on"]) if day]
    other_days = [x["lifted_on"] for x in lifts] + [c["on"] for c in consents]
    other_days += [d["catalogue"]["effective_from"] for d in docs]
    kind = pick(draw, ("expiry", "clean-for", "objection", "after-event", "day", "other"))

    def rule_of(e: dict[str, Any]) -> Indicator | None:
        version = history.in_force(e["occurred_on"])
        return version.indicators.get(e["indicator"]) if version else None

    penalties = [e for e in events if (r := rule_of(e)) is not None and r.is_negative]
    clean_fors = [r.clean_for for c in history for r in c.rewards.values() if r.clean_for]
    expiring = [e for e in events if (r := rule_of(e)) is not None and r.expires_after]
    if kind == "expiry" and expiring:  # exactly where an event's own expiry ends
        event = pick_row(draw, expiring)
        as_of = rule_of(event).expires_after.after(event["occurred_on"])  # type: ignore[union-attr]
    elif kind == "clean-for" and penalties and clean_fors:  # where a clean_for ends
        clean_for = pick(draw, clean_fors)
        # …for a penalty that still counts then (its expiry, if any, comes later).
        lasting = [e for e in penalties if (r := rule_of(e)) is not None and (
            r.expires_after is None
            or r.expires_after.after(e["occurred_on"]) > clean_for.after(e["occurred_on"]))]
        as_of = clean_for.after(pick_row(draw, lasting or penalties)["occurred_on"])
    elif kind == "after-event" and events:
        since = pick_row(draw, events)["occurred_on"]
        as_of = Duration.parse(pick(draw, DURATIONS[::-1])).after(since)
    elif kind == "objection" and objection_days:
        as_of = pick(draw, objection_days)
    elif kind == "other" and other_days:
        as_of = pick(draw, other_days)
    else:
        as_of = draw(days(date(2019, 6, 1), late=True))
    as_of += timedelta(days=pick(draw, (0, -1, 1, 0)))  # the edge itself is likeliest
    if not chance(draw, 40):  # rarely, a date before the first version: an error
        as_of = max(as_of, first)
    return Scenario(tuple(docs), tuple(events), tuple(voids), tuple(lifts), tuple(objections),
                    tuple(consents), as_of)


@st.composite
def listed_scenarios(draw: st.DrawFn) -> Scenario:
    """A scenario whose versions keep a black list (by indicators, or by a count inside a
    window), maybe a red list and measures on the black list, with repairs filed."""
    scn = draw(scenarios())
    docs = []
    for doc in scn.docs:
        doc = dict(doc)
        names = tuple(doc["indicators"])
        entry: dict[str, Any] = {"indicators": sorted({pick(draw, names)
                                                       for _ in range(pick(draw, (1, 2)))})}
        if draw(BOOLS):
            entry["count"] = pick(draw, (2, 3))
            entry["within"] = pick(draw, DURATIONS[::-1])
        black: dict[str, Any] = {"name": "LB", "kind": "black", "entry": entry}
        if not chance(draw, 3):
            black["lasts"] = pick(draw, DURATIONS[::-1])
        if chance(draw, 3):
            black["ends_with_event"] = False
        lists = {"lb": black}
        if draw(BOOLS):
            red: dict[str, Any] = {"min_tier": pick(draw, [t["name"] for t in doc["tiers"]])}
            if draw(BOOLS):
                red["clean_for"] = pick(draw, DURATIONS)
            lists["lr"] = {"name": "LR", "kind": "red", "entry": red}
        doc["lists"] = lists
        if draw(BOOLS):
            measure: dict[str, Any] = {"name": "air", "on_list": "lb"}
            if draw(BOOLS):
                measure["lasts"] = pick(draw, DURATIONS)
            doc["sanctions"] = {**doc.get("sanctions", {}), "air": measure}
        docs.append(doc)
    repairs = []
    for e in scn.events:
        if chance(draw, 4):
            filed = e["occurred_on"] + timedelta(days=pick(draw, range(200)))
            decided = filed + timedelta(days=pick(draw, range(120))) if not chance(draw, 4) \
                else None
            repairs.append({"repair_id": len(repairs) + 1, "resident_id": e["resident_id"],
                            "list": "lb", "filed_on": filed, "decided_on": decided,
                            "granted": not chance(draw, 3)})
    return dataclasses.replace(scn, docs=tuple(docs), repairs=tuple(repairs))


# --- Running the scorers ------------------------------------------------------------

Scorer = Callable[[LedgerData, CatalogueHistory, date], ReferenceResult]


def run_reference(data: LedgerData, history: CatalogueHistory, as_of: date) -> ReferenceResult:
    return reference_score(data, history, as_of)


def run_engine(data: LedgerData, history: CatalogueHistory, as_of: date) -> ReferenceResult:
    return engine_view(score(data, history, as_of))


@pytest.fixture(scope="module", params=["reference", "engine"])
def scorer(request: pytest.FixtureRequest) -> Scorer:
    if request.param == "engine":
        return run_engine
    return run_reference


def differences(want: ReferenceResult, got: ReferenceResult) -> list[str]:
    """Every way `got` differs from `want`, one line each (empty when they agree)."""
    out = []
    if list(got.residents) != list(want.residents):
        out.append(f"residents: want {list(want.residents)}, got {list(got.residents)}")
    for rid, w in want.residents.items():
        g = got.residents.get(rid)
        if g is not None and g != w:
            out.append(f"resident {rid}: want {w}, got {g}")
    if set(got.events) != set(want.events):
        out.append(f"event ids: want {sorted(want.events)}, got {sorted(got.events)}")
    for eid, we in want.events.items():
        ge = got.events.get(eid)
        if ge is None:
            continue
        if (ge.status, ge.points) != (we.status, we.points):
            out.append(f"event {eid}: want {we.status} {we.points}, got {ge.status} {ge.points}")
        elif we.nominal is not None and ge.nominal != we.nominal:
            out.append(f"event {eid}: want nominal {we.nominal}, got {ge.nominal}")
        # what explain prints: the cap that cut the event and the version that judged it
        if (ge.capped_by, ge.version) != (we.capped_by, we.version):
            out.append(f"event {eid}: want capped_by {we.capped_by} version {we.version}, "
                       f"got {ge.capped_by} {ge.version}")
        if (ge.occurrence, ge.limit_rank) != (we.occurrence, we.limit_rank):
            out.append(f"event {eid}: want occurrence {we.occurrence} limit rank "
                       f"{we.limit_rank}, got {ge.occurrence} {ge.limit_rank}")
        # every other column explain words: kept after caps, when it stops, what suspends
        # it, its category, its limit's period, its escalation step, the version in force
        for name in ("kept", "stops_on", "suspended_by", "category", "period", "step",
                     "in_force"):
            if getattr(ge, name) != getattr(we, name):
                out.append(f"event {eid}: want {name} {getattr(we, name)}, "
                           f"got {getattr(ge, name)}")
    if sorted(map(astuple, got.adjustments)) != sorted(map(astuple, want.adjustments)):
        out.append(f"adjustments: want {sorted(map(astuple, want.adjustments))}, "
                   f"got {sorted(map(astuple, got.adjustments))}")
    # the score step by step and the band (explain's score and tier sentences)
    if set(got.subtotals) != set(want.subtotals):
        out.append(f"subtotals for {sorted(got.subtotals)}, want {sorted(want.subtotals)}")
    for rid, w in want.subtotals.items():
        if got.subtotals.get(rid) != w:
            out.append(f"subtotals of {rid}: want {w}, got {got.subtotals.get(rid)}")
    # step 9 condition by condition, and the event that breaks a clean_for (explain words
    # each reward's and sanction's checks)
    if sorted(map(astuple, got.checks)) != sorted(map(astuple, want.checks)):
        out.append(f"checks: want {sorted(map(astuple, want.checks))}, "
                   f"got {sorted(map(astuple, got.checks))}")
    return out


def outcome(scorer: Scorer, scn: Scenario) -> ReferenceResult | None:
    """The scorer's result, or None when it refuses the as-of date: only when no version
    is in force then (asked of the history, not of either scorer), and only with that
    refusal. Any other error, or a refusal on a date some version covers, fails the test:
    two scorers failing alike prove nothing."""
    in_force = scn.history().in_force(scn.as_of) is not None
    try:
        result = scorer(scn.data(), scn.history(), scn.as_of)
    except ScsError as exc:
        if in_force or "no catalogue version is in force" not in str(exc):
            raise
        return None
    assert in_force, f"scored on {scn.as_of}, when no catalogue version is in force"
    return result


# --- The engine against the reference -------------------------------------------------


@settings(PROFILE, max_examples=MAIN_EXAMPLES)
@given(scn=scenarios())
def test_engine_matches_reference(scn: Scenario) -> None:
    want = outcome(run_reference, scn)
    got = outcome(run_engine, scn)
    note("As a case file (expected = the reference scorer's answer):\n"
         + scn.case_toml("found by test_engine_matches_reference", want))
    if want is None or got is None:
        assert want is None and got is None, \
            f"only one scorer refused as-of {scn.as_of}: reference={want!r:.60} engine={got!r:.60}"
        return
    problems = differences(want, got)
    assert not problems, "engine differs from the reference:\n" + "\n".join(problems)


@settings(PROFILE, max_examples=MAIN_EXAMPLES // 2)
@given(scn=scenarios(), shifts=st.lists(st.integers(-3000, 3000), max_size=3))
def test_scores_without_event_rows_are_the_full_judgements(scn: Scenario,
                                                          shifts: list[int]) -> None:
    """`scs score` and the report's month ends evaluate without each event's row: from the
    columns `prepare` settles once, with only the groups a pending objection touches judged
    again. On any date that gives the residents, rewards, red lists and counted points of
    the full judgement (which the test above holds to the reference scorer)."""
    data, history = scn.data(), scn.history()
    prepared = prepare(data, history)
    for day in [scn.as_of, *(scn.as_of + timedelta(days=n) for n in shifts)]:
        if history.in_force(day) is None:
            continue
        full = evaluate(prepared, day, detail=True, tally=True, lists=True)
        fast = evaluate(prepared, day, detail=False, tally=True, lists=True)
        assert fast.residents.equals(full.residents), day
        assert fast.counting is not None and full.counting is not None
        assert fast.counting.equals(full.counting), day
        assert fast.red is not None and full.red is not None and fast.red.equals(full.red)


@settings(PROFILE, max_examples=MAIN_EXAMPLES // 2)
@given(scn=scenarios(), shifts=st.lists(st.integers(-4000, 4000), min_size=1, max_size=6))
def test_scores_at_many_dates_in_one_pass_are_each_dates_scores(scn: Scenario,
                                                               shifts: list[int]) -> None:
    """The report's month ends (`engine.series.standings`): one pass for every date that
    allows it, the full evaluation for the others, each date as `evaluate` scores it.
    Drawn as is and without the caps and consent that send every date to the evaluation
    (pending objections still send some dates there)."""
    for case in (scn, uncapped(scn)):
        data, history = case.data(), case.history()
        prepared = prepare(data, history)
        days = [d for d in (case.as_of + timedelta(days=n) for n in [0, *shifts])
                if history.in_force(d) is not None]
        got = standings(prepared, days)
        tiers = standings(prepared, days, tiers_only=True)  # the report's: how many, not who
        assert list(got) == list(dict.fromkeys(days)) == list(tiers)
        for day in days:
            want = evaluate(prepared, day, detail=False).residents.select(
                "resident_id", "score", "tier")
            assert got[day].equals(want), day
            assert tiers[day].columns == ["tier"]
            assert tiers[day]["tier"].sort().equals(want["tier"].sort()), day


def uncapped(scn: Scenario) -> Scenario:
    """The same scenario with no indicator or category caps and everyone taking part."""
    caps = ("max_deduction", "max_award")

    def strip(doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "policy": {**doc["policy"], "participation": "all"},
                "categories": {k: {n: v for n, v in c.items() if n not in caps}
                               for k, c in doc["categories"].items()},
                "indicators": {k: {n: v for n, v in i.items() if n not in caps}
                               for k, i in doc["indicators"].items()}}

    return dataclasses.replace(scn, docs=tuple(strip(d) for d in scn.docs))


@settings(PROFILE, max_examples=MAIN_EXAMPLES // 2)
@given(scn=listed_scenarios())
def test_engine_listings_match_reference(scn: Scenario) -> None:
    """SPEC §4a: the engine's listings are the reference's, list by list, and keeping
    lists beside the score changes no score."""
    data, history = scn.data(), scn.history()
    note("As a case file (scores as the reference scorer gives them):\n"
         + scn.case_toml("found by test_engine_listings_match_reference",
                         outcome(run_reference, scn)))
    if history.in_force(scn.as_of) is None:
        return
    want = reference_listings(data, history, scn.as_of)
    got = engine_listings_view(listings_of(data, history, scn.as_of))
    assert got == want
    plain = dataclasses.replace(scn, docs=tuple(
        {k: v for k, v in d.items() if k not in ("lists", "sanctions")} for d in scn.docs))
    strip = [(r.score, r.tier) for r in run_engine(data, history, scn.as_of).residents.values()]
    assert strip == [(r.score, r.tier) for r in run_engine(
        plain.data(), plain.history(), scn.as_of).residents.values()]


@settings(PROFILE, max_examples=MAIN_EXAMPLES // 2)
@given(scn=scenarios(recategorised=True))
def test_engine_matches_reference_when_an_indicator_changes_category(scn: Scenario) -> None:
    want = outcome(run_reference, scn)
    got = outcome(run_engine, scn)
    note("As a case file (expected = the reference scorer's answer):\n"
         + scn.case_toml("found by test_engine_matches_reference_when_an_indicator_changes"
                         "_category", want))
    if want is None or got is None:
        assert want is None and got is None
        return
    problems = differences(want, got)
    assert not problems, "engine differs from the reference:\n" + "\n".join(problems)


# --- Invariants, on both scorers ------------------------------------------------------


@settings(PROFILE, max_examples=INVARIANT_EXAMPLES)
@given(scn=scenarios(), data=st.data())
def test_import_order_never_changes_a_score(scorer: Scorer, scn: Scenario,
                                            data: st.DataObject) -> None:
    before = outcome(scorer, scn)
    shuffled = replace(
        scn,
        events=tuple(data.draw(st.permutations(scn.events))),
        voids=tuple(data.draw(st.permutations(scn.voids))),
        lifts=tuple(data.draw(st.permutations(scn.lifts))),
        objections=tuple(data.draw(st.permutations(scn.objections))),
        consents=tuple(data.draw(st.permutations(scn.consents))),
    )
    after = outcome(scorer, shuffled)
    if before is None or after is None:
        assert before is None and after is None
        return
    problems = differences(before, after)
    assert not problems, "shuffling rows changed the result:\n" + "\n".join(problems)


@settings(PROFILE, max_examples=INVARIANT_EXAMPLES)
@given(scn=scenarios(), data=st.data())
def test_void_restores_the_score_without_the_event(scorer: Scorer, scn: Scenario,
                                                   data: st.DataObject) -> None:
    if not scn.events:
        return
    gone = data.draw(st.sampled_from(scn.events))
    eid = gone["event_id"]
    already = any(v["event_id"] == eid for v in scn.voids)
    voided = scn if already else replace(scn, voids=scn.voids + ({"event_id": eid},))
    without = replace(
        scn,
        events=tuple(e for e in scn.events if e["event_id"] != eid),
        voids=tuple(v for v in scn.voids if v["event_id"] != eid),
        lifts=tuple(x for x in scn.lifts if x["event_id"] != eid),
        objections=tuple(o for o in scn.objections if o["event_id"] != eid),
    )
    with_void, expected = outcome(scorer, voided), outcome(scorer, without)
    if with_void is None or expected is None:
        assert with_void is None and expected is None
        return
    if eid in with_void.events:
        assert with_void.events[eid].status == "voided"
    # Without the event its resident may not be scored at all (nothing recorded for them).
    assert set(with_void.residents) - set(expected.residents) <= {gone["resident_id"]}
    for rid, row in expected.residents.items():
        assert with_void.residents[rid] == row, f"resident {rid}"
    for other, ev in expected.events.items():
        got = with_void.events[other]
        assert (got.status, got.points) == (ev.status, ev.points), f"event {other}"


@st.composite
def penalised(draw: st.DrawFn) -> tuple[Scenario, dict[str, Any]]:
    """A scenario whose catalogue gains a penalty `zz-penalty` with caps and a category
    (the same in every version; its own cap may differ), some events of it, and one more
    negative event of it to add."""
    scn = draw(scenarios(recategorised=draw(BOOLS)))
    category = pick(draw, (None,) + CATEGORY_IDS)
    docs = []
    for doc in scn.docs:
        penalty: dict[str, Any] = {"name": "Penalty", "points": pick(draw, (-1, -20, D("-0.5"),
                                                                             -45))}
        if category is not None:
            penalty["category"] = category
        if draw(BOOLS):
            penalty["max_deduction"] = pick(draw, DEDUCTIONS)
        docs.append(dict(doc, indicators=dict(doc["indicators"], **{"zz-penalty": penalty})))
    residents = sorted({e["resident_id"] for e in scn.events}) or ["r1"]
    events = list(scn.events)
    for _ in range(pick(draw, (0, 0, 1, 2))):
        events.append({"event_id": len(events) + 1, "resident_id": pick(draw, residents),
                       "indicator": "zz-penalty", "occurred_on": draw(days(date(2019, 7, 1))),
                       "points": None})
    extra = {"event_id": len(events) + 1, "resident_id": pick(draw, residents),
             "indicator": "zz-penalty", "occurred_on": draw(days(date(2019, 7, 1))),
             "points": None}
    return replace(scn, docs=tuple(docs), events=tuple(events)), extra


@settings(PROFILE, max_examples=INVARIANT_EXAMPLES)
@given(drawn=penalised())
def test_a_negative_event_never_raises_a_score(scorer: Scorer,
                                               drawn: tuple[Scenario, dict[str, Any]]) -> None:
    # Over catalogues with indicator and nested category caps in two versions (and
    # indicators that change category between them): one more event of a penalty whose
    # category stays the same never raises a score or a tier. (An indicator that changes
    # category is the one exception the spec's cut rule allows: see
    # tests/cases/s6-older-event-moves-a-cut.toml and docs/scoring.md.)
    base, extra = drawn
    if not base.events:
        return
    before, after = outcome(scorer, base), outcome(scorer, replace(
        base, events=base.events + (extra,)))
    if before is None or after is None:
        assert before is None and after is None
        return
    assert list(after.residents) == list(before.residents)
    for rid, was in before.residents.items():
        now = after.residents[rid]
        assert now.score <= was.score, f"resident {rid}: {was.score} -> {now.score}"
        rank = after.scheme.tier_rank
        assert rank(now.tier) >= rank(was.tier), f"resident {rid}: {was.tier} -> {now.tier}"
        if rid != extra["resident_id"]:
            assert now == was


@settings(PROFILE, max_examples=INVARIANT_EXAMPLES)
@given(scn=st.one_of(scenarios(), scenarios(recategorised=True)))
def test_caps_never_give_back_more_than_the_events_took(scorer: Scorer,
                                                        scn: Scenario) -> None:
    # SPEC §4: "So the caps never give back more than the events took": per resident, what
    # the deduction caps give back is at most what the counting negative events took, and
    # what the award caps take at most what the positive ones gave; with only negative
    # events, the score before clamp and score cap never exceeds the base.
    result = outcome(scorer, scn)
    if result is None:
        return
    for rid in result.residents:
        points = [e.points for e in result.events.values() if e.resident_id == rid]
        caps = [a.amount for a in result.adjustments if a.resident_id == rid
                and a.scope in ("indicator", "category")]
        took = -sum((p for p in points if p < 0), D(0))
        gave = sum((p for p in points if p > 0), D(0))
        assert sum((a for a in caps if a > 0), D(0)) <= took, f"resident {rid}"
        assert -sum((a for a in caps if a < 0), D(0)) <= gave, f"resident {rid}"


@settings(PROFILE, max_examples=INVARIANT_EXAMPLES)
@given(scn=scenarios(), data=st.data())
def test_scoring_a_partition_gives_the_same_rows(scorer: Scorer, scn: Scenario,
                                                 data: st.DataObject) -> None:
    everyone = sorted({e["resident_id"] for e in scn.events}
                      | {c["resident_id"] for c in scn.consents})
    part = data.draw(st.sets(st.sampled_from(everyone))) if everyone else set()
    rest = [r for r in everyone if r not in part]
    full_data, history = scn.data(), scn.history()
    try:
        whole = scorer(full_data, history, scn.as_of)
    except ScsError:
        return
    merged: dict[str, Any] = {}
    merged_events: dict[int, Any] = {}
    for group in (sorted(part), rest):
        piece = scorer(full_data.for_residents(group), history, scn.as_of)
        merged.update(piece.residents)
        merged_events.update(piece.events)
    assert dict(sorted(merged.items())) == whole.residents
    assert merged_events == whole.events


# --- The printed failing case is a valid case file -------------------------------------


@settings(PROFILE, max_examples=15)
@given(scn=scenarios())
def test_a_printed_case_reads_back_and_passes(scn: Scenario, tmp_path_factory: Any) -> None:
    from test_engine_cases import check, load_case

    want = outcome(run_reference, scn)
    path = tmp_path_factory.mktemp("case") / "found.toml"
    path.write_text(scn.case_toml("round trip", want), encoding="utf-8")
    case = load_case(path)
    check(case, lambda: reference_score(case.data, case.history, case.as_of))
