"""Into a file or pipe, `scs explain` lays the events table out itself (issue 23: rich took
half a second for a resident with 833 events). It must print the bytes rich prints."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from scs_cli.cli import common, explain_cmds

ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=24)
ROWS = st.lists(st.tuples(*[ASCII] * 7), max_size=6)


def _by_rich(rows: Sequence[tuple[str, ...]]) -> str:
    file = io.StringIO()
    console = common._console_class()(file=file, soft_wrap=True, markup=False)
    assert not console.is_terminal and console.width == common.PIPED_WIDTH
    console.print(explain_cmds._events_table(explain_cmds._titled(
        explain_cmds.EVENTS_TITLE), rows))
    return file.getvalue()


def _by_hand(rows: Sequence[tuple[str, ...]]) -> str | None:
    file = io.StringIO()
    console = common._console_class()(file=file, soft_wrap=True, markup=False)
    piped = explain_cmds._piped_events(rows)
    if piped is None:
        return None
    console.print(Text(piped), soft_wrap=True)
    return file.getvalue()


TYPICAL = [
    ("547784", "2018-01-27", "mlm-fraud", "-30", "0", "expired",
     "expired on 2023-01-27 (expires_after 5y, assumed: no source gives it)"),
    ("4968182", "2024-12-19", "neighbourly-help", "+0.5", "+0.5", "counted",
     "counts: the catalogue sets no expiry"),
    ("7", "2023-02-05", "other", "-12.5", "0", "voided",
     "voided: recorded in error ([bold]wrong[/bold] resident)"),
]


def test_a_typical_table_is_printed_as_rich_prints_it() -> None:
    assert _by_hand(TYPICAL) == _by_rich(TYPICAL)
    assert _by_hand([]) == _by_rich([])


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_any_printable_ascii_table_is_printed_as_rich_prints_it_or_left_to_rich(
        rows: list[tuple[str, ...]]) -> None:
    by_hand = _by_hand(rows)
    if by_hand is not None:
        assert by_hand == _by_rich(rows)


def test_cells_beyond_printable_ascii_are_left_to_rich() -> None:
    for cell in ("名称", "a\nb", "a\x1b[2Jb", "é", " a", "a "):
        assert explain_cmds._piped_events([(*TYPICAL[0][:6], cell)]) is None
    assert explain_cmds._piped_events(TYPICAL) is not None


EVENTS = """resident_id,indicator,occurred_on,agency,reference,note,points
R1,red-light,2023-01-05,police,p-1,,
R1,other,2023-02-05,court,c-1,late,-12.5
R1,dog,2023-04-01,police,p-2,,
R1,blood-donation,2023-03-01,hospital,h-1,,
"""


def test_scs_explain_prints_the_same_either_way(scs: Any, tiny_ledger: Any,
                                                monkeypatch: Any) -> None:
    ledger = tiny_ledger(EVENTS)
    assert scs("ledger", "void", ledger, "2", "--reason", "typo [sic]").exit_code == 0
    args = ("explain", ledger, "R1", "--as-of", "2024-06-01")
    fast = scs(*args)
    monkeypatch.setattr(explain_cmds, "_piped_events", lambda rows: None)
    slow = scs(*args)
    assert fast.exit_code == slow.exit_code == 0
    assert "voided: recorded in error (typo [sic])" in fast.stdout
    assert fast.stdout == slow.stdout
