"""Lint: every registered check fires on its own case file and nowhere else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scs_cli.audit.lint import CHECKS, PROHIBITED_WORDS, _longer_than_five_years, lint, lint_files
from scs_cli.rules.durations import Duration
from scs_cli.rules.schema import load_catalogue, parse_catalogue

CASES = Path(__file__).parent / "lint_cases"
ROOT = Path(__file__).resolve().parent.parent
CLEAN = CASES / "clean.toml"


def expected(path: Path) -> set[str | None]:
    """The indicators a case file says its code must name (`# expect: a b`)."""
    line = next(x for x in path.read_text().splitlines() if x.startswith("# expect:"))
    return {None if w == "(catalogue)" else w for w in line.split(":", 1)[1].split()}


def test_every_registered_check_has_a_case_file() -> None:
    files = {p.stem for p in CASES.glob("SCS*.toml")}
    assert files == set(CHECKS)


@pytest.mark.parametrize("code", sorted(CHECKS))
def test_check_fires_on_its_case_and_only_it(code: str) -> None:
    path = CASES / f"{code}.toml"
    findings = lint(load_catalogue(path))
    assert {f.code for f in findings} == {code}
    assert {f.indicator for f in findings} == expected(path)
    check = CHECKS[code]
    assert all(f.severity == check.severity and f.name == check.name for f in findings)


def test_clean_catalogue_has_no_findings() -> None:
    assert lint(load_catalogue(CLEAN)) == []


def test_every_code_is_documented_with_its_severity() -> None:
    doc = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    for c in CHECKS.values():
        heading = re.search(rf"^### {c.code} {re.escape(c.name)}\n(.*?)(?=^### |\Z)", doc,
                            re.M | re.S)
        assert heading, f"{c.code} {c.name} has no section in docs/lint.md"
        assert f"**Severity:** {c.severity}" in heading.group(1)
        assert "**Source" in heading.group(1)


def test_codes_are_stable_and_severities_valid() -> None:
    assert all(re.fullmatch(r"SCS\d{3}", code) for code in CHECKS)
    assert {c.severity for c in CHECKS.values()} <= {"error", "warning", "info"}
    names = [c.name for c in CHECKS.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("text,hit", [
    ("Religious belief declared", True),
    ("Conducting activities of superstition", True),
    ("Ethnicity recorded", True),
    ("Genetic test", True),
    ("Fingerprint on file", True),
    ("Blood type", True),
    ("History of disease", True),
    ("Body shape", True),
    ("Donating blood", False),
    ("General contract breach", False),
    ("Acting in good faith", False),
    ("Medical volunteering", False),
])
def test_prohibited_words(text: str, hit: bool) -> None:
    assert any(rx.search(text) for _, rx in PROHIBITED_WORDS) is hit


@pytest.mark.parametrize("text,longer", [
    ("5y", False), ("6y", True), ("60m", False), ("61m", True), ("1827d", False),
    ("1828d", True), ("261w", False), ("262w", True),
])
def test_five_year_limit_holds_for_any_start_date(text: str, longer: bool) -> None:
    assert _longer_than_five_years(Duration.parse(text)) is longer


def _one(indicator: str, extra: str = "", policy: str = 'objection_deadline = "15d"') -> str:
    return f"""schema = 1
