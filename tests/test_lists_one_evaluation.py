"""A red list comes from the caller's one evaluation (issue 21's speed bar): the kernel
tests it beside the rewards, and `listings` takes that evaluation instead of a second."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from scs_cli.engine import listings as listings_module
from scs_cli.engine.kernel import evaluate, prepare
from scs_cli.engine.listings import listings
from scs_cli.ledger.store import Ledger
from tests.test_lists import ledger  # noqa: F401  (the fixture: examples/lists.toml)

AS_OF = date(2021, 5, 10)


def _prepared(path: Path):  # type: ignore[no-untyped-def]
    with Ledger.open(path) as opened:
        data, history = opened.scoring_data(), opened.history()
    return data, prepare(data, history)


def test_the_evaluation_carries_the_red_list_and_reports_the_same_rewards(
        ledger: Path) -> None:  # noqa: F811
    data, prep = _prepared(ledger)
    plain = evaluate(prep, AS_OF, detail=False)
    with_lists = evaluate(prep, AS_OF, detail=False, lists=True)
    assert plain.red is None
    # scores, tiers, rewards and sanctions are untouched: no red list leaks into rewards
    assert with_lists.residents.equals(plain.residents)
    assert with_lists.red is not None
    # r3 (two volunteering events, no negative one) is a model resident; r1 and r2 are not
    assert with_lists.red.to_dicts() == [{"resident_id": "r3", "list": "model-residents"}]
    found = listings(prep, data.repairs, AS_OF)
    red = found.filter(pl.col("list") == "model-residents")
    assert red["resident_id"].to_list() == ["r3"]


def test_listings_take_the_callers_evaluation_and_evaluate_no_more(
        ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    data, prep = _prepared(ledger)
    alone = listings(prep, data.repairs, AS_OF)
    scored = evaluate(prep, AS_OF, detail=False, lists=True)

    def second(*_: object, **__: object) -> None:
        raise AssertionError("listings evaluated a second time")

    monkeypatch.setattr(listings_module, "evaluate", second)
    assert listings(prep, data.repairs, AS_OF, scored=scored).equals(alone)
    # an evaluation without the red lists, or at another date, is not taken
    with pytest.raises(AssertionError, match="second time"):
        listings(prep, data.repairs, AS_OF, scored=evaluate(prep, AS_OF, detail=False))
    with pytest.raises(AssertionError, match="second time"):
        listings(prep, data.repairs, AS_OF,
                 scored=evaluate(prep, date(2021, 6, 1), detail=False, lists=True))
