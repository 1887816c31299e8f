"""One error hierarchy for the whole library.

Every error a user can cause is an `ScsError`: it carries the fields it is about and
builds one actionable line from them (which file, where, what is wrong, how to mend it).
The CLI maps them to exit status 1 in one place; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class ScsError(Exception):
    """Base of every error caused by input: bad files, bad arguments, refused actions."""

    exit_code = 1

    def lines(self) -> list[str]:
        """The message as the lines a person reads (most errors have one)."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file: where it is, what is wrong, and how to mend it."""

    file: str
    where: str
    what: str
    fix: str = ""

    def __str__(self) -> str:
        place = f"{self.file}: {self.where}: " if self.where else f"{self.file}: "
        return place + self.what + (f" ({self.fix})" if self.fix else "")


class ProblemsError(ScsError):
    """Several problems found in one pass over a file; each is reported on its own line."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class CatalogueError(ProblemsError):
    """A catalogue file that does not parse or does not validate."""


class LedgerError(ScsError):
    """A ledger action that is refused (missing file, another city, unknown event…)."""

    def __init__(self, ledger: str | Path, message: str, fix: str = ""):
        self.ledger = str(ledger)
        self.message = message
        self.fix = fix
        super().__init__(f"{self.ledger}: {message}" + (f" ({fix})" if fix else ""))


class UsageError(ScsError):
    """A bad argument value given on the command line (a date, a format, a file suffix)."""

    def __init__(self, what: str, fix: str = ""):
        self.what = what
        self.fix = fix
        super().__init__(what + (f" ({fix})" if fix else ""))


class OutputError(ScsError):
    """An output that cannot or must not be written (the ledger, an input, a full disk…)."""

    def __init__(self, path: str | Path, what: str, fix: str = ""):
        self.path = str(path)
        self.what = what
        self.fix = fix
        super().__init__(f"{self.path}: {what}" + (f" ({fix})" if fix else ""))
