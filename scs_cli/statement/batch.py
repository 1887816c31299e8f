"""`write_statements`: the letters of one ledger's residents, as HTML and PDF files.

Each letter is ``DIR/<resident-id>.html`` and, printed from that very file by one
headless Chromium for the whole batch (`pdf.Browser`), ``DIR/<resident-id>.pdf``. Every
file is written under a temporary name in DIR and renamed into place, so a reader never
sees half a letter. Without a browser the HTML letters are still written and the result
says why there are no PDFs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from scs_cli.core.errors import OutputError, UsageError
from scs_cli.core.output import check_output_path, write_atomic
from scs_cli.core.templates import Templates
from scs_cli.statement.letter import (
    Letter,
    Notice,
    Progress,
    check_resident_id,
    iter_letters,
    read_changed,
)
from scs_cli.statement.pdf import Browser, BrowserError, find_browser, print_letters
from scs_cli.statement.render import letter_html


@dataclass(frozen=True)
class Written:
    """One resident's letter on disk."""

    resident_id: str
    html: Path
    pdf: Path | None
    notice: Notice | None


@dataclass(frozen=True)
class StatementResult:
    output: Path
    as_of: date
    letters: tuple[Written, ...]
    pdf_skipped: str | None   # why no PDF was written; None when they were (or not asked)
    run_id: int | None = None  # --changed-since
    warnings: tuple[str, ...] = ()  # said once each, whatever the number of letters

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(p for w in self.letters for p in (w.html, w.pdf) if p is not None)


def write_statements(ledger: str | Path, residents: Sequence[str], as_of: date,
                     output: str | Path, *, changed_since: int | None = None,
                     known_at: datetime | None = None, pdf: bool = True,
                     progress: Progress | None = None,
                     templates: str | Path | None = None) -> StatementResult:
    """Write the letters of ``residents`` (or, with ``changed_since``, of every resident
    whose tier or rewards differ from that saved run) into the folder ``output``;
    ``templates`` is an office's folder of templates used before the bundled ones."""

    if changed_since is not None and residents:
        raise UsageError("give resident ids or --changed-since RUN, not both",
                         "--changed-since picks the residents itself")
    directory = _directory(Path(output))
    pages_from = Templates(templates)  # a missing folder is refused before any reading
    source: Iterable[Letter]
    if changed_since is not None:
        changed = read_changed(ledger, changed_since, as_of, known_at, progress)
        ids, source = [letter.resident_id for letter in changed], changed
    else:
        if not residents:
            raise UsageError("no resident given", "name at least one resident id, or use "
                             "--changed-since RUN")
        ids = list(dict.fromkeys(residents))
        for rid in ids:
            check_resident_id(rid)
        # read in the thread that writes the pages (below): every id is checked there
        # before the first letter, and before anything is written
        source = iter_letters(ledger, ids, as_of, known_at, progress)
    if not ids:
        return StatementResult(directory, as_of, (), None, changed_since)
    letters: list[Letter] = []
    pages: list[Path] = []
    html_paths: list[Path] = []
    pdf_paths: list[Path] = []

    def write_pages() -> Iterator[Path]:
        for i, letter in enumerate(source):
            if i == 0:  # every id is known to the ledger: the folder may be made
                _mkdir(directory)
                # every target is checked before the first is written
                html_paths.extend(_inside(directory, rid, ".html", ledger) for rid in ids)
                if pdf:
                    pdf_paths.extend(_inside(directory, rid, ".pdf", ledger) for rid in ids)
            if progress:
                progress(f"writing {letter.resident_id}", i, len(ids))
            letters.append(letter)
            pages.append(_write(html_paths[i], letter_html(letter, pages_from).encode("utf-8")))
            yield pages[-1]

    pdfs: list[Path | None] = [None] * len(ids)
    executable, skipped = find_browser() if pdf else (None, "")
    if executable is None:
        for _ in write_pages():
            pass
    else:
        # letters are read and written in a thread while the browser prints the ones
        # written already: on two cores the two halves of the job overlap
        ahead = _Ahead(write_pages())
        try:
            with Browser(executable) as browser:
                for done, (i, data) in enumerate(print_letters(browser, ahead, len(ids))):
                    if progress:
                        progress(f"printing {ids[i]}", done, len(ids))
                    pdfs[i] = _write(pdf_paths[i], data)
        except BrowserError:
            for _ in ahead:  # the HTML letters are still all written
                pass
            raise
        finally:
            ahead.stop()
    written = tuple(Written(letter.resident_id, page, pdf_path, letter.notice)
                    for letter, page, pdf_path in zip(letters, pages, pdfs, strict=True))
    warnings = tuple(dict.fromkeys(
        f"the catalogue in force names no [office]: the letters name "
        f"“{letter.city_name} credit office” and give no address (add an [office] table "
        "with name, address, contact and objection_window)"
        for letter in letters if letter.office is None))
    return StatementResult(directory, as_of, written, skipped or None, changed_since,
                           warnings)


class _Ahead:
    """Iterate a generator run in a thread of its own, a few items ahead of the reader;
    its exceptions are raised in the reader. `stop` ends it early."""

    def __init__(self, items: Iterator[Path], depth: int = 256) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True)
        self._thread.start()

    def _run(self, items: Iterator[Path]) -> None:
        try:
            for item in items:
                while not self._stopped.is_set():
                    try:
                        self._queue.put(("item", item), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if self._stopped.is_set():
                    return
            self._queue.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            self._queue.put(("error", exc))

    def __iter__(self) -> Iterator[Path]:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                self._queue.put(("end", None))  # iterating again ends at once
                return
            if kind == "error":
                self._queue.put(("end", None))
                raise value
            yield value

    def stop(self) -> None:
        self._stopped.set()


def _mkdir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(directory, f"cannot be created: {exc.strerror or exc}",
                          "check the path and its permissions") from None


def _directory(output: Path) -> Path:
    if output.exists() and not output.is_dir():
        raise OutputError(output, "exists and is not a directory",
                          "give --output a directory (it is created if missing)")
    return output


def _inside(directory: Path, resident_id: str, suffix: str, ledger: str | Path) -> Path:
    """``DIR/<resident-id><suffix>``, refused if it would leave DIR, or is the ledger or
    any SQLite database (resident ids are checked already; this is the last guard)."""
    path = directory / f"{resident_id}{suffix}"
    if path.resolve().parent != directory.resolve():
        raise OutputError(path, "would be written outside the output folder",
                          "resident ids name files inside --output only")
    return check_output_path(path, {"the ledger": ledger})


def _write(path: Path, data: bytes) -> Path:
    """Under a temporary name in the same folder, then renamed into place."""
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))
    return path
