"""Hostile input, generated: catalogue files, event files (CSV and JSON Lines) and command
arguments (SPEC §7 "No traceback, ever").

For every input: exit 0, or error lines only (each ``error: …``) with exit 1 (2 for a
usage error the parser catches); never a traceback (the runner re-raises any exception);
after any refusal the ledger is byte-for-byte as it was; every ledger an import accepted
passes `scs ledger verify`. Bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scs_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny.toml"
# CI runs a fixed, small sample (the same every run); SCS_FUZZ_EXAMPLES=500 hunts further,
# with fresh random inputs each time.
HUNT = int(os.environ.get("SCS_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> Any:
    return settings(max_examples=HUNT or examples, deadline=None, derandomize=not HUNT,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


FUZZ = fuzz(20)

runner = CliRunner()


def scs(*args: str | Path) -> Any:
    # catch_exceptions=False: an exception is a failing example, with its traceback
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def assert_clean(result: Any, allowed: tuple[int, ...] = (0, 1)) -> None:
    """Exit 0, or one `error:` line per problem with exit 1 (2: a usage error)."""
    assert result.exit_code in (*allowed, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 1:
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    if result.exit_code == 2:
        assert "Error" in result.stderr or "error" in result.stderr, result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A tiny-catalogue ledger with a few events: copied afresh for every example."""
    folder = tmp_path_factory.mktemp("template")
    ledger = folder / "city.db"
    events = folder / "events.csv"
    events.write_text("resident_id,indicator,occurred_on,agency,reference,points\n"
                      "r1,red-light,2021-03-01,police,p-1,\n"
                      "r2,other,2021-04-01,court,c-1,-7.5\n"
                      "r2,defaulter,2022-02-01,court,c-2,\n", encoding="utf-8")
    assert scs("ledger", "init", ledger, "--catalogue", TINY).exit_code == 0
    assert scs("ledger", "import", ledger, events).exit_code == 0
    assert scs("objection", "file", ledger, "2", "--on", "2022-05-01", "--grounds",
               "not me").exit_code == 0
    return ledger.read_bytes()


@pytest.fixture
def fresh(template: bytes, tmp_path: Path) -> Any:
    counter = iter(range(10**6))

    def make() -> Path:
        path = tmp_path / f"city-{next(counter)}.db"
        path.write_bytes(template)
        return path
    return make


# --- values ----------------------------------------------------------------------------

HOSTILE_TEXT = st.sampled_from([
    "", " ", "-٤٥", "-４５", "-𝟓", "٤٥", "1e309", "NaN", "-0", "0.001", "99999999999999999999",
    "-9223372036854775809", "=HYPERLINK(\"x\")", "@SUM(A1)", "\x1b[2J", "a\x00b", "r\u202e1",
    "\"", "'", ",", ";", "\n", "\r", "0001-01-01", "9999-12-31", "2021-02-29", "2021-13-01",
    "10000-01-01", "2021-03-01T00:00:00", "red-light", "other", "defaulter", "dog",
    "blood-donation", "court", "police", "r1", "r2", ".r", "-r", "exampleton", "springfield",
])
TEXT = HOSTILE_TEXT | st.text(alphabet=string.printable + "éü٤𝟓\u00a0", max_size=12)
DATES = st.dates().map(str) | HOSTILE_TEXT
COLUMN_NAMES = st.sampled_from(["resident_id", "indicator", "occurred_on", "agency",
                                "reference", "note", "city", "points", "Points", " points",
                                "resident_id;indicator", "", "x"])


# --- catalogues ------------------------------------------------------------------------

TOML_SCALARS = (st.integers(min_value=-10**25, max_value=10**25) | st.booleans() | TEXT
                | st.decimals(allow_nan=False, allow_infinity=False, places=3,
                              min_value=-10**22, max_value=10**22)
                | st.dates())
TOML_VALUES = st.recursive(TOML_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(["name", "min", "points", "x"]),
                                             inner, max_size=2), max_leaves=6)


def _paths(doc: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _paths(value, (*prefix, i))
    return found


TINY_DOC = tomllib.loads(TINY.read_text(encoding="utf-8"))
TINY_PATHS = _paths(TINY_DOC)


@st.composite
def catalogue_docs(draw: st.DrawFn) -> dict[str, Any]:
    """tiny.toml with a few values replaced, keys deleted or keys added."""
    doc = tomllib.loads(TINY.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(TINY_PATHS))
        parent: Any = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "delete":
                del parent[path[-1]]
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.sampled_from(["max_award", "score_cap", "limit", "parent",
                                             "expires_after", "assumed", "junk"]))] = \
                    draw(TOML_VALUES)
            else:
                parent[path[-1]] = draw(TOML_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    return doc


def _toml(doc: dict[str, Any]) -> str | None:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):  # a mixed-type array: not TOML at all
        return None


