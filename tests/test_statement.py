"""`scs statement`: each resident's letter, built from the explain computation.

These tests read the HTML as text (no browser: see test_statement_browser.py for the DOM
and the PDF) and run with PDFs switched off, or with a browser that is not there.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLES, Invoker

from scs_cli.explain.explain import explain_ledger
from scs_cli.ledger.store import Ledger
from scs_cli.statement.letter import read_changed, read_letters
from scs_cli.statement.render import letter_html

AS_OF = "2024-06-30"
HOSTILE_GROUNDS = '<img src=x onerror="alert(1)"> & </td></tr><script>alert(2)</script>'
HOSTILE_AGENCY = "<b>police</b>"
HOSTILE_NAME = "Red <script>alert(3)</script> light"


def build_ledger(scs: Invoker, directory: Path, catalogue: Path | None = None) -> Path:
    """Three residents on the tiny catalogue, as of 2024-06-30:

    res-a: red light (-50, until 2026-05-20), donation (+10.5), a dog event under a
    pending objection with hostile grounds: 960.5, B, no discount.
    res-b: judgment defaulter: score cap 649, tier C, enhanced review.
    res-c: donation only: 1010.5, A, transit discount.
    """
    catalogue = catalogue or EXAMPLES / "tiny.toml"
    ledger = directory / "city.db"
    events = directory / "events.csv"
    events.write_text(
        "resident_id,indicator,occurred_on,agency,reference\n"
        f"res-a,red-light,2024-05-20,{HOSTILE_AGENCY},r1\n"
        "res-a,blood-donation,2023-03-10,hospital,r2\n"
        "res-a,dog,2024-02-03,police,r3\n"
        "res-b,defaulter,2024-04-02,court,r4\n"
        "res-c,blood-donation,2023-05-10,hospital,r5\n", encoding="utf-8")
    assert scs("ledger", "init", ledger, "--catalogue", catalogue).exit_code == 0
    done = scs("ledger", "import", ledger, events)
    assert done.exit_code == 0, done.stderr
    done = scs("objection", "file", ledger, "3", "--on", "2024-06-20",
               "--grounds", HOSTILE_GROUNDS)
    assert done.exit_code == 0, done.stderr
    return ledger


@pytest.fixture
def ledger(scs: Invoker, tmp_path: Path) -> Path:
    return build_ledger(scs, tmp_path)


def letter_of(ledger: Path, resident: str, as_of: str = AS_OF) -> str:
    (letter,) = read_letters(ledger, [resident], date.fromisoformat(as_of))
    return letter_html(letter)


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces folded."""
    body = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_the_letter_holds_score_tier_rewards_and_where_it_comes_from(ledger: Path) -> None:
    page = letter_of(ledger, "res-a")
    text = text_of(page)
    assert '<dd id=resident class=nb>res-a</dd>' in page
    assert '<b id=score-value>960.5</b>' in page and '<b id=tier>B</b>' in page
    assert "Exampleton, Nowhere" in text
    assert "version 1, in force from 2020-01-01" in text
    assert "Statement date 2024-06-30" in text
    # the explanation's own arithmetic, not a second derivation
    x = explain_ledger(ledger, "res-a", date(2024, 6, 30))
    assert x.score_reason in text and x.tier_reason in text
    assert "Transit discount : not for you now (tier B is below A" in text


def test_the_letter_shows_the_head_it_was_read_at(scs: Invoker, ledger: Path,
                                                  tmp_path: Path) -> None:
    with Ledger.open(ledger) as opened:
        head = opened.head()
    assert head.rows > 0
    page = letter_of(ledger, "res-a")
    integrity = re.search(r"<footer class=integrity id=integrity>(.*?)</footer>", page, re.S)
    assert integrity, "no integrity line"
    assert f"<span class=hash id=head>{head.hash}</span>" in integrity.group(1)
    assert f"<span class=nb id=head-rows>{head.rows:,}</span>" in integrity.group(1)
    # a sentence for the resident, not a command line, and no "records up to <now>"
    assert "scs " not in text_of(integrity.group(1)).replace("by scs ", "")
    assert "<code>" not in page and "Ledger records up to" not in page
    assert scs("ledger", "verify", ledger, "--head", f"{head.rows}:{head.hash}").exit_code == 0
    # read as known before a later row, the letter shows the head of that time
    (letter,) = read_letters(ledger, ["res-a"], date(2024, 6, 30))
    done = scs("ledger", "void", ledger, "2", "--reason", "entered twice")
    assert done.exit_code == 0, done.stderr
    (again,) = read_letters(ledger, ["res-a"], date(2024, 6, 30), known_at=letter.known_at)
    assert again.head == head and again.explanation == letter.explanation
    (now,) = read_letters(ledger, ["res-a"], date(2024, 6, 30))
    assert now.head.rows == head.rows + 1 and now.head.hash != head.hash


