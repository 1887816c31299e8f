"""The impact document as JSON, Markdown and a self-contained HTML page.

Every renderer reads the same (already suppressed) document through one neutral
description of its tables (`tables`), which the CLI's terminal table reads as well. The
HTML comes from a Jinja2 template beside this module (autoescaping on), styled like the
batch report, with a Content-Security-Policy that forbids loading anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from scs_cli.core.output import decimal_text, markdown_cell, markdown_document, to_json

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
TEMPLATES = Path(__file__).parent / "templates"
HIDDEN = "<5"
NOT_SCORED = "not scored"


@dataclass(frozen=True)
class Table:
    """One table as every format shows it: header, rows of text, which columns are numbers."""

    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    numeric: frozenset[int]
    note: str = ""


def count(value: int | None) -> str:
    return HIDDEN if value is None else f"{value:,}"


def number(value: Decimal | int | None, sign: bool = False) -> str:
    if value is None:
        return HIDDEN
    text = decimal_text(value)
    return "+" + text if sign and value > 0 else text


def headline(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The cards at the top: who is scored, who wins and who loses."""
    res = doc["residents"]
    return [("scored under the baseline", count(res["baseline"])),
            ("scored under the reform", count(res["reform"])),
            ("scored under both", count(res["both"])),
            ("winners (score up)", count(doc["winners"])),
            ("losers (score down)", count(doc["losers"])),
            ("unchanged", count(doc["unchanged"]))]


def summary_text(doc: dict[str, Any]) -> str:
    b, r = doc["baseline"], doc["reform"]
    text = (f"{doc['city']['name']} as of {doc['as_of']} (ledger rows known at "
            f"{doc['known_at']}). Baseline: {b['rules']}, tiers of {b['scheme']}. "
            f"Reform: {r['rules']}, judging every event.")
    if doc["public"]:
        text += " Published figures: counts from 1 to 4 are shown as <5."
    return text


def matrix(doc: dict[str, Any]) -> tuple[list[str], list[str], dict[tuple[Any, Any], Any]]:
    """Row and column labels of the transition matrix (tiers best first, then "not
    scored" when some resident is scored on one side only) and its cells."""
    cells = {(t["from"], t["to"]): t["residents"] for t in doc["transitions"]}
    rows = list(doc["baseline"]["tiers"]) + ([None] if any(
        a is None for a, _ in cells) else [])
    columns = list(doc["reform"]["tiers"]) + ([None] if any(
        z is None for _, z in cells) else [])
    return rows, columns, cells


def transitions_table(doc: dict[str, Any]) -> Table:
    rows, columns, cells = matrix(doc)
    body = [[a or NOT_SCORED] + [count(cells[(a, z)]) if (a, z) in cells else "0"
                                 for z in columns] for a in rows]
    return Table("transitions", "Tier transitions", ["baseline ↓ / reform →"]
                 + [z or NOT_SCORED for z in columns], body,
                 frozenset(range(1, len(columns) + 1)),
                 "Residents in each baseline tier (rows) by their tier under the reform "
                 "(columns).")


