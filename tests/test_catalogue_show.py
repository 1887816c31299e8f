"""`scs catalogue show --format table|markdown|csv|jsonl|json`: each a real format, and every
indicator's source visible in each."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from scs_cli.rules import listing
from scs_cli.rules.listing import VALUE_COLUMNS, value_rows
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path, to_document

NAME = "rongcheng-2016"


@pytest.fixture(scope="module")
def cat():  # type: ignore[no-untyped-def]
    return load_catalogue(resolve_catalogue_path(NAME))


def test_csv_is_one_row_per_value_with_its_source(scs: Any, cat: Any) -> None:
    result = scs("catalogue", "show", NAME, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == VALUE_COLUMNS
    for ident, ind in cat.indicators.items():
        mine = [r for r in rows if r["section"] == "indicators" and r["item"] == ident]
        assert {r["source"] for r in mine} == {ind.source or "no source given"}
        assert {"field": "name", "value": ind.name} in [
            {"field": r["field"], "value": r["value"]} for r in mine]
    tiers = {r["item"]: r["value"] for r in rows if r["section"] == "tiers"}
    assert tiers == {t.name: str(t.min) for t in cat.tiers if t.min is not None}
    assert [r["value"] for r in rows if r["field"] == "sources"] == list(cat.sources)


def test_jsonl_holds_the_same_rows_as_csv(scs: Any) -> None:
    as_csv = list(csv.DictReader(io.StringIO(
        scs("catalogue", "show", NAME, "-f", "csv").stdout)))
    as_jsonl = [json.loads(line) for line in
                scs("catalogue", "show", NAME, "-f", "jsonl").stdout.splitlines()]
    # CSV guards free text that a spreadsheet would run as a formula (SPEC §7); JSON needs none
    unguarded = [{k: v[1:] if v[:1] == "'" and v[1:2] in ("=", "+", "-", "@", "\t", "\r")
                  else v for k, v in row.items()} for row in as_csv]
    assert any(row != guarded for row, guarded in zip(unguarded, as_csv, strict=True))
    assert as_jsonl == unguarded


def test_json_is_the_whole_document(scs: Any, cat: Any) -> None:
    doc = json.loads(scs("catalogue", "show", NAME, "-f", "json").stdout)
    assert set(doc) == set(to_document(cat))
    ident, ind = next(iter(cat.indicators.items()))
    assert doc["indicators"][ident]["source"] == ind.source


def test_markdown_is_a_page_with_every_source(scs: Any, cat: Any) -> None:
    result = scs("catalogue", "show", NAME, "--format", "markdown")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith(f"# {cat.city.name} — catalogue {cat.version}")
    assert "## Indicators" in text and "| id | name | category | points |" in text
    for ident, ind in cat.indicators.items():
        line = next(x for x in text.splitlines() if x.startswith(f"| `{ident}` |"))
        assert (ind.source or "no source given").replace("|", "\\|") in line
    for source in cat.sources:
        assert f"- {source}\n" in text


def test_every_format_differs_from_the_table(scs: Any) -> None:
    outputs = {f: scs("catalogue", "show", NAME, "-f", f).stdout
               for f in ("table", "markdown", "csv", "jsonl", "json")}
    assert len(set(outputs.values())) == 5


def test_values_listed_as_assumed_are_marked(cat: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table's `assumed` keys (the format's provenance marker) mark those values."""
    doc = to_document(cat)
    doc["scale"]["assumed"] = ["base"]
    ident = next(iter(doc["indicators"]))
    doc["indicators"][ident]["assumed"] = ["expires_after", "points"]
    monkeypatch.setattr(listing, "to_document", lambda _: doc)
    marked = {(r["section"], r["item"], r["field"]) for r in value_rows(cat) if r["assumed"]}
    assert ("scale", "", "base") in marked
    assert {f for s, i, f in marked if i == ident} == \
        {f for f in ("expires_after", "points") if f in doc["indicators"][ident]}
    assert all(r["field"] != "assumed" for r in value_rows(cat))


def test_a_reward_value_shows_with_its_unit_and_survives_a_round_trip(scs: Any) -> None:
    import tomli_w

    from scs_cli.rules.schema import parse_catalogue

    for name, assumed in (("rongcheng-2016", False), ("rongcheng-2021", True)):
        reward = load_catalogue(resolve_catalogue_path(name)).rewards["heating-fee-reduction"]
        assert (reward.value, reward.unit) == (300, "CNY")
        assert ("value" in reward.assumed) is assumed  # no 2021 source gives an amount
        for fmt, worded in (("table", "worth 300 CNY to each resident"),
                            ("markdown", "worth 300 CNY to each resident")):
            result = scs("catalogue", "show", name, "--format", fmt)
            assert result.exit_code == 0, result.stderr
            assert worded in " ".join(result.stdout.split()), (name, fmt)
        rows = [r for r in value_rows(load_catalogue(resolve_catalogue_path(name)))
                if r["item"] == "heating-fee-reduction"]
        assert {r["field"]: r["value"] for r in rows}.get("unit") == "CNY"
    cat = load_catalogue(resolve_catalogue_path("rongcheng-2016"))
    again = parse_catalogue(tomli_w.dumps(to_document(cat)), "again.toml")
    assert again.rewards["heating-fee-reduction"] == cat.rewards["heating-fee-reduction"]
