"""The one check every writer makes: an output never destroys an input (SPEC §7).

`check_targets` is called with every file a command will write, before it writes the
first one; `write_atomic` calls it again for each file just before writing (a last guard
for a writer that forgot). A target is refused when it is

- inside an input that is a folder (a dataset);
- one of the command's inputs, by any name (hard links, symlinks, ``./a`` and ``a``);
- the ``-wal``, ``-shm`` or ``-journal`` file of an input, or of any SQLite database beside
  it: SQLite keeps committed rows there until a checkpoint, so overwriting it loses them;
- any SQLite database, write-ahead log or rollback journal, known by its first bytes
  whatever its name;
- a folder (a file is wanted).

Only the first bytes of an existing target are read: the check costs one open per file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from scs_cli.core.errors import OutputError

SQLITE_MAGIC = b"SQLite format 3\x00"
# A write-ahead log begins with 0x377f0682 or 0x377f0683; a rollback journal with these.
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
JOURNAL_MAGIC = b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"
SIDECARS = ("-wal", "-shm", "-journal")

Inputs = Mapping[str, "str | Path | None"]


def is_sqlite(path: str | Path) -> bool:
    """Whether the file begins with SQLite's magic bytes (whatever its name)."""
    return _head(Path(path), len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _head(path: Path, size: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return _real(a) == _real(b)


def sqlite_role(target: Path) -> str | None:
    """What SQLite file ``target`` is or belongs to (None: none), in words."""
    head = _head(target, 16)
    if head.startswith(SQLITE_MAGIC):
        return "a SQLite database (perhaps a ledger)"
    if head[:4] in WAL_MAGICS:
        return "a SQLite write-ahead log"
    if head.startswith(JOURNAL_MAGIC):
        return "a SQLite rollback journal"
    for suffix in SIDECARS:
        if target.name.endswith(suffix) and len(target.name) > len(suffix):
            owner = target.with_name(target.name[: -len(suffix)])
            if is_sqlite(owner):
                return (f"the {suffix[1:]} file of the SQLite database {owner.name} (it may "
                        "hold committed rows)")
    return None


def check_target(target: Path, inputs: Inputs | None = None, option: str = "--output"
                 ) -> None:
    """Refuse one target that would destroy an input; see the module's docstring."""
    fix = f"choose another {option} file"
    if target.is_dir():
        raise OutputError(target, "is a folder, not a file",
                          f"give {option} a file name, such as {target / 'out.csv'}")
    for role, given in (inputs or {}).items():
        if given is None:
            continue
        other = Path(given)
        if other.is_dir():  # an input folder (a dataset): nothing is written inside it
            if _real(target).is_relative_to(_real(other)):
                raise OutputError(target, f"is inside {role}; writing there would change "
                                  "it", fix)
            continue
        if _same_file(target, other):
            raise OutputError(target, f"is {role}; writing there would destroy it", fix)
        for suffix in SIDECARS:
            if _real(target) == _real(other.with_name(other.name + suffix)):
                raise OutputError(target, f"is the {suffix[1:]} file of {role}; writing "
                                  "there would lose what it holds", fix)
    what = sqlite_role(target)
    if what is not None:
        raise OutputError(target, f"is {what}; scs never writes over one", fix)


def check_targets(targets: Iterable[str | Path], inputs: Inputs | None = None,
                  option: str = "--output") -> list[Path]:
    """Check every target a command will write, before it writes any (one line on the
    first refused); return them as paths."""
    paths = [Path(t) for t in targets]
    for target in paths:
        check_target(target, inputs, option)
    return paths


def check_folder(folder: Path, inputs: Inputs | None = None, option: str = "--output") -> None:
    """Refuse a folder a command would write into (or create) that is a file: an input,
    a database, or any other file (never replaced by a folder)."""
    if folder.exists() and not folder.is_dir():
        check_target(folder, inputs, option)
        raise OutputError(folder, "exists and is not a folder",
                          f"give {option} a folder (it is created if missing)")
