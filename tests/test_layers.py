"""The two layers go one way: the library never imports the CLI's typer or rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import scs_cli


def library_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(scs_cli.__path__, "scs_cli.")
                  if not m.name.startswith(("scs_cli.cli", "scs_cli.__main__")))


def test_library_imports_no_typer_or_rich():
    code = ("import sys\n"
            + "".join(f"import {m}\n" for m in library_modules())
            + "print(sorted(m for m in ('typer', 'rich') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_help_does_not_import_the_heavy_libraries():
    """`scs --help` must start fast: Polars, matplotlib and SQLite layers load on demand."""
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom scs_cli.cli.app import app\n"
            "CliRunner().invoke(app, ['--help'])\n"
            "print(sorted(m for m in ('polars', 'matplotlib', 'sqlite_utils', 'pyarrow')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_every_command_has_help(scs):
    """A command's docstring is its --help: none may be empty."""
    from typer.main import get_command

    from scs_cli.cli.app import app

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    root = get_command(app)
    for path, cmd in walk(root, []):
        assert (cmd.help or "").strip(), f"`scs {' '.join(path)}` has no help text"


def test_every_part_says_what_it_owns_and_may_import():
    """A newcomer finds a feature's room from the folder listing and its docstring."""
    import importlib

    parts = [m.name for m in pkgutil.iter_modules(scs_cli.__path__, "scs_cli.") if m.ispkg]
    assert len(parts) >= 9
    for name in parts:
        doc = importlib.import_module(name).__doc__ or ""
        assert "import" in doc and len(doc.split()) >= 20, f"{name} does not say what it owns"
