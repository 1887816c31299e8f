"""The city ledger: one SQLite file per city, append-only, every row with `recorded_at`.

`Ledger` is the only way the library writes a ledger. Each change is one transaction
taken with ``BEGIN IMMEDIATE`` (a second writer waits, up to the lock timeout), so a
refused or interrupted change leaves the file as it was. Refusals are `LedgerError`s of
one line; SQLite errors are translated into such lines in one place (`_sql`).

Events are stored twice in the same transaction: in the `events` table a person reads,
and per import as Arrow IPC blobs in `event_batches`, which `scoring_data` concatenates
so the engine reads millions of events without going through SQL row by row.
`scs ledger verify` proves the two copies agree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import polars as pl

from scs_cli import __version__
from scs_cli.core.errors import LedgerError, Problem, ProblemsError
from scs_cli.core.frames import (
    CONSENTS_SCHEMA,
    LIFTS_SCHEMA,
    OBJECTIONS_SCHEMA,
    VOIDS_SCHEMA,
    LedgerData,
)
from scs_cli.core.output import check_output_path
from scs_cli.ledger import batches as batches
from scs_cli.ledger import chain as chain
from scs_cli.ledger import reader as reader
from scs_cli.ledger import schema as schema
from scs_cli.ledger.chain import Head
from scs_cli.ledger.early import NEVER, cutoff
from scs_cli.ledger.repairs import repairs_frame
from scs_cli.rules.model import (
    AdoptedCatalogue,
    Catalogue,
    CatalogueHistory,
    adoption_problems,
)
from scs_cli.rules.schema import load_catalogue, parse_catalogue, resolve_catalogue_path

if TYPE_CHECKING:
    from scs_cli.ledger.records import ImportResult, ObjectionStatus
    from scs_cli.ledger.stats import Reading

# Importing, objections, statistics and verification load their modules when first used:
# `scs explain` and `scs score` only read (about 8 ms of start-up; measured, issue 23).

DEFAULT_LOCK_TIMEOUT = 120.0  # seconds a command waits for another one writing the ledger
SQLITE_MAGIC = b"SQLite format 3\x00"
RESIDENT_ID = re.compile(reader.RESIDENT_ID)
MAX_ID = 2**63 - 1  # SQLite's largest integer
REBUILD_INDEX_ROWS = 50_000  # an import this big (and bigger than the ledger) re-sorts

Outcome = Literal["upheld", "rejected"]


def utc_today() -> date:
    """Today's date in UTC: the latest date anything may be dated."""
    return datetime.now(UTC).date()


def lock_timeout() -> float:
    """The lock timeout: ``SCS_LOCK_TIMEOUT`` seconds if set, else 120."""
    try:
        return float(os.environ.get("SCS_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def connect_read_only(path: str | Path, timeout: float) -> sqlite3.Connection:
    """A connection that never writes, for a ledger scs may not write (a file of mode
    0444, or one in a read-only folder).

    SQLite reads a WAL-mode file read-only only if it can create the -shm file beside it
    or the -wal and -shm exist; in a read-only folder with neither, the file is opened as
    immutable, which is exact because then no write can be in flight (a writer would have
    created the -wal file). A -wal that exists is always read."""
    absolute = Path(path).resolve()
    uri = f"file:{quote(str(absolute))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        wal = absolute.with_name(absolute.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            raise LedgerError(path, "is read-only and has a -wal file with rows not yet "
                              "written into it, which SQLite cannot read without writing",
                              "open it once where scs may write, or copy the ledger with "
                              "its -wal file to a writable folder") from None
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=timeout,
                           isolation_level=None, check_same_thread=False)


@dataclass(frozen=True)
class RunRecord:
    """A saved score run; `result()` reads its stored table (resident_id, score, tier)."""

    run_id: int
    as_of: date
    known_at: datetime
    catalogue_sha256s: tuple[str, ...]
    digest: str
    residents: int
    recorded_at: str
    ledger: str = field(repr=False)
    head: Head | None = None  # the ledger head it was computed at (None: saved before 0002)

    def result(self) -> pl.DataFrame:
        """The stored table, checked first: the run's row (its result's bytes included)
        must hash to what its chain link recorded when it was saved (SPEC §7)."""
        conn = connect_read_only(self.ledger, lock_timeout())
        try:
            row = conn.execute("SELECT result FROM runs WHERE run_id = ?",
                               (self.run_id,)).fetchone()
            linked = conn.execute("SELECT content_sha256 FROM chain WHERE table_name = "
                                  "'runs' AND row_id = ?", (self.run_id,)).fetchone()
            now = chain.content_sha256(conn, "runs", self.run_id)
        finally:
            conn.close()
        if row is None:
            raise LedgerError(self.ledger, f"no run {self.run_id}")
        fix = ("`scs ledger verify LEDGER` names what changed; score again with --save for a "
               "run to compare against")
        if linked is None or linked[0] != now:
            raise LedgerError(self.ledger, f"saved run {self.run_id} was changed after it "
                              "was saved (its stored result does not match its hash in the "
                              "chain); it is not read", fix)
        try:
            return pl.read_parquet(io.BytesIO(row[0]))
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise LedgerError(self.ledger, f"saved run {self.run_id}'s stored result cannot "
                              f"be read: {one_line_of(exc)}", fix) from None


