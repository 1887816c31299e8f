"""`LedgerFile.residents`: a bundle of residents read in one pass over the batches (the
statements read their residents so) gives each of them what `LedgerFile.resident` gives
them one at a time, checks every batch alike and refuses a damaged one with the same line."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from test_explain_index import _stamps, imported
from test_tamper import flip_a_byte

from scs_cli.core.errors import LedgerError
from scs_cli.explain.explain import each_resident
from scs_cli.ledger import batches
from scs_cli.ledger.source import LedgerFile
from scs_cli.ledger.store import Ledger

FRAMES = ("events", "voids", "lifts", "objections", "consents", "repairs")


@pytest.fixture
def ledger(scs: Any, tiny_catalogue: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three imports of two events a batch (residents across batches and imports), and
    between them a void, a lift, objections (one decided) and consents."""
    monkeypatch.setattr(batches, "BATCH_ROWS", 2)

    filed: list[int] = []

    def records(number: int, path: Path) -> None:
        with Ledger.open(path) as book:
            if number == 0:
                book.void(1, "entered twice")
                filed.append(book.file_objection(5, date(2023, 4, 10), "not my dog"))
                book.consent("R3", date(2023, 1, 1))
            elif number == 1:
                book.lift(6, date(2023, 12, 1))
                book.decide_objection(filed[0], "rejected", date(2023, 5, 1))
                book.file_objection(8, date(2023, 7, 5), "the light was green")
                book.consent("R9", date(2023, 2, 1))  # a resident with consents only

    return imported(scs, tiny_catalogue, tmp_path, records)


BUNDLES = (["R1", "R2", "R3", "R4"], ["R4", "R1"], ["R3", "R9"], ["R2", "R5"], ["R5"])


@pytest.mark.parametrize("bundle", BUNDLES)
def test_a_bundle_read_gives_each_resident_what_reading_them_alone_gives(
        ledger: Path, bundle: list[str]) -> None:
    with LedgerFile.open(ledger) as source:
        for known_at in (None, datetime(2000, 1, 1),
                         *(datetime.fromisoformat(s) for s in _stamps(ledger))):
            data, notes = source.residents(bundle, known_at)
            present = [rid for rid in bundle if rid in set(data.residents["resident_id"])
                       or rid in set(data.consents["resident_id"])]
            apart = each_resident(data.for_residents(present), present)
            for rid in bundle:
                alone, alone_notes = source.resident(rid, known_at)
                if rid not in apart:  # nothing of theirs recorded by then
                    assert alone.events.is_empty() and alone.consents.is_empty()
                    continue
                mine = apart[rid]
                for name in FRAMES:
                    want, got = getattr(alone, name), getattr(mine, name)
                    if name == "events":  # numbered within each read: compare the text
                        want, got = (f.drop("resident", "code") for f in (want, got))
                    assert got.equals(want), (rid, known_at, name)
                assert set(alone_notes.void_reasons.items()) <= set(notes.void_reasons.items())
                assert set(alone_notes.objection_grounds.items()) <= set(
                    notes.objection_grounds.items())
            # the notes are the bundle's residents' and no one else's
            assert len(notes.void_reasons) == sum(
                len(source.resident(rid, known_at)[1].void_reasons) for rid in bundle)
            assert len(notes.objection_grounds) == sum(
                len(source.resident(rid, known_at)[1].objection_grounds) for rid in bundle)


def test_the_fixture_holds_what_the_bundles_are_meant_to_cover(ledger: Path) -> None:
    with LedgerFile.open(ledger) as source:
        data, notes = source.residents(["R1", "R2", "R3", "R4", "R9"])
    assert data.events["event_id"].to_list() == list(range(1, 11))
    assert data.voids["event_id"].to_list() == [1]
    assert data.lifts["event_id"].to_list() == [6]
    assert data.objections["event_id"].to_list() == [5, 8]
    assert sorted(data.consents["resident_id"].to_list()) == ["R3", "R9"]
    assert dict(notes.void_reasons) == {1: "entered twice"}


@pytest.mark.parametrize("batch_id", [4, 3, 6])
def test_a_damaged_batch_refuses_a_bundle_with_the_one_line_of_one_resident(
        ledger: Path, batch_id: int) -> None:
    """Batch 3 holds only R3's event 5, batch 6 only the last import's: every batch is
    checked whichever residents the bundle names."""
    flip_a_byte(ledger, batch_id)
    with LedgerFile.open(ledger) as source:
        with pytest.raises(LedgerError) as alone:
            source.resident("R1")
        for bundle in (["R1", "R2"], ["R4"], ["R1", "R2", "R3", "R4"]):
            with pytest.raises(LedgerError) as together:
                source.residents(bundle)
            assert str(together.value) == str(alone.value)
    assert f"event batch {batch_id} is damaged: its data bytes do not match" in str(
        alone.value)