[city]
id = "x"
name = "X"
[catalogue]
version = "1"
effective_from = 2020-01-01
[scale]
base = 1000
[[tiers]]
name = "A"
[indicators.i]
name = "Something"
{indicator}
{extra}
[policy]
{policy}
[office]
name = "X credit office"
"""


def test_party_membership_code_is_prohibited_data_not_party_only() -> None:
    cat = parse_catalogue(_one('behavior = "party.membership"\npoints = 5'))
    assert [f.code for f in lint(cat)] == ["SCS101"]


def test_zero_point_tier_cap_counts_as_a_penalty() -> None:
    # Rongcheng's petitioning rule: no points, but the tier is capped; it must be judged.
    cat = parse_catalogue(_one('behavior = "public-order.petitioning"\npoints = 0'))
    assert lint(cat) == []
    cat = parse_catalogue(_one('behavior = "public-order.petitioning"\npoints = 0\n'
                               'tier_cap = "A"'))
    assert [f.code for f in lint(cat)] == ["SCS202", "SCS301", "SCS307", "SCS402"]


@pytest.mark.parametrize("behavior", ["crime.theft", "crime.criminal-conviction",
                                      "public-order.administrative-penalty"])
def test_judgments_and_administrative_penalties_are_not_scope_creep(behavior: str) -> None:
    # The 2021 National Directory treats them as public credit information.
    cat = parse_catalogue(_one(f'behavior = "{behavior}"\npoints = -5\nbasis = "Criminal Law"'
                               '\nexpires_after = "2y"'))
    assert [f.code for f in lint(cat)] == []


def test_red_lights_are_an_error_citing_the_ndrc_2020_guidance() -> None:
    cat = parse_catalogue(_one('behavior = "traffic.red-light"\npoints = -5\nbasis = "Road '
                               'Traffic Safety Law"\nexpires_after = "2y"'))
    [finding] = lint(cat)
    assert (finding.code, finding.severity) == ("SCS307", "error")
    assert "NDRC's guidance of 2020" in finding.message and "red lights" in finding.message


def test_findings_word_their_sources_truly() -> None:
    path = CASES / "SCS401.toml"
    [sanction] = [f for f in lint(load_catalogue(path)) if f.code == "SCS401"]
    assert "MERICS" not in sanction.message and "July 2019" in sanction.message
    [cap] = lint(load_catalogue(CASES / "SCS402.toml"))[:1]
    assert "in most municipal SCS rules" in cap.message and " only " not in cap.message


REACH = """schema = 1
[city]
id = "x"
name = "X"
[catalogue]
version = "1"
effective_from = 2020-01-01
[scale]
base = 500
max = 1000
[[tiers]]
name = "top"
min = 700
[[tiers]]
name = "low"
[categories.good]
name = "Good deeds"
max_award = {cap}
[indicators.deed]
name = "Volunteer service"
category = "good"
behavior = "civic.volunteering"
points = 10
[rewards.bus]
name = "Bus discount"
min_tier = "low"
min_score = 650
[policy]
objection_deadline = "15d"
"""


@pytest.mark.parametrize(("cap", "codes"), [
    (100, ["SCS601", "SCS602"]),  # 500 + 100 = 600: neither 700 nor 650
    (160, ["SCS601"]),            # 660: the reward, not the tier
    (200, []),                    # 700 reaches both
])
def test_unreachable_tiers_and_rewards_account_for_category_caps(cap: int,
                                                                 codes: list[str]) -> None:
    from scs_cli.audit.reach import highest_score

    cat = parse_catalogue(REACH.format(cap=cap))
    assert highest_score(cat) == 500 + cap
    assert [f.code for f in lint(cat) if f.code in ("SCS601", "SCS602")] == codes


def test_no_bundled_catalogue_has_an_unreachable_tier_or_reward() -> None:
    report = lint_files([p for p in sorted((ROOT / "catalogues").glob("*.toml"))
                         if p.stem != "taxonomy" and not p.name.endswith(".cases.toml")])
    found = [(lf.file, f.code) for lf in report.files for f in lf.findings
             if f.code in ("SCS601", "SCS602")]
    assert found == []


def test_narrow_range_is_not_wide_discretion() -> None:
    base = 'behavior = "finance.loan-default"\nbasis = "b"\nexpires_after = "1y"\n'
    assert lint(parse_catalogue(_one(base + "points_range = [-20, -10]"))) == []
    assert [f.code for f in lint(parse_catalogue(_one(base + "points_range = [-21, -10]")))] \
        == ["SCS304"]


def test_objection_deadline_of_20_days_is_fine_21_is_not() -> None:
    ind = 'points = 5'
    assert lint(parse_catalogue(_one(ind, policy='objection_deadline = "20d"'))) == []
    assert [f.code for f in lint(parse_catalogue(_one(ind, policy='objection_deadline = "3w"')))
            ] == ["SCS502"]


def test_findings_are_ordered_by_code_then_catalogue_order() -> None:
    findings = lint(load_catalogue(ROOT / "examples" / "tiny.toml"))
    keys = [f.code for f in findings]
    assert keys == sorted(keys)
    never = [f.indicator for f in findings if f.code == "SCS202"]
    assert never == ["other", "dog", "defaulter"]  # the file's order


# ------------------------------------------------------------------------------ CLI


def test_lint_json_shape_exact_keys(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CASES / "SCS302.toml", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 1
    assert set(data[0]) == {"code", "severity", "indicator", "message"}
    assert data[0]["code"] == "SCS302"
    assert data[0]["severity"] == "warning"
    assert data[0]["indicator"] == "garbage"
    assert "scope creep" in data[0]["message"]


def test_lint_json_of_several_files_adds_file(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CASES / "SCS401.toml", CASES / "SCS302.toml",
                 "-f", "json")
    data = json.loads(result.stdout)
    assert [set(d) for d in data] == [{"code", "severity", "indicator", "message", "file"}] * 2
    assert [(Path(d["file"]).name, d["indicator"]) for d in data] == [
        ("SCS401.toml", None), ("SCS302.toml", "garbage")]


def test_lint_clean_json_is_empty_list(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CLEAN, "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("case,code", [("SCS101", 1), ("SCS201", 1), ("SCS103", 1),
                                       ("SCS302", 0), ("SCS901", 0), ("clean", 0)])
def test_lint_exit_status_is_1_only_with_an_error(scs, case: str, code: int) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CASES / f"{case}.toml")
    assert result.exit_code == code


def test_lint_exit_1_when_any_of_several_files_has_an_error(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CLEAN, CASES / "SCS101.toml", "-f", "csv")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "file,code,severity,indicator,message"
    assert len(lines) == 4  # SCS101 three times, nothing for the clean file
    assert "3 errors, 0 warnings, 0 info" in result.stderr


def test_lint_table_groups_by_file(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CLEAN, CASES / "SCS303.toml")
    assert result.exit_code == 0
    assert "clean.toml — Cleanville 1: 0 errors, 0 warnings, 0 info: nothing found" \
        in result.stdout
    assert "SCS303.toml — Lintville SCS303: 0 errors, 1 warning, 0 info" in result.stdout
    assert "SCS303 unpublished-rule" in result.stdout


def test_lint_markdown_summary(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint", CLEAN, CASES / "SCS201.toml", "-f", "markdown")
    assert result.stdout.splitlines()[:4] == [
        "| catalogue | errors | warnings | info | findings |",
        "|---|---|---|---|---|",
        "| Cleanville 1 | 0 | 0 | 0 | none |",
        "| Lintville SCS201 | 3 | 0 | 0 | `SCS201 retention-over-5-years` ×3 |",
    ]


def test_lint_invalid_catalogue_is_one_error_line(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text(_one('points = 5\nbehavior = "astrology.horoscope"'))
    result = scs("catalogue", "lint", bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {bad}: indicators.i.behavior: unknown behaviour domain 'astrology' "
        "(domains are: " + ", ".join(sorted(_domains())) + ")"]


def _domains() -> list[str]:
    from scs_cli.rules.taxonomy import default_taxonomy

    return list(default_taxonomy().domains)


def test_lint_files_reports_problems_of_every_bad_file(tmp_path: Path) -> None:
    from scs_cli.core.errors import CatalogueError

    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("schema = 1\n")
    b.write_text("not toml = = \n")
    with pytest.raises(CatalogueError) as exc:
        lint_files([a, b])
    files = {p.file for p in exc.value.problems}
    assert files == {str(a), str(b)}


def test_lint_skips_a_taxonomy_file_with_a_note(scs) -> None:  # type: ignore[no-untyped-def]
    taxonomy = ROOT / "catalogues" / "taxonomy.toml"
    result = scs("catalogue", "lint", taxonomy, CLEAN, "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert f"{taxonomy}: skipped (a behaviour taxonomy, not a catalogue)" in result.stderr


def test_lint_without_catalogues_is_refused(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "lint")
    assert result.exit_code == 1
    assert result.stderr == ("error: no catalogue given (give catalogue files or bundled "
                             "names, or --bundled)\n")


def test_lint_bundled_names_every_bundled_catalogue(scs) -> None:  # type: ignore[no-untyped-def]
    from scs_cli.rules.schema import bundled_catalogue_paths

    stems = [p.stem for p in bundled_catalogue_paths()]
    result = scs("catalogue", "lint", "--bundled", "-f", "csv")
    files = {line.split(",", 1)[0] for line in result.stdout.splitlines()[1:]}
    assert files <= set(stems)
    has_error = any(",error," in line for line in result.stdout.splitlines()[1:])
    assert result.exit_code == (1 if has_error else 0)
    assert f"{len(stems)} catalogue" in result.stderr
