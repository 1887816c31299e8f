"""Text from catalogues and ledgers made safe to show: the one sanitiser every renderer uses.

Notes, grounds, names and ids come from files anyone may write. Shown on a terminal, an
escape sequence could rewrite the screen or plant a hyperlink (OSC 8), and a bidirectional
override could make text read in another order than it is stored; in HTML the overrides do
the same. `shown` removes them; it never changes printable text (markup is kept from being
read by the consoles, which have markup off).
"""

from __future__ import annotations

import re

# C0 controls but newline and tab (which lay text out), DEL, the C1 controls (U+0080-U+009F,
# CSI among them), and the bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` without control characters (ESC, BEL, CR, C1) or bidi overrides; newline and
    tab stay. Removing ESC leaves the rest of an escape sequence as plain characters."""
    return _CONTROL.sub("", text)
