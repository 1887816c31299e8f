"""One resident's score, point by point: the batch kernel's own arithmetic, put into words.

`explain` never computes a point or a rule itself. It runs the engine on the resident's
data alone (the engine gives the same numbers on any partition of residents, so batch and
explain cannot disagree) and words what the kernel returns: per event its status, nominal
and kept points, occurrence number and escalation step, place in its limit period and the
period's name, the version in force on its date, the cap that cut it and the objection
that suspends it (`explain.events`); per resident the cap adjustments, the score after each
cap and clamp, the tier band of the score alone with its bounds, and the step-9 conditions
of every reward and sanction with the event that breaks a clean_for (`explain.summary`);
and what happens as events stop counting (`explain.projection`).

`explain_source` is the whole job for one `Source` (`explain_ledger` for a ledger file by
path): a ledger file reads only the resident's rows through its resident index, so it stays
fast on a ledger of millions of events; a dataset folder reads its frames and keeps one
resident's.
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scs_cli.core.errors import LedgerError, ScsError
from scs_cli.explain.model import (
    COUNTING,
    MAX_REASONS,
    STANDING_NOT,
    Adjustment,
    Eligibility,
    EventLine,
    Explanation,
    Factor,
    ProjectionPoint,
)
from scs_cli.ledger.early import EarlyRead
from scs_cli.ledger.reads import LedgerNotes
from scs_cli.ledger.source import THREADS_SHARE_A_CONNECTION, LedgerFile, Source
from scs_cli.rules.model import CatalogueHistory, from_cents

if TYPE_CHECKING:
    from scs_cli.core.frames import LedgerData
    from scs_cli.explain.events import Context
    from scs_cli.rules.model import Catalogue

# What explaining needs beyond reading: the engine and the wording. Imported when first
# used, so that `explain_source` loads them while the resident's rows are being read.
EXPLAINING = ("scs_cli.engine.kernel", "scs_cli.explain.summary", "scs_cli.explain.events",
              "scs_cli.explain.lists", "scs_cli.explain.projection")

__all__ = ["COUNTING", "MAX_REASONS", "STANDING_NOT", "Adjustment", "Eligibility",
           "EventLine", "Explanation", "Factor", "ProjectionPoint", "explain",
           "explain_ledger", "explain_source"]


def explain(data: LedgerData, history: CatalogueHistory, resident_id: str, as_of: date,
            ledger_notes: LedgerNotes | None = None, *,
            known_at: datetime | None = None) -> Explanation:
    """Everything about one resident's score on ``as_of``, from the same kernel as the batch.

    ``data`` may hold other residents too; only ``resident_id``'s rows are used.
    """
    from scs_cli.engine.kernel import evaluate, prepare
    from scs_cli.explain import summary
    from scs_cli.explain.events import Context, event_lines
    from scs_cli.explain.lists import listing_lines
    from scs_cli.explain.projection import projection

    notes = ledger_notes or LedgerNotes()
    mine = data.for_residents([resident_id])
    if mine.events.is_empty() and mine.consents.is_empty():
        raise ScsError(f"resident {resident_id!r} has no events and no consent rows in "
                       "these ledger data; check the resident id")
    prepared = prepare(mine, history)
    result = evaluate(prepared, as_of, lists=True)  # red lists too: one evaluation
    scheme: Catalogue = result.scheme
    row = result.residents.filter(result.residents["resident_id"] == resident_id)
    scored = not row.is_empty()
    if not scored and not mine.events.is_empty():
        # Participation by consent: the resident is not scored, but the records are kept;
        # show how the rules judge them, without a score.
        result = evaluate(prepare(mine, _everyone_participates(history)), as_of)
    ctx = Context(history, scheme, as_of, mine, notes)
    caps = _kernel_caps(result.events)
    events = tuple(replace(e, score_cap=caps[0].get(e.event_id), tier_cap=caps[1].get(
        e.event_id)) for e in event_lines(ctx, result.events))
    adjusted = summary.adjustments(ctx, result.adjustments, events, caps[0])
    if not scored:  # a list is kept whether or not the resident is scored
        return replace(_not_scored(ctx, resident_id, events, adjusted, known_at),
                       lists=listing_lines(prepared, mine, scheme, resident_id, as_of))

    me = row.to_dicts()[0]
    assert result.subtotals is not None  # detail mode
    subtotals = result.subtotals.filter(
        result.subtotals["resident_id"] == resident_id).to_dicts()[0]
    score = from_cents(int(me["score"]))
    tier = str(me["tier"])
    checks = {(c["kind"], c["id"]): c for c in result.checks.to_dicts()
              if c["resident_id"] == resident_id} if result.checks is not None else {}
    return Explanation(
        resident_id=resident_id, as_of=as_of, city=scheme.city.id, version=scheme.version,
        scored=True, score=score, tier=tier,
        tier_reason=summary.tier_reason(ctx, subtotals, tier, events, caps[1]),
        score_reason=summary.score_reason(ctx, subtotals, adjusted),
        reasons=summary.factors(ctx, events, adjusted, caps[0]),
        events=events, adjustments=adjusted,
        rewards=tuple(summary.reward(ctx, r, score, tier, events, checks[("reward", r.id)])
                      for r in scheme.rewards.values()),
        sanctions=tuple(summary.sanction(s.id, s.name, s.max_tier, tier,
                                         bool(checks[("sanction", s.id)]["applies"]))
                        for s in scheme.tier_sanctions.values()
                        if s.max_tier is not None),
        projection=projection(ctx, resident_id, events, prepared),
        known_at=known_at,
        assumptions=summary.assumptions(ctx, subtotals, events, adjusted),
        lists=listing_lines(prepared, mine, scheme, resident_id, as_of, scored=result),
    )


def _kernel_caps(frame: Any) -> tuple[dict[int, Decimal], dict[int, str]]:
    """The score cap and tier cap the kernel found on each event (by event id)."""
    score_caps = {int(r["event_id"]): from_cents(int(r["score_cap"]))
                  for r in frame.select("event_id", "score_cap").to_dicts()
                  if r["score_cap"] is not None}
    tier_caps = {int(r["event_id"]): str(r["tier_cap"])
                 for r in frame.select("event_id", "tier_cap").to_dicts()
                 if r["tier_cap"] is not None}
    return score_caps, tier_caps


def _not_scored(ctx: Context, resident_id: str, events: tuple[EventLine, ...],
                adjusted: tuple[Adjustment, ...], known_at: datetime | None) -> Explanation:
    scheme = ctx.scheme
    if scheme.policy.participation == "consent":
        why = (f"not scored: participation in {scheme.label} is by consent and no "
               f"consent of {resident_id} is in force on {ctx.as_of}")
    else:
        why = f"not scored: {resident_id} has no events recorded"
    no = tuple(Eligibility(r.id, r.name, False, why) for r in scheme.rewards.values())
    no_s = tuple(Eligibility(s.id, s.name, False, why) for s in scheme.tier_sanctions.values())
    return Explanation(resident_id, ctx.as_of, scheme.city.id, scheme.version, False, None,
                       None, why, why, (), events, adjusted, no, no_s, (), known_at)


def explain_ledger(path: str | Path, resident_id: str, as_of: date,
                   known_at: datetime | None = None) -> Explanation:
    """Open a ledger file, read one resident's rows by index, and explain their score."""

    early = EarlyRead(path, resident_id, known_at)
    early.decode()
    try:
        with LedgerFile.open(path) as source:
            return explain_source(source, resident_id, as_of, known_at, early=early)
    finally:
        early.result()  # its thread ends before the process does


