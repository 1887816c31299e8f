"""The import contracts bite: each one fails when a part breaks it.

`lint-imports` passing on the tree proves little unless a violation of each contract makes it
fail; this test copies the package to a temporary folder, adds one violation per contract, and
checks that every contract is reported broken. It also holds the rules import-linter cannot
see: nothing outside `ledger/` touches the ledger's connection or executes SQL, and every
package's docstring names each of its modules.
"""

from __future__ import annotations

import ast
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import scs_cli

ROOT = Path(scs_cli.__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# one line added to one module per contract, each breaking that contract and only it
VIOLATIONS: dict[str, tuple[str, str]] = {
    "Parts import downwards only": ("scs_cli/rules/durations.py", "import scs_cli.scoring"),
    "The engine is pure": ("scs_cli/engine/sort.py", "import scs_cli.core.output"),
    "The engine opens no file": ("scs_cli/engine/caps.py", "import os"),
    "The ledger imports no audit": ("scs_cli/ledger/chain.py", "import scs_cli.audit.lint"),
    "Ledger reads (stats) never import the store": (
        "scs_cli/ledger/stats.py", "import scs_cli.ledger.store"),
    "Audits read catalogues": ("scs_cli/audit/diff.py", "import scs_cli.engine.sort"),
    "Only the ledger speaks SQL": ("scs_cli/report/charts.py", "import sqlite3"),
    "The library never builds a terminal UI": ("scs_cli/explain/model.py", "import rich"),
    "Spark stays an optional extra": ("scs_cli/scale/batch.py", "import pyspark"),
}


def contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_has_a_violation_here():
    names = contract_names()
    for name in names:
        assert any(name.startswith(key) for key in VIOLATIONS), f"no violation for {name!r}"
    for key in VIOLATIONS:
        assert any(name.startswith(key) for name in names), f"no contract {key!r}"


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_each_contract_fails_when_broken(tmp_path):
    shutil.copytree(ROOT / "scs_cli", tmp_path / "scs_cli",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "1000"}

    def lint() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    clean = lint()
    assert clean.returncode == 0, clean.stdout[-2000:]
    for path, line in VIOLATIONS.values():
        module = tmp_path / path
        module.write_text(module.read_text(encoding="utf-8") + f"\n{line}  # noqa\n",
                          encoding="utf-8")
    broken = lint()
    assert broken.returncode != 0
    report = broken.stdout
    for name in contract_names():
        assert f"{name} BROKEN" in report, f"{name!r} was not reported broken:\n{report}"


SQL_METHODS = {"execute", "executemany", "executescript"}
PRIVATE_TO_THE_LEDGER = {"_conn", "_db", "_sql", "_reading"}


def library_files_outside_the_ledger() -> list[Path]:
    package = ROOT / "scs_cli"
    return sorted(p for p in package.rglob("*.py") if "ledger" not in p.relative_to(package).parts)


def test_nothing_outside_the_ledger_executes_sql_or_holds_its_connection():
    found = []
    for path in library_files_outside_the_ledger():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and (
                    node.attr in SQL_METHODS or node.attr in PRIVATE_TO_THE_LEDGER):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert found == []


def test_the_ledger_hides_its_connection():
    from scs_cli.ledger.store import Ledger

    public = {name for name in vars(Ledger) if not name.startswith("_")}
    assert not public & {"conn", "db", "connection", "sql"}


def test_every_package_docstring_names_its_modules():
    import importlib

    for package in pkgutil.iter_modules(scs_cli.__path__, "scs_cli."):
        if not package.ispkg:
            continue
        module = importlib.import_module(package.name)
        doc = module.__doc__ or ""
        names = [m.name for m in pkgutil.iter_modules(module.__path__) if m.name != "__main__"]
        missing = [n for n in names if f"`{n}`" not in doc and f"`{n}.py`" not in doc]
        assert missing == [], f"{package.name}'s docstring does not name {missing}"
