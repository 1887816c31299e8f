"""What one resident's letter says, as data: an `Explanation` plus the ledger's own facts.

Every number (score, tier, each event's points and status, the main reasons, the
projection) is the `explain` computation's, which is the batch kernel's; this module
adds only what the ledger records beside the scoring frames (the reporting agency, the
objections and their grounds, the head of the hash chain) and the catalogue's own words
(city, title, objection policy). It derives no point itself.

`read_letters` reads the letters of named residents; `read_changed` those of every
resident whose tier or rewards differ from a saved run, each with the notice of what
changed and which events made it change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli import __version__
from scs_cli.core.errors import LedgerError, ScsError, UsageError
from scs_cli.core.frames import LedgerData
from scs_cli.core.text import num
from scs_cli.explain.explain import EventLine, Explanation, each_resident, explain_residents
from scs_cli.explain.model import ListingLine
from scs_cli.ledger.chain import Head
from scs_cli.ledger.reads import LedgerNotes
from scs_cli.ledger.source import LedgerFile
from scs_cli.ledger.store import RESIDENT_ID
from scs_cli.rules.day import objections_on
from scs_cli.rules.model import CatalogueHistory, Office, from_cents
from scs_cli.scoring.batch import score_ledger
from scs_cli.statement.words import assumption_words

# progress(what, done, total): the CLI plugs a progress bar into it
Progress = Callable[[str, int, int], None]
NOT_RECORDED = "not recorded"  # an event's status in a saved run recorded before it


@dataclass(frozen=True)
class Objection:
    """An objection to one of the resident's events, as the ledger records it."""

    objection_id: int
    event_id: int
    filed_on: date
    grounds: str
    due_on: date | None       # filed_on + policy.objection_deadline (None: no deadline)
    decided_on: date | None   # None: pending on the as-of date
    outcome: str | None       # "upheld" or "rejected" once decided

    @property
    def pending(self) -> bool:
        return self.decided_on is None

    def overdue(self, on: date) -> bool:
        """Pending on ``on`` although its decision was due before it."""
        return self.pending and self.due_on is not None and self.due_on < on


@dataclass(frozen=True)
class EventChange:
    """How one event's standing differs between the saved run and the letter's date."""

    event_id: int
    name: str
    occurred_on: date
    before: str               # status in the run (NOT_RECORDED when recorded after it)
    after: str
    before_points: Decimal
    after_points: Decimal


@dataclass(frozen=True)
class Notice:
    """What changed since a saved run: the run's tier and rewards, today's, and why."""

    run_id: int
    run_as_of: date
    old_score: Decimal | None
    old_tier: str | None
    old_rewards: tuple[str, ...]
    new_score: Decimal | None
    new_tier: str | None
    new_rewards: tuple[str, ...]
    events: tuple[EventChange, ...]
    old_version: str | None = None  # catalogue version in force on the run's as-of date
    new_version: str | None = None  # and on the letter's
    run_saved_on: date | None = None  # the day the run was computed (its known-at, UTC)
    as_of: date | None = None         # the letter's date, which "now" is measured from

    def summary(self) -> str:
        """One line: tier and rewards then and now."""
        def side(score: Decimal | None, tier: str | None, rewards: Sequence[str]) -> str:
            if tier is None:
                return "not scored"
            text = f"{_num(score)} {tier}"
            return text + f" [{', '.join(rewards) or 'no rewards'}]"
        return (f"{side(self.old_score, self.old_tier, self.old_rewards)} → "
                f"{side(self.new_score, self.new_tier, self.new_rewards)}")


@dataclass(frozen=True)
class Letter:
    """Everything one resident's statement shows. It names this resident and no other."""

    explanation: Explanation
    city_name: str
    province: str | None
    catalogue_title: str | None
    effective_from: date | None          # of the catalogue version in force on as-of
    agencies: Mapping[int, str | None]   # event id → the agency that reported it
    objections: tuple[Objection, ...]
    objection_deadline: str | None       # e.g. "15d"; None when the catalogue sets none
    objection_suspends: bool
    head: Head                           # the hash chain's head at known_at
    known_at: datetime
    generated_by: str = f"scs {__version__}"
    notice: Notice | None = None
    office: Office | None = None         # the catalogue's [office]; None: it names none
    object_by: date | None = None        # as-of + office.objection_window; None: any time
    assumed_words: tuple[str, ...] = ()  # assumptions beyond a record's own rule, in words
    lists: tuple[ListingLine, ...] = ()  # the lists the resident is on (explain's, SPEC §4a)

    @property
    def resident_id(self) -> str:
        return self.explanation.resident_id

    def shown_events(self) -> tuple[EventLine, ...]:
        """Every event that counts or once counted, or was recorded and does not count:
        all but those dated after the as-of date (they are not yet part of the score)."""
        return tuple(e for e in self.explanation.events if e.status != "future")


_num = num


def check_resident_id(resident_id: str) -> None:
    """Refuse an id that cannot be a resident's (and so could not name a safe file)."""
    if not re.match(RESIDENT_ID.pattern, resident_id) or not resident_id[0].isalnum():
        raise UsageError(f"{resident_id!r} is not a resident id",
                         "ids are 1-64 of A-Za-z0-9._:- beginning with a letter or digit")