def explain_source(source: Source, resident_id: str, as_of: date,
                   known_at: datetime | None = None, *,
                   early: EarlyRead | None = None) -> Explanation:
    """Explain one resident's score from a ledger file or a dataset folder, as known at.

    ``early``: the resident's batches being read (`ledger.early`), started before the
    engine was imported; a ledger file takes them over where they are its own, at this
    cut, of this resident, and reads as usual otherwise."""

    # Reading one resident is mostly checking and decoding batches, which release the GIL:
    # this thread reads the catalogue versions and loads the engine meanwhile (measured,
    # issue 23). A failure is the one met first in the order of old: the catalogue
    # versions', then the resident's.
    def resident() -> tuple[LedgerData, LedgerNotes]:
        if early is not None and isinstance(source, LedgerFile):
            return source.resident(resident_id, known_at, early=early.result())
        return source.resident(resident_id, known_at)

    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(resident) if THREADS_SHARE_A_CONNECTION else None
        history = source.history(known_at)
        for name in EXPLAINING:
            importlib.import_module(name)
        data, notes = reading.result() if reading is not None else resident()
    if data.events.is_empty() and data.consents.is_empty():
        seen = f" as known at {known_at.isoformat()}" if known_at else ""
        raise LedgerError(source.path, f"no resident {resident_id!r} in this {source.kind}"
                          f"{seen}", "check the id: `scs ledger history LEDGER RESIDENT` "
                          "lists a resident's rows")
    return explain(data, history, resident_id, as_of, notes, known_at=known_at)


def _everyone_participates(history: CatalogueHistory) -> CatalogueHistory:
    return CatalogueHistory(replace(c, policy=replace(c.policy, participation="all"))
                            for c in history.versions)
