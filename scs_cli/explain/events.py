"""Each event of one resident, put into words from the kernel's row for it.

The kernel says what happened to the event (its status, nominal and kept points, which
occurrence it was and the escalation step it took, its place in its limit period and that
period's name, the version in force on its date, the cap that cut it, the objection that
suspends it, when it stops counting); this module only says it in a sentence, naming the
rule's own values (its limit, window, cap) so a reader can check it against the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from scs_cli.core.frames import LedgerData
from scs_cli.core.text import num, signed
from scs_cli.explain.model import STANDING_NOT, EventLine
from scs_cli.ledger.reads import LedgerNotes
from scs_cli.rules.model import Catalogue, CatalogueHistory, Indicator, from_cents


@dataclass
class Context:
    """What every sentence may cite: the catalogues, the scheme, the resident's records."""

    history: CatalogueHistory
    scheme: Catalogue
    as_of: date
    data: LedgerData
    notes: LedgerNotes

    def rule(self, indicator: str, version: str | None) -> Indicator | None:
        """The indicator as defined by the catalogue version the kernel judged the event
        by (its `version` column); None when no rule judged it."""
        catalogue = self.versions.get(version) if version is not None else None
        return catalogue.indicators.get(indicator) if catalogue else None

    @property
    def versions(self) -> dict[str, Catalogue]:
        return {c.version: c for c in self.history.versions}

    def indicator_name(self, indicator: str) -> str:
        ind = self.scheme.indicators.get(indicator)
        if ind is None:
            for version in reversed(self.history.versions):
                ind = version.indicators.get(indicator)
                if ind:
                    break
        return ind.name if ind else indicator


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def event_lines(ctx: Context, frame: Any) -> tuple[EventLine, ...]:
    """The kernel's event rows in (date, id) order, each with its reason."""
    rows = sorted(frame.to_dicts(), key=lambda r: (r["occurred_on"], r["event_id"]))
    records = _Records.of(ctx.data)
    lines = []
    for r in rows:
        rule = ctx.rule(r["indicator"], r.get("version"))
        kept = r.get("kept")
        reason = _reason(ctx, r, rule, records)
        assumed = event_assumed(ctx, rule, r)
        rests = [k for k in assumed if k != "expires_after"]  # expiry is marked in place
        if rests and r["status"] not in STANDING_NOT:
            reason += f"; rests on assumed {', '.join(rests)} (no source gives them)"
        if rule is not None and not rule.published:
            reason += "; an unpublished rule (published = false): residents could not know it"
        lines.append(EventLine(
            event_id=int(r["event_id"]), indicator=r["indicator"],
            name=rule.name if rule else None, occurred_on=r["occurred_on"],
            nominal_points=None if r.get("nominal") is None else from_cents(int(r["nominal"])),
            points=from_cents(int(r["points"] or 0)), status=r["status"],
            reason=reason,
            basis=rule.worded_basis if rule else None, source=rule.source if rule else None,
            version=r.get("version"), capped_by=r.get("capped_by"), stops_on=r.get("stops_on"),
            assumed=assumed, kept_points=None if kept is None else from_cents(int(kept)),
            occurrence=r.get("occurrence"), limit_rank=r.get("limit_rank"),
            category=r.get("category")))
    return tuple(lines)


# What of a rule an event's points, expiry or caps can rest on.
EVENT_KEYS = ("points", "points_range", "escalation", "escalation_window", "limit",
              "expires_after", "max_deduction", "max_award", "tier_cap", "score_cap")


def event_assumed(ctx: Context, rule: Indicator | None, r: dict[str, Any]
                  ) -> tuple[str, ...]:
    """The assumed keys an event rests on: its rule's, and a category cap that cut it."""
    keys = [k for k in EVENT_KEYS if rule is not None and k in rule.assumed]
    scope, _, key = (r.get("capped_by") or "").partition(":")
    if scope == "category" and key in ctx.scheme.categories:
        cat = ctx.scheme.categories[key]
        keys += [f"categories.{key}.{k}" for k in ("max_deduction", "max_award")
                 if k in cat.assumed]
    return tuple(keys)


@dataclass(frozen=True)
class _Records:
    """The ledger rows a reason cites: voids, lift dates, objections by id."""

    voids: set[int]
    lifts: dict[int, date]
    objections: dict[int, dict[str, Any]]
    by_event: dict[int, list[dict[str, Any]]]

    @classmethod
    def of(cls, data: LedgerData) -> _Records:
        objections = {int(o["objection_id"]): o for o in data.objections.to_dicts()}
        by_event: dict[int, list[dict[str, Any]]] = {}
        for oid in sorted(objections):
            by_event.setdefault(int(objections[oid]["event_id"]), []).append(objections[oid])
        return cls(set(data.voids["event_id"].to_list()),
                   {r["event_id"]: r["lifted_on"] for r in data.lifts.to_dicts()},
                   objections, by_event)


