"""`scs impact`: every figure equals what two plain score runs give, resident by resident.

The expected figures are computed here the way a researcher would: `scs score` under the
baseline and `scs score --catalogue` under the reform (`score_ledger` both times), then
counted in plain Python; the indicators from the kernel's detailed per-event output (the
frame `explain` reads), not from the tally `impact` uses. Ledgers come from the demo
generator (small), with consents, voids, lifts and objections.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scs_cli.cli.app import app
from scs_cli.demo.run import run_demo
from scs_cli.engine.kernel import score
from scs_cli.impact.figures import bin_width, histogram, nearest_rank
from scs_cli.ledger.store import Ledger
from scs_cli.rules.model import from_cents
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path
from scs_cli.scoring.batch import score_ledger, what_if_history

AS_OF = date(2024, 12, 31)
ROOT = Path(__file__).resolve().parent.parent


def run(*args: Any):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A demo ledger (Rongcheng 2016 then 2021, 300 residents), a reform of the 2016 rules
    that makes both winners and losers, and one known-at for every run."""
    base = tmp_path_factory.mktemp("impact")
    made = run_demo(base / "demo", residents=300, seed=7)
    text = (ROOT / "catalogues" / "rongcheng-2016.toml").read_text(encoding="utf-8")
    text = text.replace('version = "2016"', 'version = "2016-reform"', 1)
    text = re.sub(r"(?m)^points = -50$", "points = -40", text)   # milder: winners
    text = re.sub(r"(?m)^points = -20$", "points = -30", text)   # harsher: losers
    text = text.replace("min = 960   # Liu 2019: A >= 960", "min = 990", 1)
    # a value only the reform gives: the baseline side takes it too
    text = text.replace('min_tier = "AA"\n', 'min_tier = "AA"\nvalue = 12.5\nunit = "CNY"\n', 1)
    reform = base / "reform.toml"
    reform.write_text(text, encoding="utf-8")
    assert load_catalogue(reform).rewards["village-household-benefits"].value == Decimal("12.5")
    return {"ledger": made.ledger, "reform": reform, "dir": base,
            "known_at": datetime.now(UTC)}  # after every row of the demo (no rounding down)


