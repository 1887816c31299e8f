"""One resident's score, point by point: the batch kernel's own arithmetic, put into words.

`explain` never computes a point or a rule itself. It runs the engine on the resident's
data alone (the engine gives the same numbers on any partition of residents, so batch and
explain cannot disagree) and words what the kernel returns: per event its status, nominal
and kept points, occurrence number and escalation step, place in its limit period and the
period's name, the version in force on its date, the cap that cut it and the objection
that suspends it (`explain.events`); per resident the cap adjustments, the score after each
cap and clamp, the tier band of the score alone with its bounds, and the step-9 conditions
of every reward and sanction with the event that breaks a clean_for (`explain.summary`);
and what happens as events stop counting (`explain.projection`). `explain_residents` does
it for a bundle of residents from one run of the kernel over their data together (the
statements' letters); `explain` is the bundle of one.

`explain_source` is the whole job for one `Source` (`explain_ledger` for a ledger file by
path): a ledger file reads only the resident's rows through its resident index, so it stays
fast on a ledger of millions of events; a dataset folder reads its frames and keeps one
resident's.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from scs_cli.core.errors import LedgerError, ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.explain.model import (
    COUNTING,
    MAX_REASONS,
    STANDING_NOT,
    Adjustment,
    Eligibility,
    EventLine,
    Explanation,
    Factor,
    ListingLine,
    ProjectionPoint,
)
from scs_cli.ledger.early import EarlyRead
from scs_cli.ledger.reads import LedgerNotes
from scs_cli.ledger.source import THREADS_SHARE_A_CONNECTION, LedgerFile, Source
from scs_cli.rules.model import CatalogueHistory, from_cents

if TYPE_CHECKING:
    from scs_cli.engine.results import ScoreResult
    from scs_cli.explain.events import Context
    from scs_cli.rules.model import Catalogue

# What explaining needs beyond reading: the engine and the wording. Imported when first
# used, so that `explain_source` loads them while the resident's rows are being read.
EXPLAINING = ("scs_cli.engine.kernel", "scs_cli.explain.summary", "scs_cli.explain.events",
              "scs_cli.explain.lists", "scs_cli.explain.projection")

__all__ = ["COUNTING", "MAX_REASONS", "STANDING_NOT", "Adjustment", "Eligibility",
           "EventLine", "Explanation", "Factor", "ProjectionPoint", "each_resident", "explain",
           "explain_ledger", "explain_residents", "explain_source"]


def explain(data: LedgerData, history: CatalogueHistory, resident_id: str, as_of: date,
            ledger_notes: LedgerNotes | None = None, *,
            known_at: datetime | None = None) -> Explanation:
    """Everything about one resident's score on ``as_of``, from the same kernel as the batch.

    ``data`` may hold other residents too; only ``resident_id``'s rows are used.
    """
    return explain_residents(data, history, [resident_id], as_of, ledger_notes,
                             known_at=known_at)[0]


def explain_residents(data: LedgerData, history: CatalogueHistory,
                      resident_ids: Sequence[str], as_of: date,
                      ledger_notes: LedgerNotes | None = None, *,
                      known_at: datetime | None = None) -> list[Explanation]:
    """`explain` for several residents at once, in the order given: what each would get
    alone, from one preparation and one evaluation of their data together.

    The kernel's fixed cost per query, not the events, is what one resident's explanation
    costs (about 140 queries on frames of a few rows; issue 23), and the kernel gives the
    same numbers on any partition of residents: so a bundle of residents is run together
    and each is worded from their own rows of the one result. ``ledger_notes`` may hold
    every resident's notes (they are keyed by event and objection ids).
    """
    from scs_cli.engine.kernel import evaluate, prepare
    from scs_cli.engine.listings import listings
    from scs_cli.explain.events import Context
    from scs_cli.explain.lists import listing_lines
    from scs_cli.explain.projection import projections

    notes = ledger_notes or LedgerNotes()
    wanted = list(dict.fromkeys(resident_ids))
    bundle = data.for_residents(wanted)
    mine = each_resident(bundle, wanted)
    for rid in wanted:
        if mine[rid].events.is_empty() and mine[rid].consents.is_empty():
            raise ScsError(f"resident {rid!r} has no events and no consent rows in "
                           "these ledger data; check the resident id")
    prepared = prepare(bundle, history)
    result = evaluate(prepared, as_of, lists=True)  # red lists too: one evaluation
    scheme: Catalogue = result.scheme
    scored = _Rows(result)
    # Participation by consent: a resident not scored keeps their records; they are shown
    # as the rules judge them, without a score (one evaluation for all such residents).
    judged = [rid for rid in wanted
              if rid not in scored.residents and not mine[rid].events.is_empty()]
    unscored = _Rows(evaluate(prepare(bundle.for_residents(judged),
                                      _everyone_participates(history)), as_of)) \
        if judged else scored
    # a list is kept whether or not the resident is scored
    found = listings(prepared, bundle.repairs, as_of, scored=result) if scheme.lists else None
    lists = _split(found) if found is not None else {}
    explained, contexts = {}, {}
    for rid in wanted:
        rows = unscored if rid in judged else scored
        contexts[rid] = ctx = Context(history, scheme, as_of, mine[rid], notes)
        listed = listing_lines(lists[rid], scheme) if rid in lists else ()
        explained[rid] = _worded(ctx, rid, rows, rid in scored.residents, listed, known_at)
    # what happens next, for the scored: every resident's dates in one pass
    ahead = projections({rid: (contexts[rid], x.events) for rid, x in explained.items()
                         if x.scored}, bundle, prepared)
    return [replace(explained[rid], projection=ahead.get(rid, ())) for rid in resident_ids]


def each_resident(data: LedgerData, resident_ids: Sequence[str]) -> dict[str, LedgerData]:
    """``data.for_residents([rid])`` for each of ``resident_ids``, from one split of each
    frame rather than a filter per resident per frame. ``data`` holds these residents'
    rows only, as `data.for_residents(resident_ids)` gives them (one resident's is
    ``data`` itself)."""
    if len(resident_ids) == 1:
        return {resident_ids[0]: data}
    number = dict(zip(data.residents["resident_id"].to_list(),
                      data.residents["resident"].to_list(), strict=True))
    owner = data.events.select("event_id", "resident")

    def of_events(frame: pl.DataFrame) -> dict[Any, pl.DataFrame]:
        # each row goes with the resident of its event (a row of no such event with none)
        joined = frame.join(owner, on="event_id", how="inner", maintain_order="left")
        return _split(joined, "resident", keep=False)

    events, residents = _split(data.events, "resident"), _split(data.residents)
    voids, lifts, objections = (of_events(data.voids), of_events(data.lifts),
                                of_events(data.objections))
    consents, repairs = _split(data.consents), _split(data.repairs)
    out = {}
    for rid in resident_ids:
        key = number.get(rid)
        out[rid] = LedgerData(
            events.get(key, data.events.clear()), voids.get(key, data.voids.clear()),
            lifts.get(key, data.lifts.clear()), objections.get(key, data.objections.clear()),
            consents.get(rid, data.consents.clear()), residents.get(rid, data.residents.clear()),
            data.indicators, repairs.get(rid, data.repairs.clear()))
    return out


def _split(frame: pl.DataFrame, by: str = "resident_id", *, keep: bool = True
           ) -> dict[Any, pl.DataFrame]:
    """A frame's rows by the value of one column, each part in the frame's order."""
    if frame.is_empty():
        return {}
    return {key[0]: part for key, part in frame.partition_by(
        by, as_dict=True, maintain_order=True, include_key=keep).items()}


@dataclass(frozen=True)
class _Rows:
    """One evaluation's result frames, split by resident."""

    result: ScoreResult
    residents: dict[str, pl.DataFrame] = field(init=False)
    events: dict[str, pl.DataFrame] = field(init=False)
    adjustments: dict[str, pl.DataFrame] = field(init=False)
    subtotals: dict[str, pl.DataFrame] = field(init=False)
    checks: dict[str, pl.DataFrame] = field(init=False)

    def __post_init__(self) -> None:
        for name in ("residents", "events", "adjustments", "subtotals", "checks"):
            frame = getattr(self.result, name)
            object.__setattr__(self, name, _split(frame) if frame is not None else {})

    def of(self, name: str, resident_id: str) -> pl.DataFrame:
        """The resident's rows of one frame (none: the frame's columns, no rows)."""
        part = getattr(self, name).get(resident_id)
        if part is not None:
            return part
        frame = getattr(self.result, name)
        assert frame is not None  # detail mode: every frame is there
        return frame.clear()


