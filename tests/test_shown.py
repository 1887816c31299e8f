"""Text from catalogues and ledgers on a terminal (SPEC §7, safe text out): never read as Rich
markup, and no control character or bidi override reaches the screen, in any format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scs_cli.cli import common
from scs_cli.core.text import shown

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MARKUP = "[link=http://evil.example]x[/link] [bold]b[/bold]"
CONTROLS = ("\x1b[2J\x1b]8;;http://evil.example\x1b\\y\x1b]8;;\x1b\\ \x07 \u202eevil\u202c "
            "\u2066i\u2069 \x9b31m \r\x00\x7f")
HOSTILE = f"{MARKUP} {CONTROLS}"
FORBIDDEN = ["\x1b", "\x07", "\x9b", "\x00", "\x7f", "\r", *map(chr, range(0x202A, 0x202F)),
             *map(chr, range(0x2066, 0x206A))]
FORMATS = ("table", "markdown", "csv", "json", "jsonl")


def test_shown_removes_controls_and_bidi_and_keeps_the_rest() -> None:
    assert shown(HOSTILE) == (f"{MARKUP} [2J]8;;http://evil.example\\y]8;;\\  evil i 31m ")
    assert shown("a\tb\nc — 张三 Ａ") == "a\tb\nc — 张三 Ａ"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A hostile catalogue (city, category, indicator names, basis, title) and a ledger
    whose notes, void reason and objection grounds are hostile too."""
    from typer.testing import CliRunner

    from scs_cli.cli.app import app

    tmp = tmp_path_factory.mktemp("hostile")
    text = (EXAMPLES / "tiny.toml").read_text(encoding="utf-8")
    for old in ("Exampleton", "Traffic", "Running a red light",
                "Road Traffic Safety Law, art. 90", "Donating blood", "Transit discount",
                "A small invented catalogue that shows every feature of the format"):
        text = text.replace(f'"{old}"', json.dumps(f"{HOSTILE} {old}"), 1)
    catalogue = tmp / "hostile.toml"
    catalogue.write_text(text, encoding="utf-8")
    ledger = tmp / "city.db"
    events = tmp / "events.jsonl"
    events.write_text("".join(json.dumps(
        {"resident_id": "R1", "indicator": i, "occurred_on": d, "agency": a,
         "reference": f"{HOSTILE} {n}", "note": f"{HOSTILE} note {n}"}) + "\n"
        for n, (i, d, a) in enumerate([("red-light", "2023-01-05", "police"),
                                       ("blood-donation", "2023-02-05", None),
                                       ("red-light", "2023-03-05", "police")])),
        encoding="utf-8")
    run = CliRunner().invoke
    for args in (["ledger", "init", ledger, "--catalogue", catalogue],
                 ["ledger", "import", ledger, events],
                 ["ledger", "void", ledger, "3", "--reason", HOSTILE],
                 ["objection", "file", ledger, "1", "--on", "2023-04-01", "--grounds",
                  HOSTILE],
                 ["score", ledger, "--as-of", "2024-01-01", "--save"]):
        result = run(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
    return {"catalogue": catalogue, "ledger": ledger}


COMMANDS = [
    ("catalogue", "show", "{catalogue}"),
    ("catalogue", "validate", "{catalogue}"),
    ("catalogue", "compare", "{catalogue}", str(EXAMPLES / "tiny.toml")),
    ("catalogue", "diff", str(EXAMPLES / "tiny.toml"), "{catalogue}"),
    ("catalogue", "lint", "{catalogue}"),
    ("ledger", "stats", "{ledger}"),
    ("ledger", "history", "{ledger}", "R1"),
    ("ledger", "verify", "{ledger}"),
    ("objection", "list", "{ledger}", "--as-of", "2023-05-01"),
    ("explain", "{ledger}", "R1", "--as-of", "2024-01-01"),
    ("score", "{ledger}", "--as-of", "2024-01-01"),
    ("runs", "list", "{ledger}"),
]


def accepted(command: tuple[str, ...]) -> list[str | None]:
    """The formats a command declares (its one `--format` declaration, cli/common.formats);
    [None] for a command with no --format (it prints one way)."""
    from typer.main import get_command

    from scs_cli.cli.app import app

    cmd = get_command(app)
    for word in command:
        if word.startswith("{") or not hasattr(cmd, "commands") or word not in cmd.commands:
            break
        cmd = cmd.commands[word]
    option = next((p for p in cmd.params if "--format" in getattr(p, "opts", ())), None)
    if option is None:
        return [None]
    return [f for f in str(option.metavar).strip("[]").split("|") if f in FORMATS]


CASES = [(command, fmt) for command in COMMANDS for fmt in accepted(command)]


@pytest.mark.parametrize(("command", "fmt"), CASES,
                         ids=[f"{' '.join(c[:2])}-{f}" for c, f in CASES])
def test_every_command_shows_hostile_text_as_text(scs, world: dict[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  command: tuple[str, ...],
                                                  fmt: str | None) -> None:
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    args = [a.format(**{k: str(v) for k, v in world.items()}) for a in command]
    result = scs(*args, *(("--format", fmt) if fmt else ()))
    assert result.exit_code in (0, 1), result.stderr  # lint may find problems: exit 1
    for stream in (result.stdout, result.stderr):
        assert not [c for c in FORBIDDEN if c in stream], stream[:2000]
        if "evil.example" in stream and fmt in ("table", None):
            # markup printed as its characters (a table never cuts or folds it when piped)
            assert "[link=http://evil.example]x[/link]" in stream, stream[:2000]
    if fmt in ("table", None) and command[:2] in {("ledger", "history"), ("objection", "list"),
                                          ("catalogue", "show"), ("explain", "{ledger}")}:
        assert MARKUP in result.stdout  # the hostile text is shown, whole


def test_into_a_file_machine_formats_stay_byte_for_byte(scs, world: dict[str, Path]) -> None:
    """Only a terminal gets sanitised text: a CSV into a file or pipe keeps every byte."""
    result = scs("ledger", "history", world["ledger"], "R1", "--format", "jsonl")
    assert result.exit_code == 0
    details = [json.loads(line)["details"] for line in result.stdout.splitlines()]
    assert any(f"{HOSTILE} note 0" in d for d in details)
    assert "\u202eevil" in result.stdout  # JSON keeps a bidi override as it is


def test_html_output_has_no_bidi_override_or_control(scs, world: dict[str, Path],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "letters"
    result = scs("statement", world["ledger"], "R1", "--as-of", "2024-01-01", "--output", out,
                 "--no-pdf")
    assert result.exit_code == 0, result.stderr
    report = tmp_path / "report"
    assert scs("report", world["ledger"], "--as-of", "2024-01-01", "--output", report
               ).exit_code == 0
    pages = [*out.rglob("*.html"), *report.rglob("*.html")]
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not [c for c in FORBIDDEN if c in html], page