# Residents read and explained together: the kernel's fixed cost per query is paid once a
# bundle, not once a resident (issue 23); a bundle's letters are written and printed while
# the next bundle is explained.
BUNDLE = 100


class _Reader:
    """One open ledger file read at one known-at: the catalogue history and head, read once;
    residents read and explained a bundle at a time."""

    def __init__(self, source: LedgerFile, path: Path, as_of: date, known_at: datetime):
        self.source, self.path, self.as_of, self.known_at = source, path, as_of, known_at
        self.history: CatalogueHistory = source.history(known_at)
        self.scheme = self.history.in_force(as_of)
        if self.scheme is None:
            raise LedgerError(path, f"no adopted catalogue version is in force on {as_of}",
                              "give a later --as-of")
        self.head: Head = source.head(known_at)  # the head the letters were read at

    def read(self, resident_ids: Sequence[str], known_at: datetime | None = None
             ) -> tuple[LedgerData, LedgerNotes]:
        """A bundle's rows and notes (at the letters' known-at unless another is given)."""
        return self.source.residents(resident_ids, known_at or self.known_at)

    def letters(self, resident_ids: Sequence[str], read: tuple[LedgerData, LedgerNotes]
                ) -> list[Letter]:
        """The letters of a bundle of residents, every one of them in ``read``."""
        data, notes = read
        explained = explain_residents(data, self.history, resident_ids, self.as_of, notes,
                                      known_at=self.known_at)
        mine = each_resident(data, resident_ids)
        return [self.letter(x, mine[x.resident_id], notes) for x in explained]

    def letter(self, x: Explanation, data: LedgerData, notes: LedgerNotes) -> Letter:
        """One resident's letter from their explanation and their own rows."""
        scheme = self.scheme
        assert scheme is not None  # checked on construction
        deadline = scheme.policy.objection_deadline
        agencies = dict(zip(data.events["event_id"].to_list(),
                            data.events["agency"].to_list(), strict=True)) \
            if "agency" in data.events.columns else {}
        # filed by the letter's date, as things stood that day (rules.day); most residents
        # have none, and a query on no rows costs what one on a few does
        on_the_day = objections_on(data.objections, self.as_of, scheme.policy) \
            if data.objections.height else None
        objections = [Objection(
            int(o["objection_id"]), int(o["event_id"]), o["filed_on"],
            notes.objection_grounds.get(o["objection_id"], ""), o["due_on"],
            o["decided_on"], o["outcome"])
            for o in (on_the_day.sort("objection_id").iter_rows(named=True)
                      if on_the_day is not None else ())]
        office = scheme.office
        window = office.objection_window if office else None
        return Letter(
            office=office, object_by=window.after(self.as_of) if window else None,
            # a record's own assumed values are marked on its row
            assumed_words=tuple(dict.fromkeys(assumption_words(a, scheme)
                                              for a in x.assumptions
                                              if not a.startswith("indicators."))),
            explanation=x, city_name=scheme.city.name, province=scheme.city.province,
            catalogue_title=scheme.title, effective_from=scheme.effective_from,
            agencies=agencies, objections=tuple(objections),
            objection_deadline=str(deadline) if deadline else None,
            objection_suspends=scheme.policy.objection_suspends, head=self.head,
            known_at=self.known_at, lists=x.lists)


def _bundles(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i:i + BUNDLE] for i in range(0, len(ids), BUNDLE)]


def _recorded(data: LedgerData) -> set[str]:
    """The residents with any row in ``data``: an event or a consent."""
    return set(data.residents["resident_id"].to_list()) | set(
        data.consents["resident_id"].to_list())


def _open(path: str | Path, known_at: datetime | None) -> tuple[LedgerFile, Path, datetime]:
    path = Path(path)
    if not path.is_file():
        raise LedgerError(path, "no such ledger file", "check the path")
    # Every row recorded by now, and no later one: the letters and the head agree.
    known = (known_at or datetime.now(UTC)).astimezone(UTC)
    return LedgerFile.open(path), path, known


def read_letters(path: str | Path, residents: Sequence[str], as_of: date,
                 known_at: datetime | None = None, progress: Progress | None = None
                 ) -> list[Letter]:
    """The letters of the named residents (each once, in the order given).

    Every id is checked before any letter is read: an id the ledger does not know is
    one error naming it, and no letter."""
    return list(iter_letters(path, residents, as_of, known_at, progress))


