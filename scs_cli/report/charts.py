"""The report's charts: matplotlib figures (Agg canvas, no pyplot) → SVG text.

Charts read the document *after* suppression, so a hidden count can never reach a bar or
a label. Text stays text (``svg.fonttype = none``: the page needs no font file), ids are
made unique per chart so several SVGs can sit in one HTML page, and the output is
deterministic (fixed hash salt, no date in the metadata).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
from matplotlib.patches import Patch

from scs_cli.core.text import shown

RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "scs-report",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
HIDDEN = {"<5": "<5", "complement": "×"}


def _figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (no display needed); saved as SVG."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def tier_colours(names: Sequence[str]) -> dict[str, Any]:
    """Best tier green, worst red, whatever the number of tiers."""
    cmap = matplotlib.colormaps["RdYlGn"]
    n = len(names)
    return {name: cmap(0.9 - 0.8 * i / max(n - 1, 1)) for i, name in enumerate(names)}


def index_tier_positions(docs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Where each tier name of the cross-city index sits on the colour scale (0.9 green …
    0.1 red): one colour per name, the same in every city, and no two names alike.

    Names are ordered by their mean place in their cities' own orders (0 best, 1 worst), so
    Suining's "A" (its best) and Rongcheng's "A" (its third of six) share a colour, which is
    not the colour of Rongcheng's "AAA"."""
    places: dict[str, list[float]] = {}
    for doc in docs:
        names = [t["tier"] for t in doc["tiers"]]
        for i, name in enumerate(names):
            places.setdefault(name, []).append(i / max(len(names) - 1, 1))
    order = sorted(places, key=lambda n: (sum(places[n]) / len(places[n]), max(places[n]), n))
    return {name: 0.9 - 0.8 * i / max(len(order) - 1, 1) for i, name in enumerate(order)}