def _worded(ctx: Context, resident_id: str, rows: _Rows, scored: bool,
            lists: tuple[ListingLine, ...], known_at: datetime | None) -> Explanation:
    """One resident's explanation from their rows of the kernel's result (``rows``: the
    evaluation with everyone participating, for one not ``scored`` who has events), all
    but the projection (`projection.projections`, for the whole bundle at once)."""
    from scs_cli.explain import summary
    from scs_cli.explain.events import event_lines

    kernel_events = rows.of("events", resident_id)
    caps = _kernel_caps(kernel_events)
    events = tuple(replace(e, score_cap=caps[0].get(e.event_id), tier_cap=caps[1].get(
        e.event_id)) for e in event_lines(ctx, kernel_events))
    adjusted = summary.adjustments(ctx, rows.of("adjustments", resident_id), events, caps[0])
    if not scored:
        return replace(_not_scored(ctx, resident_id, events, adjusted, known_at), lists=lists)
    scheme = ctx.scheme
    me = rows.of("residents", resident_id).to_dicts()[0]
    subtotals = rows.of("subtotals", resident_id).to_dicts()[0]
    score = from_cents(int(me["score"]))
    tier = str(me["tier"])
    checks = {(c["kind"], c["id"]): c for c in rows.of("checks", resident_id).to_dicts()}
    return Explanation(
        resident_id=resident_id, as_of=ctx.as_of, city=scheme.city.id,
        version=scheme.version, scored=True, score=score, tier=tier,
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
        projection=(),
        known_at=known_at,
        assumptions=summary.assumptions(ctx, subtotals, events, adjusted),
        lists=lists,
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
