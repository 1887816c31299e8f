"""compare: three invented cities on different bases, aligned by behaviour code."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from scs_cli.audit.compare import compare, comparison_markdown, largest_deduction
from scs_cli.rules.schema import parse_catalogue

HEAD = """schema = 1
[city]
id = "{id}"
name = "{name}"
[catalogue]
version = "1"
effective_from = 2020-01-01
{extra}
[scale]
base = {base}
min = 0
[[tiers]]
name = "A"
min = {base}
[[tiers]]
name = "B"
"""

# Alpha: 1000 points, a capped category, an uncoded indicator.
ALPHA = HEAD.format(id="alpha", name="Alpha", base=1000, extra="published_indicators = 10") + """
[categories.fin]
name = "Finance"
max_deduction = 60

[indicators.loan]
name = "Loan default"
category = "fin"
behavior = "finance.loan-default"
points = -20
basis = "b"
expires_after = "5y"
limit = { count = 1, per = "month" }

[indicators.tax]
name = "Tax arrears"
category = "fin"
behavior = "tax.arrears"
points = -30
max_deduction = 40
basis = "b"

[indicators.red-light]
name = "Red light"
behavior = "traffic.red-light"
points = -50
expires_after = "2y"

[indicators.blood]
name = "Donating blood"
behavior = "civic.blood-donation"
points = 10

[indicators.uncoded]
name = "Other"
points = -5
"""

# Beta: 12 points (Jinan-like), escalation.
BETA = HEAD.format(id="beta", name="Beta", base=12, extra="") + """
[indicators.dog]
name = "Dog off leash"
behavior = "pets.leash-offence"
escalation = [-3, -6, -12]

[indicators.loan]
name = "Loan default"
behavior = "finance.loan-default"
points = -3

[indicators.red-light]
name = "Red light"
behavior = "traffic.red-light"
points = -1
"""

# Gamma: 500 points, a range, and two indicators with one behaviour code.
GAMMA = HEAD.format(id="gamma", name="Gamma", base=500, extra="") + """
[indicators.loan]
name = "Loan default"
behavior = "finance.loan-default"
points_range = [-50, -10]

[indicators.blood]
name = "Donating blood"
behavior = "civic.blood-donation"
points = 5

[indicators.red-light-minor]
name = "Red light (minor)"
behavior = "traffic.red-light"
points = -10

[indicators.red-light-serious]
name = "Red light (serious)"
behavior = "traffic.red-light"
points = -25
expires_after = "1y"
"""


@pytest.fixture
def cities():  # type: ignore[no-untyped-def]
    return [parse_catalogue(t) for t in (ALPHA, BETA, GAMMA)]


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    paths = []
    for name, text in (("alpha", ALPHA), ("beta", BETA), ("gamma", GAMMA)):
        p = tmp_path / f"{name}.toml"
        p.write_text(text)
        paths.append(p)
    return paths


def test_behaviours_are_aligned_across_three_cities(cities) -> None:  # type: ignore[no-untyped-def]
    comp = compare(cities)
    rows = {b.behaviour: b for b in comp.behaviours}
    assert set(rows) == {"finance.loan-default", "traffic.red-light", "civic.blood-donation"}
    loan = rows["finance.loan-default"]
    assert list(loan.rules) == ["alpha 1", "beta 1", "gamma 1"]
    assert [r.points for r in loan.rules.values()] == ["-20", "-3", "-50 to -10"]
    assert [r.headline for r in loan.rules.values()] == [-20, -3, -50]
    assert loan.rules["alpha 1"].expires == "5y"
    assert loan.rules["alpha 1"].limit == "1/month"
    assert loan.rules["beta 1"].expires == "none set"  # no expiry given is not "never"
    # two Gamma indicators share the red-light code: one cell, the severer value heads it
    red = rows["traffic.red-light"].rules["gamma 1"]
    assert red.indicators == ("red-light-minor", "red-light-serious")
    assert red.points == "-10; -25"
    assert red.headline == -25
    assert red.expires == "none set; 1y"
    # Beta has no blood donation
    assert set(rows["civic.blood-donation"].rules) == {"alpha 1", "gamma 1"}
    assert rows["civic.blood-donation"].kind == "other"
    assert rows["civic.blood-donation"].description == "Donating blood"


def test_widest_disagreement_relative_to_base_comes_first(cities) -> None:  # type: ignore[no-untyped-def]
    comp = compare(cities)
    assert [b.behaviour for b in comp.behaviours] == [
        "finance.loan-default", "traffic.red-light", "civic.blood-donation"]
    loan, red, blood = comp.behaviours
    # loan: -2% (alpha), -25% (beta), -10% (gamma) → 23 percentage points of base
    assert loan.disagreement == Decimal(23)
    assert loan.spread == Decimal(47)
    # red light: -5%, -8.33%, -5% → 3.33 pp, though its absolute spread (49) is the widest
    assert red.disagreement.quantize(Decimal("0.01")) == Decimal("3.33")
    assert red.spread == Decimal(49)
    assert blood.disagreement == 0


def test_only_in_lists_unshared_behaviours_and_uncoded_indicators(cities) -> None:  # type: ignore[no-untyped-def]
    comp = compare(cities)
    assert [(o.behaviour, o.indicator) for o in comp.only_in["alpha 1"]] == [
        ("tax.arrears", "tax"), (None, "uncoded")]
    assert [(o.behaviour, o.points) for o in comp.only_in["beta 1"]] == [
        ("pets.leash-offence", "-3, -6, -12 (then repeats)")]
    assert comp.only_in["gamma 1"] == ()


def test_overview_figures(cities) -> None:  # type: ignore[no-untyped-def]
    alpha, beta, gamma = compare(cities).cities
    assert (alpha.positive, alpha.negative, alpha.indicators) == (1, 4, 5)
    assert alpha.coverage == Decimal("0.5")
    assert [(t.name, t.min, t.relative) for t in alpha.tiers] == [
        ("A", 1000, 0), ("B", None, None)]
    # one of each: finance 20 + min(30, cap 40) = 50 ≤ category cap 60; red light 50, other 5
    assert alpha.deduction_one_each == 105
    assert alpha.deduction_max is None  # red light and "other" repeat without any cap
    assert alpha.uncapped == ("red-light", "uncoded")
    assert beta.deduction_one_each == 16  # worst escalation step 12 + 3 + 1
    assert beta.floor_loss == 12
    assert gamma.coverage is None


def test_largest_deduction_is_bounded_when_every_penalty_is_capped() -> None:
    cat = parse_catalogue(HEAD.format(id="d", name="D", base=100, extra="") + """
