"""`scs catalogue test`: catalogue cases (SPEC §2), and every bundled case file in CI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import CATALOGUES

from scs_cli.rules.schema import bundled_catalogue_paths
from scs_cli.scoring.cases import CasesError, load_cases, run_case_files

CASE_FILES = sorted(CATALOGUES.glob("*.cases.toml"))


def test_every_bundled_catalogue_ships_a_case_file() -> None:
    names = {p.stem for p in bundled_catalogue_paths()}
    assert names and {p.name.removesuffix(".cases.toml") for p in CASE_FILES} == names


def test_case_files_are_not_taken_for_catalogues() -> None:
    assert not [p for p in bundled_catalogue_paths() if p.name.endswith(".cases.toml")]


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.name)
def test_bundled_cases_pass_or_are_disputed(path: Path) -> None:
    for outcome in run_case_files([path]):
        assert outcome.result in ("pass", "disputed"), outcome.record()
        assert outcome.source.strip()
        if outcome.result == "disputed":
            assert outcome.disputed


def test_every_worked_example_is_a_case() -> None:
    """Each example of the sources' list (1-31) is named by a case."""
    named = {int(n) for p in CASE_FILES
             for n in re.findall(r"# examples? (\d+)(?: and (\d+))?", p.read_text())
             for n in n if n}
    assert set(range(1, 32)) - named == set()


CATALOGUE = """schema = 1
[city]
id = "town"
name = "Town"
[catalogue]
version = "1"
effective_from = 2020-01-01
[scale]
base = 100
[[tiers]]
name = "good"
min = 100
[[tiers]]
name = "bad"
[indicators.litter]
name = "Littering"
points = -5
[indicators.help]
name = "Helping"
points = 1
limit = { count = 1, per = "month" }
[indicators.other]
name = "Other"
points_range = [-10, -1]
[sanctions.watch]
name = "Watched"
max_tier = "bad"
"""


def write(tmp_path: Path, cases: str) -> Path:
    (tmp_path / "town.toml").write_text(CATALOGUE, encoding="utf-8")
    path = tmp_path / "town.cases.toml"
    path.write_text('catalogue = "town.toml"\n' + cases, encoding="utf-8")
    return path


CASE = """
[[case]]
name = "litter"
source = "Town rules, art. 1"
as_of = 2020-06-30
events = [{{ indicator = "litter", occurred_on = 2020-02-01 }}]
expect = {expect}
"""


