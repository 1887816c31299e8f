"""A dataset proven like a ledger: its chain recomputed from its own files (SPEC §7).

An export writes the ledger's chain (`chain.parquet`: every link with the canonical
content of its row), the event batches' blobs (`batches.parquet`) and, on every row of
every table, the hash of its link (`chain_hash`). Two checks follow:

- `check_chain`: each link's content is the SHA-256 of its canonical bytes, each hash
  follows from the one before, and the last is the head the manifest records; with a
  published head, the chain must pass through it. Cheap: one hash per link, and events
  are linked by batch (a million to a link). `Dataset.open` runs it on every read.
- `check_rows`: the tables hold exactly what the chain's rows hold. The batches' blobs
  hash to what their links record and decode to the events files, row for row (ids,
  residents, indicators, dates, points, sources and notes, stamps, buckets); every side table
  equals its rows' canonical content. Vectorized: one decode per batch, one comparison
  per table. Run with a published head (`scs score DIR --head`, `scs ledger verify DIR`).

What it cannot prove without a published head: someone who rewrites the files, the
chain and the manifest together (a consistent rebuild) passes both checks; only a head
kept outside the folder catches that, exactly as for a ledger (docs/ledger.md).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from scs_cli.ledger.chain import GENESIS, Head, link_hash
from scs_cli.ledger.dataset import (
    BATCHES_FILE,
    CHAIN_FILE,
    EVENTS_SCHEMA,
    LEDGER_TABLES,
    MANIFEST,
    SIDE_SCHEMAS,
    STAMP,
    bucket_of,
)

if TYPE_CHECKING:
    from scs_cli.scale.dataset import Dataset

FIX = "export the ledger again"


def _error(dataset: Dataset, message: str, fix: str = FIX) -> Exception:
    from scs_cli.scale.dataset import DatasetError

    return DatasetError(dataset.path, message, fix)


def _read(dataset: Dataset, relative: str) -> pl.DataFrame:
    try:
        return pl.read_parquet(dataset.path / relative)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _error(dataset, f"{relative} cannot be read: {str(exc).splitlines()[0]}"
                     ) from None


def check_chain(dataset: Dataset, published: str | None = None, rows: int | None = None
                ) -> tuple[Head, pl.DataFrame]:
    """Recompute the chain from `chain.parquet`; return its head and the links. With
    ``published`` (and ``rows``, when the head was given as ROWS:HASH) the chain must
    pass through that head."""
    links = _read(dataset, CHAIN_FILE)
    if links.height and links["canonical"].null_count():
        first = links.filter(pl.col("canonical").is_null())["link"][0]
        raise _error(dataset, f"{CHAIN_FILE}: link {first} has no row content")
    previous, passed = GENESIS, {}
    for number, (link, table, row_id, content, stored, canonical) in enumerate(links.select(
            "link", "table_name", "row_id", "content_sha256", "hash", "canonical"
            ).iter_rows(), start=1):
        if link != number:
            raise _error(dataset, f"{CHAIN_FILE}: link {number} is missing (the next is "
                         f"{link})")
        if hashlib.sha256(canonical.encode()).hexdigest() != content:
            raise _error(dataset, f"{CHAIN_FILE}: link {link} ({table} row {row_id}): the "
                         "row does not match its content hash")
        previous = link_hash(previous, content)
        if previous != stored:
            raise _error(dataset, f"{CHAIN_FILE}: link {link} ({table} row {row_id}): its "
                         "hash does not follow from the link before it")
        passed[previous] = link
    head = Head(links.height, previous)
    if head != dataset.head:
        raise _error(dataset, f"the chain in its files ends at {head.rows}:"
                     f"{head.hash[:12]}…, not at the head {MANIFEST} records "
                     f"({dataset.head.rows}:{dataset.head.hash[:12]}…)")
    if published is not None and rows is not None and passed.get(published, rows) != rows:
        raise _error(dataset, f"the published head {rows}:{published[:12]}… is link "
                     f"{passed[published]} of its chain, not link {rows}",
                     "check the head as it was published")
    if published is not None and published not in passed:
        raise _error(dataset, f"does not hold the history of the published head "
                     f"{published[:16]}…: no link of its chain has that hash (rewritten, cut "
                     "short, or another ledger's)", "get the dataset from the office again")
    return head, links


def _rows(links: pl.DataFrame, table: str) -> list[dict[str, Any]]:
    return [json.loads(c)["row"] for c in
            links.filter(pl.col("table_name") == table)["canonical"].to_list()]


def _blob_events(dataset: Dataset, links: pl.DataFrame) -> pl.DataFrame:
    """The events the chain's batches hold, decoded from their checked blobs."""
    blobs = _read(dataset, BATCHES_FILE).sort("batch_id")
    rows = {int(r["batch_id"]): r for r in _rows(links, "event_batches")}
    hashes = dict(links.filter(pl.col("table_name") == "event_batches").select(
        "row_id", "hash").iter_rows())
    if sorted(rows) != blobs["batch_id"].to_list():
        raise _error(dataset, f"{BATCHES_FILE} does not hold the chain's batches")
    frames, known = [], []
    for batch_id, data, residents, sources in blobs.iter_rows():
        row = rows[batch_id]
        for part, blob in (("data", data), ("residents", residents), ("sources", sources)):
            if hashlib.sha256(blob).hexdigest() != row[part]["sha256"]:
                raise _error(dataset, f"{BATCHES_FILE}: batch {batch_id}'s {part} does not "
                             "match its chain link")
        known.append(pl.read_ipc_stream(io.BytesIO(residents)))
        names = pl.Series(json.loads(row["indicators"]), dtype=pl.String)
        frame = pl.read_ipc_stream(io.BytesIO(data))
        text = pl.read_ipc_stream(io.BytesIO(sources))
        # a batch recorded before schema step 0004 holds no notes (`noted` false)
        text = text.select("agency", "reference", note=pl.col("note") if "note" in
                           text.columns else pl.lit(None, pl.String),
                           noted=pl.lit("note" in text.columns))
        frames.append(pl.concat([frame, text], how="horizontal").with_columns(
            indicator=names.gather(frame["code"]) if names.len() else pl.lit(None,
                                                                                pl.String),
            import_id=pl.lit(row["import_id"], pl.Int64),
            recorded_at=pl.lit(row["recorded_at"]).str.to_datetime(time_unit="us",
                                                                   time_zone="UTC"),
            chain_hash=pl.lit(hashes[batch_id], pl.String)))
    if not frames:
        return pl.DataFrame(schema={"event_id": pl.Int64})
    ids = pl.concat(known).select("resident", "resident_id")
    return pl.concat(frames).join(ids, on="resident", how="left").select(
        "event_id", "resident_id", "indicator", "occurred_on",
        points=pl.col("points"), agency="agency", reference="reference", note="note",
        noted="noted", import_id="import_id", recorded_at="recorded_at", chain_hash="chain_hash"
    ).sort("event_id")


