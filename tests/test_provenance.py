"""Provenance: what is law and what is the compiler's assumption, visible everywhere.

The bundled catalogues mark every value no source gives in `assumed`, cite only entries of the
bibliography in `catalogues/SOURCES.md`, and keep no meaning in comments.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from scs_cli.rules.schema import (
    bundled_catalogue_paths,
    load_catalogue,
    parse_catalogue,
    to_document,
)
from scs_cli.rules.taxonomy import bundled_dir

BUNDLED = bundled_catalogue_paths()
BIBLIOGRAPHY = bundled_dir() / "SOURCES.md"


def bibliography_keys() -> list[str]:
    return re.findall(r"^### (.+)$", BIBLIOGRAPHY.read_text(encoding="utf-8"), re.MULTILINE)


def citations(path: Path) -> list[tuple[str, str]]:
    """(where, citation) for every `sources` entry and every `source`, split at ';'."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    found = [(f"catalogue.sources[{i}]", s) for i, s in
             enumerate(doc["catalogue"].get("sources", []))]
    found += [(f"indicators.{k}.source", v["source"])
              for k, v in doc.get("indicators", {}).items() if "source" in v]
    return [(where, part) for where, text in found for part in split_citations(text)]


def split_citations(text: str) -> list[str]:
    """Citations separated by ';' outside parentheses (a note in brackets may hold ';')."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


def test_citations_split_only_outside_brackets():
    assert split_citations("Liu 2019 (a; b); Creemers 2018, table 3") == [
        "Liu 2019 (a; b)", "Creemers 2018, table 3"]


def test_the_bibliography_has_entries_with_author_year_and_title():
    keys = bibliography_keys()
    assert len(keys) == len(set(keys)), "every short name is used once"
    assert {"Liu 2019", "Creemers 2018", "The Nation 2019", "CLT Attachment 1"} <= set(keys)
    text = BIBLIOGRAPHY.read_text(encoding="utf-8")
    liu = text.split("### Liu 2019\n", 1)[1].split("###", 1)[0]
    assert "Chuncheng Liu, 2019" in liu and "Multiple social credit systems" in liu
    assert "Economic Sociology" in liu and "table 1" in liu.lower()


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_citation_names_an_entry_of_the_bibliography(path):
    keys = bibliography_keys()
    unknown = [(where, c) for where, c in citations(path)
               if not any(c.startswith(k) for k in keys)]
    assert not unknown, f"{path.name}: cite an entry of catalogues/SOURCES.md: {unknown}"


@pytest.mark.parametrize("path", [*BUNDLED, bundled_dir() / "taxonomy.toml",
                                  bundled_dir() / "README.md", BIBLIOGRAPHY],
                         ids=lambda p: p.name)
def test_nothing_cites_a_file_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    outside = re.findall(r"research/[\w./-]*|/work/[\w./-]*|\.\./SOURCES\.md|\bresearch §",
                         text)
    assert not outside, f"{path.name} cites files outside the repository: {outside}"


def comments(path: Path) -> list[tuple[int, str]]:
    """The TOML comments of a file (text after a '#' outside strings and multi-line strings)."""
    out = []
    in_multiline = False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if in_multiline:
            in_multiline = line.count('"""') % 2 == 0
            continue
        quote = None
        for i, ch in enumerate(line):
            if line.startswith('"""', i) and quote is None:
                in_multiline = line.count('"""') % 2 == 1
                break
            if quote:
                quote = None if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                out.append((n, line[i:]))
                break
    return out


ASSUMPTION_WORDS = re.compile(r"(?i)\b(assumptions?|unverified|borrowed|guess(ed)?|inferred|"
                              r"read as)\b")


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_no_comment_carries_an_assumption_the_program_cannot_see(path):
    hidden = [(n, c) for n, c in comments(path) if ASSUMPTION_WORDS.search(c)]
    assert not hidden, f"{path.name}: move these into `assumed` and notes: {hidden}"


