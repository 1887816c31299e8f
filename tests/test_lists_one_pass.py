"""Every black list's listings come from one pass over (list, resident) keys (issue 21's
speed bar: one filter, one merge, one grouping for all the lists); lists too many for their
keys to pack beside a day are taken in batches, with the same rows."""

from __future__ import annotations

from typing import Any

import pytest
from reference_listings import engine_listings_view, reference_listings

from scs_cli.engine import listings as listings_module
from scs_cli.engine.listings import listings_of
from tests.test_engine_cases import CASES, load_case

# two black lists entered by one indicator, ids out of date order, a repair, timed measures
CASE = CASES / "l-two-lists-ids-out-of-date-order.toml"


def test_lists_batched_when_their_keys_would_not_pack_give_the_same_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    case = load_case(CASE)
    together = listings_of(case.data, case.history, case.as_of)
    passes: list[list[str]] = []
    one_pass = listings_module._black

    def counted(prep: Any, scheme: Any, black: Any, *rest: Any) -> Any:
        passes.append([item.id for item in black])
        return one_pass(prep, scheme, black, *rest)

    monkeypatch.setattr(listings_module, "_black", counted)
    assert listings_of(case.data, case.history, case.as_of).equals(together)
    assert passes == [["court", "joint"]]  # both lists in one pass
    passes.clear()
    monkeypatch.setattr(listings_module, "_KEYS", 1)  # no two lists' keys pack together
    apart = listings_of(case.data, case.history, case.as_of)
    assert passes == [["court"], ["joint"]]
    assert apart.equals(together)
    assert engine_listings_view(apart) == case.expected_listings
    assert engine_listings_view(apart) == reference_listings(case.data, case.history,
                                                             case.as_of)