[categories.c]
name = "C"
max_deduction = 25
[indicators.a]
name = "A"
category = "c"
points = -10
[indicators.b]
name = "B"
category = "c"
points = -30
[indicators.e]
name = "E"
points = -4
max_deduction = 8
[indicators.p]
name = "P"
points = 7
""")
    assert largest_deduction(cat) == (Decimal(25 + 4), Decimal(25 + 8), ())


def test_json_shape(scs, files) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "compare", *files, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"cities", "behaviours", "only_in", "lint"}
    assert [c["label"] for c in data["cities"]] == ["alpha 1", "beta 1", "gamma 1"]
    assert set(data["cities"][0]) == {
        "label", "city_id", "city", "province", "version", "effective_from", "mode",
        "participation", "base", "min", "max", "tiers", "indicators", "positive", "negative",
        "categories", "largest_deduction", "rewards", "sanctions", "published_indicators",
        "coverage", "coverage_indicators", "assumed", "lists"}
    assert data["cities"][0]["largest_deduction"] == {
        "one_each": 105, "repeated": None, "uncapped": ["red-light", "uncoded"], "floor": 1000}
    first = data["behaviours"][0]
    assert set(first) == {"behaviour", "description", "kind", "disagreement", "spread",
                          "cities"}
    assert set(first["cities"]["gamma 1"]) == {"indicators", "points", "headline", "relative",
                                               "expires", "limit", "caps", "assumed"}
    assert first["cities"]["beta 1"]["relative"] == -25
    assert set(data["only_in"]) == {"alpha 1", "beta 1", "gamma 1"}
    assert set(data["lint"]["alpha 1"]) == {"error", "warning", "info"}


def test_csv_has_one_row_per_shared_behaviour(scs, files) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "compare", *files, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["behaviour"] for r in rows] == [
        "finance.loan-default", "traffic.red-light", "civic.blood-donation"]
    assert rows[0]["disagreement"] == "23"
    assert rows[0]["beta 1 points"] == "-3"
    assert rows[0]["alpha 1 limit"] == "1/month"
    assert rows[2]["beta 1 points"] == ""  # Beta does not score blood donation


def test_markdown_and_table(scs, files, cities) -> None:  # type: ignore[no-untyped-def]
    md = comparison_markdown(compare(cities), max_behaviours=1)
    assert "| base | 1000 | 12 | 500 |" in md
    assert "(widest disagreement first; 1 of 3)" in md
    assert "| finance.loan-default — Failure to repay a bank loan when due | 23 pp (47 pts) |" \
        in md
    result = scs("catalogue", "compare", *files, "-f", "markdown", "--top", "1")
    assert result.stdout == md
    table = scs("catalogue", "compare", *files)
    assert table.exit_code == 0
    assert "Only in one catalogue" in table.stdout


def test_compare_needs_two_catalogues(scs, files) -> None:  # type: ignore[no-untyped-def]
    """A wrong count of arguments is a usage error (exit 2), as click's own are."""
    result = scs("catalogue", "compare", files[0])
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: Invalid value for CATALOGUE...: compare needs at "
                                  "least two catalogues: give two or more files or bundled "
                                  "names, or --bundled\n")
    assert result.stdout == ""


def test_compare_refuses_the_same_version_twice(scs, files) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "compare", files[0], files[0])
    assert result.exit_code == 1
    assert result.stderr == ("error: catalogue 'alpha 1' is given twice "
                             "(give each city's version once)\n")


def test_compare_bad_format_is_a_usage_error(scs, files) -> None:  # type: ignore[no-untyped-def]
    assert scs("catalogue", "compare", *files, "-f", "jsonl").exit_code == 2


def test_largest_deduction_holds_a_nested_cap_inside_its_parent() -> None:
    # Suining's shape: an item of 50 inside a budget of 60; the indicators' own caps first.
    cat = parse_catalogue(HEAD.format(id="n", name="N", base=100, extra="") + """
[categories.budget]
name = "Budget"
max_deduction = 60
[categories.item]
name = "Item"
parent = "budget"
max_deduction = 50
[indicators.a]
name = "A"
category = "item"
points = -40
[indicators.b]
name = "B"
category = "item"
points = -40
[indicators.c]
name = "C"
category = "budget"
points = -30
max_deduction = 30
[indicators.d]
name = "D"
category = "item"
points = -5
max_deduction = 5
""")
    # one of each: item holds 40 + 40 + 5 at 50, budget holds 50 + 30 at 60; repeated: the
    # item's uncapped a and b are held by the item cap (50), then the budget's 60
    assert largest_deduction(cat) == (Decimal(60), Decimal(60), ())
    overview = compare([cat, parse_catalogue(HEAD.format(id="m", name="M", base=100,
                                                         extra=""))])
    text = comparison_markdown(overview)
    assert "item in budget (max -50)" in text
