"""The impact page as a real browser renders it: headless Chromium, no network (as
tests/test_report_browser.py checks the report): the heat-map holds the JSON's numbers,
the three charts are drawn, nothing is requested, and a catalogue's text stays text."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from test_report_browser import CHROMIUM, render
from typer.testing import CliRunner

from scs_cli.cli.app import app
from scs_cli.demo.run import run_demo

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def page(tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("impact-browser")
    made = run_demo(base / "demo", residents=200, seed=11)
    text = (ROOT / "catalogues" / "rongcheng-2021.toml").read_text(encoding="utf-8")
    reform = base / "reform.toml"
    reform.write_text(text.replace('name = "Heating-fee reduction of 300 yuan"',
                                   'name = "<script>alert(1)</script> heating"', 1),
                      encoding="utf-8")
    out = base / "out"
    result = CliRunner().invoke(app, ["impact", str(made.ledger), "--baseline",
                                      "rongcheng-2016", "--reform", str(reform), "--as-of",
                                      str(date(2024, 12, 31)), "--output", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out


def test_the_impact_page_renders_its_heat_map_and_charts(page, tmp_path):  # type: ignore[no-untyped-def]
    html = (page / "impact.html").read_text(encoding="utf-8")
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "<script" not in html and "@import" not in html
    dom, log = render(page / "impact.html", tmp_path / "profile")
    assert "Content Security Policy" not in log, "the page tried to load something"
    assert dom.count("<svg") == 3  # histogram, winners and losers by tier, rewards
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt; heating" in dom
    doc = json.loads((page / "impact.json").read_text(encoding="utf-8"))
    heat = re.search(r'<table class="heat" id="transitions-table">(.*?)</table>', dom, re.S)
    assert heat, "the transition heat-map is missing"
    columns = re.findall(r'<th class="n">([^<]*)</th>', heat.group(1))
    assert columns == [*doc["reform"]["tiers"], "not scored"]
    body = re.findall(r"<tr><th>([^<]*)</th>(.*?)</tr>", heat.group(1).split("<tbody>")[1],
                      re.S)
    seen = {}
    for label, cells in body:
        numbers = re.findall(r"<td[^>]*>([^<]*)</td>", cells)
        for column, text in zip(columns, numbers, strict=True):
            seen[(label, column)] = int(text.replace(",", ""))
    want = {(t["from"] or "not scored", t["to"] or "not scored"): t["residents"]
            for t in doc["transitions"]}
    assert {k: v for k, v in seen.items() if v} == want
    shaded = re.findall(r'style="background:rgba\(47,94,140,([0-9.]+)\)"', heat.group(1))
    assert len({s for s in shaded if s != "0"}) > 2  # a heat-map: shades differ
    for t in doc["by_tier"]:
        assert re.search(rf"<td>{t['tier']}</td><td class=\"n\">{t['winners']:,}</td>", dom)
