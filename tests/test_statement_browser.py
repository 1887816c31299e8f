"""Statements as a real browser renders them, and the PDFs it prints, checked as PDFs.

Like test_report_browser.py: Debian's chromium, skipped with the reason when it is not
installed, unless SCS_REQUIRE_BROWSER is set (CI sets it, so there a missing browser
fails). The PDFs are read with pypdf (a test dependency): pages, page size, text.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Invoker
from test_statement import AS_OF, HOSTILE_AGENCY, HOSTILE_GROUNDS, build_ledger

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium")
                                        .exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=1"]
A4 = (595.0, 842.0)  # points

if CHROMIUM is None and os.environ.get("SCS_REQUIRE_BROWSER"):
    raise RuntimeError("SCS_REQUIRE_BROWSER is set but chromium is not installed "
                       "(Debian: apt-get install -y chromium)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")


def dom_of(page: Path, profile: Path, width: int | None = None) -> tuple[str, str]:
    """The DOM after Chromium has loaded and laid out the page, and Chromium's log."""
    size = [f"--window-size={width},900"] if width else []
    done = subprocess.run([str(CHROMIUM), *FLAGS, *size, f"--user-data-dir={profile}",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def pdf_pages(path: Path) -> list[tuple[tuple[float, float], str]]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    # NFKC: the PDF's fonts use ligatures (“ﬃ” in “Traffic”)
    return [((float(p.mediabox.width), float(p.mediabox.height)),
             re.sub(r"\s+", " ", unicodedata.normalize("NFKC", p.extract_text())))
            for p in reader.pages]


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("statement-browser")
    ledger = build_ledger(Invoker(), base)
    out = base / "out"
    done = Invoker()("statement", ledger, "res-a", "res-b", "--as-of", AS_OF, "--output", out)
    assert done.exit_code == 0, done.stderr
    assert "PDFs skipped" not in done.stderr
    return out


def test_the_dom_holds_every_fact_of_the_letter(letters: Path, tmp_path: Path) -> None:
    page = letters / "res-a.html"
    dom, log = dom_of(page, tmp_path / "profile")
    assert "Content Security Policy" not in log, "the page tried to load something"
    assert '<dd id="resident" class="nb">res-a</dd>' in dom
    assert '<b id="score-value">960.5</b>' in dom and '<b id="tier">B</b>' in dom
    assert re.search(r'<dd id="catalogue">Exampleton, Nowhere, version 1, in force from '
                     r'2020-01-01', dom)
    assert '<dd id="as-of" class="nb">2024-06-30</dd>' in dom
    assert '<span class="hash" id="head">' in dom
    assert 'data-reward="discount"' in dom
    red = re.search(r'<tr data-event="1">(.*?)</tr>', dom, re.S)
    assert red, "the red-light record is missing"
    for fact in ("2024-05-20", "Running a red light", "Road Traffic Safety Law, art. 90",
                 html.escape(HOSTILE_AGENCY, quote=False), "-50", "2026-05-20"):
        assert fact in red.group(1), fact
    assert '<tr data-event="3">' in re.search(
        r'<section id="contested">(.*?)</section>', dom, re.S).group(1)  # type: ignore[union-attr]
    grounds = re.search(r'<td data-label="Your grounds" class="grounds">(.*?)</td>', dom, re.S)
    assert grounds and html.unescape(grounds.group(1)) == HOSTILE_GROUNDS
    assert "<img" not in dom and "<script" not in dom  # the grounds stayed text
    assert '<span id="deadline">The office must decide within <b>15 days</b>' in dom
    assert re.search(r'<ol class="reasons">\s*<li><b>50 points:</b>', dom)
    projection = re.search(r'<table id="projection-table"[^>]*>(.*?)</table>', dom, re.S)
    body = projection.group(1).split("</thead>")[1] if projection else ""
    assert re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", body)[:3] == ["2026-05-20", "1010.5", "A"]
    assert "res-b" not in dom and "res-c" not in dom


def test_the_pdf_is_a4_with_extractable_text(letters: Path) -> None:
    pages = pdf_pages(letters / "res-a.pdf")
    assert 1 <= len(pages) <= 4
    for (width, height), _ in pages:
        assert abs(width - A4[0]) < 2 and abs(height - A4[1]) < 2
    # without spaces: a narrow cell may wrap anywhere, and the text then breaks there
    text = re.sub(r"\s+", "", "".join(t for _, t in pages))
    for fact in ("Your credit statement", "res-a", "960.5", "Running a red light",
                 "Road Traffic Safety Law, art. 90", "How to object", "15 days",
                 "2026-05-20", "1010.5", HOSTILE_AGENCY):
        assert re.sub(r"\s+", "", fact) in text, fact
    assert "res-b" not in text


def test_each_resident_gets_their_own_pdf(letters: Path) -> None:
    text = " ".join(t for _, t in pdf_pages(letters / "res-b.pdf"))
    assert "res-b" in text and "649" in text and "Enhanced review" in text
    assert "res-a" not in text


def test_a_page_break_never_cuts_a_table_row(scs: Invoker, tmp_path: Path) -> None:
    """Forty records whose agency cell wraps over several lines: each row's first and
    last line land on the same page of the PDF."""
    ledger = tmp_path / "city.db"
    rows = ["resident_id,indicator,occurred_on,agency,reference"]
    for i in range(40):
        year, month = 2020 + i // 12, 1 + i % 12
        words = " ".join(["wrapping"] * 6)
        rows.append(f"res-long,red-light,{year}-{month:02d}-05,top{i:02d}x {words} "
                    f"end{i:02d}x,ref{i}")
    events = tmp_path / "events.csv"
    events.write_text("\n".join(rows) + "\n", encoding="utf-8")
    from conftest import EXAMPLES

    assert scs("ledger", "init", ledger, "--catalogue", EXAMPLES / "tiny.toml").exit_code == 0
    assert scs("ledger", "import", ledger, events).exit_code == 0
    out = tmp_path / "out"
    # as of 2023-04-30 the last 24 records count (two years), each printed in full
    done = scs("statement", ledger, "res-long", "--as-of", "2023-04-30", "--output", out)
    assert done.exit_code == 0, done.stderr
    pages = [t for _, t in pdf_pages(out / "res-long.pdf")]
    # records that stopped counting are one paragraph on paper (without their agency):
    # the rows printed in full are the ones that still count
    printed = [i for i in range(40) if any(f"top{i:02d}x" in t for t in pages)]
    assert len(printed) >= 10
    on = set()
    for i in printed:
        top = [n for n, t in enumerate(pages) if f"top{i:02d}x" in t]
        end = [n for n, t in enumerate(pages) if f"end{i:02d}x" in t]
        assert len(top) == 1 and top == end, f"row {i} is cut: pages {top} and {end}"
        on.add(top[0])
    assert len(on) >= 2  # the table does cross pages


def laid_out(browser: Any, page: Path, width: int, mobile: bool) -> Callable[[str], Any]:
    """Open ``page`` in a new tab ``width`` CSS pixels wide; return a JavaScript evaluator."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    tab = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True}
                       )["sessionId"]
    browser.call("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 844, "deviceScaleFactor": 3 if mobile else 1,
        "mobile": mobile}, session=tab)
    browser.call("Page.navigate", {"url": page.as_uri()}, session=tab)

    def js(expression: str) -> Any:
        return browser.call("Runtime.evaluate", {"expression": expression,
                                                 "returnByValue": True},
                            session=tab)["result"].get("value")

    for _ in range(500):
        if js("document.readyState") == "complete":
            break
    assert js("document.readyState") == "complete"
    return js


def test_on_a_phone_nothing_scrolls_sideways_and_rows_are_labelled_cards(
        letters: Path) -> None:
    """Laid out 390 px wide (a phone), in Chromium driven over the same DevTools pipe the
    PDFs are printed through: the page is no wider than the screen, and each table row is
    a block whose cells show their column's label."""
    from scs_cli.statement.pdf import Browser

    with Browser(str(CHROMIUM)) as browser:
        js = laid_out(browser, letters / "res-a.html", 390, mobile=True)
        # a mobile layout viewport grows to fit content that is too wide
        assert js("window.innerWidth") == 390
        assert js("document.documentElement.scrollWidth") <= 390
        assert js("getComputedStyle(document.querySelector('#costs tr')).display") \
            == "block"
        label = js("getComputedStyle(document.querySelector("
                   "'#costs td[data-label=Agency]'), '::before').content")
        assert label == '"Agency: "'
        assert js("getComputedStyle(document.querySelector('#costs thead')).display") \
            == "none"


def test_a_long_unbroken_word_never_widens_the_page(scs: Invoker, tmp_path: Path) -> None:
    """Grounds and an agency of 300 characters without a space wrap inside their cells,
    on a phone, on a desktop window and on the printed A4 page."""
    from scs_cli.statement.pdf import Browser

    ledger = build_ledger(scs, tmp_path)
    long = "x" * 300
    assert scs("objection", "file", ledger, "1", "--on", "2024-06-21", "--grounds", long
               ).exit_code == 0
    out = tmp_path / "out"
    done = scs("statement", ledger, "res-a", "--as-of", AS_OF, "--output", out)
    assert done.exit_code == 0, done.stderr
    with Browser(str(CHROMIUM)) as browser:
        for width, mobile in ((390, True), (800, False)):
            js = laid_out(browser, out / "res-a.html", width, mobile)
            assert js("window.innerWidth") == width
            assert js("document.documentElement.scrollWidth") <= width, width
            widest = js("Math.max(...Array.from(document.querySelectorAll('table'))"
                        ".map(t => t.getBoundingClientRect().right))")
            assert widest <= width
    pages = pdf_pages(out / "res-a.pdf")
    assert all(abs(w - A4[0]) < 2 for (w, _), _ in pages)
    text = "".join(t.replace(" ", "") for _, t in pages)
    assert long in text  # every character printed, none clipped at the page's edge


@pytest.fixture(scope="module")
def twenty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """A resident with 20 records whose numbers have four digits (a thousand rows of
    another resident come first), reported by the village committee, on a catalogue with
    an [office]; printed to PDF. Returns the PDF and the resident's record numbers."""
    from conftest import EXAMPLES
    from test_letter import OFFICE

    base = tmp_path_factory.mktemp("twenty")
    catalogue = base / "office.toml"
    catalogue.write_text((EXAMPLES / "tiny.toml").read_text(encoding="utf-8") + OFFICE,
                         encoding="utf-8")
    rows = ["resident_id,indicator,occurred_on,agency,reference"]
    rows += [f"filler,blood-donation,2021-01-{1 + i % 28:02d},hospital,f{i}"
             for i in range(1000)]
    mine = ([("red-light", f"2022-{m:02d}-10") for m in range(1, 13)]
            + [("red-light", f"2023-{m:02d}-10") for m in range(1, 5)]
            + [("blood-donation", f"2023-0{m}-01") for m in (5, 6)]
            + [("dog", "2024-01-03"), ("dog", "2024-03-03")])
    rows += [f"res-x,{ind},{day},village-committee,x{i}" for i, (ind, day) in enumerate(mine)]
    events = base / "events.csv"
    events.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ledger = base / "city.db"
    scs = Invoker()
    assert scs("ledger", "init", ledger, "--catalogue", catalogue).exit_code == 0
    done = scs("ledger", "import", ledger, events)
    assert done.exit_code == 0, done.stderr
    out = base / "out"
    done = scs("statement", ledger, "res-x", "--as-of", AS_OF, "--output", out)
    assert done.exit_code == 0, done.stderr
    return out / "res-x.pdf", list(range(1001, 1021))


def test_twenty_records_fit_two_pages_and_read_whole(twenty: tuple[Path, list[int]]) -> None:
    pdf, numbers = twenty
    pages = [t for _, t in pdf_pages(pdf)]
    assert len(pages) <= 2, f"{len(pages)} pages for 20 records"
    text = " ".join(pages)
    for n in numbers:  # each record number whole, as the resident must quote it
        assert re.search(rf"(?<![\d.-]){n}(?![\d.-])", text), f"record {n} is broken"
    assert "village-committee" in text and "village- committee" not in text
    for key in ("tiers[", ".expires_after", "expires_after", "indicators.", "None"):
        assert key not in text, key
    assert "Exampleton Credit Office" in text and "1 Example Road" in text
    assert "until 2024-07-30" in text  # the date to object by
    assert "15 days" in text


def test_no_page_holds_only_the_footer(twenty: tuple[Path, list[int]],
                                       letters: Path) -> None:
    for pdf in (twenty[0], letters / "res-a.pdf", letters / "res-b.pdf"):
        last = pdf_pages(pdf)[-1][1]
        assert "How to object" in last, f"{pdf.name}: the last page is only the footer"
        assert "fingerprint" in last


def test_the_pdf_text_reads_in_order(twenty: tuple[Path, list[int]]) -> None:
    text = " ".join(t for _, t in pdf_pages(twenty[0]))
    order = ["Your credit statement", "Your score", "Main reasons", "What costs you points",
             "What you contest", "How to object", "For the office's records"]
    found = [text.find(h) for h in order]
    assert -1 not in found and found == sorted(found), dict(zip(order, found, strict=True))


def test_on_a4_width_record_cells_stay_on_one_line(letters: Path) -> None:
    """The A4 layout (a desktop window as wide as the printed page): the record number,
    date and agency cells are one line high, and the page has a language and ordered
    headings."""
    from scs_cli.statement.pdf import Browser

    with Browser(str(CHROMIUM)) as browser:
        js = laid_out(browser, letters / "res-a.html", 760, mobile=False)
        assert js("getComputedStyle(document.querySelector('#costs tr')).display") \
            == "table-row"
        for cell in ("th[scope=row]", "td[data-label=Date]"):
            lines = js(f"(() => {{const c = document.querySelector('#costs {cell}');"
                       "const r = document.createRange(); r.selectNodeContents(c);"
                       "return r.getClientRects().length})()")
            assert lines == 1, cell
        assert js("document.documentElement.lang") == "en"
        levels = js("Array.from(document.querySelectorAll('h1,h2,h3'))"
                    ".map(h => +h.tagName[1])")
        assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:],
                                                                  strict=False))
        assert js("document.querySelectorAll('th:not([scope])').length") == 0


