"""`scs report` end to end on small real ledgers (the tiny catalogue, built with scs itself)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scs_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny.toml"
AS_OF = date(2024, 6, 30)
COUNT_KEYS = {"residents", "events", "voids", "lifts", "objections", "upheld", "pending",
              "overdue", "residents_scored", "events_recorded", "events_counted",
              "events_judged"}


def run(*args):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def resident_ids(n: int = 30) -> list[str]:
    return [f"zq{i:03d}-res" for i in range(n)]


def make_ledger(directory: Path, catalogue: Path = TINY, name: str = "city.db") -> Path:
    """30 residents: 24 end in tier A, 4 in B, 2 in C (small cells on purpose).

    Resident 0 loses its donation (void) and its dog event (lift) and gets -5: 995, B.
    Both events of resident 1 are under objection, so neither counts: 1000, A.
    """
    ids = resident_ids()
    rows = ["resident_id,indicator,occurred_on,agency,reference,points"]
    ref = 0

    def add(rid: str, indicator: str, day: str, agency: str, points: str = "") -> None:
        nonlocal ref
        ref += 1
        rows.append(f"{rid},{indicator},{day},{agency},ref-{ref},{points}")

    for i, rid in enumerate(ids):
        add(rid, "blood-donation", f"2023-{1 + i % 12:02d}-10", "hospital")
        add(rid, "dog", "2024-02-03", "police")  # -3: 1007.5, still A
    for rid in ids[25:28]:
        add(rid, "red-light", "2024-05-20", "police")  # 957.5: B
    for rid in ids[28:]:
        add(rid, "defaulter", "2024-04-02", "court")  # tier cap C
    add(ids[0], "other", "2024-06-01", "court", "-5")  # 1002.5: still A
    events = directory / f"{name}.csv"
    events.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ledger = directory / name
    for args in (("ledger", "init", ledger, "--catalogue", catalogue),
                 ("ledger", "import", ledger, events),
                 ("ledger", "void", ledger, "1", "--reason", "recorded in error"),
                 ("ledger", "lift", ledger, "2", "--on", "2024-03-01"),
                 ("objection", "file", ledger, "3", "--on", "2024-06-01", "--grounds", "x"),
                 ("objection", "file", ledger, "4", "--on", "2024-06-25", "--grounds", "y")):
        result = run(*args)
        assert result.exit_code == 0, result.stderr
    return ledger


def save_run(ledger: Path, as_of: date) -> None:
    """A saved run, recorded the way `scs score --save` records it (`scs_cli.scoring.runs`)."""
    from scs_cli.engine.kernel import score
    from scs_cli.ledger.store import Ledger
    from scs_cli.scoring.runs import save_run as save

    with Ledger.open(ledger) as led:
        result = score(led.scoring_data(), led.history(), as_of, detail=False)
        save(led, result.residents, as_of, datetime.now(UTC), [a.sha256 for a in led.adopted()])


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = make_ledger(tmp_path_factory.mktemp("ledger"))
    save_run(path, date(2024, 5, 31))
    return path


@pytest.fixture(scope="module")
def report(ledger, tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("report")
    result = run("report", ledger, "--as-of", AS_OF, "--output", out)
    assert result.exit_code == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def public(ledger, tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("public")
    result = run("report", ledger, "--as-of", AS_OF, "--output", out, "--public")
    assert result.exit_code == 0, result.stderr
    return out


def counts(node, key=None):  # type: ignore[no-untyped-def]
    """Every count in a report.json: (key, value) for fields named like counts."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in COUNT_KEYS and isinstance(v, int) and not isinstance(v, bool):
                yield k, v
            yield from counts(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from counts(v, key)


def test_writes_each_format_and_prints_one_path_per_line(report):  # type: ignore[no-untyped-def]
    out, result = report
    printed = [Path(line) for line in result.stdout.splitlines()]
    city = out / "exampleton"
    assert set(printed) == {city / "index.html", city / "report.md", city / "report.json",
                            city / "score-distribution.svg", city / "tier-shares.svg",
                            city / "tier-shares-monthly.svg", city / "indicators.svg",
                            out / "index.html", out / "index.json"}
    assert all(p.is_file() for p in printed)
    assert "open" in result.stderr and str(out / "index.html") in result.stderr
    for svg in city.glob("*.svg"):
        assert svg.read_text().startswith("<svg")


def test_json_tier_counts_equal_the_engine_score(ledger, report):  # type: ignore[no-untyped-def]
    from scs_cli.engine.kernel import score
    from scs_cli.ledger.store import Ledger

    with Ledger.open(ledger) as led:
        result = score(led.scoring_data(), led.history(), AS_OF)
    expected = dict(result.residents.group_by("tier").len().iter_rows())
    doc = json.loads((report[0] / "exampleton" / "report.json").read_text())
    got = {t["tier"]: t["residents"] for t in doc["tiers"] if t["residents"]}
    assert got == expected == {"A": 24, "B": 4, "C": 2}
    assert doc["headline"]["residents_scored"] == result.residents.height == 30
    counted = result.events.filter(result.events["status"].is_in(["counted", "capped"]))
    assert doc["headline"]["events_counted"] == counted.height
    assert doc["as_of"] == "2024-06-30" and doc["city"]["id"] == "exampleton"
    # the month ends: twelve, the last being the as-of date itself (a month end)
    assert [m["date"] for m in doc["monthly"]][-1] == "2024-06-30"
    assert len(doc["monthly"]) == 12
    assert doc["monthly"][-1]["tiers"] == [{k: t[k] for k in ("tier", "residents", "share",
                                                               "suppressed")}
                                           for t in doc["tiers"]]


def test_sections_read_the_ledger(report):  # type: ignore[no-untyped-def]
    doc = json.loads((report[0] / "exampleton" / "report.json").read_text())
    cells = {(c["from"], c["to"]): c["residents"] for c in doc["transitions"]["cells"]}
    assert doc["transitions"]["saved_run"]["as_of"] == "2024-05-31"
    assert cells[("A", "B")] == 1  # resident 0's -5 of 2024-06-01
    assert cells[("B", "B")] == 3  # the red lights of 2024-05-20 counted already
    assert sum(cells.values()) == 30
    obj = doc["objections"]
    assert (obj["pending"], obj["overdue"], obj["deadline"]) == (2, 1, "15d")
    assert [o["objection_id"] for o in obj["overdue_list"]] == [1]
    assert obj["pending_list"][0]["age_days"] == 29
    by_agency = {a["agency"]: a for a in doc["data_quality"]["by_agency"]}
    assert (by_agency["hospital"]["voids"], by_agency["hospital"]["lifts"]) == (1, 0)
    assert (by_agency["police"]["lifts"], by_agency["police"]["objections"]) == (1, 1)
    assert by_agency["hospital"]["events"] == 30
    rewards = {r["id"]: r["residents"] for r in doc["rewards"]}
    sanctions = {r["id"]: r["residents"] for r in doc["sanctions"]}
    assert sanctions == {"review": 2}
    assert rewards == {"discount": 1}  # clean for a year: only resident 1 (dog suspended)
    red = next(i for i in doc["indicators"] if i["indicator"] == "red-light")
    assert (red["events"], red["points"], red["category"]) == (3, -150, "traffic")


def test_no_resident_id_appears_in_any_output(ledger, report, public):  # type: ignore[no-untyped-def]
    files = [p for d in (report[0], public) for p in d.rglob("*") if p.is_file()]
    assert len(files) == 18
    text = "\n".join(p.read_text(encoding="utf-8") for p in files) + report[1].stdout \
        + report[1].stderr
    assert [rid for rid in resident_ids() if rid in text] == []
    assert "zq0" not in text  # not even a prefix of one


def test_public_report_hides_every_count_below_five(public):  # type: ignore[no-untyped-def]
    doc = json.loads((public / "exampleton" / "report.json").read_text())
    assert doc["public"] is True and doc["suppression_threshold"] == 5
    assert [(k, v) for k, v in counts(doc) if v < 5] == []
    tiers = {t["tier"]: t for t in doc["tiers"]}
    assert tiers["B"]["residents"] is None and tiers["B"]["suppressed"] == "<5"
    assert tiers["C"]["residents"] is None and tiers["C"]["share"] is None
    assert tiers["A"]["residents"] == 24
    assert doc["objections"]["pending_list"] is None  # no single objection is listed
    html = (public / "exampleton" / "index.html").read_text()
    assert "&lt;5" in html
    # the chart labels say "<5" too, never the count
    assert "&lt;5" in (public / "exampleton" / "tier-shares.svg").read_text()
    md = (public / "exampleton" / "report.md").read_text()
    assert "| B | 900 | 1,000 | <5 | <5 |" in md


def test_two_cities_side_by_side(ledger, tmp_path):  # type: ignore[no-untyped-def]
    other_cat = tmp_path / "otherton.toml"
    other_cat.write_text(TINY.read_text().replace('id = "exampleton"', 'id = "otherton"')
                         .replace('name = "Exampleton"', 'name = "Otherton"'))
    other = make_ledger(tmp_path, other_cat, "other.db")
    out = tmp_path / "out"
    result = run("report", ledger, other, "--as-of", AS_OF, "--output", out)
    assert result.exit_code == 0, result.stderr
    index = (out / "index.html").read_text()
    assert 'href="exampleton/index.html"' in index and 'href="otherton/index.html"' in index
    assert "Exampleton" in index and "Otherton" in index
    cities = json.loads((out / "index.json").read_text())["cities"]
    assert [(c["id"], c["residents_scored"]) for c in cities] == [("exampleton", 30),
                                                                  ("otherton", 30)]
    for city in ("exampleton", "otherton"):
        doc = json.loads((out / city / "report.json").read_text())
        assert doc["city"]["id"] == city and doc["headline"]["residents_scored"] == 30


def test_two_ledgers_of_one_city_are_refused(ledger, tmp_path):  # type: ignore[no-untyped-def]
    twin = make_ledger(tmp_path, TINY, "twin.db")
    out = tmp_path / "out"
    result = run("report", ledger, twin, "--as-of", AS_OF, "--output", out)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {twin}: belongs to city 'exampleton', like {ledger}; a "
                             "report covers each city once (give one ledger per city)\n")
    assert result.stdout == "" and not out.exists()


