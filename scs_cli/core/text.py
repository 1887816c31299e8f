"""Text as people read it: the one sanitiser, numbers, dates and durations, the one escaper.

Notes, grounds, names and ids come from files anyone may write. Shown on a terminal, an
escape sequence could rewrite the screen or plant a hyperlink (OSC 8), and a bidirectional
override could make text read in another order than it is stored; in HTML the overrides do
the same. `shown` removes them; it never changes printable text (markup is kept from being
read by the consoles, which have markup off).

Every surface (tables, Markdown, reports, statements, explanations) writes its numbers
through here, so a sign, a missing value or a decimal reads the same everywhere: ``+5``,
``-0.5``, ``—`` for a value that is not there. HTML is escaped by Jinja's own escaper
(MarkupSafe), the one the templates autoescape with, after `shown`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from markupsafe import Markup
from markupsafe import escape as _markup_escape

# C0 controls but newline and tab (which lay text out), DEL, the C1 controls (U+0080-U+009F,
# CSI among them), and the bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DASH = "—"  # a value that is not there
UNITS = {"d": ("day", "days"), "w": ("week", "weeks"), "m": ("month", "months"),
         "y": ("year", "years")}


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


def sentence(text: str) -> str:
    """``text`` begun with a capital, the rest as written (Jinja's ``capitalize`` lowers
    the rest: "keeps your tier at B" read "Keeps your tier at b")."""
    return text[:1].upper() + text[1:]


def shown(text: str) -> str:
    """`text` without control characters (ESC, BEL, CR, C1) or bidi overrides; newline and
    tab stay. Removing ESC leaves the rest of an escape sequence as plain characters."""
    return _CONTROL.sub("", text)


def escape(value: object) -> Markup:
    """HTML-escaped text (Jinja's escaper), control characters and bidi overrides removed
    (`shown`); markup passes as is."""
    if isinstance(value, Markup):
        return value
    return _markup_escape(shown(str(value)))
