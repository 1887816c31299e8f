"""`write_statements`: the letters of one ledger's residents, as HTML and PDF files.

Each letter is ``DIR/<resident-id>.html`` and, printed from that very file by one
headless Chromium for the whole batch (`pdf.Browser`), ``DIR/<resident-id>.pdf``. Every
file is written under a temporary name in DIR and renamed into place, so a reader never
sees half a letter. Without a browser the HTML letters are still written and the result
says why there are no PDFs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from scs_cli.core.errors import OutputError, UsageError
from scs_cli.core.output import check_output_path, write_atomic
from scs_cli.core.templates import Templates
from scs_cli.statement.letter import Letter, Notice, Progress, read_changed, read_letters
from scs_cli.statement.pdf import Browser, find_browser, print_letters
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
    letters = (read_changed(ledger, changed_since, as_of, known_at, progress)
               if changed_since is not None
               else read_letters(ledger, residents, as_of, known_at, progress))
    if not letters:
        return StatementResult(directory, as_of, (), None, changed_since)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(directory, f"cannot be created: {exc.strerror or exc}",
                          "check the path and its permissions") from None
    # Every target is checked before the first is written: a refused one writes nothing.
    html_paths = [_inside(directory, letter, ".html", ledger) for letter in letters]
    pdf_paths = [_inside(directory, letter, ".pdf", ledger) for letter in letters] \
        if pdf else []
    pages = []
    for i, (letter, path) in enumerate(zip(letters, html_paths, strict=True)):
        if progress:
            progress(f"writing {letter.resident_id}", i, len(letters))
        pages.append(_write(path, letter_html(letter, pages_from).encode("utf-8")))
    pdfs: list[Path | None] = [None] * len(letters)
    skipped = None
    if pdf:
        executable, skipped_why = find_browser()
        if executable is None:
            skipped = skipped_why
        else:
            with Browser(executable) as browser:
                for done, (i, data) in enumerate(print_letters(browser, pages)):
                    if progress:
                        progress(f"printing {letters[i].resident_id}", done, len(letters))
                    pdfs[i] = _write(pdf_paths[i], data)
    written = tuple(Written(letter.resident_id, page, pdf_path, letter.notice)
                    for letter, page, pdf_path in zip(letters, pages, pdfs, strict=True))
    warnings = tuple(dict.fromkeys(
        f"the catalogue in force names no [office]: the letters name "
        f"“{letter.city_name} credit office” and give no address (add an [office] table "
        "with name, address, contact and objection_window)"
        for letter in letters if letter.office is None))
    return StatementResult(directory, as_of, written, skipped, changed_since, warnings)


def _directory(output: Path) -> Path:
    if output.exists() and not output.is_dir():
        raise OutputError(output, "exists and is not a directory",
                          "give --output a directory (it is created if missing)")
    return output


def _inside(directory: Path, letter: Letter, suffix: str, ledger: str | Path) -> Path:
    """``DIR/<resident-id><suffix>``, refused if it would leave DIR, or is the ledger or
    any SQLite database (resident ids are checked already; this is the last guard)."""
    path = directory / f"{letter.resident_id}{suffix}"
    if path.resolve().parent != directory.resolve():
        raise OutputError(path, "would be written outside the output folder",
                          "resident ids name files inside --output only")
    return check_output_path(path, {"the ledger": ledger})


def _write(path: Path, data: bytes) -> Path:
    """Under a temporary name in the same folder, then renamed into place."""
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))
    return path
