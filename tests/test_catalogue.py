"""The catalogue format: validation messages, bundled catalogues, round trips, history."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import tomli_w

from scs_cli.core.errors import CatalogueError
from scs_cli.rules.model import CatalogueHistory, adoption_problems, cents, from_cents
from scs_cli.rules.schema import (
    bundled_catalogue_paths,
    load_catalogue,
    parse_catalogue,
    to_document,
)

BAD = Path(__file__).parent / "bad_catalogues"
BAD_FILES = sorted(BAD.glob("*.toml"))


def expected_lines(path: Path) -> list[str]:
    return ["error: " + line.removeprefix("# expect: ")
            for line in path.read_text().splitlines() if line.startswith("# expect: ")]


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_each_broken_catalogue_gets_its_exact_lines(scs, path, monkeypatch):
    monkeypatch.chdir(BAD)
    result = scs("catalogue", "validate", path.name)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == expected_lines(path)
    assert "Traceback" not in result.output


def test_validate_reports_every_file_and_fails_if_any_is_bad(scs, tiny_catalogue, monkeypatch):
    monkeypatch.chdir(BAD)
    result = scs("catalogue", "validate", str(tiny_catalogue), "bad-duration.toml")
    assert result.exit_code == 1
    assert "tiny.toml: ok (Exampleton 1, 5 indicators)" in result.stderr
    assert "error: bad-duration.toml: indicators.x.expires_after:" in result.stderr


def test_missing_file_is_one_line(scs):
    result = scs("catalogue", "validate", "nowhere.toml")
    assert result.exit_code == 1
    assert result.stderr == ("error: nowhere.toml: no such file (check the path; "
                             "`scs catalogue list` shows the bundled catalogues)\n")


def test_a_name_close_to_bundled_ones_suggests_them(scs):
    result = scs("catalogue", "show", "rongcheng")
    assert result.exit_code == 1
    assert result.stderr == ("error: rongcheng: no such file (did you mean rongcheng-2016 or "
                             "rongcheng-2021? `scs catalogue list` shows the bundled "
                             "catalogues)\n")
    typo = scs("catalogue", "show", "suinig-2010")
    assert "(did you mean suining-2010? " in typo.stderr


def test_usage_error_exits_2(scs):
    assert scs("catalogue", "validate").exit_code == 2


BUNDLED = bundled_catalogue_paths()


def test_catalogues_are_bundled():
    assert len(BUNDLED) >= 8


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_catalogue_validates_and_cites_sources(path):
    cat = load_catalogue(path)
    assert cat.sources, "a bundled catalogue cites its sources"
    assert cat.notes, "a bundled catalogue says what is missing or assumed"
    for ind in cat.indicators.values():
        assert ind.source, f"{path.name}: indicator {ind.id} cites where its value was published"
        assert ind.behavior, f"{path.name}: indicator {ind.id} has a behaviour code"


def test_bundled_catalogues_validate_through_the_cli(scs):
    result = scs("catalogue", "validate", *BUNDLED)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("path", [*BUNDLED, Path(__file__).parent.parent / "examples/tiny.toml"],
                         ids=lambda p: p.stem)
def test_parse_write_parse_gives_an_equal_catalogue(path):
    original = load_catalogue(path)
    text = tomli_w.dumps(to_document(original))
    assert parse_catalogue(text) == original


def test_points_are_exact_decimals(tiny_catalogue):
    cat = load_catalogue(tiny_catalogue)
    assert cat.indicators["blood-donation"].points == Decimal("10.5")
    assert cents(Decimal("10.5")) == 1050
    assert str(from_cents(100000)) == "1000"
    assert str(from_cents(98750)) == "987.5"
    assert str(from_cents(-5)) == "-0.05"


def test_tier_for_and_band(tiny_catalogue):
    cat = load_catalogue(tiny_catalogue)
    assert cat.tier_for(Decimal(1000)) == "A"
    assert cat.tier_for(Decimal("999.99")) == "B"
    assert cat.tier_for(Decimal(-5)) == "C"
    assert cat.tier_band("B") == (Decimal(900), Decimal(1000))


def test_in_force_picks_latest_effective_not_after(tiny_catalogue):
    v1 = load_catalogue(tiny_catalogue)
    v2 = replace(v1, version="2", effective_from=date(2022, 7, 1))
    history = CatalogueHistory([v2, v1])
    assert history.in_force(date(2019, 12, 31)) is None
    assert history.in_force(date(2020, 1, 1)) is v1
    assert history.in_force(date(2022, 6, 30)) is v1
    assert history.in_force(date(2022, 7, 1)) is v2


def test_adoption_refuses_other_city_same_date_and_lost_tier(tiny_catalogue):
    v1 = load_catalogue(tiny_catalogue)
    other = replace(v1, city=replace(v1.city, id="elsewhere"))
    assert "belongs to 'exampleton'" in adoption_problems([v1], other)[0]
    same_day = replace(v1, version="1b")
    assert "already takes effect on 2020-01-01" in adoption_problems([v1], same_day)[0]
    no_c = replace(v1, version="2", effective_from=date(2021, 1, 1), tiers=v1.tiers[:2])
    assert any("caps tiers at 'C'" in p for p in adoption_problems([v1], no_c))
    assert adoption_problems([v1], replace(v1, version="2", effective_from=date(2021, 1, 1))) == []


def test_show_json_reads_back(scs, tiny_catalogue):
    result = scs("catalogue", "show", tiny_catalogue, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["indicators"]["blood-donation"]["points"] == 10.5
    assert doc["catalogue"]["effective_from"] == "2020-01-01"


def test_show_table_names_tiers_and_unbased_rules(scs, tiny_catalogue):
    result = scs("catalogue", "show", tiny_catalogue)
    assert result.exit_code == 0
    assert "red-light" in result.stdout and "Tiers (best first)" in result.stdout
    assert "1/month" in result.stdout


def test_show_names_nested_categories_and_reward_bands(scs):
    suining = scs("catalogue", "show", "suining-2010", "--format", "json")
    assert suining.exit_code == 0
    doc = json.loads(suining.stdout)
    assert doc["categories"]["traffic-violations"]["parent"] == "social-management"
    assert doc["indicators"]["red-light"]["category"] == "traffic-violations"
    fuzhou = scs("catalogue", "show", "fuzhou-2018", "--format", "json")
    assert json.loads(fuzhou.stdout)["rewards"]["transit-discount-10"]["max_score"] == 696.99
    table = scs("catalogue", "show", "fuzhou-2018")
    assert "696.99" in table.stdout  # the band, in the condition column
    markdown = scs("catalogue", "show", "fuzhou-2018", "--format", "markdown").stdout
    assert "very-poor or better, score ≤ 696.99" in markdown
    suining_md = scs("catalogue", "show", "suining-2010", "--format", "markdown").stdout
    assert "| `traffic-violations` | Traffic violations | `social-management` | 50 |" in suining_md


def test_list_shows_every_bundled_catalogue(scs):
    result = scs("catalogue", "list", "--format", "json")
    assert result.exit_code == 0
    names = {row["name"] for row in json.loads(result.stdout)}
    assert names == {p.stem for p in BUNDLED}


def test_catalogue_error_lists_all_problems():
    with pytest.raises(CatalogueError) as info:
        parse_catalogue("schema = 2\n", "x.toml")
    lines = info.value.lines()
    assert lines[0] == "x.toml: schema: unsupported schema 2 (this version of scs reads schema = 1)"
    assert len(lines) == 5  # schema, city, catalogue, scale, tiers