@FUZZ
@given(doc=catalogue_docs())
def test_any_catalogue_is_validated_or_refused_in_lines(doc, tmp_path):  # type: ignore[no-untyped-def]
    text = _toml(doc)
    if text is None:
        return
    cat = tmp_path / "cat.toml"
    cat.write_text(text, encoding="utf-8")
    result = scs("catalogue", "validate", cat)
    assert_clean(result)
    if result.exit_code:
        return
    for args in (("catalogue", "show", cat), ("catalogue", "show", cat, "-f", "json"),
                 ("catalogue", "lint", cat, "-f", "csv"), ("catalogue", "diff", TINY, cat)):
        assert_clean(scs(*args))
    ledger = tmp_path / "city.db"
    ledger.unlink(missing_ok=True)
    init = scs("ledger", "init", ledger, "--catalogue", cat)
    assert_clean(init)
    if init.exit_code:
        return
    events = tmp_path / "events.csv"
    events.write_text("resident_id,indicator,occurred_on,agency,points\n"
                      + "".join(f"r{i},{ind},2021-0{i % 9 + 1}-15,court,-5\n"
                                for i, ind in enumerate(doc.get("indicators") or {})),
                      encoding="utf-8")
    assert_clean(scs("ledger", "import", ledger, events, "--skip-invalid"))
    for args in (("score", ledger, "--as-of", "2024-01-01", "-f", "csv"),
                 ("explain", ledger, "r0", "--as-of", "2024-01-01"),
                 ("explain", ledger, "r1", "--as-of", "2024-01-01", "-f", "json")):
        assert_clean(scs(*args))


@FUZZ
@given(text=st.text(max_size=300), cut=st.integers(min_value=0, max_value=2000))
def test_any_text_as_a_catalogue_is_refused_in_lines(text, cut, tmp_path):  # type: ignore[no-untyped-def]
    base = TINY.read_text(encoding="utf-8")
    cat = tmp_path / "cat.toml"
    cat.write_text(base[:cut] + text + base[cut:], encoding="utf-8")
    assert_clean(scs("catalogue", "validate", cat))


# --- event files -----------------------------------------------------------------------

@st.composite
def csv_files(draw: st.DrawFn) -> str:
    columns = draw(st.lists(COLUMN_NAMES, min_size=1, max_size=6))
    if draw(st.booleans()):
        columns = ["resident_id", "indicator", "occurred_on", "agency", *columns]
    rows = draw(st.lists(st.lists(TEXT | DATES, min_size=0, max_size=len(columns) + 1),
                         max_size=5))
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | TEXT
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2),
    max_leaves=5)