def to_svg(fig: Figure, prefix: str) -> str:
    """The figure as an SVG element to inline in HTML (also valid as a standalone file)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                bbox_inches="tight")
    text = buf.getvalue()
    text = shown(text[text.index("<svg"):])  # no DOCTYPE; no control or bidi override
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # several charts share one page: give every id (and reference to it) a chart prefix
    text = re.sub(r'(\bid="|url\(#|href="#)', lambda m: m.group(1) + prefix + "-", text)
    return text


def _label(value: Any, mark: Any) -> str:
    return HIDDEN.get(mark, "") if mark else f"{value:,}"


def distribution_chart(doc: dict[str, Any]) -> str:
    """Residents per score bin, tier bands shaded and named."""
    dist = doc["score_distribution"]
    bins = dist["bins"]
    label = dist["bin_width"]
    # exact decimals in the figures; matplotlib draws floats
    width = float(label)
    inner = bins[1:-1]
    lo = float(inner[0]["from"])
    hi = float(inner[-1]["below"])
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 3.2)
        ax = fig.subplots()
        colours = tier_colours([b["tier"] for b in dist["tier_bands"]])
        upper = hi + width
        for band in dist["tier_bands"]:  # best first: each band runs up to the previous min
            start = float(band["min"]) if band["min"] is not None else lo - width
            ax.axvspan(max(start, lo - width), upper, color=colours[band["tier"]], alpha=0.15,
                       lw=0)
            ax.text((max(start, lo - width) + upper) / 2, 1.0, band["tier"], ha="center",
                    va="bottom", transform=ax.get_xaxis_transform(), fontsize=8)
            upper = start
        # the open bins are drawn one bin wide at each end and labelled as open
        xs = [lo - width] + [float(b["from"]) for b in inner] + [hi]
        heights = [b["residents"] or 0 for b in bins]
        ax.bar(xs, heights, width=width, align="edge", color="#41607a", lw=0)
        top = max(heights) if any(heights) else 1
        for x, b in zip(xs, bins, strict=True):
            if b["suppressed"]:
                ax.text(x + width / 2, top * 0.02, HIDDEN[b["suppressed"]], ha="center",
                        va="bottom", fontsize=6, color="#555")
        ax.set_xlim(lo - width, hi + width)
        ax.set_xlabel(f"score (bins of {label}; outer bars: below {inner[0]['from']} / "
                      f"{inner[-1]['below']} and above)")
        ax.set_ylabel("residents")
        return to_svg(fig, "dist")


def tier_chart(doc: dict[str, Any]) -> str:
    """Share of residents in each tier, with the count written beside each bar."""
    rows = doc["tiers"]
    names = [r["tier"] for r in rows]
    colours = tier_colours(names)
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.35 * len(rows) + 0.8)
        ax = fig.subplots()
        ys = range(len(rows))
        shares = [(r["share"] or 0) * 100 for r in rows]
        ax.barh(list(ys), shares, color=[colours[n] for n in names])
        for y, r, s in zip(ys, rows, shares, strict=True):
            text = (_label(r["residents"], r["suppressed"]) if r["suppressed"]
                    else f"{r['residents']:,} ({s:.1f}%)")
            ax.text(s + 0.5, y, text, va="center", fontsize=8)
        ax.set_yticks(list(ys), names)
        ax.invert_yaxis()
        ax.set_xlim(0, max([*shares, 1]) * 1.25)
        ax.set_xlabel("share of residents scored (%)")
        return to_svg(fig, "tiers")


def monthly_chart(doc: dict[str, Any]) -> str:
    """Tier shares at each month end, stacked best tier at the top."""
    months = doc["monthly"]
    names: list[str] = []
    for m in months:
        names += [t["tier"] for t in m["tiers"] if t["tier"] not in names]
    colours = tier_colours(names)
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 3.2)
        ax = fig.subplots()
        labels = [m["date"].strftime("%Y-%m") for m in months]
        bottom = [0.0] * len(months)
        for name in reversed(names):  # worst at the bottom
            vals = []
            for m in months:
                share = next((t["share"] for t in m["tiers"] if t["tier"] == name), None)
                vals.append((share or 0) * 100)
            ax.bar(labels, vals, bottom=bottom, color=colours[name], label=name, width=0.8)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_ylim(0, 100)
        ax.set_ylabel("share of residents (%)")
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
                  reverse=True)
        if doc["public"]:
            ax.set_title("hidden counts (<5) are left out, so a bar may not reach 100%",
                         fontsize=7, loc="left")
        return to_svg(fig, "monthly")


def indicators_chart(doc: dict[str, Any], top: int = 15) -> str:
    """The most applied indicators by counting events (hidden counts left out)."""
    rows = [r for r in doc["indicators"] if r["events"]][:top]
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.3 * max(len(rows), 1) + 0.8)
        ax = fig.subplots()
        ys = list(range(len(rows)))
        counts = [r["events"] for r in rows]
        colours = ["#b2443a" if (r["points"] or 0) < 0 else "#3a7d44" for r in rows]
        ax.barh(ys, counts, color=colours)
        for y, n in zip(ys, counts, strict=True):
            ax.text(n, y, f" {n:,}", va="center", fontsize=8)
        ax.set_yticks(ys, [_short(r["name"]) for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, max([*counts, 1]) * 1.2)
        ax.set_xlabel("counting events (red: negative points, green: positive)")
        if not rows:
            ax.text(0.5, 0.5, "no counting events", ha="center", transform=ax.transAxes)
        return to_svg(fig, "indicators")


def cities_chart(docs: Sequence[dict[str, Any]]) -> str:
    """One 100% bar per city: its own tiers, best on the right; cities never pooled."""
    with matplotlib.rc_context(RC):
        fig = _figure(7.5, 0.5 * len(docs) + 0.9)
        ax = fig.subplots()
        cmap = matplotlib.colormaps["RdYlGn"]
        # colours by tier name across the cities (a legend names them), not by rank
        colours = {n: cmap(p) for n, p in index_tier_positions(docs).items()}
        for y, doc in enumerate(docs):
            left = 0.0
            for t in reversed(doc["tiers"]):
                share = (t["share"] or 0) * 100
                ax.barh(y, share, left=left, color=colours[t["tier"]], edgecolor="white",
                        lw=0.5)
                if share >= 6:
                    ax.text(left + share / 2, y, t["tier"], ha="center", va="center",
                            fontsize=7)
                left += share
        ax.set_yticks(range(len(docs)), [d["city"]["name"] for d in docs])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("share of the city's residents in each of its own tiers (%)")
        ax.legend(handles=[Patch(color=c, label=n) for n, c in colours.items()],
                  title="tier (one colour per name)", fontsize=7, title_fontsize=7,
                  loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return to_svg(fig, "cities")


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


CHARTS = {
    "score-distribution": distribution_chart,
    "tier-shares": tier_chart,
    "tier-shares-monthly": monthly_chart,
    "indicators": indicators_chart,
}


def city_charts(doc: dict[str, Any], names: Sequence[str] | None = None) -> dict[str, str]:
    """The charts ``names`` (default: every chart) of one city's report: file stem → SVG
    text."""
    return {name: draw(doc) for name, draw in CHARTS.items() if names is None or name in names}
