"""The columnar peers of SPEC §8: DuckDB in a fresh process, the naive sum and the rules.

Build once (untimed), then time one query, so the timed step is only what an analyst would
time:

    python benchmarks/peer_duckdb.py build EVENTS.csv CATALOGUE.toml DB.duckdb   # untimed
    python benchmarks/peer_duckdb.py naive DB.duckdb OUT.csv                     # timed
    python benchmarks/peer_duckdb.py rules DB.duckdb CATALOGUE.toml --as-of DATE OUT.csv

`build` loads the same events as the SQLite peer's plain table (resident, indicator, date,
points) into a DuckDB file, in the event file's order, with an `indicators` table of each
indicator's fixed points.

`naive` runs the hand-written ``SUM … JOIN … GROUP BY`` and writes every resident's total as
CSV, as `scs score --output` writes every resident's score. It applies none of the rules
(no expiry, limits, escalation, caps, objections): it is the floor a columnar engine sets for
reading and summing these events, not a scorer.

`rules` is the pandas peer (benchmarks/peer_pandas.py) written as an analyst writes DuckDB
SQL: the catalogue's rules loaded from the TOML into small tables (rules, escalation steps,
categories, tiers), then one query of window functions, GROUP BYs and a tiers join, writing
``resident_id,score,tier`` as CSV. Points are integer hundredths throughout, so scores are
exact. Rules implemented (SPEC §4, for a single catalogue version): points or the event's own
points for `points_range`; limits per calendar day, ISO week, month and year, events ordered
by (date, position in the event file, which is the ledger's event-id order); escalation (the
last step repeating; without windows); expiry (month ends clamp); per-indicator caps and
nested category caps, innermost first; base, clamp, `score_cap`; tiers and `tier_cap`. Not
implemented: voids, lifts, objections, consent, known-at, several catalogue versions,
escalation windows, rewards and sanctions (the benchmark ledgers have none of the first six,
so the scores and tiers agree with `scs score`; the rewards column is left out).
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

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


# ---------------------------------------------------------------- the rules, in DuckDB SQL

PERIOD_START = {  # the first day of an event's calendar period, for limits (ISO weeks)
    "day": "e.occurred_on",
    "week": "CAST(date_trunc('week', e.occurred_on) AS DATE)",
    "month": "CAST(date_trunc('month', e.occurred_on) AS DATE)",
    "year": "CAST(date_trunc('year', e.occurred_on) AS DATE)",
}
NO_MIN = -(2**62)  # the last tier's floor, so that every score finds a tier


def hundredths(value: object) -> int | None:
    """Points as exact integer hundredths (a TOML float goes through its decimal text)."""
    if value is None:
        return None
    return int(Decimal(str(value)) * 100)


def months_days(duration: str | None) -> tuple[int | None, int | None]:
    """A duration such as ``5y`` as (months, days): years and months are calendar months."""
    if duration is None:
        return None, None
    n, unit = int(duration[:-1]), duration[-1]
    return {"y": (12 * n, 0), "m": (n, 0), "w": (0, 7 * n), "d": (0, n)}[unit]


def load_rules(con: Any, catalogue: Path) -> dict[str, Any]:
    """The catalogue's rules as small tables: rules, escalation, categories, tiers.

    Returns the scale (in hundredths) and the category tree's depth, which shape the query.
    """
    data = tomllib.loads(catalogue.read_text(encoding="utf-8"))
    # what this peer leaves out must not pass for a score: refuse it
    windowed = [i for i, ind in data.get("indicators", {}).items() if "escalation_window" in ind]
    if windowed or data.get("policy", {}).get("participation") == "consent":
        raise SystemExit(f"{catalogue}: the DuckDB rules peer implements neither escalation "
                         f"windows ({', '.join(windowed) or 'none here'}) nor consent")
    tiers = data["tiers"]
    rank = {t["name"]: i for i, t in enumerate(tiers)}
    con.execute("CREATE TABLE tiers(rank INTEGER, name VARCHAR, min BIGINT)")
    con.executemany("INSERT INTO tiers VALUES (?, ?, ?)", [
        (i, t["name"], hundredths(t["min"]) if "min" in t else NO_MIN)
        for i, t in enumerate(tiers)])
    con.execute("CREATE TABLE rules(indicator VARCHAR, category VARCHAR, points BIGINT, "
                "steps INTEGER, expires_months INTEGER, expires_days INTEGER, "
                "limit_count INTEGER, limit_per VARCHAR, max_deduction BIGINT, "
                "max_award BIGINT, tier_cap INTEGER, score_cap BIGINT)")
    con.execute("CREATE TABLE escalation(indicator VARCHAR, step INTEGER, points BIGINT)")
    rules, steps = [], []
    for iid, ind in data.get("indicators", {}).items():
        ladder = ind.get("escalation") or []
        steps += [(iid, n, hundredths(p)) for n, p in enumerate(ladder, start=1)]
        limit = ind.get("limit", {})
        rules.append((iid, ind.get("category"), hundredths(ind.get("points")),
                      len(ladder) or None, *months_days(ind.get("expires_after")),
                      limit.get("count"), limit.get("per"),
                      hundredths(ind.get("max_deduction")), hundredths(ind.get("max_award")),
                      rank[ind["tier_cap"]] if "tier_cap" in ind else None,
                      hundredths(ind.get("score_cap"))))
    con.executemany(f"INSERT INTO rules VALUES ({', '.join('?' * 12)})", rules)
    if steps:
        con.executemany("INSERT INTO escalation VALUES (?, ?, ?)", steps)

    # Categories with their depth in the tree (0 for one without parent): caps apply
    # innermost first, so the query caps the deepest level, hands it to the parents, and so on.
    categories = data.get("categories", {})

    def depth(cid: str) -> int:
        parent = categories[cid].get("parent")
        return 0 if parent is None else 1 + depth(parent)

    con.execute("CREATE TABLE categories(category VARCHAR, parent VARCHAR, depth INTEGER, "
                "max_deduction BIGINT, max_award BIGINT)")
    if categories:
        con.executemany("INSERT INTO categories VALUES (?, ?, ?, ?, ?)", [
            (cid, c.get("parent"), depth(cid), hundredths(c.get("max_deduction")),
             hundredths(c.get("max_award"))) for cid, c in categories.items()])
    scale = data["scale"]
    return {"base": hundredths(scale["base"]), "min": hundredths(scale.get("min")),
            "max": hundredths(scale.get("max")),
            "depth": max((depth(c) for c in categories), default=-1)}


def category_ctes(depth: int) -> str:
    """Category caps, deepest level first: each level caps what its own indicators and its
    capped children add up, then hands the result to the parents (SPEC §4 step 6)."""
    ctes = []
    for k in range(depth, -1, -1):
        children = (f"UNION ALL SELECT resident_id, parent, neg, pos FROM cat_{k + 1} "
                    "WHERE parent IS NOT NULL" if k < depth else "")
        ctes.append(f"""cat_{k} AS (
    SELECT x.resident_id, x.category, c.parent,
           CASE WHEN c.max_deduction IS NULL THEN sum(x.neg)
                ELSE greatest(sum(x.neg), -c.max_deduction) END AS neg,
           CASE WHEN c.max_award IS NULL THEN sum(x.pos)
                ELSE least(sum(x.pos), c.max_award) END AS pos
    FROM (SELECT resident_id, category, neg, pos FROM per_indicator {children}) AS x
    JOIN categories AS c ON c.category = x.category AND c.depth = {k}
    GROUP BY x.resident_id, x.category, c.parent, c.max_deduction, c.max_award)""")
    return ",\n".join(ctes)


def rules_sql(as_of: str, scale: dict[str, Any], out: Path) -> str:
    """One query: limits, points, escalation, expiry, caps, score, tiers, written as CSV."""
    periods = " ".join(f"WHEN '{per}' THEN {expr}" for per, expr in PERIOD_START.items())
    score = f"{scale['base']} + coalesce(t.neg, 0) + coalesce(t.pos, 0)"
    if scale["min"] is not None:
        score = f"greatest({score}, {scale['min']})"
    if scale["max"] is not None:
        score = f"least({score}, {scale['max']})"
    depth = scale["depth"]
    categorised = category_ctes(depth) + "," if depth >= 0 else ""
    roots = "UNION ALL SELECT resident_id, neg, pos FROM cat_0" if depth >= 0 else ""
    # the score as its shortest exact decimal (1000, 987.5, -0.25), as `scs score` writes it
    fmt = ("CASE WHEN s.score < 0 THEN '-' ELSE '' END || (abs(s.score) // 100)::VARCHAR || "
           "CASE WHEN abs(s.score) % 100 = 0 THEN '' "
           "WHEN abs(s.score) % 10 = 0 THEN '.' || (abs(s.score) % 100 // 10)::VARCHAR "
           "ELSE '.' || lpad((abs(s.score) % 100)::VARCHAR, 2, '0') END")
    return f"""COPY (
WITH standing AS (  -- every event on or before as-of, with its rule
    SELECT e.rowid AS event_no, e.resident_id, e.indicator, e.occurred_on,
           CAST(round(e.points * 100) AS BIGINT) AS own_points, r.* EXCLUDE (indicator),
           CASE r.limit_per {periods} END AS period
    FROM ev.plain_events AS e JOIN rules AS r ON r.indicator = e.indicator
    WHERE e.occurred_on <= DATE '{as_of}'),
within_limit AS (  -- the first `count` of a resident's indicator in one calendar period
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY resident_id, indicator, period
                                     ORDER BY occurred_on, event_no) AS nth_in_period
        FROM standing WHERE limit_count IS NOT NULL)
    WHERE nth_in_period <= limit_count
    UNION ALL BY NAME
    SELECT * FROM standing WHERE limit_count IS NULL),