def test_bad_input_is_one_line(tmp_path, ledger):  # type: ignore[no-untyped-def]
    result = run("report", tmp_path / "none.db", "--output", tmp_path / "o")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {tmp_path / 'none.db'}: no such ledger (create one with "
                             "`scs ledger init LEDGER --catalogue FILE`)\n")
    result = run("report", ledger, "--as-of", "June", "--output", tmp_path / "o")
    assert result.exit_code == 1
    assert result.stderr == "error: --as-of 'June' is not a date (write YYYY-MM-DD)\n"
    result = run("report", ledger, "--as-of", "2019-06-30", "--output", tmp_path / "o")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {ledger}: no catalogue version is in force on "
                             "2019-06-30 (the first adopted version takes effect on "
                             "2020-01-01; report on that date or later)\n")
    result = run("report", ledger)
    assert result.exit_code == 2  # --output is required: a usage error


@pytest.mark.parametrize("cache", ["off", "kept"])
def test_the_ledger_is_read_once_and_prepared_once(ledger, tmp_path, monkeypatch, cache):  # type: ignore[no-untyped-def]
    """The 12 month ends share the scoring's preparation with the as-of date; with the
    frame kept by the import (the prepared-frame cache), nothing is prepared at all."""
    import scs_cli.scoring.prepared as kept  # the report prepares through it
    from scs_cli.ledger.store import Ledger
    from scs_cli.report.batch import write_reports

    if cache == "off":
        monkeypatch.setenv("SCS_CACHE", "off")
    else:
        monkeypatch.setenv("SCS_CACHE_DIR", str(tmp_path / "cache"))
        assert kept.keep_prepared(ledger)
    calls = {"prepare": 0, "scoring_data": 0}
    real_prepare, real_data = kept.prepare, Ledger.scoring_data

    def prepare(*a, **k):  # type: ignore[no-untyped-def]
        calls["prepare"] += 1
        return real_prepare(*a, **k)

    def scoring_data(self, *a, **k):  # type: ignore[no-untyped-def]
        calls["scoring_data"] += 1
        return real_data(self, *a, **k)

    monkeypatch.setattr(kept, "prepare", prepare)
    monkeypatch.setattr(Ledger, "scoring_data", scoring_data)
    steps = []
    result = write_reports([ledger], AS_OF, tmp_path / "o",
                           progress=lambda what, done, total: steps.append((done, total)))
    assert calls == {"prepare": 1 if cache == "off" else 0, "scoring_data": 1}
    assert [done for done, _ in steps] == list(range(len(steps)))  # 0, 1, … total
    assert steps[-1][0] == steps[-1][1] and len(result.files) == 9


