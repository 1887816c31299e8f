"""A peer for the benchmark: the scoring rules as an analyst would write them in pandas.

Reads the plain SQLite table the benchmark builds (``plain_events(resident_id, indicator,
occurred_on, points)``) with ``pandas.read_sql``, the catalogue TOML with ``tomllib``, and
writes ``resident_id,score,tier`` as CSV. Written the straightforward way (merge, groupby,
vectorised column arithmetic), not as a straw man.

Rules implemented (SPEC §4, for a single catalogue version): points or the event's own points
for `points_range`; limits per calendar day/week/month/year; escalation (without windows);
expiry; per-indicator and per-category caps; base, clamp, `score_cap`; tiers and `tier_cap`.
Not implemented: voids, lifts, objections, consent, known-at, several catalogue versions,
escalation windows, rewards and sanctions (the benchmark ledgers have none of the first
five, so the scores agree with `scs score` on them except for rewards, which this omits).

    python benchmarks/peer_pandas.py plain.sqlite catalogues/rongcheng-2016.toml \
        --as-of 2024-12-31 --output scores.csv
"""

from __future__ import annotations

import argparse
import sqlite3
import tomllib

import numpy as np
import pandas as pd


def offset(duration: str) -> pd.DateOffset:
    """A duration such as ``5y`` as a calendar offset (month ends clamp, as in scs)."""
    n, unit = int(duration[:-1]), duration[-1]
    return {"d": pd.DateOffset(days=n), "w": pd.DateOffset(weeks=n),
            "m": pd.DateOffset(months=n), "y": pd.DateOffset(years=n)}[unit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("database")
    ap.add_argument("catalogue")
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    as_of = pd.Timestamp(args.as_of)

    with open(args.catalogue, "rb") as fh:
        cat = tomllib.load(fh)
    rules = pd.DataFrame([
        {"indicator": iid,
         "rule_points": float(ind["points"]) if "points" in ind else np.nan,
         "escalation": ind.get("escalation"),
         "category": ind.get("category"),
         "expires_after": ind.get("expires_after"),
         "limit_count": ind.get("limit", {}).get("count"),
         "limit_per": ind.get("limit", {}).get("per"),
         "max_deduction": ind.get("max_deduction"), "max_award": ind.get("max_award"),
         "tier_cap": ind.get("tier_cap"), "score_cap": ind.get("score_cap")}
        for iid, ind in cat["indicators"].items()])

    con = sqlite3.connect(args.database)
    events = pd.read_sql("SELECT rowid AS event_id, resident_id, indicator, occurred_on, "
                         "points FROM plain_events", con, parse_dates=["occurred_on"])
    con.close()
    ev = events.merge(rules, on="indicator", how="left")
    ev = ev[ev["occurred_on"] <= as_of].sort_values(["resident_id", "indicator",
                                                     "occurred_on", "event_id"])

    # Limits: only the first `count` per resident, indicator and calendar period count.
    periods = {"day": "D", "week": "W", "month": "M", "year": "Y"}
    ev["over_limit"] = False
    for per, code in periods.items():
        sel = ev["limit_per"] == per
        if sel.any():
            sub = ev[sel]
            n = sub.groupby(["resident_id", "indicator",
                             sub["occurred_on"].dt.to_period(code)]).cumcount()
            ev.loc[sel, "over_limit"] = n >= sub["limit_count"]
    ev = ev[~ev["over_limit"]].copy()

    # Points: the rule's, the event's own (points_range), or the escalation step.
    ev["value"] = ev["rule_points"].fillna(ev["points"])
    esc = ev["escalation"].notna()
    if esc.any():
        nth = ev[esc].groupby(["resident_id", "indicator"]).cumcount()
        ev.loc[esc, "value"] = [float(steps[min(k, len(steps) - 1)])
                                for steps, k in zip(ev.loc[esc, "escalation"], nth,
                                                    strict=True)]

    # Expiry: counting events are those whose occurred_on + expires_after is after as-of.
    ev["counting"] = True
    for duration in ev["expires_after"].dropna().unique():
        sel = ev["expires_after"] == duration
        ev.loc[sel, "counting"] = ev.loc[sel, "occurred_on"] + offset(duration) > as_of
    ev = ev[ev["counting"]]

    # Caps: per indicator, then per category, on negative and positive sums separately.
    ev["neg"] = ev["value"].clip(upper=0)
    ev["pos"] = ev["value"].clip(lower=0)
    per_ind = ev.groupby(["resident_id", "indicator"], as_index=False).agg(
        neg=("neg", "sum"), pos=("pos", "sum"), category=("category", "last"),
        max_deduction=("max_deduction", "first"), max_award=("max_award", "first"))
    per_ind["neg"] = np.where(per_ind["max_deduction"].notna(),
                              np.maximum(per_ind["neg"], -per_ind["max_deduction"].astype(float)),
                              per_ind["neg"])
    per_ind["pos"] = np.where(per_ind["max_award"].notna(),
                              np.minimum(per_ind["pos"], per_ind["max_award"].astype(float)),
                              per_ind["pos"])
    per_cat = per_ind.groupby(["resident_id", per_ind["category"].fillna("")],
                              as_index=False)[["neg", "pos"]].sum()
    categories = cat.get("categories", {})
    cat_ded = per_cat["category"].map(lambda c: categories.get(c, {}).get("max_deduction"))
    cat_awd = per_cat["category"].map(lambda c: categories.get(c, {}).get("max_award"))
    per_cat["neg"] = np.where(cat_ded.notna(), np.maximum(per_cat["neg"], -cat_ded.astype(float)),
                              per_cat["neg"])
    per_cat["pos"] = np.where(cat_awd.notna(), np.minimum(per_cat["pos"], cat_awd.astype(float)),
                              per_cat["pos"])
    total = per_cat.groupby("resident_id")[["neg", "pos"]].sum()

    scale = cat["scale"]
    everyone = pd.Index(sorted(events["resident_id"].unique()), name="resident_id")
    total = total.reindex(everyone, fill_value=0.0)
    score = scale["base"] + total["neg"] + total["pos"]
    if "min" in scale:
        score = score.clip(lower=scale["min"])
    if "max" in scale:
        score = score.clip(upper=scale["max"])
    caps = ev[ev["score_cap"].notna()].groupby("resident_id")["score_cap"].min()
    score = np.minimum(score, caps.reindex(everyone).fillna(np.inf))

    # Tiers: the first whose min the score reaches, then the worst tier_cap of a counting event.
    tiers = cat["tiers"]
    names = [t["name"] for t in tiers]
    conditions = [score >= t["min"] for t in tiers[:-1]]
    rank = pd.Series(np.select(conditions, list(range(len(tiers) - 1)), len(tiers) - 1),
                     index=everyone)
    capped = ev[ev["tier_cap"].notna()].copy()
    if len(capped):
        capped["cap_rank"] = capped["tier_cap"].map(names.index)
        rank = np.maximum(rank, capped.groupby("resident_id")["cap_rank"].max()
                          .reindex(everyone).fillna(0).astype(int))
    out = pd.DataFrame({"score": score.round(2), "tier": [names[r] for r in rank]},
                       index=everyone)
    out["score"] = out["score"].map(lambda v: f"{v:.2f}".rstrip("0").rstrip("."))
    out.to_csv(args.output)


if __name__ == "__main__":
    main()
