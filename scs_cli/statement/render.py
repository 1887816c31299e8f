"""One `Letter` as a self-contained, printable HTML page, from the ``statement.html`` template.

This module turns a letter into what its template shows, in a resident's words (no key
path, no engine status, no Python name); the template (`core.templates`, autoescaped,
replaceable by an office with ``--templates DIR``) lays it out. The page loads nothing
(CSS inline, no script, no image, a Content-Security-Policy that forbids loading), prints
on A4 in at most two pages for a resident with up to 20 records (records that no longer
count are one short paragraph on paper and a full table on screen), and on a narrow
screen each table row becomes a card with its labels.

The numbers are the explanation's, shown, never computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from scs_cli.core.templates import Templates
from scs_cli.core.text import day, duration_words, num, signed
from scs_cli.explain.model import EventLine, ListingLine
from scs_cli.statement.letter import Letter, Notice, Objection
from scs_cli.statement.words import (
    ASSUMED,
    plain,
    rule_key_words,
    status_words,
    stops_words,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'"
COUNTING = ("counted", "capped")
ENDED = ("expired", "lifted", "voided", "over-limit")
NB_AGENCY = 24  # an agency name up to this long never breaks; a longer one wraps

_bundled: Templates | None = None


def letter_html(letter: Letter, templates: Templates | None = None) -> str:
    """The whole page, from the office's templates or the bundled ones."""
    global _bundled
    if templates is None:
        _bundled = _bundled or Templates()
        templates = _bundled
    return templates.render("statement.html", **letter_context(letter))


@dataclass(frozen=True)
class Row:
    """One record as the letter shows it."""

    no: int
    date: str
    name: str
    indicator: str
    basis: str | None
    source: str | None
    agency: str | None
    agency_nb: bool           # short enough to keep on one line (`village-committee`)
    points: str
    rule_points: str | None   # the rule's points when fewer counted (a cap, a range)
    status: str | None        # said only where the section's heading does not say it
    stops: str
    stops_on: bool            # `stops` is a date (kept on one line)
    assumed: tuple[str, ...]  # what of its rule the catalogue assumes, in words
    assumed_keys: str         # the same as the catalogue's keys, for machines (an attribute)
    same_as: int | None       # an earlier record of the same table under the same rule
    limit: str | None = None  # what it caps while it counts: "keeps your score at most 649"


@dataclass(frozen=True)
class MeasureRow:
    """A measure in force because of a list, as the letter shows it."""

    name: str
    agency: str | None
    until: str                # a date, or words when no end is known


@dataclass(frozen=True)
class ListRow:
    """One list the resident is on, as the letter shows it (SPEC §4a)."""

    name: str
    black: bool
    kind: str                 # "black list" or "red list"
    since: str
    records: tuple[int, ...]  # the records that put the resident on it (black lists)
    until: str | None         # a date (with why it ends then); None: no end is known
    measures: tuple[MeasureRow, ...]
    repair_from: str | None   # the date from which a repair may be applied for
    repair_now: bool          # that date is on or before the letter's date


@dataclass(frozen=True)
class ObjectionRow:
    no: int
    record: int
    filed: str
    grounds: str
    due: str | None
    decision: str | None      # None: pending
    overdue: bool


def letter_context(letter: Letter) -> dict[str, Any]:
    """Everything the template names (docs/statement.md lists them for office templates)."""
    x = letter.explanation
    place = letter.city_name + (f", {letter.province}" if letter.province else "")
    shown = letter.shown_events()
    scored = x.scored

    def rows(events: Sequence[EventLine], with_status: bool = False) -> list[Row]:
        first: dict[tuple[str, str | None], int] = {}
        out = []
        for e in events:  # a rule's basis and source are printed once per table
            key = (e.indicator, e.version)
            out.append(_row(letter, e, scored, with_status, first.get(key)))
            first.setdefault(key, e.event_id)
        return out

    counting = [e for e in shown if e.status in COUNTING]
    contested = [e for e in shown if e.status == "suspended"]
    ended = [e for e in shown if e.status in ENDED]
    objections = [_objection_row(o, x.as_of) for o in letter.objections]
    office = letter.office
    version = f"version {x.version}" + (
        f", in force from {day(letter.effective_from)}" if letter.effective_from else "")
    if letter.catalogue_title:
        version += f" ({letter.catalogue_title})"
    return {
        "lang": "en",
        "csp": Markup(CSP),  # a constant: its quotes stay quotes
        "title": f"{letter.city_name}: credit statement for {x.resident_id}, {x.as_of}",
        "generated_by": letter.generated_by,
        "letter": letter,
        "resident_id": x.resident_id,
        "as_of": day(x.as_of),
        "place": place,
        "office": office,
        "office_name": office.name if office else f"{place} credit office",
        "rules": version,
        "scored": scored,
        "score": x.score,
        "tier": x.tier,
        "score_reason": plain(x.score_reason),
        "why_not_scored": _capital(plain(x.score_reason)),
        "tier_reason": plain(x.tier_reason),
        "rewards": [replace(r, reason=plain(r.reason)) for r in
                    sorted(x.rewards, key=lambda r: not r.applies)],
        "sanctions": [replace(s, reason=plain(s.reason)) for s in x.sanctions if s.applies],
        "assumed_words": letter.assumed_words,
        "assumed_phrase": ASSUMED,
        "notice": _notice(letter.notice, x.as_of),
        "reasons": [replace(f, text=plain(f.text)) for f in x.reasons] if scored else (),
        # a record that caps the score or the tier costs points even when it takes none
        "costs": rows([e for e in counting if _costs(e)]),
        "adds": rows([e for e in counting if not _costs(e)]),
        "adds_by_rule": _by_rule(rows([e for e in counting if not _costs(e)])),
        "kept": rows(counting, with_status=True) if not scored else [],
        "contested": rows(contested),
        "stopped": rows(ended, with_status=True),
        "pending": [o for o in objections if o.decision is None],
        "decided": [o for o in objections if o.decision is not None],
        "overdue": any(o.overdue for o in objections),
        "projection": [replace(p, reason=plain(p.reason)) for p in x.projection]
        if scored else (),
        "object_by": day(letter.object_by) if letter.object_by else None,
        "deadline": (duration_words(letter.objection_deadline)
                     if letter.objection_deadline else None),
        "suspends": letter.objection_suspends,
        "head_rows": f"{letter.head.rows:,}",
        "head_hash": letter.head.hash,
        "lists": [_list_row(line, x.as_of) for line in letter.lists],
    }


