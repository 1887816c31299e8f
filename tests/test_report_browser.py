"""The report page as a real browser renders it: headless Chromium, no network.

CI installs Debian's chromium (`apt-get install -y chromium`); on a machine without it the
test is skipped with the reason (unless SCS_REQUIRE_BROWSER is set, as CI should set it).
The page carries a Content-Security-Policy that blocks every request, and Chromium logs
any blocked one to stderr, so "no request leaves the page" is checked twice: no http(s)
src/href to another host in the HTML, and no blocked request in the browser's log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from test_report import make_ledger, resident_ids, run

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium")
                                        .exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=1"]

# CI sets SCS_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping.
if CHROMIUM is None and os.environ.get("SCS_REQUIRE_BROWSER"):
    raise RuntimeError("SCS_REQUIRE_BROWSER is set but chromium is not installed "
                       "(Debian: apt-get install -y chromium)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")


def render(page: Path, profile: Path) -> tuple[str, str]:
    """The DOM after Chromium has loaded and laid out the page, and Chromium's log."""
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


@pytest.fixture(scope="module")
def report(tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("browser")
    ledger = make_ledger(base)
    out = base / "out"
    result = run("report", ledger, "--as-of", date(2024, 6, 30), "--output", out)
    assert result.exit_code == 0, result.stderr
    return out


def test_the_city_page_renders_with_its_charts_and_tiers(report, tmp_path):  # type: ignore[no-untyped-def]
    page = report / "exampleton" / "index.html"
    html = page.read_text(encoding="utf-8")
    # nothing in the page points at another host: no stylesheet, script, font or image
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "<script" not in html and "@import" not in html and "url(http" not in html
    dom, log = render(page, tmp_path / "profile")
    assert "Content Security Policy" not in log, "the page tried to load something"
    assert dom.count("<svg") == 4  # distribution, tier shares, monthly, indicators
    assert "<text" in dom  # chart labels are text, drawn by the browser
    tiers = re.search(r'<h2 id="tiers">.*?<table>(.*?)</table>', dom, re.S)
    assert tiers, "the tier table is missing"
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", tiers.group(1))
    rows = [cells[i:i + 5] for i in range(0, len(cells), 5)]
    assert [(r[0], r[3]) for r in rows] == [("A", "24"), ("B", "4"), ("C", "2")]
    assert "Exampleton" in dom and "2024-06-30" in dom
    assert not [rid for rid in resident_ids() if rid in dom]


def test_the_index_page_renders(report, tmp_path):  # type: ignore[no-untyped-def]
    dom, log = render(report / "index.html", tmp_path / "profile")
    assert "Content Security Policy" not in log
    assert dom.count("<svg") == 1
    assert 'href="exampleton/index.html"' in dom
