"""The ledger's hash chain: every appended row linked to all that came before it.

Each row the ledger appends (a migration, the city binding, an adoption, an import, an
event batch, a void, lift, objection, decision, consent or saved run) gets one link in the
`chain` table, in recording order:

    content_sha256 = SHA-256 of the row's canonical content (`canonical`)
    hash           = SHA-256 of "<previous link's hash>\\n<content_sha256>"

The first link's previous hash is `GENESIS`. The last link is the ledger's *head*: its
number of links (`rows`) and `hash`. Changing, deleting or inserting any chained row, or
any link, changes every later hash, so a head an office has published proves the whole
history up to it. Events themselves are chained through their batches: each batch's blobs
enter its content as SHA-256 digests, and `verify` proves that the `events` table holds
exactly what the batches hold, every column (notes too, for batches recorded since schema
step 0004: they hold them in their `sources` blob).

What the chain cannot do alone: someone who can write the file may rebuild every link
after an edit. Only a head kept outside the file (published, printed on a report) catches
that (docs/ledger.md).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# The chained tables in the order rows recorded at the same moment are linked when an
# older ledger is migrated (the order a transaction of `scs` inserts them).
CHAINED = ("migrations", "ledger_info", "catalogues", "imports", "event_batches", "voids",
           "lifts", "objections", "objection_decisions", "consents", "runs", "repairs",
           "repair_decisions")


@dataclass(frozen=True)
class Head:
    """Where the chain ends: how many links it has and the last link's hash."""

    rows: int
    hash: str

    def __str__(self) -> str:
        return f"{self.rows}:{self.hash}"


def canonical(table: str, row_id: int, columns: list[str], values: tuple[Any, ...]
              ) -> bytes:
    """A row as the bytes its content hash is taken over.

    Sorted JSON of the non-null columns, blobs replaced by their SHA-256: the same bytes
    whatever order SQLite returns the columns in, and unchanged for old rows when a later
    schema step adds a (null) column.
    """
    row: dict[str, Any] = {}
    for name, value in zip(columns, values, strict=True):
        if value is None:
            continue
        if isinstance(value, bytes):
            value = {"sha256": hashlib.sha256(value).hexdigest()}
        row[name] = value
    return json.dumps({"table": table, "rowid": row_id, "row": row}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":")).encode()


def content_sha256(conn: sqlite3.Connection, table: str, row_id: int) -> str | None:
    """The content hash of one row as it is now (None: the row is gone)."""
    if table not in CHAINED:  # table names come from the file: never put one into SQL
        return None
    cursor = conn.execute(f"SELECT * FROM {table} WHERE rowid = ?", (row_id,))
    values = cursor.fetchone()
    if values is None:
        return None
    columns = [d[0] for d in cursor.description]
    return hashlib.sha256(canonical(table, row_id, columns, tuple(values))).hexdigest()


def link_hash(previous: str, content: str) -> str:
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


def head(conn: sqlite3.Connection, cut: str | None = None) -> Head:
    """The last link, or the last recorded by ``cut`` (links are in recording order)."""
    if cut is None:
        row = conn.execute("SELECT link, hash FROM chain ORDER BY link DESC LIMIT 1"
                           ).fetchone()
    else:
        row = conn.execute("SELECT link, hash FROM chain WHERE recorded_at <= ? "
                           "ORDER BY link DESC LIMIT 1", (cut,)).fetchone()
    return Head(0, GENESIS) if row is None else Head(int(row[0]), str(row[1]))


def append(conn: sqlite3.Connection, table: str, row_id: int, recorded_at: str) -> Head:
    """Link one just-inserted row (inside the caller's transaction); return the new head."""
    content = content_sha256(conn, table, row_id)
    if content is None:
        # A trigger added by hand (RAISE(IGNORE)) drops the insert: the caller's
        # transaction rolls back, and the ledger's error mapping says it in one line.
        raise sqlite3.IntegrityError(f"a new {table} row was not stored (a trigger that scs "
                                     "did not create may ignore it; `scs ledger verify` "
                                     "lists the ledger's problems); nothing was recorded")
    previous = head(conn)
    new = link_hash(previous.hash, content)
    conn.execute("INSERT INTO chain (link, table_name, row_id, content_sha256, hash, "
                 "recorded_at) VALUES (?,?,?,?,?,?)",
                 (previous.rows + 1, table, row_id, content, new, recorded_at))
    return Head(previous.rows + 1, new)


def link_existing(conn: sqlite3.Connection) -> int:
    """Link every row of an older ledger, in recording order; return how many.

    Used once, by the schema step that adds the chain: it attests to the rows as they are
    when the ledger is migrated, not to what they were before.
    """
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    rows: list[tuple[str, int, int, str]] = []
    for order, table in enumerate(CHAINED):
        if table in names:
            rows += [(str(at), order, int(rid), table) for rid, at in conn.execute(
                f"SELECT rowid, recorded_at FROM {table}")]
    rows.sort()
    for at, _, rid, table in rows:
        append(conn, table, rid, at)
    return len(rows)


def _row_stamps(conn: sqlite3.Connection) -> dict[tuple[str, int], str]:
    """(table, rowid) → recorded_at of every chained row (rows not stamped are left out:
    a schema step's rows are stamped too, so this is all of them)."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    stamps: dict[tuple[str, int], str] = {}
    for table in CHAINED:
        if table in names:
            stamps.update(((table, int(rid)), str(at)) for rid, at in conn.execute(
                f"SELECT rowid, recorded_at FROM {table}"))
    return stamps


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold, in words."""

    link: int
    message: str


def check(conn: sqlite3.Connection) -> tuple[Head, list[Break], set[str]]:
    """Recompute every link; return the recomputed head, what breaks (first first), and
    the hashes of every link up to the first break (for a published head to be found in).
    """
    breaks: list[Break] = []
    known: set[str] = set()
    previous = GENESIS
    count = 0
    linked: set[tuple[str, int]] = set()
    stamps = _row_stamps(conn)
    for link, table, row_id, stored_content, stored_hash, at in conn.execute(
            "SELECT link, table_name, row_id, content_sha256, hash, recorded_at FROM chain "
            "ORDER BY link").fetchall():
        count += 1
        linked.add((table, row_id))
        if link != count:
            breaks.append(Break(link, f"chain link {count} is missing (the next is {link}); "
                                "links were deleted"))
            count = link
        content = content_sha256(conn, table, row_id)
        if content is None:
            breaks.append(Break(link, f"chain link {link}: {table} row {row_id} was deleted"))
        elif content != stored_content:
            breaks.append(Break(link, f"chain link {link}: {table} row {row_id} was changed "
                                "after it was recorded"))
        elif stamps.get((table, row_id), at) != at:
            # the link's own stamp is not hashed: it must be its (hashed) row's
            breaks.append(Break(link, f"chain link {link}: its recorded_at is not that of "
                                f"{table} row {row_id}; the chain table was edited"))
        expected = link_hash(previous, stored_content)
        if expected != stored_hash:
            breaks.append(Break(link, f"chain link {link} ({table} row {row_id}): its hash "
                                "does not follow from the link before it"))
        previous = expected
        if not breaks:
            known.add(stored_hash)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table in CHAINED:
        if table not in names:
            continue
        for (rid,) in conn.execute(f"SELECT rowid FROM {table} ORDER BY rowid"):
            if (table, int(rid)) not in linked:
                breaks.append(Break(count + 1, f"{table} row {rid} is not in the chain "
                                    "(added outside scs)"))
                break
    breaks.sort(key=lambda b: b.link)
    return Head(count, previous), breaks, known
