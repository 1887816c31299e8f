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

from scs_cli.rules.schema import bundled_catalogue_paths, load_catalogue, parse_catalogue, to_document
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
    assert cat.indicators["contract-non-performance"].assumed == {"expires_after"}
    assert cat.indicators["credit-card-arrears"].assumed == {"points", "expires_after", "limit"}
    assert cat.assumed == {"effective_from"}
    assert "The Nation 2019" in (cat.notes or "") and "follows Liu 2019" in (cat.notes or "")


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