occurrences AS (  -- the n-th occurrence (over-limit ones left out) of an escalating indicator
    SELECT *, row_number() OVER (PARTITION BY resident_id, indicator
                                 ORDER BY occurred_on, event_no) AS nth
    FROM within_limit WHERE steps IS NOT NULL
    UNION ALL BY NAME
    SELECT * FROM within_limit WHERE steps IS NULL),
counting AS (  -- points of each event not yet expired: the rule's, the step's, or its own
    SELECT o.resident_id, o.indicator, o.category, o.max_deduction, o.max_award, o.tier_cap,
           o.score_cap, coalesce(o.points, x.points, o.own_points) AS value
    FROM occurrences AS o
    LEFT JOIN escalation AS x ON x.indicator = o.indicator AND x.step = least(o.nth, o.steps)
    WHERE o.expires_months IS NULL OR o.occurred_on + to_months(o.expires_months)
          + to_days(o.expires_days) > DATE '{as_of}'),
per_indicator AS (  -- negative and positive points apart, each capped per indicator
    -- (an indicator without caps adds straight to its category: one group for all of them)
    SELECT resident_id, category,
           CASE WHEN max_deduction IS NULL THEN sum(least(value, 0))
                ELSE greatest(sum(least(value, 0)), -max_deduction) END AS neg,
           CASE WHEN max_award IS NULL THEN sum(greatest(value, 0))
                ELSE least(sum(greatest(value, 0)), max_award) END AS pos,
           min(score_cap) AS score_cap, max(tier_cap) AS tier_cap
    FROM counting
    GROUP BY resident_id, category, max_deduction, max_award,
             CASE WHEN max_deduction IS NOT NULL OR max_award IS NOT NULL THEN indicator END),
{categorised}
totals AS (
    SELECT resident_id, sum(neg) AS neg, sum(pos) AS pos FROM (
        SELECT resident_id, neg, pos FROM per_indicator WHERE category IS NULL {roots})
    GROUP BY resident_id),
