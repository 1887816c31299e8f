"""The columnar peer of SPEC §8: DuckDB running the naive sum, in a fresh process.

Two steps, so the timed one is only what an analyst would time:

    python benchmarks/peer_duckdb.py build EVENTS.csv CATALOGUE.toml DB.duckdb   # untimed
    python benchmarks/peer_duckdb.py naive DB.duckdb OUT.csv                     # timed

`build` loads the same events as the SQLite peer's plain table (resident, indicator, date,
points) into a DuckDB file, with an `indicators` table of each indicator's fixed points.
`naive` runs the hand-written ``SUM … JOIN … GROUP BY`` and writes every resident's total as
CSV, as `scs score --output` writes every resident's score. It applies none of the rules
(no expiry, limits, escalation, caps, objections): it is the floor a columnar engine sets for
reading and summing these events, not a scorer.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

BASE = 1000  # the bundled Rongcheng catalogue's base, as the SQLite peer uses


def fixed_points(catalogue: Path) -> list[tuple[str, float | None]]:
    """(indicator, points of one event) for every indicator, as the SQLite peer defines it."""
    data = tomllib.loads(catalogue.read_text(encoding="utf-8"))
    rows: list[tuple[str, float | None]] = []
    for iid, ind in data.get("indicators", {}).items():
        fixed = ind.get("points", (ind.get("escalation") or [None])[0])
        rows.append((iid, float(fixed) if fixed is not None else None))
    return rows


def build(events_csv: Path, catalogue: Path, db: Path) -> None:
    import duckdb

    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE plain_events AS SELECT resident_id::VARCHAR AS resident_id, "
        "indicator::VARCHAR AS indicator, occurred_on::DATE AS occurred_on, "
        "TRY_CAST(NULLIF(points::VARCHAR, '') AS DOUBLE) AS points "
        "FROM read_csv(?, header = true, all_varchar = true)", [str(events_csv)])
    con.execute("CREATE TABLE indicators(indicator VARCHAR PRIMARY KEY, points DOUBLE)")
    con.executemany("INSERT INTO indicators VALUES (?, ?)", fixed_points(catalogue))
    con.execute("CHECKPOINT")
    con.close()


def naive(db: Path, out: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    con.execute(
        f"COPY (SELECT e.resident_id, {BASE} + SUM(COALESCE(e.points, i.points)) AS score "
        "FROM plain_events AS e JOIN indicators AS i ON i.indicator = e.indicator "
        f"GROUP BY e.resident_id) TO '{out}' (HEADER, DELIMITER ',')")
    con.close()


def main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[0] == "build":
        build(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    elif len(argv) == 3 and argv[0] == "naive":
        naive(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