def _reason(ctx: Context, r: dict[str, Any], rule: Indicator | None, rec: _Records) -> str:
    status = r["status"]
    if status == "voided":
        return _voided(ctx, r, rec)
    if status == "future":
        return f"occurs on {r['occurred_on']}, after the as-of date {ctx.as_of}"
    if status == "suspended":
        return _suspended(ctx, r, rec)
    assert rule is not None  # the kernel marks an event without a rule as voided
    if status == "over-limit":
        limit = rule.limit
        if limit is None or r.get("limit_rank") is None or r.get("period") is None:
            return "over the limit"
        # the kernel names the period it counted in: "week 2024-W05", "month 2024-03"
        return (f"{ordinal(int(r['limit_rank']))} in {limit.per} {r['period']}"
                f": over the limit of {limit.count} per {limit.per}")
    how = _how_much(r, rule)
    if status == "lifted":
        return (f"lifted on {rec.lifts.get(r['event_id'], r.get('stops_on'))}"
                + (f"; {how}" if how else ""))
    expiry = (f"expires_after {rule.expires_after}"
              + (", assumed: no source gives it" if "expires_after" in rule.assumed else ""))
    if status == "expired":
        return f"expired on {r.get('stops_on')} ({expiry})" + (f"; {how}" if how else "")
    parts = [how] if how else []
    stops = r.get("stops_on")
    if stops is None:
        # The catalogue sets no expiry: that is not the same as a law saying "never".
        parts.append("counts: the catalogue sets no expiry")
    elif rec.lifts.get(r["event_id"]) == stops:
        parts.append(f"counts until lifted on {stops}")
    else:
        parts.append(f"counts until {stops} ({expiry})")
    if status == "capped":
        parts.append(capped_text(ctx, r))
    return "; ".join(parts)


def _voided(ctx: Context, r: dict[str, Any], rec: _Records) -> str:
    eid, day = r["event_id"], r["occurred_on"]
    if eid in rec.voids:
        why = ctx.notes.void_reasons.get(eid)
        return "voided: recorded in error" + (f" ({why})" if why else "")
    upheld = [o for o in rec.by_event.get(eid, []) if o["outcome"] == "upheld"]
    if upheld:
        o = upheld[0]
        return f"voided: objection {o['objection_id']} upheld on {o['decided_on']}"
    version = r.get("in_force")  # the kernel's: the version in force on the event's date
    if version is None:
        return f"voided: no rule in force (no catalogue version in force on {day})"
    return (f"voided: no rule in force (version {version}, in force on {day}, "
            f"has no indicator {r['indicator']!r})")


def _suspended(ctx: Context, r: dict[str, Any], rec: _Records) -> str:
    oid = r.get("suspended_by")
    o = rec.objections.get(int(oid)) if oid is not None else None
    if o is None:
        return "suspended by a pending objection"
    grounds = ctx.notes.objection_grounds.get(o["objection_id"])
    return (f"objection {o['objection_id']} pending since {o['filed_on']}"
            + (f" ({grounds})" if grounds else ""))


def _how_much(r: dict[str, Any], rule: Indicator) -> str:
    """Where the nominal points come from, when the rule is not one plain value."""
    if rule.points_range is not None:
        low, high = rule.points_range
        return f"points set by the reporting agency within {signed(low)} to {signed(high)}"
    if not rule.escalation or r.get("occurrence") is None or r.get("step") is None:
        return ""
    n, step = int(r["occurrence"]), int(r["step"])  # both the kernel's
    window = rule.escalation_window
    within = f" within {window}" if window else ""
    repeat = " (the last step repeats)" if n > step else ""
    return f"{ordinal(n)} occurrence{within}: escalation step {step}{repeat}"


def cap_limit(ctx: Context, scope: str, key: str, negative: bool) -> str:
    """The scheme's bound that a cap applies, as written in the catalogue."""
    holder: Any = (ctx.scheme.indicators.get(key) if scope == "indicator"
                   else ctx.scheme.categories.get(key))
    if holder is None:
        return ""
    if negative and holder.max_deduction is not None:
        return f"max_deduction {num(holder.max_deduction)}"
    if not negative and holder.max_award is not None:
        return f"max_award {num(holder.max_award)}"
    return ""


def capped_text(ctx: Context, r: dict[str, Any]) -> str:
    """Which cap cut the event first, by its bound, and what the event keeps after all."""
    capped_by = r.get("capped_by")
    if not capped_by:
        return "capped"
    scope, _, key = capped_by.partition(":")
    limit = cap_limit(ctx, scope, key, r["points"] < 0)
    text = f"capped by the {scope} cap on {key}" + (f" ({limit})" if limit else "")
    if r.get("kept") is not None:
        kept, points = from_cents(int(r["kept"])), from_cents(int(r["points"]))
        # a cap keeps the earliest points, so an event cut whole came after the cap was full
        text += (f": earlier events reached the cap, so its {signed(points)} does not count"
                 if kept == 0 else f": keeps {signed(kept)} of {signed(points)}")
    return text