def test_the_comment_reader_sees_comments_and_skips_strings(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('a = "x # not a comment"  # ASSUMPTION here\nnotes = """\n# inside\n"""\n'
                 "# top ASSUMPTION\n")
    assert [n for n, _ in comments(f)] == [1, 5]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_assumptions_survive_a_write_and_read(path):
    cat = load_catalogue(path)
    again = parse_catalogue(tomli_w.dumps(to_document(cat)))
    assert again.assumptions() == cat.assumptions()


def test_rongcheng_marks_its_borrowed_tier_floors_and_expiries():
    cat = load_catalogue(bundled_dir() / "rongcheng-2016.toml")
    assert cat.tiers[0].assumed == {"min"} and cat.tiers[1].assumed == {"min"}
    assert cat.tiers[2].assumed == frozenset()  # A >= 960 is Liu 2019's
    assert cat.indicators["contract-non-performance"].assumed == {"expires_after", "basis"}
    assert cat.indicators["credit-card-arrears"].assumed == {
        "points", "expires_after", "limit", "basis", "reporters"}
    assert cat.assumed == {"effective_from"}
    assert "The Nation 2019" in (cat.notes or "") and "follows Liu 2019" in (cat.notes or "")


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_no_bundled_basis_or_reporters_reads_as_law(path):
    """No cited source of a bundled catalogue prints a legal basis or who reports a row: each
    `basis` and `reporters` is the compiler's reading, and marked so."""
    for ind in load_catalogue(path).indicators.values():
        if ind.basis is not None:
            assert "basis" in ind.assumed, ind.id
        if ind.reporters:
            assert "reporters" in ind.assumed, ind.id


def test_the_corrected_citations():
    r2016 = load_catalogue(bundled_dir() / "rongcheng-2016.toml")
    r2021 = load_catalogue(bundled_dir() / "rongcheng-2021.toml")
    for cat in (r2016, r2021):  # Walters' words, not The Nation's nor the 2018 handbook's
        assert (cat.indicators["visiting-the-sick"].source or "").startswith("Walters")
    suining = load_catalogue(bundled_dir() / "suining-2010.toml")
    liu = next(s for s in suining.sources if s.startswith("Liu 2019"))
    assert "dropped" not in liu and "revised" in liu
    suqian = load_catalogue(bundled_dir() / "suqian-2019.toml")
    assert "points" in suqian.indicators["utility-fee-arrears"].assumed  # "at least -20"
    xiamen = load_catalogue(bundled_dir() / "xiamen-2023.toml")
    assert "participation" in xiamen.policy.assumed and "activated" in (xiamen.notes or "")


def test_an_assumed_reporters_list_warns_at_import_rather_than_refusing(scs, tmp_path):
    ledger, events = tmp_path / "city.db", tmp_path / "events.csv"
    events.write_text("resident_id,indicator,occurred_on,agency\n"
                      "R1,bank-loan-arrears,2020-03-01,credit-cooperative\n"
                      "R2,bank-loan-arrears,2020-03-02,bank\n", encoding="utf-8")
    assert scs("ledger", "init", ledger, "--catalogue", "rongcheng-2016").exit_code == 0
    result = scs("ledger", "import", ledger, events)
    assert result.exit_code == 0, result.stderr
    assert "imported 2 events" in result.stderr
    assert ("warning: " + str(events) + ": 'credit-cooperative' reported indicator "
            "'bank-loan-arrears' (1 row), which its catalogue's reporters (bank) do not name; "
            "that list is the catalogue's assumption") in result.stderr
    assert "'bank' reported" not in result.stderr


def test_launch_dates_follow_liu_2019_table_1():
    dates = {p.stem: load_catalogue(p) for p in BUNDLED}
    assert str(dates["suqian-2019"].effective_from) == "2018-03-23"
    assert str(dates["fuzhou-2018"].effective_from) == "2018-06-04"
    assert "effective_from" not in dates["suqian-2019"].assumed
    assert "2018-07-05" in (dates["xiamen-2023"].notes or "")
    assert "Liu 2019, table 1" in " ".join(dates["xiamen-2023"].sources)


def test_jinan_notes_say_both_second_offence_values_and_which_is_followed():
    cat = load_catalogue(bundled_dir() / "jinan-dogs-2017.toml")
    notes = cat.notes or ""
    assert "-6" in notes and "'-3 again'" in notes and "follows the news reports" in notes


def test_assumptions_list_each_table_path_and_key():
    cat = load_catalogue(bundled_dir() / "suqian-2019.toml")
    marks = cat.assumptions()
    assert ("tiers[0]", "min") in marks and ("tiers[1]", "name") in marks
    assert ("rewards.transport-card-discount", "min_tier") in marks
    assert all(path.startswith(("catalogue", "scale", "tiers[", "indicators.", "rewards.",
                                "categories.", "sanctions.", "policy")) for path, _ in marks)


def test_a_replaced_assumption_is_part_of_the_catalogue_value():
    cat = load_catalogue(bundled_dir() / "baoji-2020.toml")
    other = replace(cat, scale=replace(cat.scale, assumed=frozenset()))
    assert other.scale != cat.scale


# --- visible everywhere: show, explain, report ----------------------------------------------

RONGCHENG = bundled_dir() / "rongcheng-2016.toml"


def test_show_marks_assumed_values_and_never_says_never(scs, monkeypatch):
    from scs_cli.cli.common import out

    monkeypatch.setattr(getattr(out, "console", out), "_width", 300)  # one line per row
    result = scs("catalogue", "show", RONGCHENG)
    assert result.exit_code == 0
    text = result.stdout
    assert "1050 (assumed)" in text and "1030 (assumed)" in text
    assert "960 (assumed)" not in text  # A >= 960 is Liu 2019's, shown as published
    assert "5y (assumed)" in text and "-10 (assumed)" in text
    assert "in force from 2016-01-05 (assumed)" in text
    assert "never" not in text.lower()  # a rule with no expiry_after shows "none set"
    assert "none set" in text
    assert "60 values marked (assumed)" in text  # 17, and 43 basis and reporters


def test_list_counts_each_bundled_catalogue_s_assumed_values(scs):
    import json

    rows = json.loads(scs("catalogue", "list", "--format", "json").stdout)
    counts = {r["name"]: r["assumed_values"] for r in rows}
    assert counts["rongcheng-2016"] == 60  # 17, and 43 basis and reporters lists
    assert counts == {p.stem: len(load_catalogue(p).assumptions()) for p in BUNDLED}


def test_show_json_carries_the_assumed_lists(scs):
    import json

    result = scs("catalogue", "show", RONGCHENG, "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["tiers"][0]["assumed"] == ["min"] and "assumed" not in doc["tiers"][2]
    assert doc["indicators"]["credit-card-arrears"]["assumed"] == [
        "basis", "expires_after", "limit", "points", "reporters"]
    assert doc["catalogue"]["assumed"] == ["effective_from"]


def _rongcheng_explanation():
    from datetime import date
    from decimal import Decimal

    from scs_cli.core.frames import LedgerData
    from scs_cli.explain.explain import explain
    from scs_cli.rules.model import CatalogueHistory, cents

    def ev(event_id: int, day: str, indicator: str) -> dict[str, object]:
        return {"event_id": event_id, "resident_id": "r1", "indicator": indicator,
                "occurred_on": date.fromisoformat(day), "points": None}

    data = LedgerData.build(events=[
        ev(1, "2020-03-01", "contract-non-performance"),  # -20, expiry 5y assumed
        ev(2, "2020-04-01", "credit-card-arrears"),        # -10, points and limit assumed
        ev(3, "2020-05-01", "superstition"),               # -10, no expiry in the catalogue
    ])
    assert cents(Decimal("-10")) == -1000
    return explain(data, CatalogueHistory([load_catalogue(RONGCHENG)]), "r1",
                   date(2021, 1, 1))


def test_explain_marks_the_points_and_expiry_that_rest_on_assumptions():
    x = _rongcheng_explanation()
    assert str(x.score) == "960" and x.tier == "A"
    by = {e.event_id: e for e in x.events}
    assert by[1].assumed == ("expires_after",)
    assert "(expires_after 5y, assumed: no source gives it)" in by[1].reason
    assert by[2].assumed == ("points", "limit", "expires_after")
    assert "rests on assumed points, limit (no source gives them)" in by[2].reason
    assert by[3].assumed == ()
    assert "the catalogue sets no expiry" in by[3].reason and "never" not in by[3].reason
    # an assumed basis is worded as the compiler's reading, never as the rule's citation
    assert by[1].basis == ("Contract Law of the PRC (1999), art. 107 (liability for breach) "
                           "(the law that governs this conduct, in the catalogue's reading; "
                           "the rule cites none)")
    # the A band's upper edge is AA's assumed floor
    assert "960 ≤ 960 < 1030 (assumed) → A" in x.tier_reason
    assert x.assumptions == ("tiers[1].min", "indicators.contract-non-performance.expires_after",
                             "indicators.credit-card-arrears.points",
                             "indicators.credit-card-arrears.limit",
                             "indicators.credit-card-arrears.expires_after")
    # the projection says when an assumed expiry ends an event
    first = x.projection[0]
    assert first.date.isoformat() == "2025-03-01" and first.events == (1,)
    assert first.reason.endswith("expires (an assumed expiry)")
    assert [p.date.isoformat() for p in x.projection] == ["2025-03-01", "2025-04-01"]
    record = x.to_record()
    assert record["events"][1]["assumed"] == ["points", "limit", "expires_after"]
    assert record["assumptions"][0] == "tiers[1].min"


def test_report_says_how_many_counted_points_rest_on_assumptions():
    from datetime import UTC, date, datetime

    import polars as pl

    from scs_cli.core.frames import LedgerData
    from scs_cli.report.figures import AdoptedVersion, CityInput, city_figures
    from scs_cli.report.render import city_markdown
    from scs_cli.rules.model import CatalogueHistory

    cat = load_catalogue(RONGCHENG)
    as_of = date(2021, 1, 1)
    engine_events = pl.DataFrame(
        [(1, "r1", "contract-non-performance", "2016", -2000, "counted"),
         (2, "r1", "superstition", "2016", -1000, "counted"),
         (3, "r2", "volunteer-service", "2016", 100, "counted"),
         (4, "r2", "credit-card-arrears", "2016", -1000, "expired")],
        schema={"event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
                "version": pl.String, "points": pl.Int64, "status": pl.String}, orient="row")
    res = pl.DataFrame([("r1", 97000, "A", [], []), ("r2", 100100, "A", [], [])],
                       schema={"resident_id": pl.String, "score": pl.Int64, "tier": pl.String,
                               "rewards": pl.List(pl.String), "sanctions": pl.List(pl.String)},
                       orient="row")
    inp = CityInput(scheme=cat, history=CatalogueHistory([cat]),
                    adopted=(AdoptedVersion("2016", cat.effective_from, "0" * 64),),
                    as_of=as_of, known_at=datetime(2021, 1, 2, tzinfo=UTC),
                    data=LedgerData.build([]), residents=res, events=engine_events,
                    monthly={as_of: res}, last_run=None, recorded=None)
    doc = city_figures(inp, public=False, generated_by="test")
    p = doc["provenance"]
    assert p["assumed_values"] == 60 and p["tier_floors_assumed"] == ["AAA", "AA"]
    # 20 + 10 + 1 points count in size; the 20 rest on an assumed 5-year expiry; the
    # expired event does not count at all
    assert (p["counted_points"], p["assumed_points"], p["assumed_events"]) == (31, 20, 1)
    assert p["assumed_share"] == round(20 / 31, 4)
    md = city_markdown(doc, {k: f"{k}.svg" for k in ("tier-shares", "score-distribution",
                                                     "tier-shares-monthly", "indicators")})
    assert "Of the 31 points counted (in size, before caps), 20 (64.5%) in 1 events" in md
    public = city_figures(inp, public=True, generated_by="test")["provenance"]
    assert public["assumed_points"] is None and public["suppressed"] == "<5"


# --- compare and diff ---------------------------------------------------------------------

def test_diff_reports_an_assumption_changed_between_versions(tmp_path):
    from scs_cli.audit.diff import diff, diff_markdown

    old = load_catalogue(RONGCHENG)
    # the next version confirms AAA's floor and the contract row's expiry in a primary text
    tiers = (replace(old.tiers[0], assumed=frozenset()), *old.tiers[1:])
    ind = replace(old.indicators["contract-non-performance"], assumed=frozenset())
    new = replace(old, version="2017", tiers=tiers,
                  indicators={**old.indicators, ind.id: ind})
    d = diff(old, new)
    changed = {(c.section, c.id): c for c in d.changes}
    assert [(f.field, f.old, f.new) for f in changed[("tiers", "AAA")].fields] == [
        ("assumed", ["min"], None)]
    assert [(f.field, f.old, f.new) for f in
            changed[("indicators", "contract-non-performance")].fields] == [
        ("assumed", ["basis", "expires_after"], None)]
    assert "assumed" in diff_markdown(d)
    assert diff(old, old).changes == ()


def test_compare_marks_assumed_values_and_counts_them():
    from scs_cli.audit.compare import compare, overview_rows, tiers_text

    rongcheng = load_catalogue(RONGCHENG)
    suining = load_catalogue(bundled_dir() / "suining-2010.toml")
    comp = compare([rongcheng, suining])
    rows = {b.behaviour: b for b in comp.behaviours}
    loan = rows["finance.loan-default"].rules
    assert loan["rongcheng 2016"].expires == "5y (assumed)"
    assert loan["rongcheng 2016"].points == "-10"
    assert loan["suining 2010"].expires == "3y (assumed)"
    card = rows["finance.credit-card-arrears"].rules
    assert card["rongcheng 2016"].points == "-10 (assumed)"
    assert "credit-card-arrears.points" in card["rongcheng 2016"].assumed
    assert tiers_text(comp.cities[0]).startswith("AAA ≥ 1050 (assumed) (+50), AA ≥ 1030 "
                                                 "(assumed) (+30), A ≥ 960 (-40)")
    assert dict(overview_rows(comp))["assumed values"] == [
        str(len(rongcheng.assumptions())), str(len(suining.assumptions()))]
    fee = rows["utilities.fee-arrears"].rules["rongcheng 2016"]
    assert fee.expires == "none set"


# --- properties: provenance is metadata, it never changes a score ----------------------------

SUINING = bundled_dir() / "suining-2010.toml"


@st.composite
def re_marked(draw: st.DrawFn, path: Path) -> dict[str, object]:
    """A bundled catalogue's document with every table's `assumed` drawn afresh from the
    keys that table gives."""
    doc = to_document(load_catalogue(path))

    def mark(table: dict[str, object]) -> None:
        table.pop("assumed", None)
        keys = draw(st.lists(st.sampled_from(sorted(table)), unique=True, max_size=3)) \
            if table else []
        if keys:
            table["assumed"] = keys

    for name in ("catalogue", "scale", "policy"):
        mark(doc[name])  # type: ignore[arg-type]
    for tier in doc["tiers"]:  # type: ignore[attr-defined]
        mark(tier)
    for section in ("categories", "indicators", "rewards", "sanctions"):
        for table in doc.get(section, {}).values():  # type: ignore[attr-defined]
            mark(table)
    return doc


@settings(max_examples=25)
@given(doc=re_marked(SUINING), data=st.data())
def test_any_assumed_subset_reads_back_and_never_changes_a_score(doc, data):
    from datetime import date

    from scs_cli.core.frames import LedgerData
    from scs_cli.engine.kernel import score
    from scs_cli.rules.model import CatalogueHistory

    marked = parse_catalogue(tomli_w.dumps(doc))
    again = parse_catalogue(tomli_w.dumps(to_document(marked)))
    assert again.assumptions() == marked.assumptions()
    plain = load_catalogue(SUINING)
    ids = sorted(plain.indicators)
    picks = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.integers(0, 3000)),
                               min_size=1, max_size=12))
    events = [{"event_id": n + 1, "resident_id": f"r{n % 3}", "indicator": ind,
               "occurred_on": date.fromordinal(date(2010, 1, 1).toordinal() + day),
               "points": (plain.indicators[ind].points_range[0] * 100
                          if plain.indicators[ind].points_range else None)}
              for n, (ind, day) in enumerate(picks)]
    ledger = LedgerData.build(events=[{**e, "points": None if e["points"] is None
                                       else int(e["points"])} for e in events])
    as_of = date(2016, 1, 1)
    with_marks = score(ledger, CatalogueHistory([marked]), as_of).residents
    without = score(ledger, CatalogueHistory([plain]), as_of).residents
    assert with_marks.equals(without)


