"""`scs` installs like real software: the catalogues ship in the package, the declared
dependencies are the imported ones, and the typer internals the CLI leans on are there."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

from scs_cli.rules.schema import bundled_catalogue_paths, resolve_catalogue_path
from scs_cli.rules.taxonomy import bundled_dir

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Distribution name → the module the code imports, where they differ.
MODULE_OF = {"python-dateutil": "dateutil", "sqlite-utils": "sqlite_utils", "tomli-w": "tomli_w"}


def test_bundled_catalogues_are_read_from_the_package():
    assert bundled_dir() == Path(str(resources.files("scs_cli.catalogues")))
    assert (bundled_dir() / "taxonomy.toml").is_file()
    names = {p.stem for p in bundled_catalogue_paths()}
    assert {"rongcheng-2016", "rongcheng-2021", "suining-2010"} <= names
    assert "taxonomy" not in names


def test_scs_catalogues_overrides_the_bundled_folder(tmp_path, monkeypatch):
    (tmp_path / "mytown-2030.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("SCS_CATALOGUES", str(tmp_path))
    assert [p.name for p in bundled_catalogue_paths()] == ["mytown-2030.toml"]
    assert resolve_catalogue_path("mytown-2030") == tmp_path / "mytown-2030.toml"


def test_every_bundled_file_is_package_data():
    """The wheel carries catalogues/ as package data: every file there matches a pattern."""
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["scs_cli.catalogues"]
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["scs_cli.catalogues"] == "catalogues"
    for path in (ROOT / "catalogues").iterdir():
        if path.is_file() and path.name != "__init__.py":
            assert any(path.match(p) for p in patterns), f"{path.name} would not ship"


def _third_party_imports(skip: Path | None = None) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "scs_cli").rglob("*.py"):
        if path == skip:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "scs_cli"}


def _declared(extra: str | None = None) -> dict[str, str]:
    names = {}
    specs = (PYPROJECT["project"]["dependencies"] if extra is None else
             PYPROJECT["project"]["optional-dependencies"][extra])
    for spec in specs:
        dist = spec.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            dist = dist.split(sep)[0]
        names[dist] = MODULE_OF.get(dist, dist.replace("-", "_"))
    return names


def test_declared_dependencies_are_the_imported_ones():
    declared = _declared()
    imported = _third_party_imports()
    # the `spark` extra's modules (pyspark, pyarrow), imported by scale/spark.py alone
    extra = set(_declared("spark").values())
    assert imported - set(declared.values()) - extra == set(), "imported but not declared"
    outside = _third_party_imports(skip=ROOT / "scs_cli" / "scale" / "spark.py")
    assert outside & (extra - set(declared.values())) == set(), "extra's modules used outside"
    unused = {d for d, m in declared.items() if m not in imported}
    assert unused == set(), "declared but never imported"
    assert "pyarrow" not in declared and "numpy" in declared


def test_the_cli_coerces_arguments_without_pydantic():
    """cli/common.py skips typer's pydantic coercion through typer internals (pinned in
    pyproject.toml). If a typer release moves them, this fails instead of the CLI quietly
    losing 0.1 s per command."""
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom scs_cli.cli.app import app\n"
            "r = CliRunner().invoke(app, ['catalogue', 'show', 'rongcheng-2016', '-f', 'json'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print('pydantic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