def impact_json(d: dict[str, Any], *args: Any) -> dict[str, Any]:
    result = run("impact", d["ledger"], *args, "--as-of", AS_OF, "--known-at",
                 d["known_at"].isoformat(), "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout, parse_float=Decimal)


# --- the independent computation ---------------------------------------------------------

def rows(run_: Any) -> dict[str, dict[str, Any]]:
    return {r["resident_id"]: r for r in run_.result.residents.iter_rows(named=True)}


def counted_points(ledger: Path, known_at: datetime, catalogue: Path | None) -> dict[str, int]:
    """Per indicator, the points of every counting event (counted or capped: before caps)
    in the kernel's detailed events frame."""
    with Ledger.open(ledger) as led:
        data = led.scoring_data(known_at)
        history = (what_if_history(load_catalogue(resolve_catalogue_path(catalogue)))
                   if catalogue else led.history(known_at))
    events = score(data, history, AS_OF, detail=True).events
    sums: Counter[str] = Counter()
    for e in events.iter_rows(named=True):
        if e["status"] in ("counted", "capped"):
            sums[e["indicator"]] += e["points"]
            sums[e["indicator"]] += 0  # a row even when its points add up to nothing
    return sums


def quantile(values: list[int], share: Fraction) -> int:
    """Nearest rank, as written in textbooks: the ⌈q·n⌉-th smallest (the first for q=0)."""
    k = max(math.ceil(share * len(values)), 1)
    return sorted(values)[k - 1]


def expected(d: dict[str, Any], baseline: Path | None) -> dict[str, Any]:
    old = score_ledger(d["ledger"], AS_OF, d["known_at"], catalogue=baseline)
    new = score_ledger(d["ledger"], AS_OF, d["known_at"], catalogue=d["reform"])
    b, r = rows(old), rows(new)
    both = sorted(set(b) & set(r))
    change = {i: r[i]["score"] - b[i]["score"] for i in both}
    pairs = Counter((b[i]["tier"] if i in b else None, r[i]["tier"] if i in r else None)
                    for i in set(b) | set(r))
    by_tier = []
    for tier in old.result.scheme.tier_names:
        mine = [change[i] for i in both if b[i]["tier"] == tier]
        by_tier.append({"tier": tier, "winners": sum(c > 0 for c in mine),
                        "losers": sum(c < 0 for c in mine),
                        "unchanged": sum(c == 0 for c in mine)})
    values = list(change.values())
    quantiles = {k: from_cents(quantile(values, Fraction(p, 100))) for k, p in (
        ("min", 0), ("p10", 10), ("p25", 25), ("median", 50), ("p75", 75), ("p90", 90),
        ("max", 100))}
    granted = {}
    for kind in ("rewards", "sanctions"):
        defs_b = getattr(old.result.scheme, kind)
        defs_r = getattr(new.result.scheme, kind)
        for ident in set(defs_b) | set(defs_r):
            had = {i for i in b if ident in b[i][kind]}
            has = {i for i in r if ident in r[i][kind]}
            entry = {"gained": len(has - had), "lost": len(had - has),
                     "baseline": len(had), "reform": len(has)}
            if kind == "rewards":
                rule = defs_r.get(ident) or defs_b[ident]
                value = rule.value
                if value is not None and (ident not in defs_b or defs_b[ident].value == value):
                    entry["cost"] = (len(has) - len(had)) * value
            granted[(kind, ident)] = entry
    pts_b = counted_points(d["ledger"], d["known_at"], baseline)
    pts_r = counted_points(d["ledger"], d["known_at"], d["reform"])
    indicators = {i: (pts_b.get(i, 0), pts_r.get(i, 0)) for i in set(pts_b) | set(pts_r)}
    return {"b": b, "r": r, "both": both, "change": change, "pairs": pairs,
            "by_tier": by_tier, "quantiles": quantiles, "granted": granted,
            "indicators": indicators}


def check_every_figure(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["residents"] == {"baseline": len(want["b"]), "reform": len(want["r"]),
                                "both": len(want["both"])}
    assert {(t["from"], t["to"]): t["residents"] for t in got["transitions"]} == \
        dict(want["pairs"])
    changes = list(want["change"].values())
    assert got["winners"] == sum(c > 0 for c in changes)
    assert got["losers"] == sum(c < 0 for c in changes)
    assert got["unchanged"] == sum(c == 0 for c in changes)
    assert got["by_tier"] == want["by_tier"]
    assert got["change"] == want["quantiles"]
    # the histogram holds every change once: no change in its own bin, each other one in
    # its bin [from, to)
    assert sum(h["residents"] for h in got["histogram"]) == len(changes)
    for h in got["histogram"]:
        lo, hi = h["from"] * 100, h["to"] * 100
        assert h["residents"] == (sum(c == 0 for c in changes) if lo == hi == 0 else
                                  sum(lo <= c < hi and c != 0 for c in changes))
    starts = [h["from"] for h in got["histogram"]]
    assert starts == sorted(starts)
    for kind in ("rewards", "sanctions"):
        ids = [g["id"] for g in got[kind]]
        assert ids == sorted(i for k, i in want["granted"] if k == kind)
        for g in got[kind]:
            w = want["granted"][(kind, g["id"])]
            for key in ("gained", "lost", "baseline", "reform"):
                assert g[key] == w[key], (kind, g["id"], key)
            if "cost" in w:
                assert g["cost"] == w["cost"], g
    got_ind = {i["indicator"]: (i["baseline"], i["reform"], i["change"])
               for i in got["indicators"]}
    assert got_ind == {i: (from_cents(b), from_cents(r), from_cents(r - b))
                       for i, (b, r) in want["indicators"].items()}
    order = [abs(i["change"]) for i in got["indicators"]]
    assert order == sorted(order, reverse=True)


def test_against_the_adopted_rules_every_figure_is_two_score_runs(demo):  # type: ignore[no-untyped-def]
    got = impact_json(demo, "--reform", demo["reform"])
    want = expected(demo, None)
    check_every_figure(got, want)
    # the demo's 2021 version scores only consenting residents: the reform (every event
    # judged by the 2016 reform, participation "all") scores people the baseline does not
    assert got["residents"]["reform"] > got["residents"]["baseline"]
    assert any(t["from"] is None for t in got["transitions"])
    assert got["baseline"]["rules"].startswith("adopted 2016 (from 2016-01-05), 2021")


def test_with_a_baseline_file_every_figure_is_two_score_runs(demo):  # type: ignore[no-untyped-def]
    got = impact_json(demo, "--baseline", "rongcheng-2016", "--reform", demo["reform"])
    want = expected(demo, resolve_catalogue_path("rongcheng-2016"))
    check_every_figure(got, want)
    assert got["winners"] > 0 and got["losers"] > 0  # the reform cuts both ways
    heating = next(r for r in got["rewards"] if r["id"] == "heating-fee-reduction")
    assert heating["unit"] == "CNY" and heating["value"] == 300
    assert heating["cost"] == (heating["gained"] - heating["lost"]) * 300
    village = next(r for r in got["rewards"] if r["id"] == "village-household-benefits")
    # only the reform gives a value: both sides are costed at it
    assert village["cost"] == (village["reform"] - village["baseline"]) * Decimal("12.5")
    assert next(r for r in got["rewards"] if r["id"] == "service-hall-priority")["cost"] is None


def test_the_same_rules_change_nothing(demo):  # type: ignore[no-untyped-def]
    got = impact_json(demo, "--baseline", "rongcheng-2016", "--reform", "rongcheng-2016")
    assert got["winners"] == got["losers"] == 0
    assert got["unchanged"] == got["residents"]["both"] == got["residents"]["baseline"]
    assert all(t["from"] == t["to"] for t in got["transitions"])
    assert set(got["change"].values()) == {0}
    assert all(i["change"] == 0 for i in got["indicators"])
    assert all(r["gained"] == r["lost"] == 0 for r in got["rewards"] + got["sanctions"])
    assert got["histogram"] == [{"from": 0, "to": 0, "residents": got["unchanged"]}]


def test_public_hides_every_count_from_1_to_4_and_nothing_else(demo):  # type: ignore[no-untyped-def]
    args = ("--baseline", "rongcheng-2016", "--reform", demo["reform"])
    full = impact_json(demo, *args)
    public = impact_json(demo, *args, "--public")
    hidden = 0

    def compare(a: Any, b: Any, path: str) -> None:
        nonlocal hidden
        if isinstance(a, dict):
            for k in a:
                if k == "public":
                    continue
                compare(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list):
            assert len(a) == len(b), path
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                compare(x, y, f"{path}[{i}]")
        elif isinstance(a, int) and not isinstance(a, bool) and 0 < a < 5 and (
                path.split(".")[-1] in ("residents", "winners", "losers", "unchanged",
                                        "gained", "lost", "baseline", "reform", "both")):
            assert b is None, path
            hidden += 1
        elif path.split(".")[-1] == "cost" and a is not None and b is None:
            pass  # a cost is hidden with the small count it would give away
        elif path.startswith(".indicators") and b is None:
            pass  # points resting on 1–4 counting events
        else:
            assert a == b, path

    compare(full, public, "")
    assert hidden > 0  # the reform makes small cells: the test saw some hidden
    assert public["public"] is True
    # and no count from 1 to 4 is left anywhere in the published document
    def counts(x: Any, key: str = "") -> list[int]:
        if isinstance(x, dict):
            return [n for k, v in x.items() for n in counts(v, k)]
        if isinstance(x, list):
            return [n for v in x for n in counts(v, key)]
        return [x] if isinstance(x, int) and not isinstance(x, bool) and key in (
            "residents", "winners", "losers", "unchanged", "gained", "lost", "both") else []
    assert not [n for n in counts(public) if 0 < n < 5]
    md = run("impact", demo["ledger"], *args, "--as-of", AS_OF, "--public", "-f", "markdown")
    assert md.exit_code == 0 and "<5" in md.stdout and "null" not in md.stdout
    table = run("impact", demo["ledger"], *args, "--as-of", AS_OF, "--public")
    assert table.exit_code == 0 and "<5" in table.stdout


def test_every_format_says_the_same_numbers(demo):  # type: ignore[no-untyped-def]
    args = ("--baseline", "rongcheng-2016", "--reform", demo["reform"], "--as-of", AS_OF,
            "--known-at", demo["known_at"].isoformat())
    doc = impact_json(demo, *args[:4])
    md = run("impact", demo["ledger"], *args, "-f", "markdown").stdout
    table = run("impact", demo["ledger"], *args).stdout
    assert f"winners (score up): **{doc['winners']:,}**" in md
    assert f"winners (score up): {doc['winners']:,}" in table
    for text in (md, table):
        for t in doc["by_tier"]:
            assert re.search(rf"\b{t['tier']}\b.*\b{t['winners']:,}\b.*\b{t['losers']:,}\b",
                             text)
        top = doc["indicators"][0]
        assert top["indicator"] in text
    assert md.startswith("# What the reform would do: Rongcheng")


# --- refusals: one line, exit 1 ----------------------------------------------------------

def refused(*args: Any) -> str:
    result = run("impact", *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, \
        result.stderr
    return result.stderr


def test_a_reform_of_another_city_is_refused(demo):  # type: ignore[no-untyped-def]
    line = refused(demo["ledger"], "--reform", "suining-2010", "--as-of", AS_OF)
    assert "city 'suining'" in line and "'rongcheng'" in line
    assert "never cities' residents" in line
    line = refused(demo["ledger"], "--reform", demo["reform"], "--baseline", "suining-2010",
                   "--as-of", AS_OF)
    assert "baseline" in line


def test_a_reform_that_does_not_validate_is_refused(demo, tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    text = demo["reform"].read_text(encoding="utf-8")
    bad.write_text(text.replace('value = 12.5', 'value = 12.555').replace(
        'min = 990', 'min = "high"'), encoding="utf-8")
    line = refused(demo["ledger"], "--reform", bad, "--as-of", AS_OF)
    assert "does not validate (2 problems" in line and "scs catalogue validate" in line


def test_a_date_with_no_rules_in_force_is_refused(demo):  # type: ignore[no-untyped-def]
    line = refused(demo["ledger"], "--reform", demo["reform"], "--as-of", "2015-06-30")
    assert "no catalogue version is in force on 2015-06-30" in line


def test_output_writes_three_files_and_never_over_an_input(demo, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "impact"
    result = run("impact", demo["ledger"], "--reform", demo["reform"], "--as-of", AS_OF,
                 "--output", out)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["impact.html", "impact.json",
                                                      "impact.md"]
    assert json.loads((out / "impact.json").read_text())["residents"]["both"] > 0
    # the reform kept under the name the page would take: refused, the reform untouched
    trap = tmp_path / "trap"
    trap.mkdir()
    reform = trap / "impact.md"
    reform.write_text(demo["reform"].read_text(encoding="utf-8"), encoding="utf-8")
    before = reform.read_bytes()
    line = refused(demo["ledger"], "--reform", reform, "--as-of", AS_OF, "--output", trap)
    assert "is the reform catalogue" in line
    assert reform.read_bytes() == before and not (trap / "impact.html").exists()
    line = refused(demo["ledger"], "--reform", demo["reform"], "--as-of", AS_OF,
                   "--output", demo["ledger"])
    assert "not a directory" in line


# --- the parts, against their definitions ------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 11, 99, 100, 101])
def test_nearest_rank_is_the_textbook_definition(n):  # type: ignore[no-untyped-def]
    values = [v * 3 - 50 for v in range(n)]
    for p in range(101):
        share = Fraction(p, 100)
        k = max(math.ceil(share * n), 1)
        assert nearest_rank(values, p) == values[k - 1]
        # at least p% are at most it, and fewer than p% are below it
        at_most = sum(v <= nearest_rank(values, p) for v in values)
        assert Fraction(at_most, n) >= share


def test_histogram_bins_are_round_and_cover_every_change():  # type: ignore[no-untyped-def]
    import polars as pl

    changes = pl.Series([-1250, -50, 0, 0, 5, 999, 2000, 2000], dtype=pl.Int64)
    bins = histogram(changes)
    width = bins[0]["to"] - bins[0]["from"]
    assert width * 100 == bin_width(-1250, 2000) and len(bins) <= 20
    assert str(width).lstrip("0.").rstrip("0") in ("1", "2", "5")
    assert bins[0]["from"] * 100 <= -1250 < bins[0]["to"] * 100
    assert bins[-1]["from"] * 100 <= 2000 < bins[-1]["to"] * 100
    unchanged = [b for b in bins if b["from"] == b["to"]]
    assert unchanged == [{"from": 0, "to": 0, "residents": 2}]  # the two zeros, alone
    rest = [b for b in bins if b["from"] != b["to"]]
    assert [b["from"] for b in rest[1:]] == [b["to"] for b in rest[:-1]]  # no gap
    assert next(b for b in rest if b["from"] == 0)["residents"] == 1  # only the 0.05
    assert sum(b["residents"] for b in bins) == 8
    assert bins.index(unchanged[0]) == next(i for i, b in enumerate(bins) if b["from"] == 0)
    hidden = histogram(changes, public=True)
    assert all(b["residents"] is None or b["residents"] == 0 or b["residents"] >= 5
               for b in hidden)


def test_the_charts_keep_catalogue_text_as_text():  # type: ignore[no-untyped-def]
    """The page marks the charts' SVG safe: so every label in it must be escaped."""
    from scs_cli.impact.charts import by_tier_chart, rewards_chart

    hostile = "<script>alert(1)</script>"
    svg = by_tier_chart({"by_tier": [{"tier": hostile, "winners": 3, "losers": None,
                                      "unchanged": 1}]})
    svg += rewards_chart({"rewards": [{"id": hostile, "gained": 7, "lost": 0}]})
    assert "<script" not in svg and svg.count("&lt;script&gt;") == 2
    assert "&lt;5" in svg  # the hidden count is labelled, not drawn
