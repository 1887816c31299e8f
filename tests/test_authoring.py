"""`scs catalogue new` and `scs catalogue fmt`: catalogues written in the documented style."""

from __future__ import annotations

from pathlib import Path

import pytest

from scs_cli.rules.schema import load_catalogue, parse_catalogue

CATALOGUES = Path(__file__).resolve().parent.parent / "catalogues"


def test_new_scaffolds_a_valid_catalogue_for_another_city(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "new", "shouguang", "--from", "rongcheng-2016",
                 "--name", "Shouguang", "--province", "Shandong",
                 "--effective-from", "2027-01-01")
    assert result.exit_code == 0, result.stderr
    draft = parse_catalogue(result.stdout, "draft")
    template = load_catalogue(CATALOGUES / "rongcheng-2016.toml")
    assert (draft.city.id, draft.city.name, draft.city.province) == (
        "shouguang", "Shouguang", "Shandong")
    assert str(draft.effective_from) == "2027-01-01"
    # same shape and values, none of the template's citations
    assert [(t.name, t.min) for t in draft.tiers] == [(t.name, t.min) for t in template.tiers]
    assert (draft.scale.base, draft.scale.min, draft.scale.max) == (
        template.scale.base, template.scale.min, template.scale.max)
    assert draft.indicators.keys() == template.indicators.keys()
    assert all(i.points == template.indicators[k].points for k, i in draft.indicators.items())
    assert draft.sources == () and all(i.source is None for i in draft.indicators.values())
    assert "rongcheng" in (draft.notes or "")
    # every copied value is the template's, so an assumption for the new city
    assert "base" in draft.scale.assumed
    assert all("min" in t.assumed for t in draft.tiers if t.min is not None)
    for ident, indicator in draft.indicators.items():
        given = template.indicators[ident]
        assert ("points" in indicator.assumed) == (given.points is not None)
        assert ("expires_after" in indicator.assumed) == (given.expires_after is not None)
    # and it is usable at once: a ledger can be bound to the new city
    path = tmp_path / "shouguang.toml"
    path.write_text(result.stdout, encoding="utf-8")
    assert scs("ledger", "init", tmp_path / "city.db", "--catalogue", path).exit_code == 0


@pytest.mark.parametrize("city_id", ["Shouguang", "shou guang", "../x", ""])
def test_new_refuses_a_city_id_that_is_not_a_slug(scs, city_id: str) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "new", city_id, "--from", "rongcheng-2016", "--name", "X")
    assert result.exit_code in (1, 2)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(p.stem for p in CATALOGUES.glob("*.toml")
                                        if not p.name.endswith(".cases.toml")
                                        if p.stem != "taxonomy"))
def test_fmt_prints_a_catalogue_that_reads_back_equal(scs, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = scs("catalogue", "fmt", CATALOGUES / f"{name}.toml")
    assert result.exit_code == 0, result.stderr
    assert parse_catalogue(result.stdout) == load_catalogue(CATALOGUES / f"{name}.toml")
    canonical = tmp_path / "c.toml"
    canonical.write_text(result.stdout, encoding="utf-8")
    assert scs("catalogue", "fmt", canonical, "--check").exit_code == 0


def test_fmt_check_fails_on_a_file_out_of_canonical_form(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    messy = tmp_path / "messy.toml"
    messy.write_text((CATALOGUES.parent / "examples" / "tiny.toml").read_text() + "\n\n",
                     encoding="utf-8")
    result = scs("catalogue", "fmt", messy, "--check")
    assert result.exit_code == 1
    assert "is not in canonical form" in result.stderr and result.stdout == ""


def test_a_catalogue_written_as_the_docs_show_is_canonical(scs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """docs/catalogue.md's example, without its comments, passes `fmt --check`: the canonical
    form is the documented style (tables after [city], [[tiers]] blocks, `points = -50`)."""
    import re

    docs = (Path(__file__).parent.parent / "docs" / "catalogue.md").read_text(encoding="utf-8")
    example = docs.split("```toml\n")[1].split("```")[0]
    lines = [re.sub(r"\s+#.*$", "", line) for line in example.splitlines()
             if not line.lstrip().startswith("#")]
    written = tmp_path / "as-documented.toml"
    written.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = scs("catalogue", "fmt", written, "--check")
    assert result.exit_code == 0, (result.stderr, scs("catalogue", "fmt", written).stdout)
    text = scs("catalogue", "fmt", written).stdout
    assert text.index("[city]") < text.index("[[tiers]]") < text.index("[categories.")
    assert "points = -50\n" in text and "base = 1000\n" in text and ".0\n" not in text
    assert 'limit = { count = 2, per = "month" }\n' in text
