"""A synthetic ledger that uses every scoring feature, recorded in stages.

The dataset and Spark tests score it at several as-of dates and known-at times and
compare with `scs score LEDGER`: two catalogue versions (the second adopted later, with
consent participation and other points), caps, limits, escalation windows, ranged points,
tier and score caps, voids, lifts, objections pending, upheld and rejected (they suspend),
consents and withdrawals (some for residents with no events), and notes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from scs_cli.demo.generate import generate_file
from scs_cli.ledger.store import Ledger

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny.toml"
AS_OF = (date(2021, 6, 30), date(2023, 3, 1), date(2023, 9, 1), date(2024, 12, 31))


@dataclass(frozen=True)
class FeatureLedger:
    path: Path
    stages: tuple[datetime, ...]  # a known-at just after each stage was recorded


def catalogue(tmp: Path, version: str, effective: str, *edits: tuple[str, str]) -> Path:
    text = TINY.read_text(encoding="utf-8").replace('version = "1"', f'version = "{version}"')
    text = text.replace("effective_from = 2020-01-01", f"effective_from = {effective}")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / f"tiny-{version}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _last(path: Path) -> datetime:
    """Just after the latest row recorded (a known-at that sees that stage and no later)."""
    conn = sqlite3.connect(path)
    try:
        stamps = [conn.execute(f"SELECT max(recorded_at) FROM {t}").fetchone()[0] for t in
                  ("catalogues", "imports", "voids", "lifts", "objections",
                   "objection_decisions", "consents")]
    finally:
        conn.close()
    return datetime.fromisoformat(max(s for s in stamps if s)) + timedelta(microseconds=1)


def build(tmp: Path, residents: int = 300, events: int = 3000, name: str = "city.db",
          city: str | None = None) -> FeatureLedger:
    """Make the ledger in ``tmp`` (``city`` renames the city, for several cities)."""
    tmp.mkdir(parents=True, exist_ok=True)
    rename = (('id = "exampleton"', f'id = "{city}"'),) if city else ()
    v1 = catalogue(tmp, "1", "2020-01-01", *rename,
                   ('objection_deadline = "15d"',
                    'objection_deadline = "15d"\nobjection_suspends = true'))
    v2 = catalogue(tmp, "2", "2023-06-01", *rename,
                   ('points = -50\nbasis = "Road', 'points = -40\nbasis = "Road'),
                   ('objection_deadline = "15d"', 'objection_deadline = "15d"\n'
                    'objection_suspends = true\nparticipation = "consent"'))
    first, second = tmp / "events-1.csv", tmp / "events-2.csv"
    generate_file([v1], residents, events, 1, first, until=date(2023, 5, 31))
    generate_file([v1, v2], residents // 2, events // 2, 2, second, until=date(2024, 12, 1))
    # a note on some events, and a ranged event that carries its own points
    frame = pl.read_csv(second, infer_schema=False)
    frame = frame.with_columns(note=pl.when(pl.int_range(pl.len()) % 7 == 0)
                               .then(pl.lit("seen by the office")))
    frame.write_csv(second)
    path = tmp / name
    stages = []
    with Ledger.create(path, v1) as ledger:
        ledger.import_file(first)
        stages.append(_last(path))
        ledger.adopt(v2)
        ledger.import_file(second)
        stages.append(_last(path))
        ids = pl.read_database("SELECT event_id, occurred_on FROM events ORDER BY event_id",
                               ledger._conn)
        n = ids.height
        ledger.void(3, "recorded against the wrong resident")
        ledger.void(n // 2 + 1, "duplicate report")
        for k in range(10, n, n // 12):
            on = date.fromisoformat(ids["occurred_on"][k - 1]) + timedelta(days=40)
            ledger.lift(k, min(on, date(2024, 11, 1)))
        objections = []
        for k in range(25, n, n // 9):
            on = date.fromisoformat(ids["occurred_on"][k - 1]) + timedelta(days=5)
            objections.append(ledger.file_objection(k, min(on, date(2024, 11, 1)), "contested"))
        ledger.consent("R0000001", date(2023, 1, 1))
        ledger.consent("R0000002", date(2023, 1, 1))
        ledger.consent("nobody-with-events", date(2022, 5, 1))
        stages.append(_last(path))
        for i, oid in enumerate(objections[:-2]):
            filed = ledger._conn.execute("SELECT filed_on FROM objections WHERE "
                                        "objection_id = ?", (oid,)).fetchone()[0]
            on = min(date.fromisoformat(filed) + timedelta(days=30), date(2024, 12, 1))
            ledger.decide_objection(oid, "upheld" if i % 2 else "rejected", on)
        ledger.consent("R0000002", date(2023, 8, 1), withdraw=True)
        for r in range(3, residents, 3):
            ledger.consent(f"R{r:07d}", date(2022, 1, 1) + timedelta(days=3 * r))
        stages.append(_last(path))
    return FeatureLedger(path, tuple(stages))
