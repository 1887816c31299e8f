"""The impact page's charts, drawn as the report draws its own: matplotlib (Agg canvas, no
pyplot) to inline SVG, text kept as text, ids prefixed per chart, nothing dated.

Charts read the document after suppression: a hidden count is drawn as no bar and
labelled ``<5``.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "scs-impact",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
WIN, LOSE, SAME = "#2f7d4a", "#b4442c", "#9aa5b1"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _svg(fig: Figure, prefix: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return re.sub(r'(\bid="|url\(#|href="#)', lambda m: m.group(1) + prefix + "-", text)


def _n(value: int | None) -> str:
    return "<5" if value is None else f"{value:,}"


def _colour(low: float, high: float) -> str:
    """Grey for no change, green for gains, red for losses."""
    return SAME if low == high == 0 else WIN if low >= 0 else LOSE


def histogram_chart(doc: dict[str, Any]) -> str:
    """Residents per bin of score change (reform − baseline), one bar per bin in order:
    losses red, no change grey (its own bar), gains green."""
    bins = doc["histogram"]
    if not bins:
        return ""
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 3.0)
        ax = fig.subplots()
        xs = list(range(len(bins)))
        heights = [b["residents"] or 0 for b in bins]
        ax.bar(xs, heights, width=0.9, color=[_colour(float(b["from"]), float(b["to"]))
                                              for b in bins], lw=0)
        top = max([*heights, 1])
        for x, b in zip(xs, bins, strict=True):
            if b["residents"] is None:
                ax.text(x, top * 0.02, "<5", ha="center", va="bottom", fontsize=6,
                        color="#555")
        every = max(len(bins) // 8, 1)  # a readable number of labels
        ticks = [x for x, b in zip(xs, bins, strict=True)
                 if b["from"] == b["to"] or x % every == 0]
        ax.set_xticks(ticks, ["no change" if bins[x]["from"] == bins[x]["to"] else
                              f"{_signed(bins[x]['from'])}…{_signed(bins[x]['to'])}"
                              for x in ticks], rotation=30, ha="right", fontsize=7)
        ax.set_xlabel("change in score (reform − baseline); bins [from, to)")
        ax.set_ylabel("residents")
        return _svg(fig, "hist")


def _signed(value: Any) -> str:
    text = f"{value:,}"
    return "+" + text if value > 0 else text


def by_tier_chart(doc: dict[str, Any]) -> str:
    """Winners (right) and losers (left) in each baseline tier."""
    rows = doc["by_tier"]
    if not rows:
        return ""
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.38 * len(rows) + 0.9)
        ax = fig.subplots()
        ys = list(range(len(rows)))
        wins = [r["winners"] or 0 for r in rows]
        losses = [-(r["losers"] or 0) for r in rows]
        ax.barh(ys, wins, color=WIN, label="winners (score up)")
        ax.barh(ys, losses, color=LOSE, label="losers (score down)")
        span = max([*wins, *(-x for x in losses), 1])
        for y, r, w, lo in zip(ys, rows, wins, losses, strict=True):
            ax.text(w + span * 0.02, y, _n(r["winners"]), va="center", fontsize=8)
            ax.text(lo - span * 0.02, y, _n(r["losers"]), va="center", ha="right", fontsize=8)
        ax.set_yticks(ys, [r["tier"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(-span * 1.3, span * 1.3)
        ax.axvline(0, color="#1d232a", lw=0.8)
        ax.set_xlabel("residents scored under both, by baseline tier")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        return _svg(fig, "tiers")


def rewards_chart(doc: dict[str, Any]) -> str:
    """Residents gaining (right) and losing (left) each reward."""
    rows = doc["rewards"]
    if not rows:
        return ""
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.38 * len(rows) + 0.9)
        ax = fig.subplots()
        ys = list(range(len(rows)))
        gains = [r["gained"] or 0 for r in rows]
        losses = [-(r["lost"] or 0) for r in rows]
        ax.barh(ys, gains, color=WIN, label="gain it")
        ax.barh(ys, losses, color=LOSE, label="lose it")
        span = max([*gains, *(-x for x in losses), 1])
        for y, r, g, lo in zip(ys, rows, gains, losses, strict=True):
            ax.text(g + span * 0.02, y, _n(r["gained"]), va="center", fontsize=8)
            ax.text(lo - span * 0.02, y, _n(r["lost"]), va="center", ha="right", fontsize=8)
        ax.set_yticks(ys, [r["id"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(-span * 1.3, span * 1.3)
        ax.axvline(0, color="#1d232a", lw=0.8)
        ax.set_xlabel("residents")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        return _svg(fig, "rewards")


def impact_charts(doc: dict[str, Any]) -> dict[str, str]:
    return {"histogram": histogram_chart(doc), "by_tier": by_tier_chart(doc),
            "rewards": rewards_chart(doc)}
