"""`write_statements`: the letters of one ledger's residents, as HTML and PDF files.

Each letter is ``DIR/<resident-id>.html`` and, printed from that very file by one
headless Chromium for the whole batch (`pdf.Browser`), ``DIR/<resident-id>.pdf``. Every
file is written under a temporary name in DIR and renamed into place, so a reader never
sees half a letter. Without a browser the HTML letters are still written and the result
says why there are no PDFs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from scs_cli.core.errors import ScsError, UsageError
from scs_cli.statement.letter import Letter, Notice, Progress, read_changed, read_letters
from scs_cli.statement.pdf import Browser, find_browser
from scs_cli.statement.render import letter_html

SQLITE_MAGIC = b"SQLite format 3\0"


class OutputError(ScsError):
    def __init__(self, path: Path, what: str, fix: str = ""):
        self.path, self.what, self.fix = path, what, fix
        super().__init__(f"{path}: {what}" + (f" ({fix})" if fix else ""))


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

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(p for w in self.letters for p in (w.html, w.pdf) if p is not None)


def write_statements(ledger: str | Path, residents: Sequence[str], as_of: date,
                     output: str | Path, *, changed_since: int | None = None,
                     known_at: datetime | None = None, pdf: bool = True,
                     progress: Progress | None = None) -> StatementResult:
    """Write the letters of ``residents`` (or, with ``changed_since``, of every resident
    whose tier or rewards differ from that saved run) into the folder ``output``."""

    if changed_since is not None and residents:
        raise UsageError("give resident ids or --changed-since RUN, not both",
                         "--changed-since picks the residents itself")
    directory = _directory(Path(output))
    letters = (read_changed(ledger, changed_since, as_of, known_at, progress)
               if changed_since is not None
               else read_letters(ledger, residents, as_of, known_at, progress))
    directory.mkdir(parents=True, exist_ok=True) if letters else None
    pages = []
    for i, letter in enumerate(letters):
        if progress:
            progress(f"writing {letter.resident_id}", i, len(letters))
        pages.append(write_text(_inside(directory, letter, ".html"), letter_html(letter)))
    pdfs: list[Path | None] = [None] * len(letters)
    skipped = None
    if pdf and letters:
        executable, skipped_why = find_browser()
        if executable is None:
            skipped = skipped_why
        else:
            with Browser(executable) as browser:
                for done, (i, data) in enumerate(browser.print_many(pages)):
                    if progress:
                        progress(f"printing {letters[i].resident_id}", done, len(letters))
                    pdfs[i] = write_bytes(_inside(directory, letters[i], ".pdf"), data)
    written = tuple(Written(letter.resident_id, page, pdf_path, letter.notice)
                    for letter, page, pdf_path in zip(letters, pages, pdfs, strict=True))
    return StatementResult(directory, as_of, written, skipped, changed_since)


def _directory(output: Path) -> Path:
    if output.exists() and not output.is_dir():
        raise OutputError(output, "exists and is not a directory",
                          "give --output a directory (it is created if missing)")
    return output


def _inside(directory: Path, letter: Letter, suffix: str) -> Path:
    """``DIR/<resident-id><suffix>``, refused if it would leave DIR or overwrite a
    database (resident ids are checked already; this is the last guard)."""
    path = directory / f"{letter.resident_id}{suffix}"
    if path.resolve().parent != directory.resolve():
        raise OutputError(path, "would be written outside the output folder",
                          "resident ids name files inside --output only")
    if path.is_dir():
        raise OutputError(path, "is a directory", "remove it or choose another --output")
    if path.is_file():
        with path.open("rb") as existing:
            if existing.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
                raise OutputError(path, "is an SQLite database; a letter never replaces one",
                                  "choose another --output")
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write to a temporary name in the same folder, then rename into place."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(path, f"cannot write: {exc.strerror or exc}",
                          "check the folder exists, is writable and the disk has room"
                          ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path
