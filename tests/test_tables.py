"""Tables never cut an id, a date or a number: whole when stdout is not a terminal (at any
width), fitted to a terminal's width otherwise, with ids and dates on one line and long
text folded; a table whose ids cannot fit is printed one record at a time."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.cells import cell_len
from rich.table import Table

from scs_cli.cli.common import _console_class, out
from scs_cli.rules.schema import bundled_catalogue_paths, load_catalogue

LONG_ID = "petitioning-above-village-head"
LONG_TEXT = "the resident says the agency recorded the wrong date and contests the event " * 2


def objections() -> Table:
    table = Table(title="Objections")
    for column in ("objection", "event", "resident", "indicator", "filed", "due"):
        table.add_column(column, no_wrap=True)
    table.add_column("grounds", overflow="fold")
    table.add_row("91", "19485", "R0001011", LONG_ID, "2024-11-27", "2024-12-08", LONG_TEXT)
    return table


def render(table: Table, terminal: bool, width: int | None,
           monkeypatch: pytest.MonkeyPatch, columns: str | None = None) -> list[str]:
    if columns is not None:
        monkeypatch.setenv("COLUMNS", columns)
    buffer = io.StringIO()
    console = _console_class()(file=buffer, force_terminal=terminal, width=width,
                               color_system=None, soft_wrap=True)
    console.print(table)
    return buffer.getvalue().splitlines()


def test_piped_tables_are_whole_whatever_columns_says(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = render(objections(), terminal=False, width=None, monkeypatch=monkeypatch,
                   columns="40")
    row = next(line for line in lines if LONG_ID in line)
    assert "2024-11-27" in row and "2024-12-08" in row and LONG_TEXT.strip() in row
    assert not any("…" in line for line in lines)


def test_a_table_too_wide_for_the_terminal_is_printed_as_records(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lines = render(objections(), terminal=True, width=80, monkeypatch=monkeypatch)
    assert max(cell_len(line) for line in lines) <= 80
    assert not any("…" in line for line in lines)
    assert any(re.fullmatch(rf"indicator +{LONG_ID} *", line) for line in lines)
    assert any(re.fullmatch(r"filed +2024-11-27 *", line) for line in lines)
    assert sum("grounds" in line for line in lines) == 1  # the text folds under its name


def test_a_table_that_fits_keeps_ids_whole_and_folds_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_row(LONG_ID, LONG_TEXT)
    lines = render(table, terminal=True, width=80, monkeypatch=monkeypatch)
    assert max(cell_len(line) for line in lines) <= 80
    assert sum(LONG_ID in line for line in lines) == 1
    assert sum("contests" in line for line in lines) == 2  # folded over several lines
    assert not any("…" in line for line in lines)


@pytest.fixture
def terminal_80(monkeypatch: pytest.MonkeyPatch) -> None:
    console = getattr(out, "console", out)
    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_width", 80)


@pytest.mark.parametrize("name", ["rongcheng-2016", "suining-2010", "guangzhou-housing-2010"])
def test_catalogue_show_at_80_columns_never_cuts_an_id(scs: Any, terminal_80: None,
                                                       name: str) -> None:
    result = scs("catalogue", "show", name)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    cat = load_catalogue(next(p for p in bundled_catalogue_paths() if p.stem == name))
    for ident in [*cat.indicators, *cat.rewards, *cat.sanctions]:
        assert re.search(rf"(^|[ │]){re.escape(ident)}([ │]|$)", result.stdout, re.M), ident


def test_catalogue_list_piped_shows_every_name_whole(scs: Any) -> None:
    result = scs("catalogue", "list")
    assert result.exit_code == 0
    assert "…" not in result.stdout
    firsts = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    for path in bundled_catalogue_paths():
        assert path.stem in firsts


def test_catalogue_list_at_80_columns_splits_no_word(scs: Any, terminal_80: None) -> None:
    """Cells wrap between words, never inside one ("public-housin" / "g")."""
    result = scs("catalogue", "list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    words = set(" ".join(lines).replace("│", " ").split())
    for path in bundled_catalogue_paths():
        cat = load_catalogue(path)
        for word in cat.city.name.split():
            assert word in words, (path.stem, word)


def test_diff_shows_both_whole_values_when_they_differ(scs: Any) -> None:
    result = scs("catalogue", "diff", "rongcheng-2016", "rongcheng-2021")
    assert result.exit_code == 0
    old = load_catalogue(next(p for p in bundled_catalogue_paths()
                              if p.stem == "rongcheng-2016"))
    new = load_catalogue(next(p for p in bundled_catalogue_paths()
                              if p.stem == "rongcheng-2021"))
    changed = [i for i in old.indicators if i in new.indicators
               and old.indicators[i].source != new.indicators[i].source
               and old.indicators[i].source and new.indicators[i].source]
    assert changed, "the bundled versions differ in some indicator's source"
    flat = " ".join(result.stdout.split())
    for ident in changed:
        assert f"{old.indicators[ident].source} → {new.indicators[ident].source}" in flat
    assert "…" not in result.stdout


def test_fits_tells_a_command_when_to_choose_a_narrower_layout(terminal_80: None) -> None:
    from scs_cli.cli.common import fits

    wide = Table()
    for year in range(2010, 2025):
        wide.add_column(str(year), no_wrap=True)
    wide.add_row(*(f"{n:,}" for n in range(10_000, 25_000, 1_000)))
    narrow = Table()
    narrow.add_column("indicator", no_wrap=True)
    narrow.add_row(LONG_ID)
    assert not fits(wide) and fits(narrow)
