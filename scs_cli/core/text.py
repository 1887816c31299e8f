"""Numbers, dates and durations as people read them, and the one HTML escaper.

Every surface (tables, Markdown, reports, statements, explanations) writes its numbers
through here, so a sign, a missing value or a decimal reads the same everywhere: ``+5``,
``-0.5``, ``—`` for a value that is not there. HTML is escaped by Jinja's own escaper
(MarkupSafe), the one the templates autoescape with, after removing the Unicode controls
that could reorder a line on screen (bidi overrides and isolates).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from markupsafe import Markup
from markupsafe import escape as _markup_escape

DASH = "—"  # a value that is not there
UNITS = {"d": ("day", "days"), "w": ("week", "weeks"), "m": ("month", "months"),
         "y": ("year", "years")}
# U+202A-E (embeddings, overrides) and U+2066-9 (isolates): text from a catalogue or a
# ledger could otherwise make a record read backwards
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def decimal_text(value: Decimal | int) -> str:
    """Shortest exact decimal text: ``Decimal('1000.00')`` → ``1000``, ``987.50`` → ``987.5``."""
    d = Decimal(value)
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def num(value: Decimal | int | None) -> str:
    """`decimal_text`, or ``—`` for None."""
    return DASH if value is None else decimal_text(value)


def signed(value: Decimal | int | float | None) -> str:
    """A number with its sign: ``+5``, ``-0.5``, ``0``; ``—`` for None."""
    if value is None:
        return DASH
    text = decimal_text(Decimal(str(value)) if isinstance(value, float) else value)
    return "+" + text if value > 0 else text


def day(value: date | datetime | None) -> str:
    """``2024-06-30``; a timestamp as ``2024-06-30 12:00:00 UTC``; ``—`` for None."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


def duration_words(text: str) -> str:
    """``15d`` → ``15 days``, ``1m`` → ``1 month``."""
    amount, unit = int(text[:-1]), text[-1]
    one, many = UNITS[unit]
    return f"{amount} {one if amount == 1 else many}"


def strip_bidi(text: str) -> str:
    """The text without bidi overrides and isolates."""
    return BIDI.sub("", text)


def escape(value: object) -> Markup:
    """HTML-escaped text (Jinja's escaper), bidi controls removed; markup passes as is."""
    if isinstance(value, Markup):
        return value
    return _markup_escape(strip_bidi(str(value)))
