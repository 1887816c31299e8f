"""The letter a resident can answer: the office, the objection date, plain words, the
not-scored letter, change notices dated right, overdue objections, office templates.

HTML read as text (no browser); test_statement_browser.py reads the printed PDFs.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLES, Invoker
from test_statement import AS_OF, build_ledger, letter_of, saved_run, text_of

from scs_cli.core.templates import TemplateError, Templates
from scs_cli.core.text import day, escape, num, signed
from scs_cli.statement.letter import read_changed, read_letters
from scs_cli.statement.render import letter_html

OFFICE = """
[office]
name = "Exampleton Credit Office"
address = "1 Example Road, Exampleton"
contact = "tel. 0000-1234, weekdays 9-17"
objection_window = "30d"
"""
KEY_PATHS = re.compile(r"tiers\[|\.expires_after|expires_after|indicators\.|scale\.base|"
                       r"\bcounted\b|\bover-limit\b|\bcapped\b|None\b|\b[a-z]+_[a-z]+\b")


def catalogue(tmp_path: Path, extra: str = OFFICE, replace: tuple[str, str] = ("", "")
              ) -> Path:
    path = tmp_path / "office.toml"
    text = (EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
    if replace[0]:
        assert replace[0] in text
        text = text.replace(*replace)
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture
def office_ledger(scs: Invoker, tmp_path: Path) -> Path:
    return build_ledger(scs, tmp_path, catalogue(tmp_path))


def test_the_office_and_the_date_to_object_by_are_on_the_letter(office_ledger: Path) -> None:
    page = letter_of(office_ledger, "res-a")
    text = text_of(page)
    assert "Exampleton Credit Office" in text
    assert "1 Example Road, Exampleton" in text and "tel. 0000-1234" in text
    # the statement's date (2024-06-30) + objection_window (30 days)
    assert "You may object to any record on this statement until 2024-07-30" in text
    assert "at any time" not in text
    assert "Tell Exampleton Credit Office, in writing or in person" in text


def test_without_a_window_an_objection_may_be_made_at_any_time(scs: Invoker,
                                                                tmp_path: Path) -> None:
    path = catalogue(tmp_path, '\n[office]\nname = "Exampleton Credit Office"\n')
    text = text_of(letter_of(build_ledger(scs, tmp_path, path), "res-a"))
    assert "An objection may be made at any time." in text
    assert "until 20" not in text  # no date is given


def test_without_an_office_statement_warns_once(scs: Invoker, tmp_path: Path) -> None:
    ledger = build_ledger(scs, tmp_path)
    done = scs("statement", ledger, "res-a", "res-b", "res-c", "--as-of", AS_OF,
               "--output", tmp_path / "out", "--no-pdf")
    assert done.exit_code == 0, done.stderr
    assert done.stderr.count("names no [office]") == 1
    assert "Exampleton, Nowhere credit office" in text_of(
        (tmp_path / "out" / "res-a.html").read_text(encoding="utf-8"))
    lint = scs("catalogue", "lint", EXAMPLES / "tiny.toml")
    assert "SCS504" in lint.stdout + lint.stderr


def test_with_an_office_statement_does_not_warn(scs: Invoker, office_ledger: Path,
                                                tmp_path: Path) -> None:
    done = scs("statement", office_ledger, "res-a", "--as-of", AS_OF,
               "--output", tmp_path / "out", "--no-pdf")
    assert done.exit_code == 0 and "[office]" not in done.stderr


def test_a_bad_office_table_is_one_line_naming_the_key(scs: Invoker, tmp_path: Path) -> None:
    path = catalogue(tmp_path, '\n[office]\nname = "X"\nobjection_window = "soon"\nfax = 1\n')
    done = scs("catalogue", "validate", path)
    assert done.exit_code == 1
    assert "office.objection_window" in done.stderr and "office.fax: unknown key" in \
        done.stderr


def test_the_office_round_trips_and_catalogue_show_prints_it(scs: Invoker,
                                                             tmp_path: Path) -> None:
    from scs_cli.rules.schema import load_catalogue, parse_catalogue, to_document

    cat = load_catalogue(catalogue(tmp_path))
    assert cat.office is not None and str(cat.office.objection_window) == "30d"
    import tomli_w

    assert parse_catalogue(tomli_w.dumps(to_document(cat))).office == cat.office
    shown = scs("catalogue", "show", catalogue(tmp_path))
    assert "Office: Exampleton Credit Office; 1 Example Road, Exampleton" in shown.stdout
    assert "objections within 30d of a statement" in shown.stdout


def test_plain_words_no_key_path_no_engine_status(scs: Invoker, tmp_path: Path) -> None:
    """A catalogue whose tiers and expiry are assumed: the letter says so in words."""
    path = catalogue(tmp_path, OFFICE, ('name = "B"\nmin = 900',
                                        'name = "B"\nmin = 900\nassumed = ["min"]'))
    path.write_text(path.read_text(encoding="utf-8").replace(
        'expires_after = "2y"\nlimit', 'expires_after = "2y"\nassumed = ["expires_after"]\nlimit'),
        encoding="utf-8")
    ledger = build_ledger(scs, tmp_path, path)
    (letter,) = read_letters(ledger, ["res-a"], date(2024, 6, 30))
    assert "tiers[1].min" in letter.explanation.assumptions  # what the words translate
    text = text_of(letter_html(letter))
    assert not KEY_PATHS.search(text), KEY_PATHS.search(text)
    assert "where tier B begins" in text
    assert "within the clean period of 1 year" in text  # explain: "inside clean_for 1y"
    assert "a value the catalogue assumes: no published source gives it" in text
    # the status is said once, not "counts / counts: …"
    assert "counts: the catalogue sets no expiry" not in text


def test_a_resident_not_scored_sees_records_kept_not_counting(scs: Invoker,
                                                             tmp_path: Path) -> None:
    path = catalogue(tmp_path, OFFICE, ('objection_deadline = "15d"',
                                        'objection_deadline = "15d"\nparticipation = "consent"'))
    text = text_of(letter_of(build_ledger(scs, tmp_path, path), "res-a"))
    assert "You are not scored." in text
    assert "Your records: kept, not counting" in text
    assert text.count("kept on record, not counting") == 2  # the red light, the donation
    for contradiction in ("What costs you points now", "What adds points now",
                          "Main reasons your score", "no end set", "What will change"):
        assert contradiction not in text, contradiction


def test_an_overdue_objection_is_flagged(scs: Invoker, ledger_overdue: Path) -> None:
    text = text_of(letter_of(ledger_overdue, "res-a", "2024-07-20"))
    # filed 2024-06-20, due 15 days later (2024-07-05), still pending on 2024-07-20
    assert "overdue: pending past its due date" in text
    assert "has not decided an objection of yours by the date its decision was due" in text
    assert "overdue" not in text_of(letter_of(ledger_overdue, "res-a", "2024-07-05"))


@pytest.fixture
def ledger_overdue(scs: Invoker, tmp_path: Path) -> Path:
    return build_ledger(scs, tmp_path, catalogue(tmp_path))


def test_a_change_notice_dates_each_record_against_its_own_date(
        scs: Invoker, office_ledger: Path, tmp_path: Path) -> None:
    """A record dated after the run's as-of but before the letter is "not yet recorded on
    <the run's date>", never "dated after this statement"."""
    run = saved_run(scs, office_ledger)  # as of 2024-06-30
    more = tmp_path / "more.csv"
    more.write_text("resident_id,indicator,occurred_on,agency,reference\n"
                    "res-c,defaulter,2024-10-12,court,r9\n", encoding="utf-8")
    assert scs("ledger", "import", office_ledger, more).exit_code == 0
    (letter,) = read_changed(office_ledger, int(run), date(2024, 12, 31))
    assert letter.resident_id == "res-c"
    text = text_of(letter_html(letter))
    assert f"saved run {run}, which scored every resident as of 2024-06-30" in text
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", letter_html(letter), re.S)
               if "2024-10-12" in r)
    cells = text_of(row)
    assert "not yet recorded on 2024-06-30" in cells
    assert "dated after this statement" not in text