def _row(letter: Letter, e: EventLine, scored: bool, with_status: bool,
         same_as: int | None) -> Row:
    agency = letter.agencies.get(e.event_id)
    rule_points = (signed(e.nominal_points) if e.nominal_points is not None
                   and e.nominal_points != e.points else None)
    status = status_words(e.status, scored=scored) if with_status or e.status == "capped" \
        else None
    return Row(
        no=e.event_id, date=day(e.occurred_on), name=e.name or e.indicator,
        indicator=e.indicator, basis=e.basis, source=e.source,
        agency=agency, agency_nb=len(agency or "") <= NB_AGENCY, points=signed(e.points),
        rule_points=rule_points, status=status,
        stops=stops_words(e.status, e.stops_on, scored),
        stops_on=scored and e.stops_on is not None and e.status in (*COUNTING, "suspended"),
        assumed=tuple(dict.fromkeys(rule_key_words(k) for k in e.assumed)),
        assumed_keys=" ".join(e.assumed), same_as=same_as, limit=_limit(e))


def _limit(e: EventLine) -> str | None:
    """The cap a record puts on the score or the tier while it counts, in words."""
    parts = []
    if e.score_cap is not None:
        parts.append(f"keeps your score at most {num(e.score_cap)}")
    if e.tier_cap is not None:
        parts.append(f"keeps your tier at {e.tier_cap} or lower")
    return " and ".join(parts) + " while it counts" if parts else None


def _costs(e: EventLine) -> bool:
    """Whether a counting record costs the resident: points off, or a cap on score or tier."""
    return e.points < 0 or e.score_cap is not None or e.tier_cap is not None


def _by_rule(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Rows of one rule together (the paper letter's summary of what adds points)."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r.name, {"name": r.name, "points": [], "records": []})
        g["points"].append(r.points)
        g["records"].append(r)
    for g in groups.values():
        g["points"] = ", ".join(dict.fromkeys(g["points"]))
    return list(groups.values())


def _list_row(line: ListingLine, as_of: date) -> ListRow:
    """A listing in words: no list key, no measure key, only names, dates and numbers."""
    until: str | None = day(line.until) if line.until is not None else None
    if line.repair is not None and until is not None:
        until += f", when your repair application no. {line.repair} was granted"
    pending_repair = line.repair is None and line.repair_from is not None
    return ListRow(
        name=line.name, black=line.kind == "black",
        kind="black list" if line.kind == "black" else "red list",
        since=day(line.since), records=line.entered_by, until=until,
        measures=tuple(MeasureRow(m.name, m.agency,
                                  day(m.until) if m.until else "while you are on the list")
                       for m in line.measures),
        repair_from=day(line.repair_from) if pending_repair and line.repair_from else None,
        repair_now=pending_repair and line.repair_from is not None
        and line.repair_from <= as_of)


def _objection_row(o: Objection, as_of: date) -> ObjectionRow:
    return ObjectionRow(
        no=o.objection_id, record=o.event_id, filed=day(o.filed_on), grounds=o.grounds,
        due=day(o.due_on) if o.due_on else None,
        decision=f"{o.outcome} on {day(o.decided_on)}" if o.decided_on else None,
        overdue=o.overdue(as_of))


def _notice(notice: Notice | None, as_of: date) -> dict[str, Any] | None:
    if notice is None:
        return None
    then = notice.run_as_of

    def side(score: Decimal | None, tier: str | None, rewards: Sequence[str]) -> str:
        if tier is None:
            return "not scored"
        return (f"score {signed(score).lstrip('+')}, tier {tier}; rewards: "
                f"{', '.join(rewards) if rewards else 'none'}")

    return {
        "run_id": notice.run_id,
        "run_as_of": day(then),
        "run_saved_on": day(notice.run_saved_on) if notice.run_saved_on else None,
        "before": side(notice.old_score, notice.old_tier, notice.old_rewards),
        "after": side(notice.new_score, notice.new_tier, notice.new_rewards),
        "rules_changed": notice.old_version != notice.new_version,
        "old_version": notice.old_version or "none",
        "new_version": notice.new_version,
        "events": [{
            "no": c.event_id, "date": day(c.occurred_on), "name": c.name,
            # each side is measured from its own date: the run's, then the letter's
            "then": status_words(c.before, then), "then_points": signed(c.before_points),
            "now": status_words(c.after, as_of), "now_points": signed(c.after_points),
        } for c in notice.events],
    }


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
