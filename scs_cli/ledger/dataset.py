"""A city's ledger as a self-describing Parquet dataset, for engines beyond one machine.

`export_dataset` writes one folder that Spark, Polars, DuckDB and pandas read as it is
(layout and columns in docs/scale.md):

- ``dataset.json``: what the folder is (format, version), the city, the ledger it came
  from and its head (the hash chain's rows and hash when exported), how residents are
  bucketed, and every file with its rows and SHA-256;
- ``events/bucket=NNN/part-0.parquet``: every event, partitioned Hive-style by a hash of
  the resident id, so that all of one resident's events lie in one bucket;
- ``voids``, ``lifts``, ``objections``, ``decisions``, ``consents``, ``catalogues``,
  ``imports`` (``.parquet``): the ledger's other rows, each with its ``recorded_at`` so
  that a reader can see the ledger as known at any time; the rows about residents carry
  the resident id and bucket too.

Everything is read from the ledger in one read transaction, so the files agree with each
other, and written under a temporary name beside the target, renamed into place at the
end: an interrupted export leaves no half-written dataset. The bucket rule and the table
names are the contract with `scs_cli.scale`, which reads the dataset back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from scs_cli import __version__
from scs_cli.core.errors import LedgerError, UsageError
from scs_cli.ledger import batches as batches
from scs_cli.ledger import chain as chain
from scs_cli.ledger import schema as schema
from scs_cli.ledger.store import NEVER

if TYPE_CHECKING:
    from scs_cli.ledger.store import Ledger

FORMAT = "scs-dataset"
VERSION = 2  # 2: chain.parquet, batches.parquet and a chain_hash on every row
MANIFEST = "dataset.json"
DEFAULT_BUCKETS = 32
MAX_BUCKETS = 4096
EVENTS_DIR = "events"
CHAIN_FILE = "chain.parquet"
BATCHES_FILE = "batches.parquet"
# The ledger table each side table is read from, and its id column (its chain row id).
LEDGER_TABLES = {"catalogues": ("catalogues", "catalogue_id"), "imports": ("imports", "import_id"),
                 "voids": ("voids", "void_id"), "lifts": ("lifts", "lift_id"),
                 "objections": ("objections", "objection_id"),
                 "decisions": ("objection_decisions", "decision_id"),
                 "consents": ("consents", "consent_id"),
                 "repairs": ("repairs", "repair_id"),
                 "repair_decisions": ("repair_decisions", "decision_id")}
LINKS_SCHEMA: dict[str, Any] = {"link": pl.Int64, "table_name": pl.String, "row_id": pl.Int64,
                                "content_sha256": pl.String, "hash": pl.String,
                                "recorded_at": pl.String, "canonical": pl.String}
BLOBS_SCHEMA: dict[str, Any] = {"batch_id": pl.Int64, "data": pl.Binary,
                                "residents": pl.Binary, "sources": pl.Binary}
# The rule every reader can reproduce (docs/scale.md): Python, DuckDB and Spark SQL all
# have SHA-256; a seeded or engine-specific hash would tie the layout to one engine.
BUCKET_RULE = ("bucket = int(sha256(utf8(resident_id)).hexdigest()[:8], 16) % buckets")
POINTS = pl.Decimal(18, 2)
STAMP = pl.Datetime("us", "UTC")

# The tables beside the events, in the order a person meets them: the SQL that reads
# each (its columns in order), and the columns that are dates or timestamps.
SIDE_TABLES: dict[str, str] = {
    "catalogues": "SELECT catalogue_id, city_id, version, effective_from, sha256, file, text,"
                  " recorded_at FROM catalogues ORDER BY catalogue_id",
    "imports": "SELECT import_id, file, file_sha256, rows, imported, duplicates, rejected, "
               "first_event_id, last_event_id, recorded_at FROM imports ORDER BY import_id",
    "voids": "SELECT v.void_id, v.event_id, e.resident_id, v.reason, v.recorded_at "
             "FROM voids v JOIN events e USING (event_id) ORDER BY v.void_id",
    "lifts": "SELECT l.lift_id, l.event_id, e.resident_id, l.lifted_on, l.recorded_at "
             "FROM lifts l JOIN events e USING (event_id) ORDER BY l.lift_id",
    "objections": "SELECT o.objection_id, o.event_id, e.resident_id, o.filed_on, o.grounds, "
                  "o.recorded_at FROM objections o JOIN events e USING (event_id) "
                  "ORDER BY o.objection_id",
    "decisions": "SELECT d.decision_id, d.objection_id, o.event_id, e.resident_id, d.outcome,"
                 " d.decided_on, d.recorded_at FROM objection_decisions d "
                 "JOIN objections o USING (objection_id) JOIN events e USING (event_id) "
                 "ORDER BY d.decision_id",
    "consents": "SELECT consent_id, resident_id, on_date, consent = 1 AS consent, recorded_at "
                "FROM consents ORDER BY consent_id",
    "repairs": "SELECT repair_id, resident_id, list_id, filed_on, grounds, recorded_at "
               "FROM repairs ORDER BY repair_id",
    "repair_decisions": "SELECT d.decision_id, d.repair_id, r.resident_id, d.outcome, "
                        "d.decided_on, d.recorded_at FROM repair_decisions d "
                        "JOIN repairs r USING (repair_id) ORDER BY d.decision_id",
}
SIDE_SCHEMAS: dict[str, dict[str, Any]] = {
    "catalogues": {"catalogue_id": pl.Int64, "city_id": pl.String, "version": pl.String,
                   "effective_from": pl.Date, "sha256": pl.String, "file": pl.String,
                   "text": pl.String, "recorded_at": STAMP},
    "imports": {"import_id": pl.Int64, "file": pl.String, "file_sha256": pl.String,
                "rows": pl.Int64, "imported": pl.Int64, "duplicates": pl.Int64,
                "rejected": pl.Int64, "first_event_id": pl.Int64, "last_event_id": pl.Int64,
                "recorded_at": STAMP},
    "voids": {"void_id": pl.Int64, "event_id": pl.Int64, "resident_id": pl.String,
              "reason": pl.String, "recorded_at": STAMP},
    "lifts": {"lift_id": pl.Int64, "event_id": pl.Int64, "resident_id": pl.String,
              "lifted_on": pl.Date, "recorded_at": STAMP},
    "objections": {"objection_id": pl.Int64, "event_id": pl.Int64, "resident_id": pl.String,
                   "filed_on": pl.Date, "grounds": pl.String, "recorded_at": STAMP},
    "decisions": {"decision_id": pl.Int64, "objection_id": pl.Int64, "event_id": pl.Int64,
                  "resident_id": pl.String, "outcome": pl.String, "decided_on": pl.Date,
                  "recorded_at": STAMP},
    "consents": {"consent_id": pl.Int64, "resident_id": pl.String, "on_date": pl.Date,
                 "consent": pl.Boolean, "recorded_at": STAMP},
    "repairs": {"repair_id": pl.Int64, "resident_id": pl.String, "list_id": pl.String,
                "filed_on": pl.Date, "grounds": pl.String, "recorded_at": STAMP},
    "repair_decisions": {"decision_id": pl.Int64, "repair_id": pl.Int64,
                         "resident_id": pl.String, "outcome": pl.String,
                         "decided_on": pl.Date, "recorded_at": STAMP},
}
EVENTS_SCHEMA: dict[str, Any] = {
    "event_id": pl.Int64, "resident_id": pl.String, "indicator": pl.String,
    "occurred_on": pl.Date, "points": POINTS, "agency": pl.String, "reference": pl.String,
    "note": pl.String, "import_id": pl.Int64, "recorded_at": STAMP,
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DatasetExport:
    """What `export_dataset` wrote."""

    path: str
    city_id: str
    buckets: int            # buckets the residents were hashed into
    files: int              # Parquet files written
    rows: dict[str, int]    # rows per table (events first)


def bucket_of(resident_ids: pl.Series, buckets: int) -> pl.Series:
    """The bucket of each resident id, by `BUCKET_RULE` (Int32, as Hive folders read back)."""
    unique = resident_ids.unique()
    numbers = [int(hashlib.sha256(r.encode()).hexdigest()[:8], 16) % buckets
               for r in unique.to_list()]
    return resident_ids.replace_strict(unique, pl.Series(numbers, dtype=pl.Int32),
                                       return_dtype=pl.Int32)


def export_dataset(ledger: Ledger, path: str | Path, buckets: int = DEFAULT_BUCKETS,
                   progress: Progress | None = None) -> DatasetExport:
    """Write the ledger's dataset to the folder ``path`` (which must not exist, or be empty)."""
    target = Path(path)
    if not 1 <= buckets <= MAX_BUCKETS:
        raise UsageError(f"--buckets {buckets} is out of range",
                         f"give a number of buckets from 1 to {MAX_BUCKETS}")
    _check_target(ledger, target)
    tick = progress or (lambda stage, done, total: None)
    with ledger._sql():
        ledger._conn.execute("BEGIN")  # one snapshot for every table
        try:
            tick("reading", 0, 2)
            events = _events(ledger)
            tick("reading", 1, 2)
            sides = {name: _side(ledger, name) for name in SIDE_TABLES}
            links = chain_links(ledger._conn)
            blobs = pl.DataFrame(ledger._conn.execute(
                "SELECT batch_id, data, residents, sources FROM event_batches ORDER BY "
                "batch_id").fetchall(), schema=BLOBS_SCHEMA, orient="row")
            last = schema.last_recorded_at(ledger._conn)
            head = chain.head(ledger._conn)  # the published head these files are a copy of
            tick("reading", 2, 2)
        finally:
            ledger._conn.execute("COMMIT")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.exporting")
    try:
        events, sides = _with_hashes(events, sides, links)
        files = _write(ledger, tmp, events, sides, buckets, last, head, tick,
                       {CHAIN_FILE: links, BATCHES_FILE: blobs})
        if target.exists():
            target.rmdir()  # empty (checked above); rename needs it gone
        tmp.rename(target)
    except OSError as exc:
        raise LedgerError(ledger.path, f"cannot write the dataset {target}: "
                          f"{exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    rows = {"events": events.height, **{n: f.height for n, f in sides.items()}}
    return DatasetExport(str(target), ledger.city_id, buckets, files, rows)


def chain_links(conn: Any) -> pl.DataFrame:
    """Every link of the chain with the canonical content of its row (the bytes its
    content_sha256 is over): what lets a reader recompute the chain from the files."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    canon: list[tuple[str, int, str]] = []
    for table in chain.CHAINED:
        if table not in names:
            continue
        cursor = conn.execute(f"SELECT rowid, * FROM {table}")  # names from CHAINED only
        columns = [d[0] for d in cursor.description][1:]
        canon += [(table, int(row[0]), chain.canonical(table, int(row[0]), columns,
                                                       tuple(row[1:])).decode())
                  for row in cursor]
    links = pl.DataFrame(conn.execute(
        "SELECT link, table_name, row_id, content_sha256, hash, recorded_at FROM chain "
        "ORDER BY link").fetchall(), schema={c: t for c, t in LINKS_SCHEMA.items()
                                             if c != "canonical"}, orient="row")
    rows = pl.DataFrame(canon, schema={"table_name": pl.String, "row_id": pl.Int64,
                                       "canonical": pl.String}, orient="row")
    return links.join(rows, on=["table_name", "row_id"], how="left", maintain_order="left")


def _with_hashes(events: pl.DataFrame, sides: dict[str, pl.DataFrame], links: pl.DataFrame
                 ) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Each row with the hash of its chain link (an event: its batch's link)."""
    def hashes(table: str) -> pl.DataFrame:
        return links.filter(pl.col("table_name") == table).select("row_id", chain_hash="hash")

    batches = events.select("event_id").join_asof(
        hashes("event_batches").join(_batch_firsts(links), on="row_id").sort("first"),
        left_on="event_id", right_on="first", strategy="backward")
    events = events.with_columns(chain_hash=batches["chain_hash"])
    out = {}
    for name, frame in sides.items():
        table, key = LEDGER_TABLES[name]
        out[name] = frame.join(hashes(table).rename({"row_id": key}), on=key, how="left",
                               maintain_order="left")
    return events, out


def _batch_firsts(links: pl.DataFrame) -> pl.DataFrame:
    """(row_id, first event id) of every batch, from the canonical content."""
    rows = links.filter(pl.col("table_name") == "event_batches")
    return rows.select("row_id", first=pl.col("canonical").str.json_path_match(
        "$.row.first_event_id").cast(pl.Int64))


def _check_target(ledger: Ledger, target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise UsageError(f"--output {target} is a file",
                         "a dataset is a folder: give a new folder name")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"--output {target} is a folder that is not empty",
                         "give a new or empty folder; an export never overwrites files")
    if not target.parent.is_dir():
        raise UsageError(f"--output {target}: no folder {target.parent}",
                         "create the parent folder first")
    with contextlib.suppress(OSError):
        if target.resolve() == Path(ledger.path).resolve():
            raise UsageError(f"--output {target} is the ledger itself",
                             "give a new folder name")


def _events(ledger: Ledger) -> pl.DataFrame:
    """Every event as the engine reads it (the batches), with the text put back."""
    conn = ledger._conn
    events, residents, indicators, _ = batches.read_events(conn, NEVER)
    sources = batches.read_sources(conn, NEVER, notes=True)
    stamps = pl.DataFrame(conn.execute(
        "SELECT first_event_id, last_event_id, import_id, recorded_at FROM event_batches "
        "ORDER BY batch_id").fetchall(), schema={"first": pl.Int64, "last": pl.Int64,
                                                "import_id": pl.Int64, "recorded_at": pl.String},
        orient="row")
    # Notes as the batches hold them (the copy the chain covers); from the events table
    # only if a batch was recorded before schema step 0004 (it holds none).
    old = not sources["noted"].all()
    notes = pl.DataFrame(conn.execute("SELECT event_id, note FROM events WHERE note IS NOT "
                                      "NULL").fetchall() if old else [],
                         schema={"event_id": pl.Int64, "_table_note": pl.String},
                         orient="row")
    if not events.height:
        return pl.DataFrame(schema=EVENTS_SCHEMA)
    ids = residents.sort("resident")["resident_id"]
    frame = pl.concat([events, sources], how="horizontal").select(
        "event_id",
        resident_id=pl.lit(ids).gather(pl.col("resident")),
        indicator=pl.lit(pl.Series(indicators, dtype=pl.String)).gather(pl.col("code")),
        occurred_on="occurred_on",
        points=pl.col("points").cast(POINTS) / 100,
        agency="agency", reference="reference", note="note", noted="noted")
    # Each batch is a run of consecutive event ids of one import, recorded at one time.
    batch_of = stamps.select(pl.col("first"), pl.col("import_id"),
                             recorded_at=pl.col("recorded_at").str.to_datetime(
                                 time_unit="us", time_zone="UTC"))
    frame = frame.sort("event_id").join_asof(batch_of, left_on="event_id", right_on="first",
                                              strategy="backward").drop("first")
    frame = frame.join(notes, on="event_id", how="left", maintain_order="left").with_columns(
        note=pl.when("noted").then("note").otherwise("_table_note"))
    return frame.select([pl.col(c).cast(t) for c, t in EVENTS_SCHEMA.items()])


def _side(ledger: Ledger, name: str) -> pl.DataFrame:
    rows = ledger._conn.execute(SIDE_TABLES[name]).fetchall()
    schema = SIDE_SCHEMAS[name]
    text = {c: (pl.String if t in (pl.Date, STAMP) else t) for c, t in schema.items()}
    frame = pl.DataFrame(rows, schema=text, orient="row")
    return frame.with_columns(
        [pl.col(c).str.to_date("%Y-%m-%d") for c, t in schema.items() if t == pl.Date]
        + [pl.col(c).str.to_datetime(time_unit="us", time_zone="UTC")
           for c, t in schema.items() if t == STAMP])


def _write(ledger: Ledger, folder: Path, events: pl.DataFrame,
           sides: dict[str, pl.DataFrame], buckets: int, last: str | None,
           head: chain.Head, tick: Progress, proof: dict[str, pl.DataFrame]) -> int:
    folder.mkdir()
    files: list[dict[str, Any]] = []

    def put(frame: pl.DataFrame, relative: str) -> None:
        file = folder / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(file, compression="zstd", statistics=True)
        files.append({"path": relative, "rows": frame.height,
                      "sha256": hashlib.sha256(file.read_bytes()).hexdigest()})

    keyed = events.with_columns(bucket=bucket_of(events["resident_id"], buckets))
    parts = keyed.partition_by("bucket", as_dict=True, maintain_order=True)
    width = len(str(buckets - 1))
    done = 0
    for (number,), part in sorted(parts.items(), key=lambda kv: int(kv[0][0])):  # type: ignore[arg-type]
        put(part.drop("bucket"), f"{EVENTS_DIR}/bucket={int(number):0{width}d}/part-0.parquet")  # type: ignore[call-overload]
        done += part.height
        tick("writing events", done, events.height)
    for name, frame in sides.items():
        if "resident_id" in frame.columns:
            frame = frame.with_columns(bucket=bucket_of(frame["resident_id"], buckets))
        put(frame, f"{name}.parquet")
    for relative, frame in proof.items():
        put(frame, relative)
    manifest = {
        "format": FORMAT, "version": VERSION,
        "city": {"id": ledger.city_id, "name": ledger.city_name},
        "ledger": {"file": Path(ledger.path).name, "last_recorded_at": last,
                   "head": {"rows": head.rows, "hash": head.hash}},
        "exported_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "scs_version": __version__,
        "bucketing": {"column": "resident_id", "buckets": buckets, "rule": BUCKET_RULE},
        "tables": {"events": {"path": EVENTS_DIR, "partitioned_by": "bucket",
                              "rows": events.height},
                   **{n: {"path": f"{n}.parquet", "rows": f.height} for n, f in
                      sides.items()},
                   "chain": {"path": CHAIN_FILE, "rows": proof[CHAIN_FILE].height},
                   "batches": {"path": BATCHES_FILE, "rows": proof[BATCHES_FILE].height}},
        "points": "decimal(18,2), exact; null when the event carries no points of its own",
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return len(files)

