"""The prepared-frame cache (scoring/prepared.py): a kept frame scores exactly as preparing
the events again does, is used only for the same rows under the same rules, and a damaged
or unreadable one is never used."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scs_cli.core.errors import LedgerError
from scs_cli.demo.generate import generate_file
from scs_cli.engine.kernel import evaluate, prepare
from scs_cli.ledger.source import LedgerFile
from scs_cli.ledger.store import Ledger
from scs_cli.scoring.batch import score_ledger
from scs_cli.scoring.prepared import KEEP, PreparedCache, prepared_rows
from tests.test_tamper import flip_a_byte

AS_OF = date(2024, 6, 30)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Rongcheng 2016 with 3,000 generated events, a void, a lift and objections."""
    csv, path = tmp_path / "events.csv", tmp_path / "city.db"
    generate_file(["rongcheng-2016"], 300, 3000, 7, csv, until=date(2024, 6, 1))
    Ledger.create(path, "rongcheng-2016").close()
    with Ledger.open(path) as opened:
        opened.import_file(csv)
    return path


def rows(path: Path, store: PreparedCache | None, catalogue_shas: bool = True):  # type: ignore[no-untyped-def]
    """(prepared rows, residents scored from them) of a ledger as known now."""
    known = datetime.now(UTC)
    with LedgerFile.open(path) as source:
        adopted = source.adopted(known)
        shas = tuple(a.sha256 for a in adopted) if catalogue_shas else None
        got = prepared_rows(source, known, source.history(known), shas, cache=store)
    return got, evaluate(got.prepared, AS_OF, detail=False).residents


def fresh(path: Path) -> pl.DataFrame:
    """The residents as preparing every event again gives them (no cache)."""
    with Ledger.open(path) as opened:
        data, history = opened.scoring_data(), opened.history()
    return evaluate(prepare(data, history), AS_OF, detail=False).residents


def test_a_kept_frame_scores_as_preparing_again_does(ledger: Path, tmp_path: Path) -> None:
    store = PreparedCache(tmp_path / "cache")
    first, scored = rows(ledger, store)
    second, again = rows(ledger, store)
    assert (first.kept, second.kept) == (False, True)
    assert second.data.events.height == 0  # the events were checked, not decoded
    assert_frame_equal(scored, fresh(ledger))
    assert_frame_equal(again, scored)
    # every as-of date, not only the one the frame was first used for
    for day in (date(2017, 3, 1), date(2020, 12, 31), date(2030, 1, 1)):
        assert_frame_equal(evaluate(second.prepared, day, detail=False).residents,
                           evaluate(first.prepared, day, detail=False).residents)


def test_a_caller_that_reads_the_events_gets_them_with_a_kept_frame(ledger: Path,
                                                                    tmp_path: Path) -> None:
    """`scs score --baseline` and `scs impact` prepare another rule book from the events:
    asked for, they come with a kept frame, as read (not read a second time)."""
    store = PreparedCache(tmp_path / "cache")
    rows(ledger, store)
    known = datetime.now(UTC)
    with LedgerFile.open(ledger) as source:
        shas = tuple(a.sha256 for a in source.adopted(known))
        got = prepared_rows(source, known, source.history(known), shas, events=True,
                            cache=store)
        assert got.kept
        assert_frame_equal(got.data.events, source.data(known).events)


@pytest.mark.parametrize("change", ["void", "lift", "objection", "upheld", "import"])
def test_any_change_to_the_rows_is_another_key(ledger: Path, tmp_path: Path,
                                               change: str) -> None:
    store = PreparedCache(tmp_path / "cache")
    rows(ledger, store)
    with Ledger.open(ledger) as opened:
        event = int(opened.scoring_data().events["event_id"][5])
        if change == "void":
            opened.void(event, "entered twice")
        elif change == "lift":
            opened.lift(event, date(2020, 1, 1))
        elif change in ("objection", "upheld"):
            objection = opened.file_objection(event, date(2020, 1, 1), "not me")
            if change == "upheld":
                opened.decide_objection(objection, "upheld", date(2020, 2, 1))
        else:
            more = tmp_path / "more.csv"
            generate_file(["rongcheng-2016"], 50, 200, 8, more, until=date(2024, 6, 1))
            opened.import_file(more)
    after, scored = rows(ledger, store)
    assert not after.kept
    assert_frame_equal(scored, fresh(ledger))
    assert rows(ledger, store)[0].kept  # and that one is kept in turn


