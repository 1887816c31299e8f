"""`scs COMMAND …` builds only that command's part of the tree (issue 23: start-up is most
of `scs explain`'s time). These tests hold the short tree to the whole one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from scs_cli.cli import app as app_module

WHOLE = get_command(app_module.app)


def test_every_top_level_command_and_group_has_its_modules() -> None:
    assert set(app_module.COMMANDS) == set(WHOLE.commands)  # type: ignore[attr-defined]
    assert {m for ms in app_module.COMMANDS.values() for m in ms} == set(app_module.MODULES)


def _paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*path, name))
    return found


# In a fresh process (a module adds its commands to a group when imported): the help of
# every path under one top-level name, from the tree `main` builds for it.
SHORT = """import json, sys
from typer.testing import CliRunner
from scs_cli.cli import app
paths = json.loads(sys.argv[1])
short = app.build(app.COMMANDS[paths[0][0]])
print(json.dumps([CliRunner().invoke(short, [*p, "--help"]).stdout for p in paths]))
"""


@pytest.mark.parametrize("name", sorted(app_module.COMMANDS))
def test_the_short_tree_of_a_command_is_the_whole_trees(name: str) -> None:
    """Every subcommand under NAME has the same parameters, help and examples in both."""
    paths = _paths(WHOLE.commands[name], (name,))  # type: ignore[attr-defined]
    result = subprocess.run([sys.executable, "-c", SHORT, json.dumps(paths)],
                            capture_output=True, text=True, check=True)
    runner = CliRunner()
    whole = [runner.invoke(app_module.app, [*p, "--help"]).stdout for p in paths]
    assert json.loads(result.stdout) == whole
    assert all(f"Usage: scs {' '.join(p)} " in text for p, text in zip(paths, whole, strict=True))


def test_main_builds_only_the_named_commands_module(tmp_path: Path) -> None:
    # (the process would end in `main` once its output is written: `_quick_exit`)
    code = ("import sys\nsys.argv = ['scs', 'explain', 'missing.db', 'R1']\n"
            "from scs_cli.cli import app\n"
            "app._quick_exit = lambda done: None\n"
            "try:\n    app.main()\nexcept SystemExit as exit:\n    code = exit.code\n"
            "mods = sorted(m for m in sys.modules if m.startswith('scs_cli.cli.'))\n"
            "print(code, ' '.join(mods))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=tmp_path)
    code_, modules = result.stdout.split(" ", 1)
    assert code_ == "1"
    assert result.stderr == ("error: missing.db: no such ledger (create one with `scs ledger "
                             "init LEDGER --catalogue FILE`)\n")
    assert modules.split() == ["scs_cli.cli.app", "scs_cli.cli.common",
                               "scs_cli.cli.examples", "scs_cli.cli.explain_cmds",
                               "scs_cli.cli.start"]


def test_the_collector_waits_while_scs_loads_and_runs_again_after(tiny_ledger: Any) -> None:
    """`scs` (`start.main`) and `scs explain` pause the garbage collector while they import,
    then set what they imported out of its reach (frozen) and run it again; explain, whose
    Polars was not loaded before it, asks it for one thread. Nested, the pause holds."""
    ledger = tiny_ledger("resident_id,indicator,occurred_on,agency,reference\n"
                         "r1,red-light,2023-01-05,police,p-1\n")
    code = ("import gc, os, sys\n"
            f"sys.argv = ['scs', 'explain', {str(ledger)!r}, 'r1', '--as-of', '2024-03-31']\n"
            "from scs_cli.cli import start\n"
            "with start.loading():\n"
            "    with start.loading():\n        pass\n"
            "    print(gc.isenabled(), gc.get_freeze_count())\n"
            "import scs_cli.cli.app as app\n"
            "app._quick_exit = lambda done: None\n"
            "try:\n    start.main()\nexcept SystemExit as done:\n    assert not done.code\n"
            "print(gc.isenabled(), gc.get_freeze_count(), 'polars' in sys.modules,"
            " os.environ.get('POLARS_MAX_THREADS'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={"PATH": "", "COLUMNS": "80"})
    lines = result.stdout.splitlines()
    nested, after = lines[0], lines[-1]  # the explanation between them
    assert nested.split()[0] == "False"
    enabled, frozen, polars, threads = after.split()
    assert (enabled, polars, threads) == ("True", "True", "1")
    assert int(frozen) > int(nested.split()[1]) + 50_000  # Polars' modules and scs's


@pytest.mark.parametrize("args", [
    ["explain", "{ledger}", "r1", "--as-of", "2024-03-31"],
    ["explain", "{ledger}", "r1", "--as-of", "2024-03-31", "--format", "json"],
    ["explain", "{ledger}", "nobody", "--as-of", "2024-03-31"],
    ["explain", "{ledger}"],  # a usage error: typer's message and exit 2
    ["--traceback", "explain", "{ledger}", "r1", "--as-of", "2024-03-31"],  # the whole tree
    ["explain", "--help"],
])
def test_a_process_prints_what_the_whole_tree_prints(tiny_ledger: Any,
                                                     args: list[str]) -> None:
    ledger = tiny_ledger("resident_id,indicator,occurred_on,agency,reference\n"
                         "r1,red-light,2023-01-05,police,p-1\n")
    args = [a.format(ledger=ledger) for a in args]
    env = {"PATH": "", "TERM": "dumb", "COLUMNS": "80"}
    # the whole tree in a process of its own, and `scs` as a user runs it
    whole = subprocess.run([sys.executable, "-c", "import sys\nsys.argv[0] = 'scs'\n"
                            "from scs_cli.cli.app import app\napp()", *args],
                           capture_output=True, text=True, env=env)
    shown = subprocess.run([str(Path(sys.executable).with_name("scs")), *args],
                           capture_output=True, text=True, env=env)
    assert whole.returncode == (2 if args == ["explain", str(ledger)] else
                                1 if "nobody" in args else 0), whole.stderr
    assert (shown.returncode, shown.stdout, shown.stderr) == (
        whole.returncode, whole.stdout, whole.stderr)


def test_a_quick_exit_writes_everything_and_keeps_the_status(tiny_ledger, tmp_path: Path  # type: ignore[no-untyped-def]
                                                            ) -> None:
    """`scs score` ends the process without freeing its frames (`app._quick_exit`): every
    byte of its output still arrives, into a pipe and a file, with the command's status."""
    ledger = tiny_ledger("resident_id,indicator,occurred_on\n"
                         + "".join(f"R{n},blood-donation,2024-0{1 + n % 9}-10\n"
                                   for n in range(300)))
    run = [sys.executable, "-c", "from scs_cli.cli.app import main; main()"]
    piped = subprocess.run([*run, "score", str(ledger), "--as-of", "2024-12-31", "--format",
                            "csv"], capture_output=True, text=True, check=False)
    within = CliRunner().invoke(app_module.app, ["score", str(ledger), "--as-of",
                                                 "2024-12-31", "--format", "csv"])
    assert piped.returncode == 0 and piped.stdout == within.stdout
    assert len(piped.stdout.splitlines()) == 301
    target = tmp_path / "scores.json"
    written = subprocess.run([*run, "score", str(ledger), "--as-of", "2024-12-31", "--output",
                              str(target)], capture_output=True, text=True, check=False)
    assert written.returncode == 0 and "wrote 300 rows" in written.stderr
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 300
    refused = subprocess.run([*run, "score", str(tmp_path / "none.db"), "--as-of",
                              "2024-12-31"], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")
