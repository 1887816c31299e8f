"""The DuckDB rules peer of the benchmark (benchmarks/peer_duckdb.py `rules`, issue 23).

It is a peer only if it scores as `scs score` does: each test generates a ledger, scores it
with `scs score` and with the peer (in a fresh process, as the benchmark runs it) and holds
every resident's score and tier to each other.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from scs_cli.rules.schema import resolve_catalogue_path

pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "benchmarks" / "peer_duckdb.py"
AS_OF = "2024-12-31"

# An invented catalogue where every rule the peer implements bites on generated events
# (Rongcheng has no escalation, caps, clamp or score_cap): limits per day, week, month and
# year; escalation (one ladder with a decimal step); expiry in d, w, m and y; an indicator
# cap on each side; nested category caps (a capless middle level); a clamp; a score_cap
# below the clamp's min; a tier_cap; points_range with a limit, so which event of a period
# is kept (event order) matters; a decimal tier floor.
RULES_TOML = """schema = 1

[city]
id = "testville"
name = "Testville"

[catalogue]
version = "1"
effective_from = 2020-01-01
title = "Invented: every rule the DuckDB rules peer implements"
sources = ["invented for tests/test_bench_peers.py"]

[scale]
base = 100
min = 60
max = 140

[[tiers]]
name = "A"
min = 130
[[tiers]]
name = "B"
min = 95.5
[[tiers]]
name = "C"
min = 70
[[tiers]]
name = "D"

[categories.social]
name = "Social management"
max_deduction = 40
max_award = 12.5

[categories.traffic]
name = "Traffic"
parent = "social"
max_deduction = 25

[categories.speed]
name = "Speed (no cap of its own)"
parent = "traffic"

[indicators.red-light]
name = "Red light"
points = -5
category = "traffic"
limit = { count = 1, per = "day" }
expires_after = "1y"

[indicators.speeding]
name = "Speeding"
escalation = [-2, -4.5, -8]
category = "speed"
limit = { count = 2, per = "week" }
expires_after = "18m"

[indicators.fraud]
name = "Fraud"
points = -10
category = "social"
max_deduction = 20
expires_after = "2y"

[indicators.drunk-driving]
name = "Drunk driving"
points = -30
score_cap = 45
expires_after = "2w"

[indicators.violence]
name = "Violence"
points = -20
tier_cap = "C"
limit = { count = 1, per = "year" }
expires_after = "300d"

[indicators.volunteering]
name = "Volunteering"
points = 2
category = "social"
max_award = 10
limit = { count = 3, per = "month" }

[indicators.donation]
name = "Donation"
points_range = [0.5, 9.75]
limit = { count = 1, per = "month" }
max_award = 30

[indicators.neighbour-help]
name = "Helping a neighbour"
escalation = [1, 0.25]
expires_after = "6m"
"""


def read(path: Path) -> dict[str, tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["resident_id"]: (row["score"], row["tier"]) for row in csv.DictReader(fh)}


def both_scores(scs, tmp_path: Path, catalogue: Path, *generate: str):  # type: ignore[no-untyped-def]
    """(scs score's, the DuckDB rules peer's) resident → (score, tier) on one generated ledger."""
    events, ledger = tmp_path / "events.csv", tmp_path / "city.db"
    for args in (["demo", "generate", "--catalogue", catalogue, *generate, "--output", events],
                 ["ledger", "init", ledger, "--catalogue", catalogue],
                 ["ledger", "import", ledger, events],
                 ["score", ledger, "--as-of", AS_OF, "--output", tmp_path / "scs.csv"]):
        result = scs(*args)
        assert result.exit_code == 0, result.stderr
    duck, peer_csv = tmp_path / "events.duckdb", tmp_path / "peer.csv"
    steps: list[list[str | Path]] = [["build", events, catalogue, duck],
                                     ["rules", duck, catalogue, "--as-of", AS_OF, peer_csv]]
    for step in steps:
        subprocess.run([sys.executable, PEER, *step], check=True)
    return read(tmp_path / "scs.csv"), read(peer_csv)


def test_rules_peer_agrees_with_scs_on_rongcheng(scs, tmp_path):  # type: ignore[no-untyped-def]
    ours, peer = both_scores(scs, tmp_path, resolve_catalogue_path("rongcheng-2016"),
                             "--residents", "2000", "--events", "20000", "--seed", "3")
    assert len(ours) == 2000
    assert peer == ours
    # the tier_cap of petitioning (B) and the monthly limits are in play, not only sums
    assert any(tier == "B" and float(score) >= 960 for score, tier in ours.values())


def test_rules_peer_agrees_with_scs_on_every_rule(scs, tmp_path):  # type: ignore[no-untyped-def]
    catalogue = tmp_path / "rules.toml"
    catalogue.write_text(RULES_TOML, encoding="utf-8")
    # three busy years, 50 events a resident: limits, ladders, caps and expiry all bite
    ours, peer = both_scores(scs, tmp_path, catalogue, "--residents", "400", "--events",
                             "20000", "--seed", "5", "--since", "2022-01-01", "--until", AS_OF)
    assert len(ours) == 400
    assert peer == ours
    scores = {score for score, _ in ours.values()}
    assert {"45", "60", "140"} <= scores  # score_cap under the clamp's min; the clamp both ways
    assert any(tier == "C" and float(score) >= 95.5 for score, tier in ours.values())
    assert any("." in score for score in scores)  # decimal steps and points written exactly


def test_rules_peer_refuses_the_rules_it_leaves_out(tmp_path):  # type: ignore[no-untyped-def]
    catalogue = tmp_path / "windowed.toml"
    catalogue.write_text(RULES_TOML.replace('escalation = [1, 0.25]\n',
                                            'escalation = [1, 0.25]\nescalation_window = "1y"\n'),
                         encoding="utf-8")
    result = subprocess.run([sys.executable, PEER, "rules", tmp_path / "none.duckdb", catalogue,
                             "--as-of", AS_OF, tmp_path / "peer.csv"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "escalation windows (neighbour-help)" in result.stderr
    assert not (tmp_path / "peer.csv").exists()
