"""A letter's plain words for what the catalogue and the scoring call by key.

A resident reads "where tier B begins" and "how long it counts", never ``tiers[1].min``
or ``expires_after``; a status reads as what it means to them ("counts", "stopped
counting on 2024-03-01"), never the engine's name for it.
"""

from __future__ import annotations

import re
from datetime import date

from scs_cli.core.text import duration_words
from scs_cli.rules.model import Catalogue

ASSUMED = "a value the catalogue assumes: no published source gives it"

# what of a rule an event's points, expiry or caps can rest on (explain's EVENT_KEYS)
RULE_KEYS = {
    "points": "its points",
    "points_range": "the range of its points",
    "escalation": "how its points grow when repeated",
    "escalation_window": "how long repeats are counted together",
    "limit": "how often it may count",
    "expires_after": "how long it counts",
    "max_deduction": "the most it may take off",
    "max_award": "the most it may add",
    "tier_cap": "the best tier it allows",
    "score_cap": "the highest score it allows",
}
SCALE_KEYS = {"base": "the base score everyone starts from",
              "min": "the lowest possible score", "max": "the highest possible score"}
PATH = re.compile(r"^(?P<table>[a-z_]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<id>[^.]+))?"
                  r"\.(?P<key>[a-z_]+)$")


def rule_key_words(key: str) -> str:
    """An event's assumed key (``expires_after``, ``categories.c.max_deduction``)."""
    if key.startswith("categories."):
        return "the cap on its category"
    return RULE_KEYS.get(key, "one of its values")


def assumption_words(path: str, scheme: Catalogue) -> str:
    """``tiers[1].min`` → ``where tier B begins``; ``indicators.x.expires_after`` →
    ``how long "Late card payment" counts``. Unknown shapes say "a value of the rules"."""
    m = PATH.match(path)
    if m is None:
        return "a value of the rules"
    table, index, ident, key = m["table"], m["index"], m["id"], m["key"]
    if table == "tiers" and index is not None and int(index) < len(scheme.tiers):
        return f"where tier {scheme.tiers[int(index)].name} begins"
    if table == "scale" and ident is None:
        return SCALE_KEYS.get(key, "the scale")
    if table == "indicators" and ident:
        rule = scheme.indicators.get(ident)
        name = f"“{rule.name}”" if rule else "a record"
        words = RULE_KEYS.get(key, "a value").replace("its ", "the ").replace("it ", "")
        if key == "expires_after":
            return f"how long {name} counts"
        return f"{words} for {name}"
    if table == "categories" and ident:
        cat = scheme.categories.get(ident)
        return f"the cap on “{cat.name if cat else ident}” records"
    if table == "rewards" and ident:
        reward = scheme.rewards.get(ident)
        return f"who receives “{reward.name if reward else ident}”"
    if table == "policy" and key == "objection_deadline":
        return "the time the office has to decide an objection"
    return "a value of the rules"


def stops_words(status: str, stops_on: date | None, scored: bool) -> str:
    """The "stops counting" cell."""
    if not scored:
        return "kept, not counting"
    if status in ("counted", "capped", "suspended"):
        return stops_on.isoformat() if stops_on else "no end set"
    if status in ("expired", "lifted"):
        return f"stopped on {stops_on.isoformat()}" if stops_on else "stopped"
    if status == "over-limit":
        return "never counted"
    if status == "voided":
        return "removed"
    return "—"


STATUS = {
    "counted": "counts",
    "capped": "counts in part: held back by a cap",
    "over-limit": "does not count: over the rule's limit per period",
    "expired": "no longer counts: its time ran out",
    "lifted": "no longer counts: lifted",
    "voided": "removed from your record",
    "suspended": "does not count while your objection is pending",
}


def status_words(status: str, on: date | None = None, *, scored: bool = True) -> str:
    """A status as a resident reads it; ``future`` and ``not recorded`` against the date
    they are measured from (the statement's, or a saved run's)."""
    if status == "future":  # recorded, but dated after the day it is judged on
        return f"dated after {on.isoformat()}" if on else "dated later"
    if status == "not recorded":
        return f"not yet recorded on {on.isoformat()}" if on else "not yet recorded"
    if not scored and status in ("counted", "capped"):
        return "kept on record, not counting"
    return STATUS.get(status, "on record")


# explain's reasons name a rule's keys where a terminal user reads them; a letter says them
_KEYS = [("inside clean_for ", "within the clean period of "),
         ("clean_for ", "a clean period of "), (" (max_deduction)", ""), (" (max_award)", ""),
         ("max_deduction ", "a cap of "), ("max_award ", "a cap of "),
         ("expires_after ", "counts for "), ("escalation step ", "step "),
         ("tier_cap", "tier cap"), ("score_cap", "score cap")]


_DURATION = re.compile(r"\b\d+[dwmy]\b")  # "1y" → "1 year"


def plain(text: str) -> str:
    """An explanation's sentence without the catalogue's key names."""
    for key, words in _KEYS:
        text = text.replace(key, words)
    return _DURATION.sub(lambda m: duration_words(m.group(0)), text)