def test_explain_says_when_a_tier_or_score_cap_is_assumed():
    from datetime import date

    from scs_cli.core.frames import LedgerData
    from scs_cli.explain.explain import explain
    from scs_cli.rules.model import CatalogueHistory

    # Shijiazhuang's judgment-defaulter row: tier_cap assumed (Liu 2019's general rule)
    cat = load_catalogue(bundled_dir() / "shijiazhuang-2020.toml")
    data = LedgerData.build(events=[{"event_id": 1, "resident_id": "r1",
                                     "indicator": "judgment-defaulter",
                                     "occurred_on": date(2020, 3, 1), "points": None}])
    x = explain(data, CatalogueHistory([cat]), "r1", date(2020, 6, 1))
    assert x.tier == "poor"
    assert x.tier_reason.startswith(
        "tier capped at poor (an assumed cap: no source gives it) by event 1")
    # Wuxi's score cap is published (Shqbk): no mark; an assumed one is marked
    wuxi = load_catalogue(bundled_dir() / "wuxi-2019.toml")
    x = explain(data, CatalogueHistory([wuxi]), "r1", date(2020, 6, 1))
    assert "score capped at 649 by event 1" in x.score_reason
    ind = replace(wuxi.indicators["judgment-defaulter"], assumed=frozenset({"score_cap"}))
    guess = replace(wuxi, indicators={**wuxi.indicators, ind.id: ind})
    x = explain(data, CatalogueHistory([guess]), "r1", date(2020, 6, 1))
    assert "score capped at 649 (an assumed cap: no source gives it) by event 1" in \
        x.score_reason