def test_an_office_template_replaces_only_its_own_file(scs: Invoker, office_ledger: Path,
                                                      tmp_path: Path) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "letterhead.html").write_text(
        "<header class=letterhead><p id=office>{{ office_name }} — Window 3</p></header>\n",
        encoding="utf-8")
    out = tmp_path / "out"
    done = scs("statement", office_ledger, "res-a", "--as-of", AS_OF, "--output", out,
               "--no-pdf", "--templates", mine)
    assert done.exit_code == 0, done.stderr
    page = (out / "res-a.html").read_text(encoding="utf-8")
    assert "Exampleton Credit Office — Window 3" in page
    assert "1 Example Road" not in page.split("<main>")[0]  # the bundled letterhead is gone
    assert "How to object" in page  # the rest is the bundled letter


def test_the_worked_example_renders(office_ledger: Path) -> None:
    folder = Path(__file__).resolve().parent.parent / "examples" / "office-templates"
    (letter,) = read_letters(office_ledger, ["res-a"], date(2024, 6, 30))
    page = letter_html(letter, Templates(folder))
    assert '<html lang="en">' in page and "960.5" in page
    assert "Exampleton Credit Office" in page


def test_template_errors_are_one_line(scs: Invoker, office_ledger: Path,
                                      tmp_path: Path) -> None:
    done = scs("statement", office_ledger, "res-a", "--as-of", AS_OF, "--output",
               tmp_path / "o", "--no-pdf", "--templates", tmp_path / "nowhere")
    assert done.exit_code == 1 and done.stderr.count("\n") == 1
    assert "no such folder" in done.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "letterhead.html").write_text("{% if %}", encoding="utf-8")
    done = scs("statement", office_ledger, "res-a", "--as-of", AS_OF, "--output",
               tmp_path / "o", "--no-pdf", "--templates", broken)
    assert done.exit_code == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "letterhead.html, line 1" in done.stderr
    (broken / "letterhead.html").write_text("{{ no_such_name }}", encoding="utf-8")
    with pytest.raises(TemplateError, match="no_such_name"):
        Templates(broken).render("statement.html", **_context(office_ledger))