caps AS (
    SELECT resident_id, min(score_cap) AS score_cap, max(tier_cap) AS tier_cap
    FROM per_indicator WHERE score_cap IS NOT NULL OR tier_cap IS NOT NULL
    GROUP BY resident_id),
scored AS (  -- every resident with an event, as-of or not
    SELECT p.resident_id,
           least({score}, coalesce(c.score_cap, {-NO_MIN})) AS score,
           coalesce(c.tier_cap, 0) AS tier_cap
    FROM (SELECT DISTINCT resident_id FROM ev.plain_events) AS p
    LEFT JOIN totals AS t ON t.resident_id = p.resident_id
    LEFT JOIN caps AS c ON c.resident_id = p.resident_id)
SELECT s.resident_id, {fmt} AS score, worst.name AS tier
FROM scored AS s
ASOF JOIN tiers AS band ON s.score >= band.min  -- the best tier whose min the score reaches
JOIN tiers AS worst ON worst.rank = greatest(band.rank, s.tier_cap)
ORDER BY s.resident_id
) TO '{out}' (HEADER, DELIMITER ',')"""


def rules(db: Path, catalogue: Path, as_of: str, out: Path) -> None:
    import duckdb

    dt.date.fromisoformat(as_of)  # a date, before it goes into the query text
    con = duckdb.connect()  # the rule tables in memory, the events read-only beside them
    scale = load_rules(con, catalogue)
    con.execute(f"ATTACH '{db}' AS ev (READ_ONLY)")
    con.execute(rules_sql(as_of, scale, out))
    con.close()


def main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[0] == "build":
        build(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    elif len(argv) == 3 and argv[0] == "naive":
        naive(Path(argv[1]), Path(argv[2]))
    elif len(argv) == 6 and argv[0] == "rules" and argv[3] == "--as-of":
        rules(Path(argv[1]), Path(argv[2]), argv[4], Path(argv[5]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