def test_known_at_sees_only_what_was_recorded_then(tmp_path):  # type: ignore[no-untyped-def]
    ledger = make_ledger(tmp_path)
    then = datetime.now(UTC)
    later = tmp_path / "later.csv"
    later.write_text("resident_id,indicator,occurred_on,agency,reference\n"
                     "zq999-res,blood-donation,2024-06-03,hospital,late-1\n")
    assert run("ledger", "import", ledger, later).exit_code == 0
    docs = {}
    for name, extra in (("then", ["--known-at", then.isoformat()]), ("now", [])):
        out = tmp_path / name
        assert run("report", ledger, "--as-of", AS_OF, "--output", out, *extra).exit_code == 0
        docs[name] = json.loads((out / "exampleton" / "report.json").read_text())
    assert docs["then"]["headline"]["residents_scored"] == 30
    assert docs["now"]["headline"]["residents_scored"] == 31
    assert docs["then"]["known_at"] == then.isoformat()
    result = run("report", ledger, "--as-of", AS_OF, "--output", tmp_path / "o",
                 "--known-at", "2000-01-01T00:00:00Z")
    assert result.exit_code == 1  # nothing was adopted yet in 2000
    assert result.stderr == (f"error: {ledger}: no catalogue version is in force on "
                             "2024-06-30 (no catalogue was adopted by the known-at time)\n")


def test_a_first_import_of_several_batches_is_all_backfill(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The ledger's recorded ranges are one per import, not one per batch: a first import
    large enough to fill several batches (1,000,000 events each) is history, all of it, and
    only a later import's old events are late reporting."""
    from scs_cli.ledger import batches

    monkeypatch.setattr(batches, "BATCH_ROWS", 7)  # the 63 events of the first import: 9 batches
    ledger = make_ledger(tmp_path)
    later = tmp_path / "later.csv"
    later.write_text("resident_id,indicator,occurred_on,agency,reference\n"
                     "zq001-res,blood-donation,2020-01-03,hospital,late-1\n"
                     "zq002-res,blood-donation,2024-06-03,hospital,late-2\n")  # both > 365 days
    assert run("ledger", "import", ledger, later).exit_code == 0
    out = tmp_path / "o"
    assert run("report", ledger, "--as-of", AS_OF, "--output", out).exit_code == 0
    late = json.loads((out / "exampleton" / "report.json").read_text()
                      )["data_quality"]["late_recorded"]
    first = 30 * 2 + 3 + 2 + 1  # make_ledger's rows, every one dated years before today
    assert (late["backfill_events"], late["events"]) == (first, 2)  # was (7, 61)
