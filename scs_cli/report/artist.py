"""The report's charts, drawn in a process of their own while the report computes.

Importing matplotlib and drawing the charts took about 1.5 s of a 4 s report at 5,000,000
events, all of it on one core while the other waited. `Artist.start` launches a worker
(``python -m scs_cli.report.artist``) first thing: it imports matplotlib while the ledger is
read and scored, and draws each city's charts from the small chart figures while the report
computes. Each chart is asked for as soon as the figures it draws are known (a city's tiers,
score distribution and indicators after its as-of scoring, its month ends after those are
scored), so the worker draws while the report goes on instead of at the end. The worker runs
the same `charts` code on the same figures, so the SVG text is the same as drawn in process
(tests/test_report_artist.py).

Requests and answers are pickled frames on the worker's standard input and output, between
this process and the child it started. A worker that cannot start is replaced by drawing in
process; a worker that fails or dies fails the report with one line (`OutputError`), never
a hang: its output is read by a thread that reports the end of the pipe.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import scs_cli
from scs_cli.core.errors import OutputError

# the file stems of one city's charts, in the order they are drawn and written
# (`charts.CHARTS`: a test holds the two to the same names)
CHART_NAMES = ("score-distribution", "tier-shares", "tier-shares-monthly", "indicators")
# what a city's charts read from its document: the rest need not cross the pipe
CHART_KEYS = ("public", "city", "tiers", "score_distribution", "monthly", "indicators")
# the charts drawn from a city's as-of scoring, before its month ends are scored
EARLY_CHARTS = ("score-distribution", "tier-shares", "indicators")
HEADER = struct.Struct("!Q")  # each frame: its length, then the pickle
ENDED = object()              # the worker's output ended


def command() -> list[str]:
    """How the worker is started (a test replaces it with one that fails)."""
    return [sys.executable, "-m", "scs_cli.report.artist"]


class Artist:
    """Draws charts for `batch.write_reports`: in a worker process, or in process when
    the worker cannot be started. Call `close` when done (`with` does)."""

    def __init__(self, process: subprocess.Popen[bytes] | None, errors: IO[bytes] | None):
        self._process = process
        self._errors = errors
        self._answers: queue.Queue[Any] = queue.Queue()
        self._asked = 0
        self._received: dict[int, Any] = {}  # answers taken from the queue, by ticket
        self._arrived = 0                     # how many answers were taken from the queue
        self._open: set[int] = set()          # tickets asked for and not yet answered
        if process is not None:
            threading.Thread(target=self._read, name="scs-artist", daemon=True).start()

    @classmethod
    def start(cls) -> Artist:
        """A worker that starts importing matplotlib now; in process if none starts."""
        env = dict(os.environ)
        # the child imports this very code, wherever it was imported from
        # (a source checkout run by path); an installed package is found as it is, and
        # site-packages put on PYTHONPATH would come before the standard library
        root = str(Path(scs_cli.__file__).resolve().parent.parent)
        if root not in _installed():
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # a file, not a pipe: it can never fill and block; closed by `close`
        errors = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            process = subprocess.Popen(command(), stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=errors, env=env)
        except OSError:
            errors.close()
            return cls(None, None)
        return cls(process, errors)

    def __enter__(self) -> Artist:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(failed=kind is not None)

    def ask(self, kind: str, doc: Any) -> int:
        """Ask for ``kind`` ("charts": some of one city's charts; "cities": the index
        chart) of ``doc``; the ticket `answer` takes (answers come back in the order
        asked)."""
        ticket = self._asked
        self._asked += 1
        self._open.add(ticket)
        if self._process is None:
            self._answers.put(_drawn(kind, doc))
            return ticket
        body = pickle.dumps((kind, doc), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(HEADER.pack(len(body)) + body)
            self._process.stdin.flush()
        except OSError:  # the worker has gone: `answer` says why
            pass
        return ticket

    def answer(self, where: Path, ticket: int | None = None) -> Any:
        """The answer to ``ticket`` (default: the first not yet taken); `OutputError`
        naming ``where`` if the worker failed."""
        if ticket is None:
            ticket = min(self._open, default=-1)
        if ticket not in self._open:  # never asked, or taken: waiting would never end
            raise ValueError(f"no chart request {ticket} is waiting for its answer")
        while ticket not in self._received:
            got = self._answers.get()
            if got is ENDED:
                self._answers.put(ENDED)  # every later answer is missing too
                raise OutputError(where, f"the chart worker stopped: {self._why()}",
                                  "run the report again; if it fails again, report the bug")
            self._received[self._arrived] = got
            self._arrived += 1
        status, value = self._received.pop(ticket)
        self._open.discard(ticket)
        if status != "ok":
            raise OutputError(where, f"the charts could not be drawn: {value}",
                              "report the bug, with the report's command")
        return value

    def charts(self, doc: dict[str, Any], names: Sequence[str] = CHART_NAMES) -> int:
        """Ask for the charts ``names`` of one city (file stem → SVG text) from its
        document, or from as much of it as those charts read."""
        return self.ask("charts", {"names": list(names),
                                   **{k: doc[k] for k in CHART_KEYS if k in doc}})

    def close(self, failed: bool = False) -> None:
        """End the worker (it stops at the end of its input) and wait for it briefly; when
        the report ``failed``, at once."""
        process, self._process = self._process, None
        if process is None:
            return
        if failed:
            process.kill()
        try:
            assert process.stdin is not None
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._errors is not None:
            self._errors.close()

    def _read(self) -> None:
        """Each answer from the worker's output into the queue; `ENDED` at its end."""
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        try:
            while True:
                body = _frame(stream)
                if body is None:
                    break
                self._answers.put(pickle.loads(body))
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            pass
        self._answers.put(ENDED)

    def _why(self) -> str:
        """The last line the worker wrote on its error output, or its exit status."""
        process, errors = self._process, self._errors
        status = None
        if process is not None:
            try:
                status = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        text = ""
        if errors is not None:
            errors.seek(0)
            text = errors.read().decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[-1]
        return f"exit status {status}" if status is not None else "no answer"