def one_line_of(exc: BaseException) -> str:
    """An exception's message, its first line only."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


class Ledger:
    """One city's ledger file, open. Use `Ledger.create` or `Ledger.open` (a context
    manager too); every method is one read or one transaction."""

    def __init__(self, path: Path, conn: sqlite3.Connection, timeout: float):
        self.path = path
        self._conn = conn
        self.timeout = timeout
        self.city_id = ""
        self.city_name = ""
        self._parsed: dict[str, Catalogue] = {}
        self.read_only = False  # opened without write access: records nothing

    @functools.cached_property
    def _db(self):  # type: ignore[no-untyped-def]
        """The sqlite-utils view of the file, loaded only when a write needs it."""
        # lazy: importing sqlite-utils (and the click it brings) costs ~0.4 s, and reads
        # such as `scs explain` never need it
        from sqlite_utils import Database

        return Database(self._conn)

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, catalogue_path: str | Path, *,
               timeout: float | None = None) -> Ledger:
        """Make a new ledger bound to the catalogue's city, with that catalogue adopted."""
        path = Path(path)
        if path.exists():
            raise LedgerError(path, "already exists", "choose a new file name; to add a "
                              "catalogue version to this ledger use `scs ledger adopt`")
        if not path.parent.is_dir():
            raise LedgerError(path, f"cannot be created: no directory {path.parent}",
                              "create the directory first")
        source, text, catalogue = _read_catalogue(catalogue_path)
        # Build the file under a temporary name, then link it into place: a failed or
        # concurrent init never leaves a half-made ledger, and never replaces one.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.creating")
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute(f"PRAGMA page_size={schema.PAGE_SIZE}")
                conn.execute("PRAGMA journal_mode=WAL")

                from sqlite_utils import Database  # lazy: see `Ledger._db`

                db = Database(conn)
                conn.execute("BEGIN IMMEDIATE")
                stamp = schema.now_stamp()
                schema.migrate(db, stamp)
                cursor = conn.execute(
                    "INSERT INTO ledger_info (city_id, city_name, scs_version, "
                    "recorded_at) VALUES (?, ?, ?, ?)",
                    (catalogue.city.id, catalogue.city.name, __version__, stamp))
                chain.append(conn, "ledger_info", int(cursor.lastrowid or 0), stamp)
                _insert_catalogue(conn, catalogue, text, source, stamp)
                conn.execute("COMMIT")
            finally:
                conn.close()
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise LedgerError(path, "already exists", "choose a new file name") from None
        except OSError as exc:
            raise LedgerError(path, f"cannot be created: {exc.strerror}") from None
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{tmp}{suffix}")
        return cls.open(path, timeout=timeout)

    @classmethod
    def open(cls, path: str | Path, *, timeout: float | None = None) -> Ledger:
        """Open an existing ledger; refuse, in one line, anything that is not one."""
        path = Path(path)
        timeout = lock_timeout() if timeout is None else timeout
        if not path.exists():
            raise LedgerError(path, "no such ledger",
                              "create one with `scs ledger init LEDGER --catalogue FILE`")
        if path.is_dir():
            raise LedgerError(path, "is a directory, not a ledger file")
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise LedgerError(path, f"cannot be read: {exc.strerror}") from None
        if head != SQLITE_MAGIC:
            raise LedgerError(path, "is not an scs ledger (not an SQLite database)",
                              "give the file made by `scs ledger init`")
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        if writable:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
        else:  # a read-only file or folder: every reading command still works
            conn = connect_read_only(path, timeout)
        ledger = cls(path, conn, timeout)
        ledger.read_only = not writable
        try:
            ledger._start()
        except BaseException:
            conn.close()
            raise
        return ledger

    def _start(self) -> None:
        with self._sql():
            self._conn.execute("PRAGMA synchronous=NORMAL")  # safe in WAL: commits survive
            self._conn.execute("PRAGMA cache_size=-131072")  # a crash of scs; 128 MB cache
            names = schema.table_names(self._conn)
            if "ledger_info" not in names or "migrations" not in names:
                raise LedgerError(self.path, "is an SQLite database but not an scs ledger "
                                  "(it has no ledger_info table)",
                                  "give the file made by `scs ledger init`")
            newer = schema.unknown_migrations(self._conn)
            if newer:
                raise LedgerError(self.path, f"was written by a newer scs (schema step "
                                  f"{newer[-1]})", "upgrade scs to read it")
            batch_columns = {r[1] for r in self._conn.execute(
                "PRAGMA table_info(event_batches)")}
            if "residents" not in batch_columns:
                raise LedgerError(self.path, "was made by a development version of scs "
                                  "whose event batches this one cannot read",
                                  "export its events with that version and import them into "
                                  "a new ledger")
            pending = {name for name, _ in schema.pending_migrations(self._conn)}
            if pending and not (self.read_only and pending <= schema.READ_WITHOUT):
                with self._write() as stamp:
                    schema.migrate(self._db, stamp)
            row = self._conn.execute("SELECT city_id, city_name FROM ledger_info").fetchone()
            if row is None:
                raise LedgerError(self.path, "has no city (ledger_info is empty)",
                                  "create the ledger again with `scs ledger init`")
            self.city_id, self.city_name = row

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _sql(self) -> Iterator[None]:
        """Turn SQLite's errors into one line about this ledger."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise LedgerError(self.path, f"is locked by another process (waited "
                                  f"{self.timeout:g} s)", "try again when the other scs "
                                  "command has finished; SCS_LOCK_TIMEOUT sets the wait"
                                  ) from None
            if "readonly" in text:
                raise LedgerError(self.path, "is read-only: scs can read it but record "
                                  "nothing in it", "give scs write access to the file and "
                                  "its folder to change it") from None
            raise LedgerError(self.path, f"cannot be used: {text}") from None
        except sqlite3.DatabaseError as exc:
            raise LedgerError(self.path, f"is damaged or not an scs ledger: {exc}") from None
        except batches.DamagedBatch as exc:
            raise LedgerError(self.path, f"{exc}; nothing was computed from it",
                              "restore the ledger from a backup; `scs ledger verify LEDGER` "
                              "lists every problem") from None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[str]:
        """One read transaction: every read inside sees the same rows. Yields the latest
        recorded_at among them, the known-at a result computed from them truly has
        (a write still in flight is stamped later: `schema.next_stamp`)."""
        with self._sql():
            self._conn.execute("BEGIN")
            try:
                yield schema.last_recorded_at(self._conn) or NEVER
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _write(self) -> Iterator[str]:
        """One write transaction; yields the recorded_at for its rows."""
        with self._sql():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield schema.next_stamp(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    # --- catalogues ---------------------------------------------------------------------

    def adopted(self, known_at: datetime | None = None) -> list[AdoptedCatalogue]:
        """The adopted catalogue versions recorded by known-at, in adoption order."""
        with self._sql():
            rows = self._conn.execute(
                "SELECT text, sha256, catalogue_id FROM catalogues WHERE recorded_at <= ? "
                "ORDER BY catalogue_id", (cutoff(known_at),)).fetchall()
        adopted = []
        for text, sha, number in rows:
            if sha not in self._parsed:

                self._parsed[sha] = parse_catalogue(text, f"{self.path}:catalogues/{number}")
            adopted.append(AdoptedCatalogue(self._parsed[sha], text, sha))
        return adopted

    def history(self, known_at: datetime | None = None) -> CatalogueHistory:
        """The adopted versions (as known at known-at) as a `CatalogueHistory`."""
        return CatalogueHistory(a.catalogue for a in self.adopted(known_at))

    def adopt(self, catalogue_path: str | Path) -> AdoptedCatalogue:
        """Adopt another version of this city's catalogue."""
        source, text, catalogue = _read_catalogue(catalogue_path)
        with self._write() as stamp:
            if catalogue.city.id != self.city_id:
                raise LedgerError(self.path, f"{source} is a catalogue of city "
                                  f"{catalogue.city.id!r}, but this ledger belongs to "
                                  f"{self.city_id!r}", "a ledger is only ever scored with "
                                  "its own city's catalogue; make that city its own ledger")
            adopted = self.adopted()
            new = AdoptedCatalogue.from_text(catalogue, text)
            for old in adopted:
                if old.sha256 == new.sha256:
                    raise LedgerError(self.path, f"{source} is already adopted (version "
                                      f"{catalogue.version!r})")
            problems = adoption_problems([a.catalogue for a in adopted], catalogue)
            if problems:
                raise ProblemsError([Problem(str(self.path), f"adopting {source}", p)
                                     for p in problems])
            _insert_catalogue(self._conn, catalogue, text, source, stamp)
        return new

    # --- events -------------------------------------------------------------------------

    def import_file(self, path: str | Path, *, skip_invalid: bool = False,
                    rejects: str | Path | None = None,
                    progress: reader.Progress | None = None,
                    today: date | None = None, again: bool = False,
                    allow_repeats: bool = False) -> ImportResult:
        """Validate an event file and record its rows, all or (with skip_invalid) the
        good ones. Bad rows raise `BadRowsError` (one line each) and change nothing.

        A file whose bytes were imported before is refused unless ``again``; rows without
        a reference that repeat another row or a recorded event raise `RepeatsError`
        unless ``allow_repeats``."""
        from scs_cli.ledger import importer as imp

        path = Path(path)
        if skip_invalid:  # never let the rejects file overwrite the ledger or the input
            check_output_path(Path(rejects) if rejects else path.with_name(
                path.name + ".rejects.csv"), {"the ledger": self.path, "the event file": path},
                option="--rejects")
        raw = reader.read_rows(path)
        if progress:
            progress("checking", 0, raw.rows)
        with self._write() as stamp:
            earlier = self._conn.execute(
                "SELECT import_id, file, recorded_at FROM imports WHERE file_sha256 = ? "
                "ORDER BY import_id LIMIT 1", (raw.sha256,)).fetchone()
            if earlier and not again:
                raise LedgerError(self.path, f"{path} has the same bytes as import "
                                  f"{earlier[0]} ({Path(earlier[1]).name}, recorded at "
                                  f"{earlier[2]}); nothing was imported",
                                  "if it really holds new events, import it with --again")
            checked = imp.check_rows(raw, self.history(), self.city_id, today or utc_today())
            if progress:
                progress("checking", raw.rows, raw.rows)
            if checked.file_problems.height or (checked.problems.height and not skip_invalid):
                raise reader.BadRowsError(str(path), checked.lines(), checked.bad_rows,
                                       skip_invalid=not checked.file_problems.height)
            if not allow_repeats:
                repeats = imp.possible_repeats(str(path), checked.good,
                                               self._unreferenced(checked.good))
                if repeats:
                    raise imp.RepeatsError(str(path), repeats)
            rejects_file = None
            if checked.problems.height:
                target = Path(rejects) if rejects else path.with_name(path.name +
                                                                      ".rejects.csv")
                imp.write_rejects(checked, target)
                rejects_file = str(target)
            good = checked.good
            skipped = pl.DataFrame(schema={"_row": pl.Int64, "_line": pl.Int64,
                                           "event_id": pl.Int64, "_of_row": pl.Int64})
            if good.height and good.select((pl.col("agency").is_not_null()
                                            & pl.col("reference").is_not_null()).any()).item():
                good, skipped = imp.drop_duplicates(good, self._recorded_keys())
            result = self._record(good, raw, stamp, checked.bad_rows, skipped.height,
                                  rejects_file, progress)
            notices = imp.reporter_notices(good, self.history())
            if notices:
                result = dataclasses.replace(result, notices=tuple(notices))
        if skipped.height:  # a repeat within the file duplicates the event its first got
            ids = good.select("_row").with_columns(
                _id=pl.int_range(pl.len(), dtype=pl.Int64) + (result.first_event_id or 0))
            skipped = skipped.join(ids, left_on="_of_row", right_on="_row", how="left",
                                   maintain_order="left").select(
                line="_line", event_id=pl.coalesce("event_id", "_id")).sort("line")
            result = dataclasses.replace(result, skipped=skipped)
        return result

    def _recorded_keys(self) -> pl.DataFrame:
        """event_id, agency, reference of every recorded event, from the batch blobs."""
        cut = cutoff(None)
        sources = batches.read_sources(self._conn, cut)
        return sources.hstack([batches.read_event_ids(self._conn, cut)])

    def _unreferenced(self, good: pl.DataFrame) -> pl.DataFrame | None:
        """REPEAT_KEY, event_id and reference of every recorded event (a row without a
        reference may repeat one with: SPEC §3), read only when the file may have rows
        without one (else None)."""
        if good.select(pl.col("reference").str.contains(r"^[!-~]+$").fill_null(False).all()
                       ).item():
            return None
        if not self._conn.execute("SELECT 1 FROM event_batches LIMIT 1").fetchone():
            return None
        data = self.scoring_data(sources=True)
        return data.events.select(
            "event_id", resident_id=data.resident_ids(), indicator=data.indicator_ids(),
            occurred_on="occurred_on", agency="agency", points="points",
            reference="reference")

    def _record(self, good: pl.DataFrame, raw: reader.RawRows, stamp: str, rejected: int,
                duplicates: int, rejects_file: str | None,
                progress: reader.Progress | None) -> ImportResult:
        from scs_cli.ledger import importer as imp
        from scs_cli.ledger.records import ImportResult

        conn = self._conn
        last = conn.execute("SELECT max(event_id) FROM events").fetchone()[0] or 0
        first = last + 1
        count = good.height
        good = good.with_columns(pl.int_range(first, first + count, dtype=pl.Int64)
                                 .alias("event_id"))
        cursor = conn.execute(
            "INSERT INTO imports (file, file_sha256, rows, imported, duplicates, rejected, "
            "first_event_id, last_event_id, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (raw.file, raw.sha256, raw.rows, count, duplicates, rejected,
             first if count else None, first + count - 1 if count else None, stamp))
        import_id = int(cursor.lastrowid or 0)
        chain.append(conn, "imports", import_id, stamp)
        if count:
            # A large import into a smaller ledger re-sorts the resident index once
            # instead of inserting millions of random keys into it (same transaction).
            rebuild = count >= REBUILD_INDEX_ROWS and count >= last
            conn.execute("PRAGMA cache_size=-262144")
            if rebuild:
                conn.execute("DROP INDEX events_resident")
            # Polars encodes the engine's copy on the other core while SQLite inserts
            # (both release the GIL while they work).
            with ThreadPoolExecutor(1) as pool:
                encoding = pool.submit(batches.encode, good,
                                       batches.read_residents(conn, cutoff(None)))
                imp.insert_events(conn, good, import_id, stamp, progress)
                if rebuild:
                    if progress:
                        progress("indexing", 0, 1)
                    conn.execute("CREATE INDEX events_resident ON events (resident_id)")
                    if progress:
                        progress("indexing", 1, 1)
                encoded = encoding.result()
            for batch in encoded:
                cursor = conn.execute(
                    "INSERT INTO event_batches (import_id, first_event_id, last_event_id, "
                    "rows, indicators, data, residents, sources, data_sha256, "
                    "residents_sha256, sources_sha256, recorded_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (import_id, batch.first_event_id, batch.last_event_id, batch.rows,
                     batch.indicators, batch.data, batch.residents, batch.sources,
                     *batch.checksums(), stamp))
                chain.append(conn, "event_batches", int(cursor.lastrowid or 0), stamp)
        return ImportResult(raw.file, import_id, raw.rows, count, duplicates, rejected,
                            first if count else None, first + count - 1 if count else None,
                            rejects_file, stamp, indicators=tuple(
                                sorted(good["indicator"].unique().drop_nulls().to_list())))

    def _event(self, event_id: int) -> tuple[Any, ...]:
        self._an_id(event_id, "event")
        row = self._conn.execute("SELECT event_id, resident_id, indicator, occurred_on "
                                "FROM events WHERE event_id = ?", (event_id,)).fetchone()
        if row is None:
            raise LedgerError(self.path, f"no event {event_id}",
                              "`scs ledger history LEDGER RESIDENT` lists a resident's "
                              "event ids")
        return tuple(row)

    def _an_id(self, number: int, what: str) -> None:
        """Refuse an id SQLite cannot hold (beyond 64 bits) as the id it cannot be."""
        if not 1 <= number <= MAX_ID:
            raise LedgerError(self.path, f"no {what} {number}: {what} ids run from 1 to "
                              f"{MAX_ID}", f"give the id of a recorded {what}")

    def _void_of(self, event_id: int) -> str | None:
        """Why an event is already void, if it is (a void, or an upheld objection)."""
        row = self._conn.execute("SELECT recorded_at, reason FROM voids WHERE event_id = ?",
                                (event_id,)).fetchone()
        if row:
            return f"voided at {row[0]}: {row[1]}"
        row = self._conn.execute(
            "SELECT o.objection_id, d.decided_on FROM objections o JOIN objection_decisions "
            "d USING (objection_id) WHERE o.event_id = ? AND d.outcome = 'upheld'",
            (event_id,)).fetchone()
        return f"objection {row[0]} was upheld on {row[1]}" if row else None

    def _not_future(self, day: date, what: str) -> None:
        today = utc_today()
        if day > today:
            raise LedgerError(self.path, f"{what} {day} is in the future (today is {today} "
                              "UTC)", "record what has happened, dated on or before today")

    def consent(self, resident_id: str, on: date, *, withdraw: bool = False) -> int:
        """Record a resident's consent to be scored (or its withdrawal) from a date."""
        if not RESIDENT_ID.match(resident_id):
            raise LedgerError(self.path, f"{resident_id!r} is not a resident id",
                              "use 1-64 of A-Z a-z 0-9 . _ : -, first a letter or digit")
        self._not_future(on, "the consent date" if not withdraw else "the withdrawal date")
        with self._write() as stamp:
            cursor = self._conn.execute(
                "INSERT INTO consents (resident_id, on_date, consent, recorded_at) "
                "VALUES (?,?,?,?)", (resident_id, on.isoformat(), 0 if withdraw else 1, stamp))
            chain.append(self._conn, "consents", int(cursor.lastrowid or 0), stamp)
        return int(cursor.lastrowid or 0)

    def void(self, event_id: int, reason: str) -> int:
        """Record that an event was recorded in error: it never counts."""
        if not reason.strip():
            raise LedgerError(self.path, "a void needs a reason",
                              "say why the event was recorded in error with --reason")
        with self._write() as stamp:
            self._event(event_id)
            already = self._void_of(event_id)
            if already:
                raise LedgerError(self.path, f"event {event_id} is already void ({already})")
            cursor = self._conn.execute(
                "INSERT INTO voids (event_id, reason, recorded_at) VALUES (?,?,?)",
                (event_id, reason, stamp))
            chain.append(self._conn, "voids", int(cursor.lastrowid or 0), stamp)
        return int(cursor.lastrowid or 0)

    def lift(self, event_id: int, on: date) -> int:
        """Record that an event stops counting from a date (credit repair)."""
        self._not_future(on, "the lift date")
        with self._write() as stamp:
            _, _, _, occurred_on = self._event(event_id)
            if on.isoformat() < occurred_on:
                raise LedgerError(self.path, f"the lift date {on} is before event {event_id} "
                                  f"occurred ({occurred_on})", "give a date on or after it")
            already = self._void_of(event_id)
            if already:
                raise LedgerError(self.path, f"event {event_id} is void ({already}); it never "
                                  "counts, so there is nothing to lift")
            row = self._conn.execute("SELECT lifted_on FROM lifts WHERE event_id = ?",
                                    (event_id,)).fetchone()
            if row:
                raise LedgerError(self.path, f"event {event_id} is already lifted "
                                  f"(from {row[0]})")
            cursor = self._conn.execute(
                "INSERT INTO lifts (event_id, lifted_on, recorded_at) VALUES (?,?,?)",
                (event_id, on.isoformat(), stamp))
            chain.append(self._conn, "lifts", int(cursor.lastrowid or 0), stamp)
        return int(cursor.lastrowid or 0)

    def file_objection(self, event_id: int, on: date, grounds: str) -> int:
        """Record a resident's objection to an event; return the new objection id."""
        if not grounds.strip():
            raise LedgerError(self.path, "an objection needs its grounds",
                              "say what the resident contests with --grounds")
        self._not_future(on, "the filing date")
        with self._write() as stamp:
            _, _, _, occurred_on = self._event(event_id)
            if on.isoformat() < occurred_on:
                raise LedgerError(self.path, f"the filing date {on} is before event "
                                  f"{event_id} occurred ({occurred_on})",
                                  "give a date on or after it")
            already = self._void_of(event_id)
            if already:
                raise LedgerError(self.path, f"event {event_id} is void ({already}); there "
                                  "is nothing left to object to")
            row = self._conn.execute(
                "SELECT o.objection_id FROM objections o LEFT JOIN objection_decisions d "
                "USING (objection_id) WHERE o.event_id = ? AND d.decision_id IS NULL",
                (event_id,)).fetchone()
            if row:
                raise LedgerError(self.path, f"objection {row[0]} to event {event_id} is still "
                                  "pending", f"decide it first with `scs objection decide "
                                  f"LEDGER {row[0]}`")
            cursor = self._conn.execute(
                "INSERT INTO objections (event_id, filed_on, grounds, recorded_at) "
                "VALUES (?,?,?,?)", (event_id, on.isoformat(), grounds, stamp))
            chain.append(self._conn, "objections", int(cursor.lastrowid or 0), stamp)
        return int(cursor.lastrowid or 0)

    def decide_objection(self, objection_id: int, outcome: Outcome, on: date) -> int:
        """Record the decision on an objection: upheld voids the event, rejected lets it
        count again."""
        if outcome not in ("upheld", "rejected"):
            raise LedgerError(self.path, f"{outcome!r} is not an outcome",
                              "use upheld or rejected")
        self._not_future(on, "the decision date")
        self._an_id(objection_id, "objection")
        with self._write() as stamp:
            row = self._conn.execute("SELECT filed_on FROM objections WHERE objection_id = ?",
                                    (objection_id,)).fetchone()
            if row is None:
                raise LedgerError(self.path, f"no objection {objection_id}",
                                  "`scs objection list LEDGER` shows the pending ones")
            decided = self._conn.execute(
                "SELECT outcome, decided_on FROM objection_decisions WHERE objection_id = ?",
                (objection_id,)).fetchone()
            if decided:
                raise LedgerError(self.path, f"objection {objection_id} is already decided "
                                  f"({decided[0]} on {decided[1]})")
            if on.isoformat() < row[0]:
                raise LedgerError(self.path, f"the decision date {on} is before objection "
                                  f"{objection_id} was filed ({row[0]})",
                                  "give a date on or after the filing")
            cursor = self._conn.execute(
                "INSERT INTO objection_decisions (objection_id, outcome, decided_on, "
                "recorded_at) VALUES (?,?,?,?)", (objection_id, outcome, on.isoformat(), stamp))
            chain.append(self._conn, "objection_decisions", int(cursor.lastrowid or 0), stamp)
        return int(cursor.lastrowid or 0)

    def objections(self, as_of: date | None = None) -> list[ObjectionStatus]:
        """Objections pending on as_of (filed by then, not decided by then), oldest first,
        with their age and whether the policy's deadline has passed."""
        from scs_cli.ledger.records import ObjectionStatus
        from scs_cli.rules.day import is_overdue, objection_due

        as_of = as_of or utc_today()
        day = as_of.isoformat()
        with self._sql():
            rows = self._conn.execute(
                "SELECT o.objection_id, o.event_id, e.resident_id, e.indicator, o.filed_on, "
                "o.grounds, o.recorded_at FROM objections o JOIN events e USING (event_id) "
                "LEFT JOIN objection_decisions d ON d.objection_id = o.objection_id "
                "AND d.decided_on <= ? WHERE o.filed_on <= ? AND d.decision_id IS NULL "
                "ORDER BY o.filed_on, o.objection_id", (day, day)).fetchall()
        scheme = self.history().in_force(as_of)
        result = []
        for oid, eid, resident, indicator, filed, grounds, recorded_at in rows:
            filed_on = date.fromisoformat(filed)
            due = objection_due(filed_on, scheme.policy if scheme else None)  # rules.day
            result.append(ObjectionStatus(oid, eid, resident, indicator, filed_on, grounds,
                                          (as_of - filed_on).days, due,
                                          is_overdue(due, as_of), recorded_at))
        return result

    # --- what the engine reads ----------------------------------------------------------

    def scoring_data(self, known_at: datetime | None = None, *, sources: bool = False,
                     notes: bool = False, events: bool = True) -> LedgerData:
        """Every row the engine needs, as recorded by known-at (default: everything).

        With ``sources`` the events also carry their `agency` (and `reference`); with
        ``notes`` also their `note` and `noted` (whether their batch holds the note). With
        ``events=False`` every batch is read and checked but not decoded: the events frame
        is empty and `LedgerData.fingerprint` names the events a cached prepared frame must
        have been made from (`scoring.prepared`)."""
        if not events and (sources or notes):
            raise ValueError("sources and notes come with the events")
        cut = cutoff(known_at)
        with self._sql():
            frame, residents, indicators, fingerprint = batches.read_events(
                self._conn, cut, decode=events)
            events_frame = frame
            if sources or notes:
                events_frame = pl.concat([frame, batches.read_sources(self._conn, cut,
                                                                      notes=notes)],
                                         how="horizontal")
            voids = self._frame("SELECT event_id FROM voids WHERE recorded_at <= ?", (cut,),
                                VOIDS_SCHEMA)
            lifts = self._frame("SELECT event_id, lifted_on FROM lifts WHERE recorded_at <= ?",
                                (cut,), LIFTS_SCHEMA)
            objections = self._frame(
                "SELECT o.objection_id, o.event_id, o.filed_on, d.decided_on, d.outcome "
                "FROM objections o LEFT JOIN objection_decisions d "
                "ON d.objection_id = o.objection_id AND d.recorded_at <= ? "
                "WHERE o.recorded_at <= ? ORDER BY o.objection_id", (cut, cut),
                OBJECTIONS_SCHEMA)
            consents = self._frame(
                "SELECT resident_id, on_date, consent = 1, consent_id FROM consents "
                "WHERE recorded_at <= ? ORDER BY consent_id", (cut,), CONSENTS_SCHEMA)
            repairs = repairs_frame(self._conn, cut)
        return LedgerData(events_frame, voids, lifts, objections, consents, residents,
                          indicators, repairs, fingerprint)

    def sources_fingerprint(self, known_at: datetime | None = None) -> str:
        """What the events' sources (agency, reference) recorded by known-at are: every
        batch's sources read and checked, not decoded (`batches.sources_fingerprint`)."""
        with self._sql():
            return batches.sources_fingerprint(self._conn, cutoff(known_at))

    def _frame(self, sql: str, params: Sequence[Any], frame_schema: dict[str, Any]
               ) -> pl.DataFrame:
        rows = self._conn.execute(sql, params).fetchall()
        text = {c: (pl.String if t == pl.Date else t) for c, t in frame_schema.items()}
        frame = pl.DataFrame(rows, schema=text, orient="row")
        return frame.with_columns(pl.col(c).str.to_date("%Y-%m-%d")
                                  for c, t in frame_schema.items() if t == pl.Date)

    # --- saved runs ---------------------------------------------------------------------

    def save_run(self, as_of: date, known_at: datetime, catalogue_sha256s: Sequence[str],
                 digest: str, result: pl.DataFrame, head: Head | None = None) -> int:
        """Store a score run: its times, catalogue hashes, digest, result table and the
        ledger head it was computed at (default: the head when it is saved)."""
        buffer = io.BytesIO()
        result.write_parquet(buffer)
        with self._write() as stamp:
            at = head or chain.head(self._conn)
            cursor = self._conn.execute(
                "INSERT INTO runs (as_of, known_at, catalogue_sha256s, digest, residents, "
                "result, head_rows, head_hash, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (as_of.isoformat(), schema.stamp(known_at), json.dumps(list(catalogue_sha256s)),
                 digest, result.height, buffer.getvalue(), at.rows, at.hash, stamp))
            chain.append(self._conn, "runs", int(cursor.lastrowid or 0), stamp)
        return int(cursor.lastrowid or 0)

    _RUN_COLUMNS = ("run_id, as_of, known_at, catalogue_sha256s, digest, residents, "
                    "recorded_at, head_rows, head_hash")

    def _run_record(self, row: Sequence[Any]) -> RunRecord:
        return RunRecord(row[0], date.fromisoformat(row[1]), schema.parse_stamp(row[2]),
                         tuple(json.loads(row[3])), row[4], row[5], row[6], str(self.path),
                         Head(row[7], row[8]) if row[8] else None)

    def runs(self) -> list[RunRecord]:
        """Every saved run, in the order they were saved."""
        with self._sql():
            rows = self._conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY run_id")
            return [self._run_record(r) for r in rows]

    def run(self, run_id: int) -> RunRecord:
        with self._sql():
            row = self._conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE run_id = ?",
                                    (run_id,)).fetchone()
        if row is None:
            raise LedgerError(self.path, f"no saved run {run_id}",
                              "`scs score LEDGER --save` saves one")
        return self._run_record(row)

    def last_run(self, before_or_at_as_of: date | None = None) -> RunRecord | None:
        """The saved run with the latest as-of not after the given date (ties: the one
        saved last); with no date, the latest of all."""
        day = (before_or_at_as_of or date.max).isoformat()
        with self._sql():
            row = self._conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE as_of <= ? "
                                    "ORDER BY as_of DESC, run_id DESC LIMIT 1",
                                    (day,)).fetchone()
        return self._run_record(row) if row else None

    # --- reading back (stats.py) ---------------------------------------------------------

    def _reading(self) -> Reading:
        """This ledger lent to `stats` for one read (stats never sees the `Ledger`)."""
        from scs_cli.ledger.stats import Reading

        return Reading(self._conn, self.path, self.city_id, self.city_name, self.scoring_data,
                       self.objections, self._sql)

    def stats(self, as_of: date | None = None) -> Any:
        from scs_cli.ledger.stats import ledger_stats

        return ledger_stats(self._reading(), as_of or utc_today())

    def verify(self, head: str | None = None) -> Any:
        """Every integrity finding (`VerifyResult`); ``head``: a published head to extend.

        One read transaction: the chain, the batches and the events table are read as of
        one moment, whatever is being recorded meanwhile."""
        from scs_cli.ledger.stats import verify_ledger

        with self.snapshot():
            return verify_ledger(self._reading(), head)

    def head(self, known_at: datetime | None = None) -> Head:
        """The head of the ledger's hash chain: `rows` appended so far and the last `hash`
        (with known-at: as it was then, the history a computation at known-at read).

        Publish it (reports and saved runs record it); `verify(head=…)` later proves the
        ledger still extends it."""
        with self._sql():
            return chain.head(self._conn, None if known_at is None else cutoff(known_at))

    def export(self, path: str | Path, progress: reader.Progress | None = None) -> Any:
        from scs_cli.ledger.stats import export_events

        return export_events(self._reading(), Path(path), progress)

    def resident_history(self, resident_id: str) -> Any:
        from scs_cli.ledger.stats import resident_history

        return resident_history(self._reading(), resident_id)


def _read_catalogue(path: str | Path) -> tuple[str, str, Catalogue]:
    """(name as given, exact text, validated catalogue) of a catalogue file or bundled name."""

    resolved = resolve_catalogue_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        load_catalogue(resolved)  # raises the catalogue module's one-line error
        raise
    return str(path), text, parse_catalogue(text, str(resolved))


def _insert_catalogue(conn: sqlite3.Connection, catalogue: Catalogue, text: str, source: str,
                      stamp: str) -> None:
    adopted = AdoptedCatalogue.from_text(catalogue, text)
    cursor = conn.execute(
        "INSERT INTO catalogues (city_id, version, effective_from, sha256, file, text, "
        "recorded_at) VALUES (?,?,?,?,?,?,?)",
        (catalogue.city.id, catalogue.version, catalogue.effective_from.isoformat(),
         adopted.sha256, Path(source).name, text, stamp))
    chain.append(conn, "catalogues", int(cursor.lastrowid or 0), stamp)

