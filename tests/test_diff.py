"""diff: two versions of one city, every kind of change; two cities refused."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from scs_cli.audit.diff import DifferentCitiesError, diff, diff_markdown
from scs_cli.rules.schema import parse_catalogue

OLD = """schema = 1
[city]
id = "exampleton"
name = "Exampleton"
[catalogue]
version = "2016"
effective_from = 2016-01-01
[scale]
base = 1000
[[tiers]]
name = "A"
min = 960
[[tiers]]
name = "B"
min = 850
[[tiers]]
name = "D"

[categories.traffic]
name = "Traffic"
max_deduction = 100

[categories.old-cat]
name = "Dropped category"

[indicators.red-light]
name = "Running a red light"
category = "traffic"
behavior = "traffic.red-light"
points = -50
expires_after = "2y"

[indicators.superstition]
name = "Superstition"
points = -10

[indicators.same]
name = "Unchanged"
points = 5

[rewards.discount]
name = "Transit discount"
min_tier = "A"

[rewards.library]
name = "Library"
min_tier = "B"

[sanctions.review]
name = "Enhanced review"
max_tier = "D"
"""

NEW = """schema = 1
[city]
id = "exampleton"
name = "Exampleton"
[catalogue]
version = "2021"
effective_from = 2021-06-18
mode = "rewards-only"
[scale]
base = 1000
min = 0
[[tiers]]
name = "AAA"
min = 1050
[[tiers]]
name = "A"
min = 950
[[tiers]]
name = "D"

[categories.traffic]
name = "Traffic"
max_deduction = 80

[categories.finance]
name = "Finance"

[indicators.red-light]
name = "Running a red light"
category = "traffic"
behavior = "traffic.red-light"
points_range = [-30, -10]
expires_after = "3y"
basis = "Road Traffic Safety Law, art. 90"

[indicators.loan-default]
name = "Loan default"
category = "finance"
behavior = "finance.loan-default"
points = -20
expires_after = "5y"

[indicators.same]
name = "Unchanged"
points = 5

[rewards.discount]
name = "Transit discount"
min_tier = "AAA"
clean_for = "1y"

[rewards.fast-track]
name = "Fast track"
min_tier = "A"

