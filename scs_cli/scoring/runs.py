"""Saved score runs: what was scored, under which catalogues, and proof it is unchanged.

A run records the as-of date, the known-at timestamp actually used, the SHA-256 of every
catalogue version adopted by known-at, and a SHA-256 digest of the result's canonical
CSV (exactly what ``scs score --format csv`` prints). Because the ledger is append-only
and known-at cuts off everything recorded later, recomputing a run must give the same
digest, whatever was imported since; `verify_run` does that and says what differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from scs_cli.core.errors import LedgerError, ScsError
from scs_cli.core.text import num
from scs_cli.engine.kernel import score
from scs_cli.ledger.chain import Head
from scs_cli.ledger.store import Ledger
from scs_cli.rules.model import from_cents
from scs_cli.scoring.files import render, result_frame

if TYPE_CHECKING:
    from scs_cli.ledger.store import Ledger, RunRecord

Progress = Callable[[str], None]
EXAMPLES = 5  # how many changed residents a difference names


def canonical_csv(residents: pl.DataFrame) -> str:
    """The result as ``scs score --format csv`` prints it, without the formula guard (a
    digest is of what was computed, not of how a spreadsheet is kept from running it)."""
    return render(result_frame(residents), "csv", safe=False)


def digest(residents: pl.DataFrame) -> str:
    """SHA-256 (hex) of the canonical CSV of a result."""
    return hashlib.sha256(canonical_csv(residents).encode("utf-8")).hexdigest()


def stored_result(residents: pl.DataFrame) -> pl.DataFrame:
    """What a saved run keeps of its result (score in hundredths)."""
    return result_frame(residents)


def save_run(ledger: Ledger, residents: pl.DataFrame, as_of: object, known_at: datetime,
             catalogue_sha256s: list[str], head: Head | None = None) -> int:
    """Record a run in the ledger with the head it was computed at; return its id."""
    return ledger.save_run(as_of, known_at, catalogue_sha256s,  # type: ignore[arg-type]
                           digest(residents), stored_result(residents),
                           head or ledger.head(known_at))


@dataclass(frozen=True)
class Change:
    resident_id: str
    old_score: Decimal | None
    old_tier: str | None
    new_score: Decimal | None
    new_tier: str | None

    def __str__(self) -> str:
        old = f"{_num(self.old_score)} {self.old_tier}" if self.old_tier else "not scored"
        new = f"{_num(self.new_score)} {self.new_tier}" if self.new_tier else "not scored"
        return f"{self.resident_id}: {old} → {new}"


@dataclass(frozen=True)
class Difference:
    """How a recomputed result differs from a stored one."""

    changed: int              # residents scored both times with another score, tier or rewards
    added: int                # scored now, not then
    removed: int              # scored then, not now
    examples: tuple[Change, ...]

    @property
    def residents(self) -> int:
        return self.changed + self.added + self.removed


def compare_results(old: pl.DataFrame, new: pl.DataFrame) -> Difference:
    """Compare two results (resident_id, score, tier[, rewards]) resident by resident."""
    keys = [c for c in ("score", "tier", "rewards") if c in old.columns and c in new.columns]
    both = old.select("resident_id", *keys).join(
        new.select("resident_id", *keys), on="resident_id", how="full", coalesce=True,
        suffix="_new")
    gone = pl.col("tier").is_null()
    fresh = pl.col("tier_new").is_null()
    differs = pl.any_horizontal([pl.col(k).ne_missing(pl.col(f"{k}_new")) for k in keys])
    rows = both.filter(differs).sort("resident_id")
    examples = tuple(
        Change(r["resident_id"], _dec(r["score"]), r["tier"], _dec(r["score_new"]),
               r["tier_new"]) for r in rows.head(EXAMPLES).iter_rows(named=True))
    counts = rows.select(added=gone.sum(), removed=fresh.sum(), all=pl.len()).row(0)
    added, removed, total = (int(x) for x in counts)
    return Difference(total - added - removed, added, removed, examples)


@dataclass(frozen=True)
class Verification:
    run: RunRecord
    digest: str                     # of the recomputed result
    catalogue_sha256s: tuple[str, ...]
    difference: Difference | None   # None when the digests agree
    head: Head | None = None        # the ledger head as known at the run's known-at, now

    @property
    def unchanged(self) -> bool:
        return self.digest == self.run.digest and \
            self.catalogue_sha256s == tuple(self.run.catalogue_sha256s) and \
            (self.run.head is None or self.head == self.run.head)


class RunChangedError(ScsError):
    """A saved run recomputes to another result: each line says what differs."""

    def __init__(self, ledger: str, verification: Verification):
        self.ledger = ledger
        self.verification = verification
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        v, run = self.verification, self.verification.run
        out = [f"{self.ledger}: run {run.run_id} (as-of {run.as_of}, known-at "
               f"{run.known_at.isoformat()}) no longer gives the result it saved"]
        stored, now = tuple(run.catalogue_sha256s), v.catalogue_sha256s
        if stored != now:
            lost = [s[:12] for s in stored if s not in now]
            new = [s[:12] for s in now if s not in stored]
            out.append("the catalogues adopted by known-at differ: "
                       + (f"saved with {', '.join(lost)} (now missing)" if lost else "")
                       + ("; " if lost and new else "")
                       + (f"now also {', '.join(new)}" if new else "")
                       + ("" if lost or new else "same versions in another order"))
        d = v.difference
        if d is not None and d.residents:
            parts = [f"{d.changed:,} resident{'' if d.changed == 1 else 's'} changed"]
            if d.added:
                parts.append(f"{d.added:,} now scored that were not")
            if d.removed:
                parts.append(f"{d.removed:,} no longer scored")
            out.append("; ".join(parts) + ": " + "; ".join(str(c) for c in d.examples)
                       + ("; …" if d.residents > len(d.examples) else ""))
        elif v.digest != run.digest:
            out.append(f"digest {run.digest[:12]}… saved, {v.digest[:12]}… now, though every "
                       "stored score and tier is the same")
        if run.head is not None and v.head != run.head:
            head_now = f"{v.head.rows}:{v.head.hash[:12]}…" if v.head else "none"
            out.append(f"the history it was computed from changed: ledger head "
                       f"{run.head.rows}:{run.head.hash[:12]}… then, {head_now} now as known at "
                       "its known-at (`scs ledger verify LEDGER` names what broke)")
        return out


def verify_run(path: str | Path, run_id: int, progress: Progress | None = None
               ) -> Verification:
    """Recompute a saved run with its stored as-of, known-at and adopted catalogues."""

    tick = progress or (lambda what: None)
    with Ledger.open(path) as ledger:
        run = ledger.run(run_id)
        tick(f"reading the ledger as known at {run.known_at.isoformat()}")
        adopted = ledger.adopted(run.known_at)
        history = ledger.history(run.known_at)
        head = ledger.head(run.known_at)
        data = ledger.scoring_data(run.known_at)
        stored = checked_result(run)
    tick(f"scoring {data.events.height:,} events at {run.as_of}")
    result = score(data, history, run.as_of, detail=False)
    now = digest(result.residents)
    shas = tuple(a.sha256 for a in adopted)
    difference = None if now == run.digest else compare_results(
        stored, stored_result(result.residents))
    return Verification(run, now, shas, difference, head)


def checked_result(run: RunRecord) -> pl.DataFrame:
    """A run's stored result, checked against its chain link (`RunRecord.result`) and its
    own digest: a result rewritten together with its link still fails the second."""
    stored = run.result()
    if digest(stored) != run.digest:
        raise LedgerError(run.ledger, f"saved run {run.run_id}'s stored result does not "
                          f"match its digest {run.digest[:12]}…; it was changed after it was "
                          "saved", "`scs ledger verify LEDGER --head ROWS:HASH` against a "
                          "published head names what changed")
    return stored


def list_runs(path: str | Path) -> list[RunRecord]:
    with Ledger.open(path) as ledger:
        return ledger.runs()


def _dec(cents: int | None) -> Decimal | None:
    return None if cents is None else from_cents(cents)


_num = num