def tables(doc: dict[str, Any]) -> list[Table]:
    """Every table of the document, in the page's order."""
    ch = doc["change"]
    out = [
        transitions_table(doc),
        Table("by_tier", "Winners and losers by baseline tier",
              ["baseline tier", "winners", "losers", "unchanged"],
              [[r["tier"], count(r["winners"]), count(r["losers"]), count(r["unchanged"])]
               for r in doc["by_tier"]], frozenset({1, 2, 3}),
              "Among residents scored under both: score up, down or equal under the reform."),
        Table("change", "Change in score", list(ch),
              [[number(v, sign=True) if v is not None else "—" for v in ch.values()]],
              frozenset(range(len(ch))),
              "Reform score − baseline score, among residents scored under both. Each "
              "quantile is the nearest rank: the smallest change that at least that share "
              "of residents have or fall below (never interpolated)."),
        Table("rewards", "Rewards", ["reward", "name", "baseline", "reform", "gained", "lost",
                                     "value", "cost"],
              [[r["id"], r["name"], count(r["baseline"]), count(r["reform"]),
                count(r["gained"]), count(r["lost"]),
                "" if r["value"] is None else f"{number(r['value'])} {r['unit']}",
                "" if r["value"] is None else (HIDDEN if r["cost"] is None else
                                               f"{number(r['cost'], sign=True)} {r['unit']}")]
               for r in doc["rewards"]], frozenset({2, 3, 4, 5, 6, 7}),
              "Residents granted each reward under each side, who gain it and who lose it; "
              "cost: the change in what the reward costs (holders × value, reform less "
              "baseline)."),
        Table("sanctions", "Sanctions", ["sanction", "name", "baseline", "reform", "gained",
                                         "lost"],
              [[s["id"], s["name"], count(s["baseline"]), count(s["reform"]),
                count(s["gained"]), count(s["lost"])] for s in doc["sanctions"]],
              frozenset({2, 3, 4, 5})),
        Table("indicators", "Indicators that drive the change",
              ["indicator", "baseline", "reform", "change"],
              [[i["indicator"], number(i["baseline"]), number(i["reform"]),
                number(i["change"], sign=True)] for i in doc["indicators"]],
              frozenset({1, 2, 3}),
              "Counted points (each counting event's points before caps, as the kernel "
              "counted them) summed over residents under each side; largest change first."),
    ]
    return out


def heat(doc: dict[str, Any]) -> dict[str, Any]:
    """The transition matrix for the heat-map: each cell's text and shade (0…1 of the
    largest cell; a cell on the diagonal of equal tier names is marked)."""
    rows, columns, cells = matrix(doc)
    top = max([n for n in cells.values() if n is not None] or [1])
    grid = []
    for a in rows:
        line = []
        for z in columns:
            n = cells.get((a, z), 0)
            shade = 0.12 if n is None else (n / top if top else 0)
            line.append({"text": count(n) if (a, z) in cells else "0",
                         "shade": f"{0.08 + 0.8 * shade:.2f}" if n != 0 else "0",
                         "dark": n is not None and shade > 0.55,
                         "same": a is not None and a == z})
        grid.append({"label": a or NOT_SCORED, "cells": line})
    return {"columns": [z or NOT_SCORED for z in columns], "rows": grid}


def impact_json(doc: dict[str, Any]) -> str:
    return to_json(doc) + "\n"


def impact_markdown(doc: dict[str, Any]) -> str:
    parts = [f"# What the reform would do: {markdown_cell(doc['city']['name'])}\n",
             markdown_cell(summary_text(doc)) + "\n",
             "\n".join(f"- {k}: **{v}**" for k, v in headline(doc)) + "\n"]
    for t in tables(doc):
        parts.append(f"## {t.title}\n")
        if t.note:
            parts.append(markdown_cell(t.note) + "\n")
        if not t.rows:
            parts.append("None.\n")
            continue
        parts.append("| " + " | ".join(markdown_cell(h) for h in t.header) + " |\n|"
                     + "".join("---:|" if i in t.numeric else "---|"
                               for i in range(len(t.header))) + "\n"
                     + "".join("| " + " | ".join(markdown_cell(c) for c in row) + " |\n"
                               for row in t.rows))
    parts.append(f"\n_{markdown_cell(doc['generated_by'])}_\n")
    return markdown_document("\n".join(parts))


def impact_html(doc: dict[str, Any]) -> str:
    """The self-contained page: CSS inline, charts as inline SVG, no request possible."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from scs_cli.impact.charts import impact_charts  # matplotlib: only for the page

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"], default=True))
    return env.get_template("impact.html.j2").render(
        doc=doc, csp=CSP, summary=summary_text(doc), cards=headline(doc),
        tables={t.key: t for t in tables(doc)}, heat=heat(doc), charts=impact_charts(doc))
