"""The README's tour, run line by line in order, so the README cannot drift from the program.

Every `scs` line of the tour's code block runs in-process in one folder, after the `scs demo`
that the README's set-up asks for. A line exits 0 unless its comment says `(exit N…`; its
output never cuts a value with "…" (output that is not a terminal prints tables whole).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def section_commands(heading: str) -> list[tuple[list[str], int]]:
    """The `scs …` lines of the first ```sh block under a `## heading`, with the exit code
    each is expected to give."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        for part in line.split(" && "):
            part = part.strip()
            if not part.startswith("scs "):
                continue
            code, _, comment = part.partition("  #")
            expected = re.search(r"\(exit (\d+)", comment)
            commands.append((shlex.split(code)[1:], int(expected[1]) if expected else 0))
    return commands


def test_the_readme_has_a_tour_and_a_set_up_that_runs_the_demo() -> None:
    assert [c for c, _ in section_commands("Install and try it")] == [["demo"]]
    assert len(section_commands("A short tour")) >= 15


def run(scs: Any, line: str, expected: int) -> None:
    """One command line as a user types it; `> FILE` sends stdout to FILE."""
    args = shlex.split(line)
    target = None
    if ">" in args:
        args, target = args[:args.index(">")], args[args.index(">") + 1]
    result = scs(*args[1:])
    assert result.exit_code == expected, f"{line}: exit {result.exit_code}\n{result.stderr}"
    assert "Traceback" not in result.stderr, line
    assert "…" not in result.stdout, f"{line} cut a value:\n{result.stdout}"
    if target:
        Path(target).write_text(result.stdout, encoding="utf-8")


def test_every_tour_command_and_help_example_runs_as_written(
        scs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's set-up and tour, in order, then every `--help` example (which are
    written for the folder the tour leaves)."""
    from scs_cli.cli.examples import EXAMPLES

    monkeypatch.chdir(tmp_path)
    for args, expected in [*section_commands("Install and try it"),
                           *section_commands("A short tour")]:
        run(scs, shlex.join(["scs", *args]), expected)
    # What the tour promises it made.
    assert (tmp_path / "scores.parquet").is_file()
    assert (tmp_path / "reports" / "index.html").is_file()
    # The tour saves a run for 2024-06-30 and reports on that date: the report names it
    # rather than saying there is no saved run, and the imported history is a backfill.
    doc = json.loads((tmp_path / "reports" / "rongcheng" / "report.json").read_text("utf-8"))
    assert doc["transitions"]["saved_run"] is None
    assert doc["transitions"]["runs_not_before"] == 1
    assert doc["data_quality"]["late_recorded"]["events"] == 0
    assert not any("after they occurred" in w for w in doc["data_quality"]["warnings"])

    for lines in EXAMPLES.values():
        for line in lines:
            code, _, comment = line.partition("  #")
            expected = re.search(r"exit (\d+)", comment)
            run(scs, code, int(expected[1]) if expected else 0)
    assert (tmp_path / "jinan.md").read_text(encoding="utf-8").startswith("# Jinan")


def test_every_command_has_an_example_in_its_help(scs: Any) -> None:
    from typer.main import get_command

    from scs_cli.cli.app import app

    def walk(cmd: Any, path: list[str]) -> Any:
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path, _ in walk(get_command(app), []):
        result = scs(*path, "--help")
        assert result.exit_code == 0
        examples = result.stdout.split("Examples:", 1)
        assert len(examples) == 2, f"`scs {' '.join(path)} --help` has no example"
        assert "scs " in examples[1]