[policy]
participation = "consent"
objection_deadline = "11d"
"""


@pytest.fixture
def d():  # type: ignore[no-untyped-def]
    return diff(parse_catalogue(OLD), parse_catalogue(NEW))


def _changes(d):  # type: ignore[no-untyped-def]
    return {(c.section, c.id, c.change): {f.field: (f.old, f.new) for f in c.fields}
            for c in d.changes}


def test_every_kind_of_change(d) -> None:  # type: ignore[no-untyped-def]
    ch = _changes(d)
    assert set(ch) == {
        ("catalogue", None, "changed"), ("scale", None, "changed"),
        ("tiers", "AAA", "added"), ("tiers", "B", "removed"), ("tiers", "A", "changed"),
        ("categories", "finance", "added"), ("categories", "old-cat", "removed"),
        ("categories", "traffic", "changed"),
        ("indicators", "loan-default", "added"), ("indicators", "superstition", "removed"),
        ("indicators", "red-light", "changed"),
        ("rewards", "fast-track", "added"), ("rewards", "library", "removed"),
        ("rewards", "discount", "changed"),
        ("sanctions", "review", "removed"),
        ("policy", None, "changed"),
    }
    assert ch[("catalogue", None, "changed")] == {
        "version": ("2016", "2021"),
        "effective_from": (date(2016, 1, 1), date(2021, 6, 18)),
        "mode": ("rewards-and-penalties", "rewards-only")}
    assert ch[("scale", None, "changed")] == {"min": (None, 0)}
    assert ch[("tiers", "A", "changed")] == {"min": (960, 950)}
    assert ch[("categories", "traffic", "changed")] == {"max_deduction": (100, 80)}
    assert ch[("indicators", "red-light", "changed")] == {
        "points": (Decimal(-50), None),
        "points_range": (None, [Decimal(-30), Decimal(-10)]),
        "basis": (None, "Road Traffic Safety Law, art. 90"),
        "expires_after": ("2y", "3y")}
    assert ch[("rewards", "discount", "changed")] == {"min_tier": ("A", "AAA"),
                                                      "clean_for": (None, "1y")}
    assert ch[("policy", None, "changed")] == {"objection_deadline": (None, "11d"),
                                               "participation": ("all", "consent")}
    added = ch[("indicators", "loan-default", "added")]
    assert added["points"] == (None, Decimal(-20))
    assert "name" not in added  # an added item's name is its title, not a change
    # nothing for what did not change
    assert not any(c.id == "same" for c in d.changes)


def test_order_is_added_removed_changed_within_each_section(d) -> None:  # type: ignore[no-untyped-def]
    assert [(c.id, c.change) for c in d.section("indicators")] == [
        ("loan-default", "added"), ("superstition", "removed"), ("red-light", "changed")]
    assert d.summary()["indicators"] == {"added": 1, "removed": 1, "not-in-sources": 0,
                                              "changed": 1}


def test_identical_versions_have_no_changes() -> None:
    cat = parse_catalogue(OLD)
    d = diff(cat, cat)
    assert d.changes == ()
    assert "No differences." in diff_markdown(d)


def test_renamed_indicator_shows_the_name_change() -> None:
    new = OLD.replace('name = "Unchanged"', 'name = "Renamed"')
    d = diff(parse_catalogue(OLD), parse_catalogue(new))
    assert [(c.id, [(f.field, f.old, f.new) for f in c.fields]) for c in d.changes] == [
        ("same", [("name", "Unchanged", "Renamed")])]


def test_two_cities_are_refused() -> None:
    other = OLD.replace('id = "exampleton"', 'id = "elsewhere"')
    with pytest.raises(DifferentCitiesError):
        diff(parse_catalogue(OLD), parse_catalogue(other))


# ------------------------------------------------------------------------------ CLI


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.toml", tmp_path / "new.toml"
    old.write_text(OLD)
    new.write_text(NEW)
    return old, new


def test_cli_refuses_two_cities_with_one_line(scs, files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.toml"
    other.write_text(OLD.replace('id = "exampleton"', 'id = "elsewhere"'))
    result = scs("catalogue", "diff", files[0], other)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {other}: is a catalogue of city 'elsewhere', but {files[0]} is of "
        "'exampleton'; diff compares two versions of one city's catalogue (use `scs "
        "catalogue compare` to put different cities side by side)\n")


def test_cli_json(scs, files) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "diff", *files, "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"city", "old", "new", "changes"}
    assert data["old"] == {"version": "2016", "effective_from": "2016-01-01"}
    assert set(data["changes"][0]) == {"section", "id", "name", "change", "fields"}
    red = next(c for c in data["changes"] if c["id"] == "red-light")
    assert {"field": "points_range", "old": None, "new": [-30, -10]} in red["fields"]


def test_cli_csv_one_row_per_field(scs, files) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "diff", *files, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["section", "id", "name", "change", "field", "old", "new"]
    assert {"section": "indicators", "id": "red-light", "name": "Running a red light",
            "change": "changed", "field": "expires_after", "old": "2y", "new": "3y"} in rows
    assert {"section": "scale", "id": "", "name": "", "change": "changed", "field": "min",
            "old": "", "new": "0"} in rows


def test_cli_markdown_and_table(scs, files) -> None:  # type: ignore[no-untyped-def]
    md = scs("catalogue", "diff", *files, "-f", "markdown").stdout
    assert md.startswith("**Exampleton**: version 2016 (in force from 2016-01-01) → 2021")
    assert "- **changed** `red-light` Running a red light: points: -50 → (none); " \
        "points_range: (none) → [-30, -10];" in md
    assert "- **removed** `superstition` Superstition: points: -10\n" in md
    assert "- mode: rewards-and-penalties → rewards-only\n" in md
    table = scs("catalogue", "diff", *files)
    assert table.exit_code == 0
    assert "superstition" in table.stdout


def test_a_nested_cap_and_a_reward_band_are_changes() -> None:
    new = NEW.replace('[categories.finance]\n', '[categories.finance]\nparent = "traffic"\n')
    new = new.replace('[rewards.fast-track]\nname = "Fast track"\nmin_tier = "A"\n',
                      '[rewards.fast-track]\nname = "Fast track"\nmin_tier = "A"\n'
                      'max_score = 1049.99\n')
    changes = _changes(diff(parse_catalogue(NEW), parse_catalogue(new)))
    assert changes == {("categories", "finance", "changed"): {"parent": (None, "traffic")},
                       ("rewards", "fast-track", "changed"): {
                           "max_score": (None, Decimal("1049.99"))}}


def test_diff_into_a_file_stays_readable(scs) -> None:  # type: ignore[no-untyped-def]
    """Piped or redirected, no line holds long notes and sources side by side: each change
    is a block, each value whole, wrapped between words near 100 columns."""
    result = scs("catalogue", "diff", "rongcheng-2016", "rongcheng-2021")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 200
    assert "catalogue: catalogue: changed" in lines
    assert "    version: 2016 → 2021" in lines
    flat = " ".join(result.stdout.split())
    assert "effective_from: 2016-01-05 → 2021-06-18" in flat
