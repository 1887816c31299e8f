"""The report's fast paths (issue 23) give the figures of the straightforward computation."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scs_cli.report.figures import tallied
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import load_catalogue

TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny.toml"
CAT = load_catalogue(TINY)
HISTORY = CatalogueHistory([CAT])
NAMES = sorted(CAT.indicators)

events = st.lists(st.tuples(st.integers(0, 12), st.sampled_from(NAMES),
                            st.integers(-500, 500)), max_size=80)


def counting(rows: list[tuple[int, str, int]], who: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame({"indicator": [r[1] for r in rows],
                         "version": [CAT.version] * len(rows),
                         "points": [r[2] for r in rows], "who": [r[0] for r in rows]},
                        schema={"indicator": pl.String, "version": pl.String,
                                "points": pl.Int64, "who": who})


@given(events, st.booleans())
def test_distinct_residents_by_runs_equal_the_hashed_count(rows, in_kernel_order
                                                          ):  # type: ignore[no-untyped-def]
    """Resident numbers (Int32) take the run-counting path; 64-bit ids the hashing one.
    In kernel order (resident, indicator) or not, both give the same figures, and the
    figures a plain Python count gives."""
    if in_kernel_order:
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
    fast = tallied(counting(rows, pl.Int32), HISTORY)
    slow = tallied(counting(rows, pl.Int64), HISTORY)
    assert fast.residents == slow.residents
    assert fast.category_residents == slow.category_residents
    order = ["indicator", "version"]
    assert fast.per_rule.sort(order).equals(slow.per_rule.sort(order))
    assert fast.total == slow.total == len(rows)
    want = {n: len({w for w, i, _ in rows if i == n}) for n in {i for _, i, _ in rows}}
    assert fast.residents == want
    category = {n: CAT.indicators[n].category for n in NAMES}
    want_cat = {c: len({w for w, i, _ in rows if category[i] == c})
                for c in {category[i] for _, i, _ in rows}}
    assert fast.category_residents == want_cat


@pytest.mark.parametrize("who", [pl.Int32, pl.Int64])
def test_no_counting_events_count_no_one(who):  # type: ignore[no-untyped-def]
    got = tallied(counting([], who), HISTORY)
    assert got.residents == {} and got.category_residents == {} and got.total == 0


@pytest.mark.parametrize("public", [False, True])
def test_data_quality_beside_the_scoring_is_the_section_computed_after(
        tmp_path, public):  # type: ignore[no-untyped-def]
    """`read_city(…, public=…)` computes the data-quality section in a thread while it
    scores; it is the section `data_quality` computes from the finished input."""
    from datetime import UTC, datetime

    from test_report import AS_OF, make_ledger, save_run

    from scs_cli.report.batch import read_city
    from scs_cli.report.figures import data_quality

    ledger = make_ledger(tmp_path)
    save_run(ledger, AS_OF.replace(day=1))
    inp = read_city(ledger, AS_OF, datetime.now(UTC), public=public)
    assert inp.quality is not None and inp.quality[0] == public
    got = inp.quality[1].result()
    assert got == data_quality(inp, public)
    assert got["by_agency"]  # a section with figures in it, not an empty one
    assert read_city(ledger, AS_OF, datetime.now(UTC)).quality is None