def check_rows(dataset: Dataset, links: pl.DataFrame) -> int:
    """The files hold exactly the chain's rows; return how many events."""
    expected = _blob_events(dataset, links)
    try:
        files = pl.scan_parquet(dataset.file("events") / "bucket=*" / "*.parquet",
                                hive_partitioning=True).collect() \
            if any(dataset.file("events").glob("bucket=*/*.parquet")) else None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _error(dataset, f"events cannot be read: {str(exc).splitlines()[0]}") from None
    got = files.sort("event_id") if files is not None else pl.DataFrame(
        schema={**EVENTS_SCHEMA, "chain_hash": pl.String, "bucket": pl.Int32})
    if got.height and not got["bucket"].equals(bucket_of(got["resident_id"],
                                                        dataset.buckets), check_names=False):
        raise _error(dataset, "an event lies in another bucket than its resident's")
    columns = [c for c in expected.columns if c != "noted"]
    if expected.height and got.height == expected.height:
        # the notes of a batch without them are the files' own, unproven (docs/ledger.md)
        expected = expected.with_columns(note=pl.when("noted").then("note").otherwise(
            got["note"])).drop("noted")
    else:
        expected = expected.drop("noted", strict=False)
    if expected.height:
        got_cmp = got.select(columns).with_columns(
            points=(pl.col("points") * 100).cast(pl.Int64))
        want = expected.with_columns(pl.col("points").cast(pl.Int64),
                                     pl.col("occurred_on").cast(pl.Date))
    else:
        got_cmp, want = got.select("event_id"), expected
    if got.height != expected.height or not got_cmp.equals(want):
        raise _error(dataset, f"its events files do not hold what the chain's batches hold "
                     f"({got.height:,} rows in the files, {expected.height:,} in the chain)")
    by_event = got.select("event_id", "resident_id")
    parents: dict[str, pl.DataFrame] = {}  # what a decision row takes from its parent row
    for name, (table, key) in LEDGER_TABLES.items():
        frame = dataset.table(name)
        want = _side_rows(links, name, table, key, by_event, parents)
        if name in ("objections", "repairs"):
            parents[name] = want.select(key, "event_id" if name == "objections"
                                        else "resident_id")
        have = frame.select(want.columns)
        if not have.equals(want):
            raise _error(dataset, f"{name}.parquet does not hold what the chain's {table} "
                         f"rows hold ({have.height:,} rows in the file, {want.height:,} "
                         "in the chain)")
        if "bucket" in frame.columns and frame.height and not frame["bucket"].equals(
                bucket_of(frame["resident_id"], dataset.buckets), check_names=False):
            raise _error(dataset, f"{name}.parquet: a row lies in another bucket than its "
                         "resident's")
    return got.height


