"""The bundled catalogues' worked examples about lists (SPEC §2 "Catalogue cases", §4a).

Until `scs catalogue test` runs every case, this checks the cases whose `expect` names
`lists`, through the same kernel and listings as `scs score` and `scs lists`. In them
`sanctions` are the measures in force: sanctions by tier and those on a list the resident
is on.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import pytest

from scs_cli.core.frames import LedgerData
from scs_cli.engine.kernel import score
from scs_cli.engine.listings import listings_of
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path
from scs_cli.rules.taxonomy import bundled_dir


def list_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in sorted(bundled_dir().glob("*.cases.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        for case in doc.get("case", []):
            if "lists" in case.get("expect", {}):
                found.append((f"{path.stem}:{case['name']}", doc, case))
    return found


@pytest.mark.parametrize("name,doc,case", list_cases(), ids=[c[0] for c in list_cases()])
def test_list_case(name: str, doc: dict[str, Any], case: dict[str, Any]) -> None:
    history = CatalogueHistory([load_catalogue(resolve_catalogue_path(doc["catalogue"]))])
    events = [{"event_id": i + 1, "resident_id": e.get("resident_id", "r1"),
               "indicator": e["indicator"], "occurred_on": e["occurred_on"]}
              for i, e in enumerate(case["events"])]
    lifts = [{"event_id": x["event"], "lifted_on": x["on"]} for x in case.get("lifts", [])]
    data = LedgerData.build(events=events, lifts=lifts)
    as_of, expect = case["as_of"], case["expect"]
    [row] = score(data, history, as_of).residents.to_dicts()
    listed = listings_of(data, history, as_of)
    assert sorted(listed["list"].to_list()) == sorted(expect["lists"]), name
    if "score" in expect:
        assert Decimal(row["score"]) / 100 == Decimal(expect["score"]), name
    if "tier" in expect:
        assert row["tier"] == expect["tier"], name
    if "sanctions" in expect:
        measures = [m for ms in listed["measures"].to_list() for m in ms]
        assert sorted(row["sanctions"] + measures) == sorted(expect["sanctions"]), name


def test_the_worked_examples_24_25_26_30_are_cases() -> None:
    sources = " ".join(str(c["source"]) for _, _, c in list_cases())
    for words in ("two years", "150", "below 650", "180 days"):
        assert words in sources