def _installed() -> set[str]:
    """The folders installed packages live in (resolved, as `Artist.start` compares)."""
    import site

    folders = [*site.getsitepackages(), site.getusersitepackages()]
    return {str(Path(f).resolve()) for f in folders}


def _frame(stream: IO[bytes]) -> bytes | None:
    """One frame's pickle, or None at the end of the stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return body


def draw(kind: str, doc: Any) -> Any:
    """What the worker does for a request (and what is done in process without one)."""
    from scs_cli.report import charts  # matplotlib: only where charts are drawn

    if kind == "charts":
        return charts.city_charts(doc, doc["names"])
    if kind == "cities":
        return charts.cities_chart(doc)
    raise ValueError(f"unknown chart request {kind!r}")


def _drawn(kind: str, doc: Any) -> tuple[str, Any]:
    """A request's answer, as the worker sends it: ("ok", value) or ("error", why)."""
    try:
        return "ok", draw(kind, doc)
    except Exception as exc:  # the report says it, in one line
        return "error", f"{type(exc).__name__}: {exc}"


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker: import the charts, then answer each request until the input ends."""
    from scs_cli.report import charts  # noqa: F401  (the import is the point: done early)

    while (body := _frame(requests)) is not None:
        out = pickle.dumps(_drawn(*pickle.loads(body)), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(HEADER.pack(len(out)) + out)
        answers.flush()


if __name__ == "__main__":
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints cannot garble the answers
    serve(sys.stdin.buffer, answers)
    answers.flush()
    # every answer is written: end now rather than have the report wait while matplotlib's
    # modules and figures are freed one by one (0.15 s at the end of every report, measured)
    os._exit(0)
