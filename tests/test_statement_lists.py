"""The lists a resident is on, in their letter (SPEC §4a, §5): each list's name, black or
red, since when, why (the record numbers), until when, the measures in force with their
agencies and end dates, and from when a repair may be applied for and how. A resident on no
list sees nothing about lists."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLES, Invoker
from test_letter import OFFICE
from test_statement import text_of

from scs_cli.statement.letter import read_letters
from scs_cli.statement.render import letter_html

LISTS = EXAMPLES / "lists.toml"
EVENTS = """resident_id,indicator,occurred_on,agency
r1,judgment-debtor,2021-03-01,court
r2,red-light,2021-01-01,police
r2,red-light,2021-02-01,police
r2,red-light,2021-03-01,police
r3,volunteering,2021-05-01,red-cross
r3,volunteering,2021-05-02,red-cross
"""
# the catalogue's keys and ids: a letter names a list and a measure by their names only
KEYS = re.compile(r"court-defaulters|traffic-offenders|model-residents|no-air-travel|"
                  r"no-rail-travel|repair_after|on_list|entered_by|\bNone\b")


def make_ledger(scs: Invoker, directory: Path, catalogue: str) -> Path:
    toml, ledger, events = directory / "c.toml", directory / "city.db", directory / "e.csv"
    toml.write_text(catalogue, encoding="utf-8")
    events.write_text(EVENTS, encoding="utf-8")
    assert scs("ledger", "init", ledger, "--catalogue", toml).exit_code == 0
    done = scs("ledger", "import", ledger, events)
    assert done.exit_code == 0, done.stderr
    return ledger


@pytest.fixture
def ledger(scs: Invoker, tmp_path: Path) -> Path:
    return make_ledger(scs, tmp_path, LISTS.read_text(encoding="utf-8") + OFFICE)


def page(ledger: Path, resident: str, as_of: str) -> str:
    (letter,) = read_letters(ledger, [resident], date.fromisoformat(as_of))
    return letter_html(letter)


def lists_section(html: str) -> str:
    found = re.search(r"<section id=lists>(.*?)</section>", html, re.S)
    assert found, "no list section"
    # text_of puts a space where each tag was: none before punctuation, as a browser shows it
    return re.sub(r" ([,.;:)])", r"\1", text_of(found.group(1)))


def test_a_listed_resident_reads_each_fact_of_the_listing(ledger: Path) -> None:
    html = page(ledger, "r1", "2021-05-10")
    text = lists_section(html)
    assert "Lists you are on" in text
    assert re.search(r"Discredited judgment debtors, a black list: you are on it since "
                     r"2021-03-01, because of record no\. 1\.", text), text
    assert "You stay on it until 2023-03-01" in text  # entry + lasts 2y
    # each measure with its agency and its own end (entry + its lasts, before the listing's)
    assert "No air tickets, applied by civil-aviation, until 2022-03-01" in text
    assert "No soft-sleeper rail tickets, applied by railways, until 2021-08-28" in text
    # entry + repair_after 3m, and how: the office's name, address and contact
    assert "You may apply for a credit repair from 2021-06-01" in text
    assert ("write to Exampleton Credit Office, 1 Example Road, Exampleton (tel. 0000-1234, "
            "weekdays 9-17), naming this list") in text
    assert not KEYS.search(text), KEYS.search(text)
    # the list does not change the score: the letter's score is the rule's points alone
    assert '<b id=score-value>900</b>' in html


def test_once_the_repair_date_has_passed_it_says_now(ledger: Path) -> None:
    text = lists_section(page(ledger, "r1", "2021-07-01"))
    assert "You may apply for a credit repair now (from 2021-06-01)" in text


def test_a_granted_repair_is_the_end_date_and_no_repair_is_offered(scs: Invoker,
                                                                   ledger: Path) -> None:
    assert scs("repair", "file", ledger, "r1", "--list", "court-defaulters", "--on",
               "2021-06-02", "--grounds", "debt paid").exit_code == 0
    assert scs("repair", "decide", ledger, "1", "--granted", "--on",
               "2021-07-15").exit_code == 0
    text = lists_section(page(ledger, "r1", "2021-07-01"))
    assert ("You stay on it until 2021-07-15, when your repair application no. 1 was "
            "granted") in text
    assert "credit repair" not in text
    assert "<section id=lists>" not in page(ledger, "r1", "2021-07-20")  # off the list


def test_a_listing_with_no_known_end_says_so(scs: Invoker, tmp_path: Path) -> None:
    endless = LISTS.read_text(encoding="utf-8").replace(
        'lasts = "2y"\nrepair_after', 'ends_with_event = false\nrepair_after')
    assert endless != LISTS.read_text(encoding="utf-8")
    text = lists_section(page(make_ledger(scs, tmp_path, endless), "r1", "2021-05-10"))
    assert "No end date is recorded yet." in text and "You stay on it until" not in text
    # without an [office]: the city's credit office, no address
    assert "write to Listville, Nowhere credit office, naming this list" in text


def test_a_count_list_names_the_record_that_entered_it_and_has_no_measures(
        ledger: Path) -> None:
    text = lists_section(page(ledger, "r2", "2021-05-10"))
    assert "Repeat traffic offenders, a black list: you are on it since 2021-03-01" in text
    assert "because of record no. 4." in text and "You stay on it until 2021-09-01" in text
    assert "Measures in force" not in text and "credit repair" not in text  # no repair_after


def test_a_red_list_has_no_records_and_no_repair(ledger: Path) -> None:
    text = lists_section(page(ledger, "r3", "2021-05-10"))
    assert "Model residents, a red list: you are on it since 2021-05-10" in text
    assert "record no." not in text and "credit repair" not in text


def test_a_resident_on_no_list_sees_nothing_about_lists(ledger: Path) -> None:
    html = page(ledger, "r2", "2021-02-01")  # two red lights: the third enters the list
    assert "<section id=lists>" not in html
    text = text_of(html)
    for words in ("Lists you are on", "black list", "red list", "credit repair",
                  "Measures in force", "Discredited", "Repeat traffic offenders"):
        assert words not in text, words


def test_the_printed_letter_says_it_too(scs: Invoker, ledger: Path, tmp_path: Path) -> None:
    from test_statement_browser import CHROMIUM, pdf_pages

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    out = tmp_path / "out"
    done = scs("statement", ledger, "r1", "--as-of", "2021-05-10", "--output", out)
    assert done.exit_code == 0, done.stderr
    pages = pdf_pages(out / "r1.pdf")
    assert len(pages) <= 2
    text = re.sub(r"\s+", "", " ".join(t for _, t in pages))
    for fact in ("Lists you are on", "Discredited judgment debtors, a black list",
                 "since 2021-03-01", "record no. 1", "until 2023-03-01", "No air tickets",
                 "civil-aviation", "until 2022-03-01", "credit repair from 2021-06-01",
                 "Exampleton Credit Office"):
        assert re.sub(r"\s+", "", fact) in text, fact
