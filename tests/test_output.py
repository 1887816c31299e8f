"""The output layer: exact numbers, safe text, and outputs that never destroy inputs."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scs_cli.core.errors import OutputError
from scs_cli.core.output import (
    check_output_path,
    decimal_text,
    hundredths_text,
    markdown_cell,
    markdown_document,
    points_text,
    render,
    render_frame,
    safe_cell,
    safe_child,
    terminal_text,
    to_json,
    write_atomic,
)

EVENTS = ("resident_id,indicator,occurred_on,agency,points\n"
          "r1,red-light,2021-03-01,police,\n"
          "r2,other,2021-04-01,court,-7.5\n"
          "r3,blood-donation,2021-05-01,hospital,\n")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- exact numbers ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from([2, None]))
def test_json_is_laid_out_as_the_standard_library_does(value, indent):  # type: ignore[no-untyped-def]
    assert to_json(value, indent=indent) == json.dumps(value, indent=indent, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                   min_value=Decimal("-1e18"), max_value=Decimal("1e18")))
def test_json_numbers_are_the_exact_decimal(value):  # type: ignore[no-untyped-def]
    text = to_json({"score": value}, indent=None)
    assert json.loads(text, parse_float=Decimal)["score"] == value
    assert text == '{"score": ' + decimal_text(value) + "}"


def test_a_decimal_no_float_can_hold_is_written_exactly():
    # 2**53 + 0.25: a float would print 9007199254740992.0
    assert to_json([Decimal("9007199254740993.25")], indent=None) == "[9007199254740993.25]"
    assert to_json({"s": Decimal("0.1") + Decimal("0.2")}, indent=None) == '{"s": 0.3}'


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-10**14, max_value=10**14), min_size=1, max_size=20))
def test_one_decimal_text_for_python_and_polars(hundredths):  # type: ignore[no-untyped-def]
    expected = [decimal_text(Decimal(h) / 100) for h in hundredths]
    frame = pl.DataFrame({"p": hundredths}, schema={"p": pl.Int64})
    assert frame.select(points_text(pl.col("p")))["p"].to_list() == expected
    assert [hundredths_text(h) for h in hundredths] == expected


# --- safe text -------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "written"), [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd", "'-2+3+cmd"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("-5", "-5"),
    ("-7.5", "-7.5"),
    ("+10", "+10"),
    ("loose chickens", "loose chickens"),
])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(cell, written):  # type: ignore[no-untyped-def]
    assert safe_cell(cell) == written
    # frames (scores, exports) and records (lists, objections) guard alike
    frame = pl.DataFrame({"note": [cell]})
    assert render_frame(frame, "csv").splitlines()[1:] == render(
        [{"note": cell}], ["note"], "csv").splitlines()[1:]


def test_score_csv_guards_text_but_not_numbers():
    frame = pl.DataFrame({"resident_id": ["=cmd()", "r2"], "score": [-500, 98750],
                          "tier": ["@B", "A"], "rewards": [["-x"], []]})
    text = render_frame(frame, "csv", ("score",))
    assert text == ("resident_id,score,tier,rewards\n'=cmd(),-5,'@B,'-x\nr2,987.5,A,\n")
    # a digest is of what was computed, not of the guard
    assert render_frame(frame, "csv", ("score",), safe=False).splitlines()[1] == \
        "=cmd(),-5,@B,-x"


def test_markdown_never_carries_live_html():
    doc = markdown_document("# <script>alert(1)</script> & <img src=x onerror=y> <5<br>")
    assert "<script" not in doc and "<img" not in doc
    assert doc.endswith("&lt;img src=x onerror=y> <5<br>")  # "<5" opens nothing
    assert markdown_cell("a|b\nc") == "a\\|b<br>c"


def test_terminal_text_loses_escape_sequences_and_bidi_overrides():
    assert terminal_text("ok\x1b[2J\x07\r\u202egnp.exe\x9b") == "ok[2Jgnp.exe"
    assert terminal_text("two\nlines\tand a tab") == "two\nlines\tand a tab"


def test_catalogue_text_reaches_the_terminal_without_control_characters(scs, tmp_path):  # type: ignore[no-untyped-def]
    cat = tmp_path / "evil.toml"
    text = (Path(__file__).parent.parent / "examples" / "tiny.toml").read_text()
    cat.write_text(text.replace('name = "Exampleton"', 'name = "Ex\\u001b[31mampleton\\u0007"')
                   .replace('name = "Dog off leash"', 'name = "Dog\\u001b]0;owned\\u0007"'))
    result = scs("catalogue", "show", cat)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Ex[31mampleton" in result.stdout


def test_catalogue_html_is_escaped_in_markdown(scs, tmp_path):  # type: ignore[no-untyped-def]
    tiny = (Path(__file__).parent.parent / "examples" / "tiny.toml").read_text()
    old, new = tmp_path / "old.toml", tmp_path / "new.toml"
    old.write_text(tiny)
    new.write_text(tiny.replace('version = "1"', 'version = "2"').replace(
        "effective_from = 2020-01-01", "effective_from = 2021-01-01").replace(
        'name = "Dog off leash"', 'name = "<script>alert(1)</script>"'))
    for args in (("catalogue", "diff", old, new), ("catalogue", "show", new)):
        result = scs(*args, "--format", "markdown")
        assert result.exit_code == 0, result.stderr
        assert "<script>" not in result.stdout and "&lt;script>" in result.stdout, args


# --- output files ----------------------------------------------------------------------

def test_an_output_path_that_is_the_ledger_an_input_or_a_database_is_refused(  # type: ignore[no-untyped-def]
        scs, tiny_ledger, tiny_catalogue, tmp_path):
    ledger = tiny_ledger(EVENTS)
    other = tmp_path / "other.csv"  # a SQLite database, whatever its name says
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    link = tmp_path / "link.csv"
    link.symlink_to(ledger)
    catalogue = tmp_path / "cat.json"
    catalogue.write_text(tiny_catalogue.read_text())
    before = digest(ledger), digest(other), catalogue.read_text()
    for target, why in ((link, "is the ledger"), (other, "is a SQLite database"),
                        (catalogue, "is the --catalogue file")):
        result = scs("score", ledger, "--as-of", "2022-01-01", "-o", target,
                     "--catalogue", catalogue)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {target}: {why}")
        assert result.stderr.count("\n") == 1
    for command in (("eligible", ledger, "discount", "-o", link),
                    ("ledger", "export", ledger, "-o", other)):
        result = scs(*command)
        assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert (digest(ledger), digest(other), catalogue.read_text()) == before


def test_rejects_never_overwrite_the_ledger_or_the_input(scs, tiny_ledger, tmp_path):  # type: ignore[no-untyped-def]
    ledger = tiny_ledger(EVENTS)
    bad = tmp_path / "bad.csv"
    bad.write_text("resident_id,indicator,occurred_on\nr9,no-such-rule,2021-01-01\n")
    before = digest(ledger), bad.read_text()
    for target, role in ((ledger, "the ledger"), (bad, "the event file")):
        result = scs("ledger", "import", ledger, bad, "--skip-invalid", "--rejects", target)
        assert result.exit_code == 1
        assert result.stderr == f"error: {target}: is {role}; writing there would destroy " \
            "it (choose another --rejects file)\n"
    assert (digest(ledger), bad.read_text()) == before


@pytest.mark.parametrize("case", ["missing folder", "folder", "full disk"])
def test_unwritable_outputs_are_one_line(scs, tiny_ledger, tmp_path, case):  # type: ignore[no-untyped-def]
    ledger = tiny_ledger(EVENTS)
    target = {"missing folder": tmp_path / "nowhere" / "s.csv",
              "folder": tmp_path / "d.csv", "full disk": tmp_path / "full.csv"}[case]
    if case == "folder":
        target.mkdir()
    if case == "full disk":
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full here")
        target.symlink_to("/dev/full")
    before = digest(ledger)
    for command in (("score", ledger, "--as-of", "2022-01-01", "-o", target),
                    ("ledger", "export", ledger, "-o", target)):
        result = scs(*command)
        assert result.exit_code == 1, result.stdout
        assert result.stderr.startswith(f"error: {target}: ")
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
    assert digest(ledger) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_files_are_replaced_whole_and_keep_their_mode(tmp_path):  # type: ignore[no-untyped-def]
    target = tmp_path / "scores.csv"
    target.write_text("old\n")
    target.chmod(0o640)

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(target, fail)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]
    write_atomic(target, lambda tmp: tmp.write_text("new\n"))
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640


def test_check_output_path_allows_overwriting_an_ordinary_earlier_output(tmp_path):  # type: ignore[no-untyped-def]
    earlier = tmp_path / "scores.csv"
    earlier.write_text("resident_id,score\n")
    assert check_output_path(earlier, {"the ledger": tmp_path / "city.db"}) == earlier


@pytest.mark.parametrize("name", ["..", "../evil", "a/b", ".hidden", "", "c\x00d", "x\x1b"])
def test_a_file_name_from_an_id_never_leaves_its_folder(tmp_path, name):  # type: ignore[no-untyped-def]
    with pytest.raises(OutputError, match="would leave this folder"):
        safe_child(tmp_path, name)
    assert safe_child(tmp_path, "rongcheng") == tmp_path / "rongcheng"


# --- the process: pipes and full disks --------------------------------------------------

def _run(args: list[str], stdout: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "scs_cli", *args], stdout=stdout,
                          stderr=subprocess.PIPE, timeout=120, check=False)


@pytest.mark.parametrize("args", [["catalogue", "show", "rongcheng-2016"],
                                  ["catalogue", "list", "--format", "json"]])
def test_a_closed_pipe_ends_quietly_with_0(args):  # type: ignore[no-untyped-def]
    read, write = os.pipe()
    os.close(read)  # the reader (`head`) has gone before anything is written
    try:
        result = _run(args, write)
    finally:
        os.close(write)
    assert result.returncode == 0
    assert result.stderr == b""


def test_a_full_stdout_is_one_line_and_exit_1():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "wb") as full:
        result = _run(["catalogue", "show", "rongcheng-2016", "--format", "json"],
                      full.fileno())
    assert result.returncode == 1
    assert result.stderr.decode() == ("error: standard output: cannot be written or read: "
                                      "No space left on device (check the file, the folder "
                                      "and free space)\n")


# --- bounds ----------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "message"), [
    (("base = 1000", "base = 99999999999999999999"),
     "scale.base: 99999999999999999999 is outside ±1,000,000"),
    (("points = -100", "points = -1000000.01"),
     "indicators.defaulter.points: -1000000.01 is outside ±1,000,000"),
    (("score_cap = 649", "score_cap = 1e300"), "indicators.defaulter.score_cap: "),
    (('expires_after = "2y"', 'expires_after = "8000y"'),
     "indicators.red-light.expires_after: '8000y' is longer than 100 years"),
    (('objection_deadline = "15d"', 'objection_deadline = "36526d"'),
     "policy.objection_deadline: '36526d' is longer than 100 years"),
])
def test_catalogue_values_out_of_bounds_are_one_line(scs, tiny_catalogue, tmp_path, change,  # type: ignore[no-untyped-def]
                                                     message):
    cat = tmp_path / "cat.toml"
    cat.write_text(tiny_catalogue.read_text().replace(*change))
    result = scs("catalogue", "validate", cat)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {cat}: {message}")
    assert result.stderr.count("\n") == 1


def test_deep_nesting_is_one_line(scs, tmp_path):  # type: ignore[no-untyped-def]
    cat = tmp_path / "deep.toml"
    cat.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    result = scs("catalogue", "validate", cat)
    assert result.exit_code == 1
    assert result.stderr == f"error: {cat}: nested too deeply to read (a catalogue nests " \
        "tables a few levels at most)\n"


@pytest.mark.parametrize("args", [
    ("score", "{ledger}", "--as-of", "9999-12-31"),
    ("report", "{ledger}", "-o", "{tmp}/r", "--as-of", "9999-12-31"),
    ("explain", "{ledger}", "r1", "--known-at", "0001-01-01T00:00:00+14:00"),
    ("ledger", "void", "{ledger}", str(2**64), "--reason", "x"),
    ("objection", "decide", "{ledger}", str(2**63), "--on", "2022-01-01", "--upheld"),
    ("runs", "verify", "{ledger}", "0"),
])
def test_arguments_out_of_bounds_are_one_line(scs, tiny_ledger, tmp_path, args):  # type: ignore[no-untyped-def]
    ledger = tiny_ledger(EVENTS)
    before = digest(ledger)
    result = scs(*(a.format(ledger=ledger, tmp=tmp_path) for a in args))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert digest(ledger) == before


# --- one Format, every command ---------------------------------------------------------

def _format_commands() -> dict[str, list[str]]:
    """Every command with --format, by its path, with the formats it accepts."""
    from typer.main import get_command

    from scs_cli.cli.app import app

    found: dict[str, list[str]] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        for param in command.params:
            # `ledger export --format` chooses what is written to --output (an events
            # file or the dataset folder), not a rendering on stdout: tests/test_dataset.py
            if "--format" in getattr(param, "opts", ()) and path != ("ledger", "export"):
                found[" ".join(path)] = param.metavar.strip("[]").split("|")

    walk(get_command(app), ())
    return found


FORMAT_ARGS = {
    "score": ["{ledger}", "--as-of", "2022-06-30"],
    "eligible": ["{ledger}", "discount", "--as-of", "2022-06-30"],
    "explain": ["{ledger}", "r2", "--as-of", "2022-06-30"],
    "runs list": ["{ledger}"],
    "ledger stats": ["{ledger}", "--as-of", "2022-06-30"],
    "ledger history": ["{ledger}", "r2"],
    "ledger head": ["{ledger}"],
    "objection list": ["{ledger}", "--as-of", "2021-04-10"],
    "lists": ["{ledger}", "--as-of", "2022-06-30"],
    "repair list": ["{ledger}", "--as-of", "2022-06-30"],
    "catalogue show": ["{catalogue}"],
    "catalogue list": [],
    "catalogue compare": ["{catalogue}", "rongcheng-2016"],
    "catalogue diff": ["{catalogue}", "{catalogue}"],
    "catalogue lint": ["{catalogue}"],
    "impact": ["{ledger}", "--reform", "{catalogue}", "--as-of", "2022-06-30"],
    "catalogue test": ["--bundled"],
}


def test_every_format_a_command_accepts_is_written(scs, tiny_ledger, tiny_catalogue):  # type: ignore[no-untyped-def]
    ledger = tiny_ledger(EVENTS)
    assert scs("objection", "file", ledger, "2", "--on", "2021-04-05", "--grounds",
               ":warning: =1+1").exit_code == 0
    assert scs("score", ledger, "--as-of", "2022-06-30", "--save").exit_code == 0
    commands = _format_commands()
    assert sorted(commands) == sorted(FORMAT_ARGS)  # a new --format needs a case here
    for command, accepted in commands.items():
        args = [a.format(ledger=ledger, catalogue=tiny_catalogue) for a in FORMAT_ARGS[command]]
        for fmt in accepted:
            result = scs(*command.split(), *args, "--format", fmt)
            assert result.exit_code == 0, (command, fmt, result.stderr)
            if fmt == "json":
                json.loads(result.stdout)
            elif fmt == "jsonl":
                for line in result.stdout.splitlines():
                    json.loads(line)
            elif fmt == "markdown":
                page = result.stdout.lstrip()
                assert page.startswith(("|", "**", "# ")), (command, page)
        for fmt in {"table", "markdown", "csv", "json", "jsonl"} - set(accepted):
            result = scs(*command.split(), *args, "--format", fmt)
            assert result.exit_code == 2, (command, fmt)
            assert f"{fmt!r} is not one of " + ", ".join(map(repr, accepted)) in result.stderr


def test_machine_output_is_not_decorated(scs, tiny_ledger):  # type: ignore[no-untyped-def]
    ledger = tiny_ledger(EVENTS)
    assert scs("objection", "file", ledger, "2", "--on", "2021-04-05", "--grounds",
               ":warning: =1+1").exit_code == 0
    result = scs("objection", "list", ledger, "--as-of", "2021-04-10", "-f", "csv")
    assert result.stdout.splitlines()[1].endswith(",:warning: =1+1")  # no emoji, no guard
    result = scs("objection", "list", ledger, "--as-of", "2021-04-10", "-f", "json")
    assert json.loads(result.stdout)[0]["grounds"] == ":warning: =1+1"
