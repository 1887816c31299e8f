"""The report page's lists (SPEC §4a, docs/report.md): residents per list and repairs
pending and overdue, in HTML and Markdown, from the figures of report.json; a public report
shows published lists only, never a minor one, and hides counts below 5."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import EXAMPLES, Invoker
from test_statement import text_of

LISTS = EXAMPLES / "lists.toml"
AS_OF = "2021-05-10"
DEBTORS = [f"d{i}" for i in range(6)]
# six judgment debtors (a published list), three traffic offenders (a minor one, although
# marked published), one model resident (a red list): on 2021-05-10
EVENTS = ("resident_id,indicator,occurred_on\n"
          + "".join(f"{r},judgment-debtor,2021-03-01\n" for r in DEBTORS)
          + "".join(f"t{i},red-light,2021-0{m}-01\n" for i in range(3) for m in (1, 2, 3))
          + "m1,volunteering,2021-05-01\nm1,volunteering,2021-05-02\n")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """The city's report folder, private and public, with two repairs pending: one filed
    on 2021-03-01 (overdue past the 15-day deadline on 2021-05-10), one on 2021-05-05."""
    base = tmp_path_factory.mktemp("report-lists")
    scs = Invoker()
    catalogue, ledger, events = base / "c.toml", base / "city.db", base / "e.csv"
    catalogue.write_text(LISTS.read_text(encoding="utf-8").replace(
        'severity = "general"', 'severity = "minor"\npublished = true'), encoding="utf-8")
    events.write_text(EVENTS, encoding="utf-8")
    assert scs("ledger", "init", ledger, "--catalogue", catalogue).exit_code == 0
    assert scs("ledger", "import", ledger, events).exit_code == 0
    for rid, on in (("d0", "2021-03-01"), ("d1", "2021-05-05")):
        done = scs("repair", "file", ledger, rid, "--list", "court-defaulters", "--on", on,
                   "--grounds", "debt paid")
        assert done.exit_code == 0, done.stderr
    out = {}
    for public in (False, True):
        folder = base / f"public-{public}"
        done = scs("report", ledger, "--as-of", AS_OF, "--output", folder,
                   *(["--public"] if public else []))
        assert done.exit_code == 0, done.stderr
        out[public] = folder / "listville"
    return out


def section(page: str) -> str:
    found = re.search(r"<h2 id=lists>(.*?)<h2 id=quality>", page, re.S)
    assert found, "no lists section"
    return text_of(found.group(1))


def md_section(doc: str) -> str:
    return doc.split("## Lists beside the score", 1)[1].split("## Data quality", 1)[0]


def test_the_page_counts_residents_per_list_and_repairs(reports: dict[bool, Path]) -> None:
    figures = json.loads((reports[False] / "report.json").read_text())["lists"]
    assert {x["id"]: x["residents"] for x in figures["lists"]} == {
        "court-defaulters": 6, "traffic-offenders": 3, "model-residents": 1}
    text = section((reports[False] / "index.html").read_text())
    md = md_section((reports[False] / "report.md").read_text())
    assert "2 repair applications pending, 1 of them overdue" in text
    assert "2 repair applications pending, 1 of them overdue" in md
    for row in (r"Discredited judgment debtors black list serious 6 2 years 3 months",
                r"Repeat traffic offenders black list minor 3 6 months —",
                r"Model residents red list — 1 — —"):
        assert re.search(row, text), row
    assert "| Discredited judgment debtors | black list | serious | 6 | 2 years | 3 months |" \
        in md
    assert "| Repeat traffic offenders | black list | minor | 3 | 6 months | — |" in md
    # each pending repair, oldest first: filed, its age, when due, overdue or not
    assert re.search(r"1 Discredited judgment debtors 2021-03-01 70 2021-03-16 yes "
                     r"2 Discredited judgment debtors 2021-05-05 5 2021-05-20 no", text), text
    assert "| 1 | Discredited judgment debtors | 2021-03-01 | 70 | 2021-03-16 | yes |" in md


def test_a_public_page_shows_published_lists_only_and_hides_small_counts(
        reports: dict[bool, Path]) -> None:
    page = (reports[True] / "index.html").read_text()
    text = section(page)
    md = md_section((reports[True] / "report.md").read_text())
    for shown in (text, md):
        # six: five or more, shown
        assert re.search(r"Discredited judgment debtors \|? ?black list \|? ?serious \|? ?6 ",
                         shown), shown
        assert "Repeat traffic offenders" not in shown  # minor, although marked published
        assert "<5 repair applications pending, <5 of them overdue" in shown
        assert "names no single repair" in shown
        assert "2021-03-01" not in shown and "Repairs pending" not in shown
    assert re.search(r"Model residents red list — <5", text)
    assert "| Model residents | red list | — | <5 | — | — |" in md


def test_a_catalogue_without_lists_has_no_lists_section(scs: Invoker, tmp_path: Path) -> None:
    ledger, events = tmp_path / "city.db", tmp_path / "e.csv"
    events.write_text("resident_id,indicator,occurred_on\nr1,red-light,2024-01-01\n",
                      encoding="utf-8")
    assert scs("ledger", "init", ledger, "--catalogue", EXAMPLES / "tiny.toml").exit_code == 0
    assert scs("ledger", "import", ledger, events).exit_code == 0
    assert scs("report", ledger, "--as-of", "2024-06-30", "--output",
               tmp_path / "out").exit_code == 0
    [city] = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    assert "id=lists" not in (city / "index.html").read_text()
    assert "## Lists" not in (city / "report.md").read_text()