def test_every_event_has_rule_basis_agency_points_status_and_end(ledger: Path) -> None:
    page = letter_of(ledger, "res-a")
    costs = re.search(r"<table id=costs[^>]*>(.*?)</table>", page, re.S)
    adds = re.search(r"<table id=adds[^>]*>(.*?)</table>", page, re.S)
    assert costs and adds, "no tables of counting records"
    rows = dict(re.findall(r"<tr data-event=(\d+)>(.*?)</tr>", costs.group(1) + adds.group(1),
                           re.S))
    assert set(rows) == {"1", "2"}  # the red light and the donation; the dog is suspended
    assert "data-event=1>" in costs.group(1) and "data-event=2>" in adds.group(1)
    red = text_of(rows["1"])
    assert "2024-05-20" in red and "Running a red light" in red
    assert "Road Traffic Safety Law, art. 90" in red
    assert "<b>police</b>" in red  # the agency, as text
    assert " -50 " in red and "2026-05-20" in red  # points and the day it stops counting
    donation = text_of(rows["2"])
    assert "+10.5" in donation and "no end set" in donation and "hospital" in donation


def test_suspended_events_and_their_objection_are_shown_with_the_deadline(ledger: Path) -> None:
    page = letter_of(ledger, "res-a")
    suspended = re.search(r"<section id=contested>(.*?)</section>", page, re.S)
    assert suspended
    text = text_of(suspended.group(1))
    assert "Dog off leash" in text and "these records do not count" in text
    assert "overdue" not in text  # due 2024-07-05, after the letter's date
    assert "2024-06-20" in text and "2024-07-05" in text  # filed, due 15 days later
    assert HOSTILE_GROUNDS in text  # the grounds, word for word, as text
    assert "The office must decide within 15 days" in text_of(page)


def test_reasons_and_projection_come_from_the_explanation(ledger: Path) -> None:
    page = letter_of(ledger, "res-a")
    x = explain_ledger(ledger, "res-a", date(2024, 6, 30))
    reasons = re.search(r"<ol class=reasons>(.*?)</ol>", page, re.S)
    assert reasons and reasons.group(1).count("<li>") == len(x.reasons) == 1
    assert "50 points:" in text_of(reasons.group(1))
    projection = re.search(r"<table id=projection-table[^>]*>(.*?)</table>", page, re.S)
    assert projection
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", projection.group(1).split("</thead>")[1])
    assert cells[:3] == ["2026-05-20", "1010.5", "A"]
    assert [(p.date.isoformat(), str(p.score), p.tier) for p in x.projection] == [
        ("2026-05-20", "1010.5", "A")]