def test_a_right_expectation_passes(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, CASE.format(
        expect='{ score = 95, tier = "bad", sanctions = ["watch"], '
               'events = { 1 = { status = "counted", points = -5 } } }'))
    result = scs("catalogue", "test", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert record["result"] == "pass" and record["name"] == "litter"
    assert record["got"] == {"score": 95, "tier": "bad", "sanctions": ["watch"],
                             "events": {"1": {"status": "counted", "points": -5}}}
    assert "1 case: 1 pass" in result.stderr


def test_a_wrong_expectation_fails_with_expected_and_got(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, CASE.format(expect='{ score = 90, tier = "bad" }'))
    result = scs("catalogue", "test", path, "--format", "json")
    assert result.exit_code == 1
    [record] = json.loads(result.stdout)
    assert record["result"] == "fail"
    assert record["expected"] == {"score": 90, "tier": "bad"}
    assert record["got"] == {"score": 95, "tier": "bad"}
    table = scs("catalogue", "test", path)
    assert table.exit_code == 1 and "fail" in table.stdout and "score = 95" in table.stdout


def test_a_disputed_case_is_reported_not_failed(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, CASE.format(expect="{ score = 90 }")
                 + 'disputed = "another source says -10"\n')
    result = scs("catalogue", "test", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert record["result"] == "disputed" and record["disputed"] == "another source says -10"


def test_limits_voids_lifts_and_objections_reach_the_kernel(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[case]]
name = "records"
source = "Town rules"
as_of = 2020-06-30
events = [
    { indicator = "help", occurred_on = 2020-02-01 },
    { indicator = "help", occurred_on = 2020-02-02 },
    { indicator = "litter", occurred_on = 2020-02-03 },
    { indicator = "litter", occurred_on = 2020-02-04 },
    { indicator = "litter", occurred_on = 2020-02-05 },
    { indicator = "other", occurred_on = 2020-02-06, points = -7.5 },
]
voids = [{ event = 3, reason = "recorded twice" }]
lifts = [{ event = 4, on = 2020-03-01 }]
objections = [{ event = 5, filed_on = 2020-02-10 }]
[case.expect]
score = 93.5
[case.expect.events]
2 = { status = "over-limit" }
3 = { status = "voided" }
4 = { status = "lifted" }
5 = { status = "suspended" }
6 = { points = -7.5 }
""")
    [outcome] = run_case_files([path])
    assert outcome.result == "pass", outcome.record()


def test_a_resident_with_no_records_has_the_base(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[case]]
name = "clean"
source = "Town rules"
as_of = 2020-06-30
expect = { score = 100, tier = "good", sanctions = [] }
""")
    [outcome] = run_case_files([path])
    assert outcome.result == "pass", outcome.record()


def test_points_outside_a_range_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[case]]
name = "too-much"
source = "Town rules"
as_of = 2020-06-30
events = [{ indicator = "other", occurred_on = 2020-02-06, points = -11 }]
expect = { score = 89 }
""")
    [outcome] = run_case_files([path])
    assert outcome.result == "fail"
    assert "-11 is outside the range of indicator 'other'" in (outcome.reason or "")


LISTED = CATALOGUE + """[lists.defaulters]
name = "Defaulters"
kind = "black"
entry = { indicators = ["other"] }
repair_after = "3m"
[sanctions.no-flights]
name = "No flights"
on_list = "defaulters"
lasts = "1y"
"""


@pytest.mark.parametrize(("repairs", "lists", "sanctions"), [
    ("", ["defaulters"], ["no-flights", "watch"]),
    # a repair granted once repair_after has passed takes the resident off the list
    ('repairs = [{ list = "defaulters", filed_on = 2020-05-01, decided_on = 2020-05-10, '
     'granted = true }]\n', [], ["watch"]),
    # a refused one leaves them on it
    ('repairs = [{ list = "defaulters", filed_on = 2020-05-01, decided_on = 2020-05-10, '
     'granted = false }]\n', ["defaulters"], ["no-flights", "watch"]),
])
def test_list_cases_run_through_the_listings(scs, tmp_path: Path, repairs: str,  # type: ignore[no-untyped-def]
                                             lists: list[str], sanctions: list[str]) -> None:
    (tmp_path / "town.toml").write_text(LISTED, encoding="utf-8")
    path = tmp_path / "town.cases.toml"
    path.write_text('catalogue = "town.toml"\n[[case]]\nname = "listed"\nsource = "s"\n'
                    'as_of = 2020-06-01\n'
                    'events = [{ indicator = "other", occurred_on = 2020-01-10, points = -10 }]\n'
                    + repairs + f"expect = {{ score = 90, lists = {json.dumps(lists)}, "
                    f"sanctions = {json.dumps(sanctions)} }}\n", encoding="utf-8")
    result = scs("catalogue", "test", path, "--format", "json")
    [record] = json.loads(result.stdout)
    assert (record["result"], result.exit_code) == ("pass", 0), record
    # and a wrong expectation about the list fails
    path.write_text(path.read_text().replace(f"lists = {json.dumps(lists)}", "lists = [\"x\"]"))
    result = scs("catalogue", "test", path, "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)[0]["result"] == "fail"


@pytest.mark.parametrize(("cases", "where", "what"), [
    ('[[case]]\nname = "a"\nsource = "s"\nas_of = "2020-01-01"\nexpect = { score = 1 }\n',
     "case 'a'.as_of", "must be a TOML date"),
    ('[[case]]\nname = "a"\nsource = "s"\nas_of = 2020-01-01\nexpect = { scroe = 1 }\n',
     "case 'a'.expect.scroe", "unknown key"),
    ('[[case]]\nname = "a"\nsource = "s"\nas_of = 2020-01-01\n'
     'events = [{ indicator = "nope", occurred_on = 2020-01-02 }]\nexpect = { score = 1 }\n',
     "case 'a'.events[0].indicator", "'nope' is not an indicator"),
    ('[[case]]\nname = "a"\nsource = "s"\nas_of = 2020-01-01\n'
     'voids = [{ event = 2 }]\nexpect = { score = 1 }\n',
     "case 'a'.voids[0].event", "not an event of this case"),
    ('[[case]]\nname = "a"\nas_of = 2020-01-01\nexpect = { score = 1 }\n',
     "case 'a'.source", "missing"),
    ('[[case]]\nname = "a"\nsource = "s"\nas_of = 2020-01-01\n'
     'events = [{ resident_id = "x", indicator = "litter", occurred_on = 2020-01-02 },'
     ' { resident_id = "y", indicator = "litter", occurred_on = 2020-01-02 }]\n'
     'expect = { score = 1 }\n', "case 'a'.events", "a case concerns one resident"),
])
def test_a_bad_case_file_is_one_line_per_problem(scs, tmp_path: Path, cases: str,  # type: ignore[no-untyped-def]
                                                 where: str, what: str) -> None:
    path = write(tmp_path, cases)
    with pytest.raises(CasesError) as caught:
        load_cases(path)
    [line] = caught.value.lines()
    assert line.startswith(f"{path}: {where}: ") and what in line
    result = scs("catalogue", "test", path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert f"{path}: {where}: " in result.stderr


def test_an_unknown_catalogue_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.cases.toml"
    path.write_text('catalogue = "no-such-city"\n', encoding="utf-8")
    with pytest.raises(CasesError, match=r"x\.cases\.toml: catalogue: catalogue 'no-such-city'"):
        load_cases(path)


def test_versions_are_adopted_in_order() -> None:
    cases = load_cases(CATALOGUES / "rongcheng-2021.cases.toml")
    assert [v.version for v in cases.history] == ["2016", "2021"]


def test_bundled_runs_every_shipped_case_file(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "test", "--bundled", "--format", "json")
    assert result.exit_code == 0, result.stderr
    files = {Path(r["file"]).name for r in json.loads(result.stdout)}
    assert files == {p.name for p in CASE_FILES if load_cases(p).cases}
    assert scs("catalogue", "test").exit_code == 1


def test_a_bundled_name_runs_its_shipped_cases(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "test", "jinan-dogs-2017", "--format", "json")
    assert result.exit_code == 0, result.stderr
    names = [r["name"] for r in json.loads(result.stdout)]
    assert names == [c.name for c in load_cases(CATALOGUES / "jinan-dogs-2017.cases.toml").cases]