# Tables that keep their own resident_id; the others take it from their event or parent.
OWN_RESIDENT = ("consents", "repairs")
# A decision row's parent table, and the column it takes from it.
PARENT = {"decisions": ("objections", "objection_id", "event_id"),
          "repair_decisions": ("repairs", "repair_id", "resident_id")}


def _side_rows(links: pl.DataFrame, name: str, table: str, key: str,
               by_event: pl.DataFrame, parents: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One side table as its chain rows give it (derived columns joined as the export
    joins them), with each row's link hash, in id order."""
    schema = SIDE_SCHEMAS[name]
    own = [c for c in schema if c != "resident_id" or table in OWN_RESIDENT]
    if name in PARENT:
        own = [c for c in own if c != PARENT[name][2]]
    text = {c: (pl.String if schema[c] in (pl.Date, STAMP) else
                pl.Int64 if schema[c] == pl.Boolean else schema[c]) for c in own}
    rows = [{c: r.get(c) for c in own} for r in _rows(links, table)]
    frame = pl.DataFrame(rows, schema=text, orient="row") if rows else pl.DataFrame(
        schema=text)
    frame = frame.with_columns(
        [pl.col(c).str.to_date("%Y-%m-%d") for c in own if schema[c] == pl.Date]
        + [pl.col(c).str.to_datetime(time_unit="us", time_zone="UTC")
           for c in own if schema[c] == STAMP]
        + [(pl.col(c) == 1).alias(c) for c in own if schema[c] == pl.Boolean])
    if name in PARENT:
        parent, parent_key, taken = PARENT[name]
        rows_of_parent = parents.get(parent, pl.DataFrame(
            schema={parent_key: pl.Int64, taken: schema[taken]}))
        frame = frame.join(rows_of_parent, on=parent_key, how="left", maintain_order="left")
    if "resident_id" in schema and table not in OWN_RESIDENT and name != "repair_decisions":
        frame = frame.join(by_event, on="event_id", how="left", maintain_order="left")
    hashes = links.filter(pl.col("table_name") == table).select(
        pl.col("row_id").alias(key), chain_hash="hash")
    frame = frame.join(hashes, on=key, how="left", maintain_order="left")
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()]
                        + [pl.col("chain_hash")]).sort(key)


@dataclass(frozen=True)
class Proof:
    """What `prove` recomputed from a dataset's files."""

    head: Head
    events: int
    published: str | None


def prove(path: str | Path, head: str | None = None) -> Proof:
    """Every check on a dataset folder (`scs ledger verify DIR`): its listing, file
    hashes, chain, and rows; with ``head``, that the chain holds that published head."""
    from scs_cli.scale.dataset import Dataset, _published, _rows_of

    dataset = Dataset.open(path)  # the listing, the hashes, the chain to the manifest's head
    published = _published(head)
    recomputed, links = check_chain(dataset, published, _rows_of(head))
    return Proof(recomputed, check_rows(dataset, links), published)