def iter_letters(path: str | Path, residents: Sequence[str], as_of: date,
                 known_at: datetime | None = None, progress: Progress | None = None
                 ) -> Iterator[Letter]:
    """`read_letters` one letter at a time (the ledger is opened, and every id checked,
    on the first `next`, in the thread that asks), so that writing and printing the
    first letters can overlap reading the next ones."""
    if not residents:
        raise UsageError("no resident given", "name at least one resident id, or use "
                         "--changed-since RUN")
    wanted = list(dict.fromkeys(residents))
    for rid in wanted:
        check_resident_id(rid)
    source, path, known = _open(path, known_at)
    with source:
        reader = _Reader(source, path, as_of, known)
        bundles = _bundles(wanted)
        reads = [reader.read(bundle) for bundle in bundles]  # every id, before any letter
        seen = set().union(*(_recorded(data) for data, _ in reads))
        for rid in wanted:
            if rid not in seen:
                raise LedgerError(path, f"no resident {rid!r} in this ledger",
                                  "check the id: `scs ledger history LEDGER RESIDENT` lists "
                                  "a resident's rows")
        done = 0
        for bundle, read in zip(bundles, reads, strict=True):
            for letter in reader.letters(bundle, read):
                if progress:
                    progress(f"reading {letter.resident_id}", done, len(wanted))
                done += 1
                yield letter


def read_changed(path: str | Path, run_id: int, as_of: date,
                 known_at: datetime | None = None, progress: Progress | None = None
                 ) -> list[Letter]:
    """A letter, with its notice, for every resident whose tier or rewards on ``as_of``
    differ from saved run ``run_id`` (sorted by resident id)."""
    source, path, known = _open(path, known_at)
    with source:
        run = source.ledger.run(run_id)  # saved runs: a ledger file's
        saved = run.result()
    if progress:
        progress("scoring every resident", 0, 1)
    now = score_ledger(path, as_of, known).result.residents
    changed = _differing(saved, now)
    letters: list[Letter] = []
    with LedgerFile.open(path) as source:
        reader = _Reader(source, path, as_of, known)
        ids = [row["resident_id"] for row in changed]
        rows = {row["resident_id"]: row for row in changed}
        then_history = source.history(run.known_at)
        then_scheme = then_history.in_force(run.as_of)
        old_version = then_scheme.version if then_scheme else None
        for bundle in _bundles(ids):
            if progress:
                progress(f"reading {bundle[0]}", len(letters), len(changed))
            then = _standing_then(reader, bundle, then_history, run.as_of, run.known_at)
            for letter in reader.letters(bundle, reader.read(bundle)):
                rid = letter.resident_id
                row, x = rows[rid], letter.explanation
                new_rewards = tuple(r.id for r in x.rewards if r.applies)
                notice = Notice(
                    run_id=run.run_id, run_as_of=run.as_of,
                    old_score=from_cents(int(row["score"])) if row["score"] is not None
                    else None,
                    old_tier=row["tier"], old_rewards=tuple(sorted(row["rewards"] or ())),
                    new_score=x.score, new_tier=x.tier, new_rewards=tuple(sorted(new_rewards)),
                    events=_event_changes(then.get(rid, {}), x.events),
                    old_version=old_version, new_version=x.version,
                    run_saved_on=run.known_at.astimezone(UTC).date(), as_of=as_of)
                letters.append(replace(letter, notice=notice))
    return letters


def _differing(saved: pl.DataFrame, now: pl.DataFrame) -> list[dict[str, Any]]:
    """Residents whose tier or rewards differ (or who are scored in only one of the two),
    with the run's score, tier and rewards."""
    def key(frame: pl.DataFrame) -> pl.DataFrame:
        rewards = (pl.col("rewards").list.sort() if "rewards" in frame.columns
                   else pl.lit([], dtype=pl.List(pl.String)))  # a run saved before rewards
        return frame.select("resident_id", "score", "tier", rewards.alias("rewards"))
    both = key(saved).join(key(now), on="resident_id", how="full", coalesce=True,
                           suffix="_now")
    differs = (pl.col("tier").ne_missing(pl.col("tier_now"))
               | pl.col("rewards").ne_missing(pl.col("rewards_now")))
    return both.filter(differs).sort("resident_id").select(
        "resident_id", "score", "tier", "rewards").to_dicts()


def _standing_then(reader: _Reader, resident_ids: Sequence[str],
                   history: CatalogueHistory, as_of: date, known_at: datetime
                   ) -> dict[str, dict[int, EventLine]]:
    """Each resident's events as the saved run saw them, by event id (none when no row of
    theirs was recorded by the run, or the run's date has no catalogue version)."""
    data, notes = reader.read(resident_ids, known_at)
    then = [rid for rid in resident_ids if rid in _recorded(data)]
    if not then:
        return {}
    try:
        explained = explain_residents(data, history, then, as_of, notes, known_at=known_at)
    except ScsError:
        return {}
    return {x.resident_id: {e.event_id: e for e in x.events} for x in explained}


def _event_changes(then: Mapping[int, EventLine], now: Sequence[EventLine]
                   ) -> tuple[EventChange, ...]:
    """The events whose status or counted points differ between the run and now."""
    changes = []
    for e in now:
        old = then.get(e.event_id)
        before = old.status if old else NOT_RECORDED
        before_points = old.points if old else Decimal(0)
        if before == e.status and before_points == e.points:
            continue
        if before in (NOT_RECORDED, "future") and e.status == "future":
            continue
        changes.append(EventChange(e.event_id, e.name or e.indicator, e.occurred_on, before,
                                   e.status, before_points, e.points))
    return tuple(changes)
