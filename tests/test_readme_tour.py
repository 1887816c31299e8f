"""The README's tour, run line by line in order, so the README cannot drift from the program.

Every `scs` line of the tour's code block runs in-process in one folder, after the `scs demo`
that the README's set-up asks for. A line exits 0 unless its comment says `(exit N…`; its
output never cuts a value with "…" (output that is not a terminal prints tables whole).
"""

from __future__ import annotations

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


def test_every_tour_command_runs_as_written(scs: Any, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args, expected in [*section_commands("Install and try it"),
                           *section_commands("A short tour")]:
        result = scs(*args)
        shown = "scs " + shlex.join(args)
        assert result.exit_code == expected, f"{shown}: exit {result.exit_code}\n{result.stderr}"
        assert "Traceback" not in result.stderr, shown
        assert "…" not in result.stdout, f"{shown} cut a value:\n{result.stdout}"
    # What the tour promises it made.
    assert (tmp_path / "scores.parquet").is_file()
    assert (tmp_path / "reports" / "index.html").is_file()
