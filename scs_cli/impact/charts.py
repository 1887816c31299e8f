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
    return _both_ways(doc["by_tier"], "tier", ("winners", "winners (score up)"),
                      ("losers", "losers (score down)"),
                      "residents scored under both, by baseline tier", "tiers")


def rewards_chart(doc: dict[str, Any]) -> str:
    """Residents gaining (right) and losing (left) each reward."""
    return _both_ways(doc["rewards"], "id", ("gained", "gain it"), ("lost", "lose it"),
                      "residents", "rewards")


def _both_ways(rows: list[dict[str, Any]], label: str, right: tuple[str, str],
               left: tuple[str, str], xlabel: str, name: str) -> str:
    """One bar to the right and one to the left of zero for each row: (key, legend) each."""
    if not rows:
        return ""
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.38 * len(rows) + 0.9)
        ax = fig.subplots()
        ys = list(range(len(rows)))
        ups = [r[right[0]] or 0 for r in rows]  # a suppressed count (None) draws no bar
        downs = [-(r[left[0]] or 0) for r in rows]
        ax.barh(ys, ups, color=WIN, label=right[1])
        ax.barh(ys, downs, color=LOSE, label=left[1])
        span = max([*ups, *(-x for x in downs), 1])
        for y, r, up, down in zip(ys, rows, ups, downs, strict=True):
            ax.text(up + span * 0.02, y, _n(r[right[0]]), va="center", fontsize=8)
            ax.text(down - span * 0.02, y, _n(r[left[0]]), va="center", ha="right",
                    fontsize=8)
        ax.set_yticks(ys, [r[label] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(-span * 1.3, span * 1.3)
        ax.axvline(0, color="#1d232a", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        return _svg(fig, name)


def impact_charts(doc: dict[str, Any]) -> dict[str, str]:
    return {"histogram": histogram_chart(doc), "by_tier": by_tier_chart(doc),
            "rewards": rewards_chart(doc)}