def _context(ledger: Path) -> dict[str, object]:
    from scs_cli.statement.render import letter_context

    (letter,) = read_letters(ledger, ["res-a"], date(2024, 6, 30))
    return letter_context(letter)


def test_bidi_controls_never_reach_the_page(scs: Invoker, tmp_path: Path) -> None:
    path = catalogue(tmp_path, OFFICE, ('"Running a red light"',
                                        '"Running a \u202eright der\u202c light"'))
    page = letter_of(build_ledger(scs, tmp_path, path), "res-a")
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", page)
    assert "Running a right der light" in page


def test_text_helpers() -> None:
    from decimal import Decimal

    assert [signed(Decimal(v)) for v in ("5", "-0.50", "0", "1000.00")] == [
        "+5", "-0.5", "0", "+1000"]
    assert signed(None) == num(None) == day(None) == "—"
    assert signed(2.5) == "+2.5" and num(Decimal("987.50")) == "987.5"
    assert day(date(2024, 6, 30)) == "2024-06-30"
    assert str(escape('<a href="x">\u202e')) == "&lt;a href=&#34;x&#34;&gt;"


def test_report_pages_come_from_templates_an_office_may_replace(scs: Invoker,
                                                               tmp_path: Path) -> None:
    from test_report import make_ledger

    ledger = make_ledger(tmp_path)
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "report.css").write_text("body{background:#fffbe6}\n", encoding="utf-8")
    out = tmp_path / "report"
    done = scs("report", ledger, "--as-of", AS_OF, "--output", out, "--templates", mine)
    assert done.exit_code == 0, done.stderr
    page = (out / "exampleton" / "index.html").read_text(encoding="utf-8")
    assert "body{background:#fffbe6}" in page  # the office's CSS
    assert "<h2 id=headline>Headline</h2>" in page and "<svg" in page  # the bundled page
    assert '<html lang="en">' in page and "default-src 'none'" in page
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "body{background:#fffbe6}" in index and 'href="exampleton/index.html"' in index
    done = scs("report", ledger, "--as-of", AS_OF, "--output", tmp_path / "r2",
               "--templates", tmp_path / "nowhere")
    assert done.exit_code == 1 and "no such folder" in done.stderr
    assert not (tmp_path / "r2").exists()


