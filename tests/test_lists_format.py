"""Lists beside the score, the format (SPEC §2): reading, writing back, show, compare, diff."""

from __future__ import annotations

import json
from pathlib import Path

import tomli_w

from scs_cli.audit.compare import compare
from scs_cli.audit.diff import diff
from scs_cli.rules.durations import Duration
from scs_cli.rules.schema import load_catalogue, parse_catalogue, to_document

ROOT = Path(__file__).resolve().parent.parent
LISTS = ROOT / "examples" / "lists.toml"


def test_lists_and_measures_read_into_the_model() -> None:
    cat = load_catalogue(LISTS)
    court = cat.lists["court-defaulters"]
    assert (court.kind, court.severity, court.published) == ("black", "serious", True)
    assert court.entry.indicators == ("judgment-debtor",)
    assert court.lasts == Duration.parse("2y") and court.repair_after == Duration.parse("3m")
    assert court.ends_with_event is True
    traffic = cat.lists["traffic-offenders"]
    assert (traffic.entry.count, traffic.entry.within) == (3, Duration.parse("1y"))
    assert traffic.ends_with_event is False and traffic.published is False
    red = cat.lists["model-residents"]
    assert red.entry.by_tier and red.entry.min_tier == "AAA"
    air = cat.sanctions["no-air-travel"]
    assert (air.max_tier, air.on_list, air.agency, air.lasts) == (
        None, "court-defaulters", "civil-aviation", Duration.parse("1y"))
    assert set(cat.list_sanctions) == {"no-air-travel", "no-rail-travel"}
    assert cat.tier_sanctions == {}


def test_a_catalogue_with_lists_writes_back_equal() -> None:
    cat = load_catalogue(LISTS)
    again = parse_catalogue(tomli_w.dumps(to_document(cat)))
    assert again.lists == cat.lists and again.sanctions == cat.sanctions


def test_measures_on_a_list_are_allowed_in_a_rewards_only_catalogue() -> None:
    text = LISTS.read_text().replace('effective_from = 2020-01-01',
                                     'effective_from = 2020-01-01\nmode = "rewards-only"')
    cat = parse_catalogue(text)
    assert cat.mode == "rewards-only" and len(cat.list_sanctions) == 2


def test_show_prints_lists_and_joint_measures(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "show", LISTS, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    assert "## Lists" in result.stdout
    assert "`court-defaulters`" in result.stdout and "off after 2y" in result.stdout
    assert "repair from 3m after entry" in result.stdout
    assert "while on list court-defaulters, at most 1y" in result.stdout


def test_compare_says_which_cities_keep_which_lists_and_for_how_long() -> None:
    a = load_catalogue(LISTS)
    b = load_catalogue(ROOT / "examples" / "tiny.toml")
    found = {o.city: o.lists for o in compare([a, b]).cities}
    assert found["Listville"][0] == ("court-defaulters (black, 2y or until the entering "
                                     "event stops counting, repair after 3m)")
    assert found["Exampleton"] == ()


def test_diff_names_a_changed_list() -> None:
    old = load_catalogue(LISTS)
    new = parse_catalogue(LISTS.read_text().replace('lasts = "2y"', 'lasts = "3y"')
                          .replace('version = "1"', 'version = "2"'))
    changes = diff(old, new).section("lists")
    assert [(c.id, c.change) for c in changes] == [("court-defaulters", "changed")]
    assert [(f.field, f.old, f.new) for f in changes[0].fields] == [("lasts", "2y", "3y")]


def test_lint_json_names_the_list_checks(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", LISTS, "--format", "json")
    codes = {f["code"] for f in json.loads(result.stdout)}
    assert "SCS701" in codes and "SCS702" not in codes
