"""Shell completion: `scs --install-completion` / `--show-completion`, and completion of
commands and bundled catalogue names."""

from __future__ import annotations

import os
import subprocess
import sys


def complete(words: str) -> list[str]:
    env = {**os.environ, "_SCS_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1)}
    code = "from scs_cli.cli.app import app; app(prog_name='scs')"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    return result.stdout.split()


def test_completes_bundled_catalogue_names() -> None:
    assert complete("scs catalogue show rong") == ["rongcheng-2016", "rongcheng-2021"]
    assert complete("scs catalogue diff rongcheng-2016 su") == ["suining-2010", "suqian-2019"]


def test_completes_commands() -> None:
    assert complete("scs led") == ["ledger"]
    assert "import" in complete("scs ledger im")


def test_the_root_offers_completion_scripts(scs) -> None:  # type: ignore[no-untyped-def]
    result = scs("--help")
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
    script = scs("--show-completion", "bash")
    assert script.exit_code == 0 and "_SCS_COMPLETE=complete_bash" in script.stdout


def test_completion_offers_only_the_formats_a_command_accepts(scs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One declaration per command: what completion offers is what --help lists and what
    validation accepts; every other format is refused as a usage error (exit 2)."""
    missing = str(tmp_path / "none.db")
    for command, offered in ((["score", missing], ["table", "csv", "json", "jsonl"]),
                             (["explain", missing, "R1"], ["table", "json"]),
                             (["eligible", missing, "reward"], ["csv", "json", "jsonl"])):
        assert complete_after(f"scs {' '.join(command)} --format ") == offered, command
        usage = scs(command[0], "--help").stdout
        assert "--format [" + "|".join(offered) + "]" in " ".join(usage.split()), command
        for fmt in ("table", "markdown", "csv", "json", "jsonl"):
            result = scs(*command, "--format", fmt)
            assert (result.exit_code == 2) == (fmt not in offered), (command, fmt)


def complete_after(words: str) -> list[str]:
    """Completion of the next word after ``words`` (which ends with a space)."""
    env = {**os.environ, "_SCS_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()))}
    code = "from scs_cli.cli.app import app; app(prog_name='scs')"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    return result.stdout.split()


def test_usage_lines_are_plain_words(scs) -> None:  # type: ignore[no-untyped-def]
    """No Python in help: no `{ledger}`, `<list[Path]>`, `<int range>`, `<path>`."""
    import re

    from typer.main import get_command

    from scs_cli.cli.app import app

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(get_command(app), []):
        text = scs(*path, "--help").stdout
        python = re.search(r"\{[A-Za-z_.]+\}|<(?:list\[[^>]*\]|path|str|int|int range|float|"
                           r"[a-z]+(?:\|[a-z]+)+)>", text)
        assert python is None, (path, python)
    assert scs("explain", "--help").stdout.startswith(
        "Usage: scs explain [OPTIONS] LEDGER RESIDENT\n")
    assert scs("score", "--help").stdout.startswith("Usage: scs score [OPTIONS] LEDGER...\n")
    assert scs("statement", "--help").stdout.startswith(
        "Usage: scs statement [OPTIONS] LEDGER [RESIDENTS]...\n")
    assert "  --top N " in scs("catalogue", "compare", "--help").stdout


def test_root_help_gives_whole_summaries(scs) -> None:  # type: ignore[no-untyped-def]
    text = scs("--help").stdout
    commands = text.split("Commands:")[1].split("\n\n")[0]
    assert "..." not in commands
    flat = " ".join(commands.split())
    assert ("what the score will be when each negative event stops counting." in flat)