def test_a_record_dated_after_the_run_is_dated_against_the_run(
        scs: Invoker, office_ledger: Path, tmp_path: Path) -> None:
    """Recorded before the run was saved but dated after its as-of date: "dated after
    2024-06-30" (the run's date) on the run's side, never "after this statement"."""
    more = tmp_path / "later.csv"
    more.write_text("resident_id,indicator,occurred_on,agency,reference\n"
                    "res-c,defaulter,2024-10-12,court,r9\n", encoding="utf-8")
    assert scs("ledger", "import", office_ledger, more).exit_code == 0
    run = saved_run(scs, office_ledger)  # as of 2024-06-30, knowing the later record
    (letter,) = read_changed(office_ledger, int(run), date(2024, 12, 31))
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", letter_html(letter), re.S)
               if "2024-10-12" in r)
    assert "dated after 2024-06-30" in text_of(row)
    assert "after this statement" not in text_of(letter_html(letter))


def test_every_template_ships_in_the_wheel() -> None:
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]["scs_cli"]
    files = [p.relative_to(root / "scs_cli").as_posix()
             for p in (root / "scs_cli" / "templates").iterdir()]
    assert "templates/statement.html" in files and "templates/report.html" in files
    for f in files:
        assert any(fnmatch.fnmatch(f, p) for p in patterns), f"{f} is not package data"


def _letter_of_one_event(scs, tmp_path: Path, catalogue: str, row: str) -> str:  # type: ignore[no-untyped-def]
    """R1's letter as of 2024-06-30 (HTML) from a ledger of ``catalogue`` holding the one
    event ``row`` (resident_id,indicator,occurred_on,agency)."""
    events = tmp_path / "events.csv"
    events.write_text(f"resident_id,indicator,occurred_on,agency\n{row}\n", encoding="utf-8")
    ledger = tmp_path / "city.db"
    assert scs("ledger", "init", ledger, "--catalogue", catalogue).exit_code == 0
    assert scs("ledger", "import", ledger, events).exit_code == 0
    out = tmp_path / "letters"
    result = scs("statement", ledger, "R1", "--as-of", "2024-06-30", "--output", out, "--no-pdf")
    assert result.exit_code == 0, result.stderr
    return (out / "R1.html").read_text(encoding="utf-8")


def test_a_record_that_caps_the_score_is_among_what_costs_points(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Wuxi's judgment-defaulter row takes no points but keeps the score below 650: the letter
    lists it with what costs points (never with what adds them) and says what it caps."""
    html = _letter_of_one_event(scs, tmp_path, "wuxi-2019",
                                "R1,judgment-defaulter,2024-01-10,court")
    costs = html[html.index("id=costs"):html.index("</table>", html.index("id=costs"))]
    assert "data-event=1" in costs and "Keeps your score at most 649 while it counts." in costs
    assert "id=adds" not in html or "data-event=1" not in html[html.index("id=adds"):]


def test_a_record_that_caps_the_tier_names_the_tier_as_written(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rongcheng's petitioning row caps the tier at B: the letter's sentence begins with a
    capital and keeps the tier's name as the catalogue writes it ("at B", never "at b")."""
    html = _letter_of_one_event(scs, tmp_path, "rongcheng-2016",
                                "R1,petitioning-above-village-head,2024-01-10,village-committee")
    assert "Keeps your tier at B or lower while it counts." in html
    assert "tier at b " not in html
