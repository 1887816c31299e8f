"""Into a file or pipe, `scs explain` lays its table view out itself, without rich (issue 23:
rich took half a second for a resident with 833 events, and 30 ms to load). It must print
the bytes rich prints, or leave the layout to rich."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scs_cli.cli import common, explain_cmds
from scs_cli.cli.explain_cmds import Column

TEXT = st.text(st.sampled_from([chr(c) for c in range(32, 127)] + ["—", "≤", "→"]),
               max_size=16)
COLUMN = st.builds(Column, st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                   max_size=10),
                   st.sampled_from(["left", "right"]),
                   st.sampled_from(["no_wrap", "fold", "ratio"]))


@st.composite
def blocks(draw: Any) -> list[Any]:
    made: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["line", "blank", "grid", "table"]))
        if kind == "line":
            made.append(("line", draw(TEXT), draw(st.sampled_from(["", "bold"]))))
        elif kind == "blank":
            made.append(("blank",))
        else:
            columns = tuple(draw(st.lists(COLUMN, min_size=1, max_size=4)))
            rows = draw(st.lists(st.tuples(*[TEXT] * len(columns)), max_size=4))
            made.append(("grid", columns, rows) if kind == "grid" else
                        ("table", draw(TEXT.filter(bool)), columns, rows))
    return made


def _by_rich(made: list[Any], monkeypatch: pytest.MonkeyPatch) -> str:
    file = io.StringIO()
    console = common._console_class()(file=file, soft_wrap=True, markup=False)
    assert not console.is_terminal and console.width == common.PIPED_WIDTH
    with monkeypatch.context() as patch:
        patch.setattr(explain_cmds, "out", console)
        explain_cmds._rich(made)
    return file.getvalue()


@settings(max_examples=400, deadline=None)
@given(blocks())
def test_any_view_is_printed_as_rich_prints_it_or_left_to_rich(made: list[Any]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        plain = explain_cmds._plain(made)
        if plain is not None:
            assert plain + "\n" == _by_rich(made, monkeypatch)


TYPICAL = [
    ("547784", "2018-01-27", "mlm-fraud", "-30", "0", "expired",
     "expired on 2023-01-27 (expires_after 5y, assumed: no source gives it)"),
    ("4968182", "2024-12-19", "neighbourly-help", "+0.5", "+0.5", "counted",
     "counts: the catalogue sets no expiry"),
    ("7", "2023-02-05", "other", "-12.5", "0", "voided",
     "voided: recorded in error ([bold]wrong[/bold] resident :smile:)"),
]


def test_a_typical_events_table_is_printed_as_rich_prints_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for rows in (TYPICAL, []):
        made: list[Any] = [("table", explain_cmds.EVENTS_TITLE, explain_cmds.EVENT_COLUMNS,
                            rows)]
        plain = explain_cmds._plain(made)
        assert plain is not None
        assert plain + "\n" == _by_rich(made, monkeypatch)


@pytest.mark.parametrize("cell", ["名称", "a\nb", "a\x1b[2Jb", "é", "a ", "a :smile: b"])
def test_what_rich_alone_knows_how_to_print_is_left_to_rich(cell: str) -> None:
    columns = (Column("a"), Column("b"))
    assert explain_cmds._plain([("table", "T", columns, [("x", cell)])]) is None
    assert explain_cmds._plain([("table", "T", columns, [("x", "y")])]) is not None


EVENTS = """resident_id,indicator,occurred_on,agency,reference,note,points
R1,red-light,2023-01-05,police,p-1,,
R1,other,2023-02-05,court,c-1,late,-12.5
R1,dog,2023-04-01,police,p-2,,
R1,blood-donation,2023-03-01,hospital,h-1,,
R2,dog,2023-04-01,police,p-3,,
"""


@pytest.mark.parametrize("resident_id", ["R1", "R2"])
def test_scs_explain_prints_the_same_either_way(scs: Any, tiny_ledger: Any,
                                                monkeypatch: pytest.MonkeyPatch,
                                                resident_id: str) -> None:
    ledger = tiny_ledger(EVENTS)
    assert scs("ledger", "void", ledger, "2", "--reason", "typo [sic]").exit_code == 0
    assert scs("objection", "file", ledger, "5", "--on", "2024-01-02", "--grounds",
               "not my dog").exit_code == 0
    args = ("explain", ledger, resident_id, "--as-of", "2024-06-01")
    calls: list[bool] = []
    real = explain_cmds._plain

    def spy(made: Any) -> str | None:
        calls.append(True)
        return real(made)

    monkeypatch.setattr(explain_cmds, "_plain", spy)
    by_hand = scs(*args)
    assert calls and by_hand.exit_code == 0
    monkeypatch.setattr(explain_cmds, "_plain", lambda made: None)
    by_rich = scs(*args)
    assert by_rich.exit_code == 0
    assert by_hand.stdout == by_rich.stdout
    assert "Events (oldest first)" in by_hand.stdout