@pytest.mark.parametrize("column", ["nominal0", "ref0", "day", "lift_day", "rix"])
def test_a_frame_that_reads_back_otherwise_is_never_used(ledger: Path, tmp_path: Path,
                                                        column: str) -> None:
    """Damage that still decodes (one value changed, or made null) is the kind that would
    score wrongly: the checksums of what was written catch it."""
    store = PreparedCache(tmp_path / "cache")
    rows(ledger, store)
    (kept,) = [p for p in store.directory.iterdir() if p.is_dir()]
    frame = pl.read_ipc((kept / "frame.arrow").read_bytes())  # a copy: the file is rewritten
    at = frame.height // 2
    value = frame[column][at]
    if column == "ref0":
        value = not value
    elif column == "lift_day":  # mostly null: a lift appears, or disappears
        value = 18_000 if value is None else None
    elif column == "rix":
        value = None
    else:
        value += 1
    changed = frame[column].scatter(at, value)
    frame.with_columns(changed).write_ipc(kept / "frame.arrow", compression="uncompressed")
    again, scored = rows(ledger, store)
    assert not again.kept
    assert_frame_equal(scored, fresh(ledger))
    assert rows(ledger, store)[0].kept  # prepared again and kept, intact


def test_a_flipped_byte_never_changes_a_score(ledger: Path, tmp_path: Path) -> None:
    store = PreparedCache(tmp_path / "cache")
    rows(ledger, store)
    (kept,) = [p for p in store.directory.iterdir() if p.is_dir()]
    frame = kept / "frame.arrow"
    data = bytearray(frame.read_bytes())
    for at in range(64, len(data), max(len(data) // 50, 1)):  # bytes all through the file
        data[at] ^= 0x10
    frame.write_bytes(bytes(data))
    again, scored = rows(ledger, store)
    assert not again.kept
    assert_frame_equal(scored, fresh(ledger))


@pytest.mark.parametrize("damage", ["header", "truncated", "missing"])
def test_an_unreadable_frame_is_prepared_again(ledger: Path, tmp_path: Path,
                                               damage: str) -> None:
    store = PreparedCache(tmp_path / "cache")
    rows(ledger, store)
    (kept,) = [p for p in store.directory.iterdir() if p.is_dir()]
    if damage == "header":
        (kept / "header.json").write_text("{not json", encoding="utf-8")
    elif damage == "truncated":
        frame = kept / "frame.arrow"
        frame.write_bytes(frame.read_bytes()[:1000])
    else:
        (kept / "residents.arrow").unlink()
    again, scored = rows(ledger, store)
    assert not again.kept
    assert_frame_equal(scored, fresh(ledger))


def test_a_damaged_batch_is_refused_even_with_a_kept_frame(ledger: Path,
                                                          tmp_path: Path) -> None:
    store = PreparedCache(tmp_path / "cache")
    rows(ledger, store)
    flip_a_byte(ledger)
    with pytest.raises(LedgerError, match="damaged"):
        rows(ledger, store)


def test_residents_named_otherwise_are_another_key(tmp_path: Path) -> None:
    """The same events under other resident ids sort the residents otherwise."""
    csv = tmp_path / "events.csv"
    generate_file(["rongcheng-2016"], 100, 800, 3, csv, until=date(2024, 6, 1))
    text = csv.read_text(encoding="utf-8")
    other = tmp_path / "renamed.csv"
    # reverse the ids' order: R00001 becomes the last resident id, R00100 the first
    renamed = pl.read_csv(csv, infer_schema=False).with_columns(
        resident_id=pl.lit("X") + (1_000_000 - pl.col("resident_id").str.extract(
            r"(\d+)").cast(pl.Int64)).cast(pl.String))
    renamed.write_csv(other)
    assert text != other.read_text(encoding="utf-8")
    store = PreparedCache(tmp_path / "cache")
    scored = []
    for name, events in (("a.db", csv), ("b.db", other)):
        path = tmp_path / name
        Ledger.create(path, "rongcheng-2016").close()
        with Ledger.open(path) as opened:
            opened.import_file(events)
        got, residents = rows(path, store)
        assert not got.kept
        assert_frame_equal(residents, fresh(path))
        scored.append(residents)
    assert scored[0]["resident_id"].to_list() != scored[1]["resident_id"].to_list()


def test_what_if_catalogues_and_an_off_switch_keep_nothing(ledger: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    store = PreparedCache(tmp_path / "cache")
    got, _ = rows(ledger, store, catalogue_shas=False)  # a what-if has no adopted SHA-256
    assert not got.kept and not store.directory.exists()
    monkeypatch.setenv("SCS_CACHE", "off")
    assert PreparedCache.from_environment() is None
    monkeypatch.setenv("SCS_CACHE", "")
    monkeypatch.setenv("SCS_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert PreparedCache.from_environment() == PreparedCache(tmp_path / "elsewhere")


def test_an_unwritable_folder_only_costs_time(ledger: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    got, scored = rows(ledger, PreparedCache(blocked / "cache"))
    assert not got.kept
    assert_frame_equal(scored, fresh(ledger))


def test_a_folder_others_may_write_is_never_read_nor_written(ledger: Path,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    store = PreparedCache(folder)
    first, _ = rows(ledger, store)
    assert not first.kept and any(folder.iterdir())
    folder.chmod(0o777)  # anyone could have put a frame there: it is not read
    second, scored = rows(ledger, store)
    assert not second.kept
    assert_frame_equal(scored, fresh(ledger))
    # nor is anything kept there: a score never leaves a frame for another to damage
    for kept in folder.iterdir():
        shutil.rmtree(kept)
    third, _ = rows(ledger, store)
    assert not third.kept and not any(folder.iterdir())
    folder.chmod(0o700)
    rows(ledger, store)
    fourth, _ = rows(ledger, store)
    assert fourth.kept


def test_only_the_most_recently_used_frames_are_kept(ledger: Path, tmp_path: Path) -> None:
    store = PreparedCache(tmp_path / "cache")
    with Ledger.open(ledger) as opened:
        ids = opened.scoring_data().events["event_id"].to_list()
    first = None
    for n in range(KEEP + 2):
        got, _ = rows(ledger, store)
        first = first or next(p for p in store.directory.iterdir() if p.is_dir())
        os.utime(first / "header.json")  # the first frame stays the most recently used
        with Ledger.open(ledger) as opened:
            opened.void(int(ids[n]), "test")
    kept = [p for p in store.directory.iterdir() if p.is_dir()]
    assert len(kept) == KEEP
    assert first in kept
    assert not [p for p in store.directory.iterdir() if p.name.startswith(".writing")]


def test_nothing_kept_names_a_resident(ledger: Path, tmp_path: Path) -> None:
    store = PreparedCache(tmp_path / "cache")
    _, scored = rows(ledger, store)
    files = b"".join(p.read_bytes() for p in store.directory.rglob("*") if p.is_file())
    assert files
    assert not [r for r in scored["resident_id"].to_list() if r.encode() in files]


def test_score_command_uses_the_cache_and_says_so(ledger: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCS_CACHE_DIR", str(tmp_path / "cache"))
    said: list[str] = []
    cold = score_ledger(ledger, AS_OF, progress=said.append)
    warm = score_ledger(ledger, AS_OF, progress=said.append)
    assert_frame_equal(warm.result.residents, cold.result.residents)
    assert [s for s in said if "cache" in s] and not any("cache" in s for s in said[:2])
    assert warm.head == cold.head


def test_an_import_leaves_the_frame_for_the_next_score(scs, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setenv("SCS_CACHE_DIR", str(tmp_path / "cache"))
    csv, path = tmp_path / "events.csv", tmp_path / "city.db"
    generate_file(["rongcheng-2016"], 100, 600, 5, csv, until=date(2024, 6, 1))
    assert scs("ledger", "init", path, "--catalogue", "rongcheng-2016").exit_code == 0
    imported = scs("ledger", "import", path, csv)
    assert imported.exit_code == 0, imported.stderr
    said: list[str] = []
    scored = score_ledger(path, AS_OF, progress=said.append)
    assert any("cache" in s for s in said)
    assert_frame_equal(scored.result.residents, fresh(path))
    monkeypatch.setenv("SCS_CACHE", "off")  # nothing kept, nothing said, import the same
    more = tmp_path / "more.csv"
    generate_file(["rongcheng-2016"], 20, 100, 6, more, until=date(2024, 6, 1))
    assert scs("ledger", "import", path, more).exit_code == 0
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 1
