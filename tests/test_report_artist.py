"""The chart worker (`report.artist`): the same bytes as drawn in process, and a worker that
fails fails the report in one line, writes no city file, and never hangs."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from test_report import AS_OF, make_ledger, run

from scs_cli.report import artist


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return make_ledger(tmp_path_factory.mktemp("ledger"))


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_chart_names_are_the_charts_drawn():  # type: ignore[no-untyped-def]
    from scs_cli.report.charts import CHARTS

    assert tuple(CHARTS) == artist.CHART_NAMES


def test_the_worker_writes_the_bytes_drawn_in_process(ledger, tmp_path, monkeypatch
                                                      ):  # type: ignore[no-untyped-def]
    """Every file, charts included, is the same whether a worker drew the charts or this
    process did (a worker that cannot start: drawn in process)."""
    from scs_cli.report.batch import write_reports

    known = "2030-01-01T00:00:00Z"
    worker = tmp_path / "worker"
    assert run("report", ledger, "--as-of", AS_OF, "--known-at", known, "--output",
               worker, "--public").exit_code == 0
    started: list[list[str]] = []
    monkeypatch.setattr(artist, "command",
                        lambda: started.append(["x"]) or [str(tmp_path / "no-such-python")])
    here = tmp_path / "here"
    assert run("report", ledger, "--as-of", AS_OF, "--known-at", known, "--output",
               here, "--public").exit_code == 0
    assert started  # the worker was asked for, and could not start
    got, want = files(here), files(worker)
    assert any(name.endswith(".svg") for name in got)
    assert got == want
    # the library on its own (no CLI) draws the same
    monkeypatch.undo()
    lib = tmp_path / "lib"
    write_reports([ledger], AS_OF, lib, public=True,
                  known_at=datetime.fromisoformat(known.replace("Z", "+00:00")))
    assert files(lib) == want


@pytest.mark.parametrize("script", [
    "import sys; sys.stderr.write('the worker broke\\n'); sys.exit(3)",
    # answers nothing: reads one request, then dies
    "import sys; sys.stdin.buffer.read(8); sys.stderr.write('the worker broke\\n')",
    # answers garbage
    "import sys; sys.stdout.buffer.write(b'\\0' * 7 + b'\\3abc'); sys.stdout.flush();"
    "sys.stderr.write('the worker broke\\n')",
])
def test_a_failing_worker_fails_the_report_in_one_line(ledger, tmp_path, monkeypatch, script
                                                       ):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(artist, "command", lambda: [sys.executable, "-c", script])
    out = tmp_path / "o"
    result = run("report", ledger, "--as-of", AS_OF, "--output", out)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "chart worker stopped: the worker broke" in lines[0]
    assert not (out / "exampleton").exists()  # no city file half written


def test_a_drawing_error_in_the_worker_is_one_line(ledger, tmp_path
                                                   ):  # type: ignore[no-untyped-def]
    with artist.Artist.start() as worker:
        worker.ask("no-such-chart", {})
        with pytest.raises(artist.OutputError, match="unknown chart request"):
            worker.answer(tmp_path)
        # the worker goes on answering after an error
        worker.ask("cities", [{"city": {"name": "A"}, "tiers": [
            {"tier": "A", "share": 1.0}]}])
        assert worker.answer(tmp_path).startswith("<svg")



@pytest.mark.parametrize("installed", [True, False])
def test_the_worker_finds_this_code_without_shadowing_the_standard_library(
        installed, monkeypatch):  # type: ignore[no-untyped-def]
    """A source checkout's root goes on the worker's PYTHONPATH; an installed package's
    site-packages never does (it would come before the standard library)."""
    import scs_cli

    root = str(Path(scs_cli.__file__).resolve().parent.parent)
    seen: dict[str, str | None] = {}

    def popen(command, **kwargs):  # type: ignore[no-untyped-def]
        seen["path"] = kwargs["env"].get("PYTHONPATH")
        raise OSError("not started: drawn in process")

    monkeypatch.setattr(artist, "_installed", lambda: {root} if installed else set())
    monkeypatch.setattr(artist.subprocess, "Popen", popen)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    artist.Artist.start().close()
    assert seen["path"] == ("/elsewhere" if installed else f"{root}{os.pathsep}/elsewhere")


def test_answers_are_taken_by_ticket_in_any_order(tmp_path):  # type: ignore[no-untyped-def]
    """A report takes the month-end chart's answer before the index chart asked for earlier:
    each answer is the one to its own request, whatever order they are taken in."""
    def index(name: str) -> list[dict[str, Any]]:
        return [{"city": {"name": name}, "tiers": [{"tier": "A", "share": 1.0}]}]

    with artist.Artist.start() as worker:
        first = worker.ask("cities", index("Alphaville"))
        broken = worker.ask("no-such-chart", {})
        last = worker.ask("cities", index("Betatown"))
        svg = worker.answer(tmp_path, last)
        assert "Betatown" in svg and "Alphaville" not in svg
        with pytest.raises(artist.OutputError, match="unknown chart request"):
            worker.answer(tmp_path, broken)
        svg = worker.answer(tmp_path, first)
        assert "Alphaville" in svg and "Betatown" not in svg
        with pytest.raises(ValueError, match="no chart request"):  # taken: never a hang
            worker.answer(tmp_path, first)


def test_the_early_charts_are_drawn_while_the_month_ends_are_scored(
        ledger, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The tiers, distribution and indicator charts (and, for the last city, the index chart)
    are asked for while the month ends are being scored, not after: `standings` here waits
    for that ask before it returns (a report that waited for the month ends first would
    leave it waiting), and the month-end chart is asked for last."""
    import threading

    from scs_cli.report import batch

    asked: list[tuple[str, Any]] = []
    early = threading.Event()
    real_ask, real_standings = artist.Artist.ask, batch.standings

    def ask(self, kind, doc):  # type: ignore[no-untyped-def]
        asked.append((kind, doc.get("names") if isinstance(doc, dict) else None))
        if kind == "charts" and doc["names"] == list(artist.EARLY_CHARTS):
            early.set()
        return real_ask(self, kind, doc)

    def standings(*args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(("month ends scored", early.wait(timeout=20)))
        return real_standings(*args, **kwargs)

    monkeypatch.setattr(artist.Artist, "ask", ask)
    monkeypatch.setattr(batch, "standings", standings)
    batch.write_reports([ledger], AS_OF, tmp_path / "o")
    assert ("month ends scored", True) in asked
    assert [a for a in asked if a[0] != "month ends scored"] == [
        ("charts", list(artist.EARLY_CHARTS)), ("cities", None),
        ("charts", ["tier-shares-monthly"])]
