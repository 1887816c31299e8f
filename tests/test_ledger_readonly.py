"""A read-only ledger (a file of mode 0444, or one in a read-only folder) can be scored,
explained, reported and verified (SPEC §7, issue 19 item 11); writing to it is one line.

Root ignores file modes, so as root the commands run as `nobody` (setpriv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from scs_cli.ledger.store import Ledger

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2022-12-31"


def _prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes cannot be tested")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_prefix(), sys.executable, "-m", "scs_cli", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": "/tmp"})


@pytest.fixture
def place(tiny_catalogue: Path) -> Iterator[Path]:
    """A folder another user can enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="scs-ro-"))
    folder.chmod(0o755)
    ledger = folder / "city.db"
    with Ledger.create(ledger, tiny_catalogue) as opened:
        i = pl.int_range(0, 200)
        pl.select(resident_id=pl.format("R{}", i % 17), indicator=pl.lit("red-light"),
                  occurred_on=(pl.lit(date(2021, 1, 1)) + pl.duration(days=i)
                               ).dt.to_string("%Y-%m-%d"),
                  agency=pl.lit("police"), reference=pl.format("A-{}", i)
                  ).write_csv(folder / "e.csv")
        opened.import_file(folder / "e.csv")
    out = folder / "out"
    out.mkdir()
    out.chmod(0o777)  # where the reading commands write
    try:
        yield folder
    finally:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(folder)


def reading_commands(ledger: Path, out: Path) -> list[list[str | Path]]:
    return [["ledger", "verify", ledger], ["ledger", "head", ledger],
            ["score", ledger, "--as-of", AS_OF, "-f", "csv"],
            ["explain", ledger, "R1", "--as-of", AS_OF],
            ["report", ledger, "--as-of", AS_OF, "--output", out / "report"],
            ["statement", ledger, "R1", "--as-of", AS_OF, "--no-pdf", "--output",
             out / "letters"]]


@pytest.mark.parametrize("how", ["file 0444", "folder 0555"])
def test_a_read_only_ledger_is_scored_explained_reported_and_verified(place: Path, how: str
                                                                      ) -> None:
    ledger = place / "city.db"
    if how == "file 0444":  # the folder is writable (SQLite may make its -shm there)
        ledger.chmod(0o444)
        place.chmod(0o777)
    else:  # the file is writable, its folder not
        (place / "ro").mkdir()
        ledger = Path(shutil.move(ledger, place / "ro" / "city.db"))
        ledger.chmod(0o666)
        ledger.parent.chmod(0o555)
    before = ledger.read_bytes()
    for args in reading_commands(ledger, place / "out"):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
    refused = run("ledger", "void", ledger, "1", "--reason", "typo")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"error: {ledger}: is read-only: scs can read it but "
                                      "record nothing in it (give scs write access to the "
                                      "file and its folder to change it)")
    assert ledger.read_bytes() == before


def test_a_read_only_ledger_made_before_a_later_schema_step_is_read_as_it_is(
        place: Path, tiny_catalogue: Path) -> None:
    """Schema step 0004 (notes in the batches) is not needed to read: a read-only ledger
    made before it is scored, explained, reported and verified without being migrated."""
    sys.path.insert(0, str(Path(__file__).parent))
    from older_builds import before_noted_batches

    ledger = place / "old.db"
    with before_noted_batches(), Ledger.create(ledger, tiny_catalogue) as opened:
        opened.import_file(place / "e.csv")
    ledger.chmod(0o444)
    place.chmod(0o777)
    before = ledger.read_bytes()
    for args in reading_commands(ledger, place / "out"):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
    assert ledger.read_bytes() == before
