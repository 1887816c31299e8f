"""Shared fixtures. Module-specific fixtures live in their own test modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from scs_cli.cli.app import app

# Property tests judge answers, never time: these machines are shared and noisy, so no
# Hypothesis example may fail for being slow.
settings.register_profile("scs", deadline=None)
settings.load_profile("scs")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CATALOGUES = ROOT / "catalogues"


class Invoker:
    """Runs `scs` in-process and keeps stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path, input: str | None = None):  # type: ignore[no-untyped-def]
        return self.runner.invoke(app, [str(a) for a in args], input=input,
                                  catch_exceptions=False)


@pytest.fixture(autouse=True, scope="session")
def prepared_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Kept prepared frames go to a folder of the test run, never the user's cache (and the
    cache stays on: every scoring test also proves that a kept frame scores the same)."""
    folder = tmp_path_factory.mktemp("prepared-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCS_CACHE_DIR", str(folder))
        patch.delenv("SCS_CACHE", raising=False)
        yield folder


@pytest.fixture
def scs() -> Invoker:
    return Invoker()


@pytest.fixture
def tiny_catalogue() -> Path:
    """A small invented catalogue using every feature of the format."""
    return EXAMPLES / "tiny.toml"


@pytest.fixture
def tiny_ledger(scs: Invoker, tiny_catalogue: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Makes `city.db` for tiny.toml and imports the given CSV text into it."""
    def make(events: str) -> Path:
        path = tmp_path / "city.db"
        csv = tmp_path / "events.csv"
        csv.write_text(events, encoding="utf-8")
        assert scs("ledger", "init", path, "--catalogue", tiny_catalogue).exit_code == 0
        result = scs("ledger", "import", path, csv)
        assert result.exit_code == 0, result.stderr
        return path
    return make
