"""Compare and diff that do not overstate: one version per city, caps in the disagreement,
coverage of specific published rules, partial versions, unpublished rules in explain."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from scs_cli.audit.compare import compare
from scs_cli.audit.diff import diff, diff_markdown
from scs_cli.core.errors import UsageError
from scs_cli.core.frames import LedgerData
from scs_cli.explain.explain import explain
from scs_cli.rules.model import CatalogueHistory
from scs_cli.rules.schema import load_catalogue, parse_catalogue
from scs_cli.rules.taxonomy import bundled_dir


def bundled(name: str):  # type: ignore[no-untyped-def]
    return load_catalogue(bundled_dir() / f"{name}.toml")


def test_compare_aligns_one_version_per_city_unless_versions(scs) -> None:  # type: ignore[no-untyped-def]
    cats = [bundled(n) for n in ("rongcheng-2016", "rongcheng-2021", "suining-2010")]
    comp = compare(cats)
    assert comp.labels == ("rongcheng 2021", "suining 2010")
    assert comp.set_aside == ("rongcheng 2016",)
    assert compare(cats, versions=True).labels == (
        "rongcheng 2016", "rongcheng 2021", "suining 2010")
    result = scs("catalogue", "compare", "--bundled", "--format", "json")
    labels = [c["label"] for c in json.loads(result.stdout)["cities"]]
    assert "rongcheng 2021" in labels and "rongcheng 2016" not in labels
    assert "rongcheng 2016: set aside" in result.stderr


def test_two_versions_of_one_city_alone_point_to_versions_or_diff() -> None:
    with pytest.raises(UsageError, match="versions of one city.*--versions"):
        compare([bundled("rongcheng-2016"), bundled("rongcheng-2021")])


def test_disagreement_counts_score_caps() -> None:
    comp = compare([bundled("nanyang"), bundled("wuxi-2019")])
    [row] = [b for b in comp.behaviours if b.behaviour == "judicial.joint-punishment-blacklist"]
    assert row.rules["nanyang undated"].headline == Decimal(-350)   # 500 set to 150
    assert row.rules["wuxi 2019"].headline == Decimal(-2)           # 651 kept below 650
    assert row.disagreement is not None and row.disagreement > 69


def test_a_tier_cap_counts_as_the_drop_to_the_top_of_the_capped_tier() -> None:
    comp = compare([bundled("shijiazhuang-2020"), bundled("hangzhou-2018")])
    [row] = [b for b in comp.behaviours if b.behaviour == "judicial.judgment-defaulter"]
    assert row.rules["shijiazhuang 2020"].headline == Decimal("-150.01")  # below 350
    assert row.rules["hangzhou 2018"].headline == 0  # 500 is already in the lowest tier


def test_coverage_counts_neither_secret_rules_nor_generic_rows() -> None:
    fuzhou = next(c for c in compare([bundled("fuzhou-2018"), bundled("xiamen-2023")]).cities
                  if c.city_id == "fuzhou")
    # positive-record (generic) and legal-offence (generic and unpublished) are not counted
    assert (fuzhou.indicators, fuzhou.specific) == (3, 1)
    assert fuzhou.coverage == Decimal(1) / Decimal(68)


def test_diff_says_not_in_the_new_versions_sources_for_a_partial_version() -> None:
    old, new = bundled("rongcheng-2016"), bundled("rongcheng-2021")
    assert new.partial
    d = diff(old, new)
    unseen = {c.id for c in d.changes if c.change == "not-in-sources"}
    assert "superstition" in unseen and not [c for c in d.changes if c.change == "removed"]
    assert "**not in the new version's sources** `superstition`" in diff_markdown(d)
    from dataclasses import replace
    whole = diff(old, replace(new, partial=False))
    assert "superstition" in {c.id for c in whole.changes if c.change == "removed"}


def test_partial_is_validated_and_written_back() -> None:
    text = ('schema = 1\n[city]\nid = "x"\nname = "X"\n[catalogue]\nversion = "1"\n'
            'effective_from = 2020-01-01\npartial = {}\n[scale]\nbase = 10\n'
            '[[tiers]]\nname = "A"\n')
    assert parse_catalogue(text.format("true")).partial is True
    assert parse_catalogue(text.format("false")).partial is False
    from scs_cli.core.errors import CatalogueError
    with pytest.raises(CatalogueError, match="catalogue.partial"):
        parse_catalogue(text.format('"yes"'))


def test_explain_says_a_rule_is_unpublished() -> None:
    data = LedgerData.build(events=[
        {"event_id": 1, "resident_id": "r1", "indicator": "legal-offence",
         "occurred_on": date(2019, 1, 5), "points": -5000},
    ])
    x = explain(data, CatalogueHistory([bundled("fuzhou-2018")]), "r1", date(2019, 6, 30))
    assert "an unpublished rule (published = false)" in x.events[0].reason