def test_letters_printed_together_are_cut_into_each_ones_own_pdf(
        scs: Invoker, tmp_path: Path) -> None:
    """Five letters printed in bundles of two (named pages, cut where the width changes)
    give the same pages, page sizes and text as each printed on its own."""
    from pypdf import PdfReader

    from scs_cli.statement.pdf import Browser, print_bundled

    ledger = build_ledger(scs, tmp_path)
    out = tmp_path / "out"
    assert scs("statement", ledger, "res-a", "res-b", "res-c", "--as-of", AS_OF,
               "--output", out, "--no-pdf").exit_code == 0
    pages = [out / f"res-{x}.html" for x in "abcab"]
    with Browser(str(CHROMIUM)) as browser:
        alone = dict(browser.print_many(pages))
        together = dict(print_bundled(browser, pages, per_print=2))
    assert sorted(together) == list(range(5))
    for i in range(5):
        a, b = PdfReader(io.BytesIO(alone[i])), PdfReader(io.BytesIO(together[i]))
        assert len(a.pages) == len(b.pages), pages[i].name
        for pa, pb in zip(a.pages, b.pages, strict=True):
            assert abs(float(pb.mediabox.width) - A4[0]) < 2
            assert abs(float(pb.mediabox.height) - A4[1]) < 2
            assert pa.extract_text() == pb.extract_text()
        assert b.metadata and b.metadata.title and pages[i].stem in b.metadata.title
