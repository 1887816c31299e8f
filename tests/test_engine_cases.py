"""SPEC §4 scoring cases as data: every tests/cases/*.toml is run through both scorers.

Each case file holds one or more catalogue versions, a tiny ledger, an as-of date and the
expected result worked out by hand from the spec (see docs/testing.md for the format).
The reference scorer (tests/reference_scorer.py) must pass every case now; the fast
engine must pass them too once `scs_cli/engine/kernel.py` exists.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reference_listings import (
    RefListing,
    engine_listings_view,
    reference_listings,
)
from reference_scorer import ReferenceResult, engine_view, reference_score

from scs_cli.core.errors import ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import score
from scs_cli.engine.listings import listings_of
from scs_cli.rules.model import Catalogue, CatalogueHistory, cents
from scs_cli.rules.schema import build_catalogue, parse_catalogue

CASES = Path(__file__).resolve().parent / "cases"
CASE_KEYS = {"description", "as_of", "catalogues", "events", "voids", "lifts", "objections",
             "consents", "expected", "expected_events", "expected_error", "repairs",
             "expected_listings"}


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    as_of: date
    history: CatalogueHistory
    data: LedgerData
    expected: dict[str, dict[str, Any]] | None
    expected_events: dict[int, dict[str, Any]]
    expected_error: list[str] | None  # parts the error message must contain
    # SPEC §4a: who is listed on the as-of date (None: the case says nothing of lists)
    expected_listings: list[RefListing] | None = None


def load_case(path: Path) -> Case:
    """Read one case file; a malformed case fails loudly with its file name."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    unknown = set(doc) - CASE_KEYS
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    versions: list[Catalogue] = []
    for i, cat in enumerate(doc["catalogues"]):
        where = f"{path.name} catalogues[{i}]"
        # Either the catalogue's TOML text or the catalogue's own tables, inline.
        versions.append(parse_catalogue(cat["text"], where) if set(cat) == {"text"}
                        else build_catalogue(cat, where))
    events = [
        {
            "event_id": e.get("event_id", i + 1), "resident_id": e["resident_id"],
            "indicator": e["indicator"], "occurred_on": e["occurred_on"],
            "points": cents(Decimal(e["points"])) if "points" in e else None,
            "agency": e.get("agency"),
        }
        for i, e in enumerate(doc.get("events", []))
    ]
    objections = [
        {"objection_id": o.get("objection_id", i + 1), "event_id": o["event_id"],
         "filed_on": o["filed_on"], "decided_on": o.get("decided_on"),
         "outcome": o.get("outcome")}
        for i, o in enumerate(doc.get("objections", []))
    ]
    consents = [
        {"resident_id": c["resident_id"], "on": c["on"], "consent": c.get("consent", True),
         "seq": c.get("seq", i + 1)}
        for i, c in enumerate(doc.get("consents", []))
    ]
    repairs = [
        {"repair_id": r.get("repair_id", i + 1), "resident_id": r["resident_id"],
         "list_id": r["list"], "filed_on": r["filed_on"], "decided_on": r.get("decided_on"),
         "outcome": None if r.get("decided_on") is None
         else ("granted" if r.get("granted", True) else "refused")}
        for i, r in enumerate(doc.get("repairs", []))
    ]
    data = LedgerData.build(events=events, voids=doc.get("voids", []),
                            lifts=doc.get("lifts", []), objections=objections,
                            consents=consents, repairs=repairs)
    listings = doc.get("expected_listings")
    expected = doc.get("expected")
    assert (expected is None) != ("expected_error" not in doc), \
        f"{path.name}: give exactly one of [expected] and expected_error"
    return Case(
        name=path.stem, description=doc["description"], as_of=doc["as_of"],
        history=CatalogueHistory(versions), data=data, expected=expected,
        expected_events={int(k): v for k, v in doc.get("expected_events", {}).items()},
        expected_error=[doc["expected_error"]] if isinstance(doc.get("expected_error"), str)
        else doc.get("expected_error"),
        expected_listings=None if listings is None else [
            RefListing(x["list"], x["resident_id"], x["since"], x.get("until"),
                       tuple(x.get("entered_by", ())), x.get("repair"),
                       tuple(x.get("measures", ()))) for x in listings],
    )


def case_paths() -> list[Path]:
    return sorted(CASES.glob("*.toml"))


def check(case: Case, run: Callable[[], ReferenceResult]) -> None:
    """Compare one scorer's result with what the case expects, naming the case on failure."""
    label = f"{case.name}: {case.description}"
    if case.expected_error is not None:
        with pytest.raises(ScsError) as caught:
            run()
        for part in case.expected_error:
            assert part in str(caught.value), f"{label}: error {caught.value}"
        return
    result = run()
    assert case.expected is not None
    assert set(result.residents) == set(case.expected), f"{label}: residents scored"
    assert list(result.residents) == sorted(result.residents), f"{label}: resident order"
    for rid, want in case.expected.items():
        got = result.residents[rid]
        assert got.score == Decimal(want["score"]), f"{label}: {rid} score"
        assert got.tier == want["tier"], f"{label}: {rid} tier"
        assert list(got.rewards) == want.get("rewards", []), f"{label}: {rid} rewards"
        assert list(got.sanctions) == want.get("sanctions", []), f"{label}: {rid} sanctions"
    for event_id, want in case.expected_events.items():
        assert event_id in result.events, f"{label}: event {event_id} missing"
        got_event = result.events[event_id]
        assert got_event.status == want["status"], f"{label}: event {event_id} status"
        if "points" in want:
            assert got_event.points == Decimal(want["points"]), \
                f"{label}: event {event_id} points"
        if "capped_by" in want:
            assert got_event.capped_by == want["capped_by"], \
                f"{label}: event {event_id} capped_by"
        if "nominal" in want:
            assert got_event.nominal == Decimal(want["nominal"]), \
                f"{label}: event {event_id} nominal"


@pytest.fixture(params=case_paths(), ids=lambda p: p.stem)
def case(request: pytest.FixtureRequest) -> Case:
    return load_case(request.param)


def test_there_are_enough_cases() -> None:
    assert len(case_paths()) >= 40


def test_reference_scorer(case: Case) -> None:
    check(case, lambda: reference_score(case.data, case.history, case.as_of))


def test_engine(case: Case) -> None:
    check(case, lambda: engine_view(score(case.data, case.history, case.as_of)))


def list_case_paths() -> list[Path]:
    """The cases that state listings (the others say nothing of lists)."""
    return [p for p in case_paths() if "expected_listings" in p.read_text(encoding="utf-8")]


@pytest.fixture(params=list_case_paths(), ids=lambda p: p.stem)
def list_case(request: pytest.FixtureRequest) -> Case:
    loaded = load_case(request.param)
    assert loaded.expected_listings is not None
    return loaded


def test_reference_listings(list_case: Case) -> None:
    case = list_case
    got = reference_listings(case.data, case.history, case.as_of)
    assert got == case.expected_listings, f"{case.name}: {case.description}"


def test_engine_listings(list_case: Case) -> None:
    case = list_case
    got = engine_listings_view(listings_of(case.data, case.history, case.as_of))
    assert got == case.expected_listings, f"{case.name}: {case.description}"