def test_hostile_text_is_escaped_everywhere(scs: Invoker, tmp_path: Path) -> None:
    catalogue = tmp_path / "hostile.toml"
    text = (EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
    catalogue.write_text(text.replace('"Running a red light"', f'"{HOSTILE_NAME}"')
                         .replace('"Exampleton"', '"Ex<i>ample</i>ton"'), encoding="utf-8")
    ledger = build_ledger(scs, tmp_path, catalogue)
    page = letter_of(ledger, "res-a")
    for raw in (HOSTILE_GROUNDS, HOSTILE_AGENCY, HOSTILE_NAME, "<i>ample</i>"):
        assert raw not in page
        assert html.escape(raw, quote=True).replace("&quot;", "&#34;") in page
    assert "<script" not in page and "<img" not in page
    # the only tags are the letter's own
    assert set(re.findall(r"<([a-z0-9]+)", page)) <= {
        "html", "head", "meta", "title", "style", "body", "header", "p", "h1", "h2", "h3",
        "dl", "dt", "dd", "span", "section", "div", "b", "ul", "li", "ol", "table", "thead",
        "tbody", "tr", "th", "td", "br", "footer", "main", "address"}


def test_a_letter_names_one_resident_and_no_other(ledger: Path) -> None:
    for me, others in (("res-a", ("res-b", "res-c")), ("res-b", ("res-a", "res-c")),
                       ("res-c", ("res-a", "res-b"))):
        page = letter_of(ledger, me)
        assert me in page
        assert not [o for o in others if o in page]


def test_a_capped_resident_sees_the_cap_and_the_measure(ledger: Path) -> None:
    text = text_of(letter_of(ledger, "res-b"))
    assert "Score 649" in text and "Tier C" in text
    assert "Enhanced review" in text and "Measures that apply to you" in text
    assert "score capped at 649" in text


def test_the_self_contained_page_loads_nothing(ledger: Path) -> None:
    page = letter_of(ledger, "res-c")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""\b(?:src|href)\s*=""", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "@page{size:A4" in page and "break-inside:avoid" in page


def test_no_deadline_is_said_in_words(scs: Invoker, tmp_path: Path) -> None:
    catalogue = tmp_path / "nodeadline.toml"
    text = (EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
    catalogue.write_text(text.replace('objection_deadline = "15d"', ""), encoding="utf-8")
    ledger = build_ledger(scs, tmp_path, catalogue)
    page = letter_of(ledger, "res-a")
    assert "set no time limit for the office to decide" in text_of(page)
    assert "no deadline" in text_of(page)  # the pending objection's due date


# --- the command --------------------------------------------------------------------

def test_cli_writes_one_html_per_resident_and_says_why_pdfs_are_missing(
        scs: Invoker, ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCS_CHROMIUM", str(tmp_path / "no-such-browser"))
    out = tmp_path / "letters"
    done = scs("statement", ledger, "res-a", "res-c", "--as-of", AS_OF, "--output", out)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.split() == [str(out / "res-a.html"), str(out / "res-c.html")]
    assert sorted(p.name for p in out.iterdir()) == ["res-a.html", "res-c.html"]
    assert "warning: PDFs skipped, HTML letters written: SCS_CHROMIUM=" in done.stderr
    assert "2 statements as of 2024-06-30" in done.stderr


def test_no_pdf_skips_the_browser_quietly(scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "letters"
    done = scs("statement", ledger, "res-b", "--as-of", AS_OF, "--output", out, "--no-pdf")
    assert done.exit_code == 0, done.stderr
    assert [p.name for p in out.iterdir()] == ["res-b.html"]
    assert "PDF" not in done.stderr


def test_a_missing_resident_is_one_line_and_nothing_written(
        scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "letters"
    before = ledger.read_bytes()
    done = scs("statement", ledger, "res-a", "res-zz", "--as-of", AS_OF, "--output", out,
               "--no-pdf")
    assert done.exit_code == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {ledger}: no resident 'res-zz' in this ledger")
    assert not out.exists()
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("bad", ["../escape", "a/b", ".hidden", "x" * 65, ""])
def test_an_id_that_could_not_be_a_resident_is_refused(
        scs: Invoker, ledger: Path, tmp_path: Path, bad: str) -> None:
    out = tmp_path / "letters"
    done = scs("statement", ledger, bad, "--as-of", AS_OF, "--output", out, "--no-pdf")
    assert done.exit_code == 1
    assert done.stderr.count("\n") == 1 and "is not a resident id" in done.stderr
    assert not out.exists() and not (tmp_path / "escape.html").exists()


def test_usage_errors_exit_2(scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "letters"
    none = scs("statement", ledger, "--as-of", AS_OF, "--output", out)
    assert none.exit_code == 2 and "no resident given" in none.stderr
    both = scs("statement", ledger, "res-a", "--changed-since", "1", "--as-of", AS_OF,
               "--output", out)
    assert both.exit_code == 2 and "not both" in both.stderr


def test_an_output_that_is_a_file_is_refused(scs: Invoker, ledger: Path,
                                             tmp_path: Path) -> None:
    out = tmp_path / "file.txt"
    out.write_text("keep me", encoding="utf-8")
    done = scs("statement", ledger, "res-a", "--as-of", AS_OF, "--output", out, "--no-pdf")
    assert done.exit_code == 1 and "exists and is not a directory" in done.stderr
    assert out.read_text(encoding="utf-8") == "keep me"


def test_a_letter_never_replaces_a_database(scs: Invoker, ledger: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "letters"
    out.mkdir()
    victim = out / "res-a.html"
    victim.write_bytes(ledger.read_bytes())
    done = scs("statement", ledger, "res-a", "--as-of", AS_OF, "--output", out, "--no-pdf")
    assert done.exit_code == 1 and "is a SQLite database" in done.stderr
    assert victim.read_bytes() == ledger.read_bytes()
    # the PDF beside it is refused before any letter is written
    victim.unlink()
    (out / "res-a.pdf").write_bytes(ledger.read_bytes())
    done = scs("statement", ledger, "res-a", "--as-of", AS_OF, "--output", out)
    assert done.exit_code == 1 and "res-a.pdf: is a SQLite database" in done.stderr
    assert not victim.exists()


# --- --changed-since ----------------------------------------------------------------

def saved_run(scs: Invoker, ledger: Path) -> str:
    done = scs("score", ledger, "--as-of", AS_OF, "--save", "--format", "csv")
    assert done.exit_code == 0, done.stderr
    found = re.search(r"run (\d+)", done.stderr)
    assert found, done.stderr
    return found.group(1)


def test_changed_since_writes_the_notice_for_those_whose_tier_or_rewards_moved(
        scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    run = saved_run(scs, ledger)
    out = tmp_path / "letters"
    # By 2026-06-01 res-a's red light has expired: 1010.5, A, and the discount.
    done = scs("statement", ledger, "--changed-since", run, "--as-of", "2026-06-01",
               "--output", out, "--no-pdf")
    assert done.exit_code == 0, done.stderr
    assert [p.name for p in out.iterdir()] == ["res-a.html"]
    assert "res-a: 960.5 B [no rewards] → 1010.5 A [discount]" in done.stderr
    notice = re.search(r"<section id=notice>(.*?)</section>", (out / "res-a.html")
                       .read_text(encoding="utf-8"), re.S)
    assert notice
    text = text_of(notice.group(1))
    assert f"saved run {run}, which scored every resident as of 2024-06-30" in text
    assert "On 2024-06-30: score 960.5, tier B; rewards: none" in text
    assert "On 2026-06-01: score 1010.5, tier A; rewards: discount" in text
    rows = re.findall(r"<tr>(.*?)</tr>", notice.group(1), re.S)
    changed = [text_of(r) for r in rows if "<td" in r]
    assert len(changed) == 1  # the red light; the dog is still suspended, the donation counts
    assert "Running a red light" in changed[0]
    assert "counts (-50)" in changed[0]
    assert "no longer counts: its time ran out (0)" in changed[0]


def test_changed_since_with_nothing_changed_writes_nothing(
        scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    run = saved_run(scs, ledger)
    out = tmp_path / "letters"
    done = scs("statement", ledger, "--changed-since", run, "--as-of", AS_OF,
               "--output", out, "--no-pdf")
    assert done.exit_code == 0, done.stderr
    assert not out.exists()
    assert f"No resident's tier or rewards changed since run {run}" in done.stderr


def test_changed_since_names_a_resident_recorded_after_the_run(
        scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    run = saved_run(scs, ledger)
    more = tmp_path / "more.csv"
    more.write_text("resident_id,indicator,occurred_on,agency,reference\n"
                    "res-d,defaulter,2024-06-01,court,r9\n", encoding="utf-8")
    assert scs("ledger", "import", ledger, more).exit_code == 0
    letters = read_changed(ledger, int(run), date(2024, 6, 30))
    assert [x.resident_id for x in letters] == ["res-d"]
    notice = letters[0].notice
    assert notice and notice.old_tier is None and notice.new_tier == "C"
    assert [(c.event_id, c.before, c.after) for c in notice.events] == [
        (6, "not recorded", "counted")]


def test_changed_since_an_unknown_run_is_one_line(scs: Invoker, ledger: Path,
                                                  tmp_path: Path) -> None:
    done = scs("statement", ledger, "--changed-since", "99", "--as-of", AS_OF,
               "--output", tmp_path / "x", "--no-pdf")
    assert done.exit_code == 1 and done.stderr.count("\n") == 1
    assert "no saved run 99" in done.stderr


def test_a_browser_that_fails_is_one_line_exit_1_with_the_html_kept(
        scs: Invoker, ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken-chromium"
    broken.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("SCS_CHROMIUM", str(broken))
    out = tmp_path / "letters"
    done = scs("statement", ledger, "res-a", "--as-of", AS_OF, "--output", out)
    assert done.exit_code == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: chromium: ")
    assert "quit with exit status 3 before answering" in done.stderr
    assert [p.name for p in out.iterdir()] == ["res-a.html"]  # no half-written PDF


def test_an_upheld_objection_shows_as_decided_and_the_record_as_removed(
        scs: Invoker, ledger: Path) -> None:
    assert scs("objection", "decide", ledger, "1", "--upheld", "--on", "2024-06-25"
               ).exit_code == 0
    page = letter_of(ledger, "res-a")
    decided = re.search(r"<table id=decided[^>]*>(.*?)</table>", page, re.S)
    assert decided and "upheld on 2024-06-25" in text_of(decided.group(1))
    ended = re.search(r"<table id=not-counting[^>]*>(.*?)</table>", page, re.S)
    assert ended and "removed from your record" in text_of(ended.group(1))
    assert "You have no objection pending." in text_of(page)
    # before the decision's date the objection is still pending
    assert "pending" in text_of(letter_of(ledger, "res-a", "2024-06-24"))


def test_a_resident_not_scored_is_told_why(scs: Invoker, tmp_path: Path) -> None:
    catalogue = tmp_path / "consent.toml"
    text = (EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
    catalogue.write_text(text.replace('objection_deadline = "15d"',
                                      'objection_deadline = "15d"\nparticipation = "consent"'),
                         encoding="utf-8")
    ledger = build_ledger(scs, tmp_path, catalogue)
    page = letter_of(ledger, "res-c")
    assert "<p class=box id=not-scored>You are not scored." in page
    assert "participation in exampleton 1 is by consent" in page
    assert "id=score-value" not in page
    assert "Donating blood" in text_of(page)  # the records are still shown


def test_every_letter_agrees_with_the_batch_score(scs: Invoker, tmp_path: Path) -> None:
    """Thirty residents (test_report's ledger): the score, tier and rewards each letter
    shows are those `scs score` gives the same resident."""
    from test_report import make_ledger, resident_ids

    ledger = make_ledger(tmp_path)
    done = scs("score", ledger, "--as-of", AS_OF, "--format", "csv")
    assert done.exit_code == 0, done.stderr
    batch = {line.split(",")[0]: line.split(",")[1:] for line in done.stdout.splitlines()[1:]}
    letters = read_letters(ledger, resident_ids(), date(2024, 6, 30))
    assert [x.resident_id for x in letters] == resident_ids()
    for letter in letters:
        page = letter_html(letter)
        score, tier, rewards = batch[letter.resident_id]
        assert f"<b id=score-value>{score}</b>" in page
        assert f"<b id=tier>{tier}</b>" in page
        got = re.findall(r'<li data-reward="([^"]+)"><b>[^<]*</b>: you receive it', page)
        assert ";".join(sorted(got)) == rewards


def test_changed_since_says_when_the_rules_changed(scs: Invoker, ledger: Path,
                                                   tmp_path: Path) -> None:
    run = saved_run(scs, ledger)
    v2 = tmp_path / "v2.toml"
    v2.write_text((EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
                  .replace('version = "1"', 'version = "2"')
                  .replace("effective_from = 2020-01-01", "effective_from = 2025-01-01")
                  .replace("min = 1000", "min = 950"), encoding="utf-8")
    done = scs("ledger", "adopt", ledger, v2)
    assert done.exit_code == 0, done.stderr
    # res-a's 960.5 is tier A under version 2; res-c has 1010.5 under both: no letter
    (letter,) = read_changed(ledger, int(run), date(2025, 6, 1))
    assert letter.resident_id == "res-a" and letter.notice is not None
    assert letter.notice.events == ()
    page = letter_html(letter)
    assert ("<p id=rules-changed>The rules changed: version 1 applied on 2024-06-30, "
            "version 2 on 2025-06-01.</p>") in page
    assert "No record of yours changed" in page


def test_assumed_values_are_marked_as_such(scs: Invoker, tmp_path: Path) -> None:
    catalogue = tmp_path / "assumed.toml"
    text = (EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
    catalogue.write_text(text.replace(
        'expires_after = "2y"\nlimit', 'expires_after = "2y"\nassumed = ["expires_after"]\nlimit'),
        encoding="utf-8")
    ledger = build_ledger(scs, tmp_path, catalogue)
    (letter,) = read_letters(ledger, ["res-a"], date(2024, 6, 30))
    red = next(e for e in letter.explanation.events if e.indicator == "red-light")
    assert red.assumed == ("expires_after",)
    page = letter_html(letter)
    row = re.search(r"<tr data-event=1>(.*?)</tr>", page, re.S)
    assert row and 'data-assumed="expires_after"' in row.group(1)
    assert ("How long it counts: a value the catalogue assumes: no published source gives it."
            in text_of(row.group(1)))
    # in words only: no key path anywhere a resident reads
    assert letter.explanation.assumptions == ("indicators.red-light.expires_after",)
    visible = text_of(page)
    assert "expires_after" not in visible and "indicators." not in visible
    # a catalogue with nothing assumed says nothing of it
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "id=assumptions" not in letter_of(build_ledger(scs, plain), "res-a")