@st.composite
def jsonl_files(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(st.sampled_from(["row", "row", "junk", "deep"]))
        if kind == "junk":
            lines.append(draw(TEXT).replace("\n", " "))
        elif kind == "deep":
            lines.append("[" * 5_000 + "]" * 5_000)
        else:
            row: dict[str, Any] = {"resident_id": draw(TEXT | st.just("r7")),
                                   "indicator": draw(HOSTILE_TEXT),
                                   "occurred_on": draw(DATES), "agency": "court"}
            extra = draw(st.dictionaries(COLUMN_NAMES, JSON_VALUES, max_size=3))
            lines.append(json.dumps({**row, **extra}))
    return "".join(line + "\n" for line in lines)


def _import_and_check(ledger: Path, events: Path, skip: bool) -> None:
    before = digest(ledger)
    args = ["ledger", "import", ledger, events]
    if skip:
        args += ["--skip-invalid", "--rejects", events.with_name("rejects.csv")]
    result = scs(*args)
    assert_clean(result)
    if result.exit_code:
        assert digest(ledger) == before, "a refused import changed the ledger"
        return
    verify = scs("ledger", "verify", ledger)
    assert verify.exit_code == 0, verify.stderr
    assert_clean(scs("score", ledger, "--as-of", "2024-01-01", "-f", "jsonl"))


@FUZZ
@given(text=csv_files(), skip=st.booleans())
def test_any_csv_event_file_is_imported_whole_or_refused(text, skip, fresh, tmp_path):  # type: ignore[no-untyped-def]
    events = tmp_path / "events.csv"
    events.write_text(text, encoding="utf-8")
    _import_and_check(fresh(), events, skip)


@FUZZ
@given(short=st.integers(min_value=1, max_value=4), quoted=st.booleans(),
       at=st.integers(min_value=0, max_value=3))
def test_a_short_csv_row_is_never_accepted(short, quoted, at, fresh, tmp_path):  # type: ignore[no-untyped-def]
    header = "resident_id,indicator,occurred_on,agency,note"
    good = ["r1,dog,2021-01-01,court," + ('"a, b"' if quoted else "ok")] * 3
    row = ",".join(["r9", "dog", "2021-02-01", "court", "x"][:short])
    rows = good[:at] + [row] + good[at:]
    events = tmp_path / "events.csv"
    events.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ledger = fresh()
    before = digest(ledger)
    result = scs("ledger", "import", ledger, events)
    assert result.exit_code == 1
    assert f"events.csv:{at + 2}: row: has {short} field" in result.stderr
    assert digest(ledger) == before


@FUZZ
@given(text=jsonl_files(), skip=st.booleans())
def test_any_json_lines_event_file_is_imported_whole_or_refused(text, skip, fresh, tmp_path):  # type: ignore[no-untyped-def]
    events = tmp_path / "events.jsonl"
    events.write_text(text, encoding="utf-8")
    _import_and_check(fresh(), events, skip)


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_as_an_event_file_are_refused_in_lines(data, fresh, tmp_path):  # type: ignore[no-untyped-def]
    events = tmp_path / "events.csv"
    events.write_bytes(b"resident_id,indicator,occurred_on,agency\n" + data)
    _import_and_check(fresh(), events, False)


# --- command arguments -----------------------------------------------------------------

ARG = (HOSTILE_TEXT | DATES | st.integers(min_value=-2**70, max_value=2**70).map(str)
       | st.datetimes().map(lambda d: d.isoformat())
       | st.sampled_from(["2022-01-01T00:00:00+14:00", "0001-01-01T00:00:00+14:00",
                          "9999-12-31T23:59:59-14:00", "table", "markdown", "csv", "json",
                          "jsonl", "xml", "discount", "review"]))
COMMANDS = [
    ("score", "{L}", "--as-of", "{a}", "-f", "{b}"),
    ("score", "{L}", "--known-at", "{a}"),
    ("eligible", "{L}", "{a}", "--as-of", "{b}"),
    ("explain", "{L}", "{a}", "--as-of", "{b}"),
    ("explain", "{L}", "r2", "--known-at", "{a}", "-f", "{b}"),
    ("ledger", "stats", "{L}", "--as-of", "{a}", "-f", "{b}"),
    ("ledger", "history", "{L}", "{a}", "-f", "{b}"),
    ("objection", "list", "{L}", "--as-of", "{a}", "-f", "{b}"),
    ("runs", "verify", "{L}", "{a}"),
    ("runs", "list", "{L}", "-f", "{a}"),
    ("ledger", "void", "{L}", "{a}", "--reason", "{b}"),
    ("ledger", "lift", "{L}", "{a}", "--on", "{b}"),
    ("ledger", "consent", "{L}", "{a}", "--on", "{b}"),
    ("objection", "file", "{L}", "{a}", "--on", "{b}", "--grounds", "x"),
    ("objection", "decide", "{L}", "{a}", "--on", "{b}", "--upheld"),
    ("report", "{L}", "-o", "{T}/report", "--as-of", "{a}"),
    ("catalogue", "show", "{a}", "-f", "{b}"),
    ("catalogue", "new", "{a}", "--from", "{b}", "--name", "X"),
    ("catalogue", "fmt", "{a}", "--check"),
    ("ledger", "head", "{L}", "-f", "{a}"),
    ("ledger", "verify", "{L}", "--head", "{a}"),
    ("score", "{L}", "-o", "{T}/{a}.csv"),
]


@fuzz(40)
@given(command=st.sampled_from(COMMANDS), a=ARG, b=ARG)
def test_any_arguments_end_in_a_result_or_one_error(command, a, b, fresh, tmp_path):  # type: ignore[no-untyped-def]
    ledger = fresh()
    before = digest(ledger)
    args = [part.format(L=ledger, T=tmp_path, a=a, b=b) for part in command]
    result = scs(*args)
    assert_clean(result)
    if result.exit_code:
        assert digest(ledger) == before, "a refused command changed the ledger"
    else:
        assert scs("ledger", "verify", ledger).exit_code == 0


def test_a_very_wide_header_is_refused_in_lines(fresh, tmp_path):  # type: ignore[no-untyped-def]
    # quadratic header checks once took minutes here: this finishes in seconds
    ledger = fresh()
    before = digest(ledger)
    names = ["resident_id", "indicator", "occurred_on", *(f"c{i}" for i in range(20_000)), "c7"]
    events = tmp_path / "wide.csv"
    events.write_text(",".join(names) + "\n" + ",".join(["r1", "dog", "2021-01-01"]
                                                       + [""] * 20_001) + "\n")
    result = scs("ledger", "import", ledger, events)
    assert_clean(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 20_002  # each unknown column, the repeated one, the summary
    assert lines[-2] == f"error: {events}:1: c7: column named twice in the header (keep one)"
    assert lines[-1].endswith("bad file; nothing was imported (fix the header and import "
                              "again)")
    assert digest(ledger) == before


def test_a_very_wide_header_with_ragged_rows_is_refused_in_lines(fresh, tmp_path):  # type: ignore[no-untyped-def]
    ledger = fresh()
    before = digest(ledger)
    names = ["resident_id", "indicator", "occurred_on", *(f"c{i}" for i in range(10_000))]
    events = tmp_path / "wide.csv"
    events.write_text(",".join(names) + "\nr1,dog,2021-01-01\n")  # short: the slow reader
    result = scs("ledger", "import", ledger, events)
    assert_clean(result)
    assert len(result.stderr.splitlines()) > 10_000
    assert digest(ledger) == before


# --- re-sent files (issue 19) ----------------------------------------------------------

SENT = [("r1", "red-light", "2021-03-01", "police", "p-1", ""),
        ("r2", "other", "2021-04-01", "court", "c-1", "-7.5"),
        ("r2", "defaulter", "2022-02-01", "court", "c-2", "")]  # the template's events
PADDING = st.sampled_from(["", " ", "  ", "\u00a0", "\u200b", "\u200c", "\u200d", "\u2060",
                           "\ufeff", "\u3000", " \u200b\u00a0"])


@st.composite
def resent_references(draw: st.DrawFn, reference: str) -> tuple[str, str]:
    """A reference as a re-sent file may write it, and what it is: "same" (only spaces,
    zero-width characters or width differ), "other" (letter case differs) or "none"."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(PADDING), "none"  # blank, or only invisible characters
    text = reference.upper() if (upper := draw(st.booleans())) else reference
    if draw(st.booleans()):  # fullwidth forms: NFKC makes them ASCII again
        text = "".join(chr(ord(c) + 0xFEE0) for c in text)
    return draw(PADDING) + text + draw(PADDING), "other" if upper else "same"


@fuzz(30)
@given(data=st.data(), jsonl=st.booleans(), without_column=st.booleans())
def test_a_resent_file_never_counts_an_event_twice(data, jsonl, without_column, fresh,
                                                   tmp_path):  # type: ignore[no-untyped-def]
    rows = data.draw(st.lists(st.sampled_from(range(len(SENT))), min_size=1, max_size=5,
                              unique=True))
    sent = []
    for index in rows:
        resident, indicator, day, agency, reference, points = SENT[index]
        written, kind = (("", "none") if without_column
                         else data.draw(resent_references(reference)))
        sent.append(({"resident_id": resident, "indicator": indicator, "occurred_on": day,
                      "agency": agency, "points": points,
                      **({} if without_column else {"reference": written})}, kind))
    events = tmp_path / ("resent.jsonl" if jsonl else "resent.csv")
    if jsonl:
        events.write_text("".join(json.dumps({k: v for k, v in row.items() if v != ""
                                              or k == "reference"}) + "\n"
                                  for row, _ in sent), encoding="utf-8")
    else:
        columns = list(sent[0][0])
        events.write_text(",".join(columns) + "\n" + "".join(
            ",".join(row[c] for c in columns) + "\n" for row, _ in sent), encoding="utf-8")
    ledger = fresh()
    before = digest(ledger)
    result = scs("ledger", "import", ledger, events)
    assert_clean(result)
    kinds = [kind for _, kind in sent]
    if "none" in kinds:  # a row without its reference may be one of the recorded events
        assert result.exit_code == 1, result.stderr
        assert result.stderr.count("possible repeat of event") == kinds.count("none")
        assert digest(ledger) == before
        return
    assert result.exit_code == 0, result.stderr
    new = kinds.count("other")
    assert f"imported {new} event" in result.stderr
    same = kinds.count("same")
    assert f"{same} duplicate{'s' if same != 1 else ''} skipped" in result.stderr
    assert scs("ledger", "verify", ledger).exit_code == 0
