"""The figures document as HTML, Markdown and JSON.

Every renderer reads the same (already suppressed) document. The HTML page stands alone:
CSS inline, charts as inline SVG, and a Content-Security-Policy that forbids loading
anything, so the page makes no request even if a browser were tempted to.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from scs_cli.core.output import markdown_document, to_json
from scs_cli.core.text import shown

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HIDDEN = {"<5": "<5", "complement": "×"}
HIDDEN_NOTE = ("Published report: counts below 5 are shown as “<5”; a count marked “×” is "
               "hidden as well, so that a “<5” cell cannot be worked out from a total.")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:60rem;padding:1rem 1.5rem 3rem;color:#1d232a;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccd3da;padding-bottom:.2rem;margin-top:2rem}
.sub{color:#56606b;margin-top:0}.note{color:#56606b;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #d6dce2;padding:.25rem .55rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f1f4f7}.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #d6dce2;border-radius:.4rem;padding:.5rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}.warn{color:#8a3b12}
svg{max-width:100%;height:auto}.badge{background:#8a3b12;color:#fff;border-radius:.3rem;
padding:.05rem .4rem;font-size:.8rem;vertical-align:middle}
"""


# --- values as text ----------------------------------------------------------------------

def num(value: Any, mark: Any = False) -> str:
    """A count or number as people read it; a hidden one as its marker."""
    if value is None:
        return HIDDEN.get(mark, "—") if mark else "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def pct(share: float | None, mark: Any = False) -> str:
    if share is None:
        return HIDDEN.get(mark, "—") if mark else "—"
    return f"{share * 100:.1f}%"


def signed(value: float | int | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + num(value)


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


# --- one neutral description of every section, rendered twice -----------------------------

Table = tuple[list[str], list[list[str]], set[int]]  # header, rows, numeric columns


def headline_cards(doc: dict[str, Any]) -> list[tuple[str, str]]:
    h = doc["headline"]
    return [
        ("residents scored", num(h["residents_scored"], h["suppressed"])),
        ("events recorded", num(h["events_recorded"], h["suppressed"])),
        ("events counted", num(h["events_counted"], h["suppressed"])),
        ("mean score", num(h["mean_score"])),
        ("mean relative to base", signed(h["mean_relative_to_base"])),
        ("scheme version", h["scheme"]["version"]),
    ]


def provenance_text(doc: dict[str, Any]) -> str:
    """How much of what counts rests on values the catalogue marks assumed."""
    p = doc.get("provenance")
    if not p:
        return ""
    if not p["assumed_values"]:
        return "Every value of the catalogue in force is cited; none is marked assumed."
    floors = p["tier_floors_assumed"]
    text = (f"The catalogue in force marks {p['assumed_values']} value"
            f"{'s' * (p['assumed_values'] != 1)} assumed: the compiler's choice where no "
            "source gives one"
            + (f", including the floor{'s' * (len(floors) != 1)} of tier"
               f"{'s' * (len(floors) != 1)} {', '.join(floors)}" if floors else "") + ". ")
    if p["assumed_points"] is None:
        return text + ("Fewer than 5 counting events rest on assumed points or expiry; "
                       "their points are not shown.")
    return text + (f"Of the {num(p['counted_points'])} points counted (in size, before caps), "
                   f"{num(p['assumed_points'])} ({pct(p['assumed_share'])}) in "
                   f"{num(p['assumed_events'])} events rest on an assumed point value or "
                   "expiry.")


def scheme_text(doc: dict[str, Any]) -> str:
    s = doc["headline"]["scheme"]
    text = (f"Scheme in force on {day(doc['as_of'])}: catalogue version {s['version']} "
            f"(from {day(s['effective_from'])}), {s['mode']}. Each event is judged by the "
            "version in force on the day it occurred.")
    if s["participation"] == "consent":
        text += (" Participation is by consent: only residents whose consent is in force on "
                 "the as-of date are scored.")
    return text


def adopted_table(doc: dict[str, Any]) -> Table:
    scheme = doc["headline"]["scheme"]["version"]
    rows = [[v["version"] + (" (scheme in force)" if v["version"] == scheme else ""),
             day(v["effective_from"]), num(v["events_counted"], v["suppressed"]),
             (v["sha256"] or "")[:12]] for v in doc["headline"]["adopted"]]
    return ["version", "in force from", "counting events judged by it", "sha256"], rows, {2}


def tiers_table(doc: dict[str, Any]) -> Table:
    rows = [[t["tier"], num(t["min"]), num(t["below"]), num(t["residents"], t["suppressed"]),
             pct(t["share"], t["suppressed"])] for t in doc["tiers"]]
    return ["tier", "from", "below", "residents", "share"], rows, {1, 2, 3, 4}


def distribution_table(doc: dict[str, Any]) -> Table:
    rows = []
    for b in doc["score_distribution"]["bins"]:
        if b["from"] is None:
            label = f"below {num(b['below'])}"
        elif b["below"] is None:
            label = f"{num(b['from'])} and above"
        else:
            label = f"{num(b['from'])} to below {num(b['below'])}"
        rows.append([label, num(b["residents"], b["suppressed"])])
    return ["score", "residents"], rows, {1}


def monthly_table(doc: dict[str, Any]) -> Table:
    names: list[str] = []
    for m in doc["monthly"]:
        names += [t["tier"] for t in m["tiers"] if t["tier"] not in names]
    rows = []
    for m in doc["monthly"]:
        by = {t["tier"]: t for t in m["tiers"]}
        rows.append([day(m["date"]), m["version"] or "—", num(m["residents"], m["suppressed"])]
                    + [pct(by[n]["share"], by[n]["suppressed"]) if n in by else ""
                       for n in names])
    return (["month end", "version", "residents", *names], rows,
            set(range(2, 3 + len(names))))


def indicators_table(doc: dict[str, Any]) -> Table:
    rows = [[i["name"], i["indicator"], i["category"] or "—",
             num(i["events"], i["suppressed"]), num(i["residents"], i["suppressed"]),
             signed(i["points"]) if not i["suppressed"] else HIDDEN[i["suppressed"]]]
            for i in doc["indicators"]]
    return (["indicator", "id", "category", "counting events", "residents", "points"], rows,
            {3, 4, 5})


def categories_table(doc: dict[str, Any]) -> Table:
    rows = [[c["name"], c["category"] or "—", num(c["events"], c["suppressed"]),
             num(c["residents"], c["suppressed"]),
             signed(c["points"]) if not c["suppressed"] else HIDDEN[c["suppressed"]]]
            for c in doc["categories"]]
    return ["category", "id", "counting events", "residents", "points"], rows, {2, 3, 4}


def grants_table(doc: dict[str, Any], kind: str) -> Table:
    rows = []
    for r in doc[kind]:
        by = ", ".join(f"{t['tier']}: {num(t['residents'], t['suppressed'])}"
                       for t in r["by_tier"])
        rows.append([r["name"], r["id"], r["condition"], num(r["residents"], r["suppressed"]),
                     by])
    return [kind[:-1], "id", "condition", "residents", "by tier"], rows, {3}


def transitions_table(doc: dict[str, Any]) -> Table | None:
    tr = doc["transitions"]
    if tr["saved_run"] is None:
        return None
    cells = {(c["from"], c["to"]): c for c in tr["cells"]}
    rows = []
    for f in tr["from"]:
        row = [f]
        for t in tr["to"]:
            c = cells.get((f, t))
            row.append(num(c["residents"], c["suppressed"]) if c else "")
        rows.append(row)
    return ["then ↓ / now →", *tr["to"]], rows, set(range(1, len(tr["to"]) + 1))


def objections_table(doc: dict[str, Any], which: str) -> Table | None:
    items = doc["objections"][which]
    if not items:
        return None
    rows = [[str(o["objection_id"]), day(o["filed_on"]), num(o["age_days"]),
             day(o["due_on"]), "yes" if o["overdue"] else "no"] for o in items]
    return ["objection", "filed on", "age (days)", "decision due", "overdue"], rows, {0, 2}


def agency_table(doc: dict[str, Any]) -> Table:
    rows = [[a["agency"], *(num(a[k], a["suppressed"]) for k in
                            ("events", "voids", "lifts", "objections", "upheld"))]
            for a in doc["data_quality"]["by_agency"]]
    return (["agency", "events", "voids", "lifts", "objections", "upheld"], rows,
            {1, 2, 3, 4, 5})


def bursts_table(doc: dict[str, Any]) -> Table | None:
    days = doc["data_quality"]["bursts"]["days"]
    if not days:
        return None
    rows = [[b["agency"], day(b["date"]), num(b["events"], b["suppressed"]),
             num(b["median_daily"])] for b in days]
    return ["agency", "occurred on", "events", "agency's median per day"], rows, {2, 3}


def late_table(doc: dict[str, Any]) -> Table | None:
    late = doc["data_quality"]["late_recorded"]
    if not late["by_agency"]:
        return None
    rows = [[a["agency"], num(a["events"], a["suppressed"])] for a in late["by_agency"]]
    return ["agency", "events recorded late"], rows, {1}


def objections_text(doc: dict[str, Any]) -> str:
    o = doc["objections"]
    deadline = (f"the catalogue gives {o['deadline']} to decide" if o["deadline"]
                else "the catalogue sets no decision deadline")
    noun = "objection" if o["pending"] == 1 else "objections"
    text = (f"{num(o['pending'], o['suppressed'])} {noun} pending on {day(doc['as_of'])}, "
            f"{num(o['overdue'], o['suppressed'])} of them overdue ({deadline}).")
    if o["oldest_age_days"] is not None:
        text += f" The oldest has waited {o['oldest_age_days']} days."
    if doc["public"]:
        text += " A published report lists no single objection."
    return text


def transitions_text(doc: dict[str, Any]) -> str:
    run = doc["transitions"]["saved_run"]
    later = doc["transitions"].get("runs_not_before", 0)
    as_of = day(doc["as_of"])
    if run is None:
        if later:
            return (f"No run saved before {as_of} to compare with: "
                    f"{later} saved run{'s' if later > 1 else ''} scored on {as_of} or later "
                    f"{'are' if later > 1 else 'is'} not compared (a run of the report's own "
                    "date would compare the month with itself). Next month's report compares "
                    "with it.")
        return ("No saved run yet, so there is nothing to compare with. Save one with each "
                "report (`scs score LEDGER --as-of DATE --save`) and the next report "
                "compares with it.")
    ident = f"run {run['run_id']}, " if run["run_id"] is not None else ""
    return (f"Compared with the last run saved before {as_of} ({ident}as of "
            f"{day(run['as_of'])}): residents by their tier then (rows) and now (columns).")


def heavy_text(doc: dict[str, Any]) -> str:
    h = doc["data_quality"]["heavy_residents"]
    return (f"Residents with more than {h['threshold']:,.0f} events (the 99.9th percentile, "
            f"and at least {h['min_events']}): {num(h['residents'], h['suppressed'])}.")


def late_text(doc: dict[str, Any]) -> str:
    late = doc["data_quality"]["late_recorded"]
    if not late["available"]:
        return "Recording times were not available: late recording was not checked."
    backfill = late.get("backfill_events")
    first = ("" if backfill is None else
             f" The ledger's first import (its history) holds {num(backfill)} such events, "
             "expected of a backfill and not counted here.")
    return (f"Events recorded more than {late['threshold_days']} days after they occurred, "
            f"in imports after the ledger's first: {num(late['events'], late['suppressed'])}."
            + first)


def bursts_text(doc: dict[str, Any]) -> str:
    b = doc["data_quality"]["bursts"]
    return (f"Days on which one agency recorded more than {b['factor']}× its median daily "
            f"count of events: {b['agency_days']:,}" + (" (largest first):" if b["days"]
                                                       else "."))


# --- HTML --------------------------------------------------------------------------------

def _e(text: Any) -> str:
    return html.escape(shown(str(text)), quote=True)  # no bidi override or control


def html_table(table: Table | None, empty: str = "") -> str:
    if table is None:
        return f"<p>{_e(empty)}</p>" if empty else ""
    header, rows, numeric = table
    th = "".join(f'<th{" class=n" if i in numeric else ""}>{_e(h)}</th>'
                 for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{_e(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n{body}\n"
            "</body></html>\n")


def _figure(svg: str, caption: str) -> str:
    return f'<figure role=img aria-label="{_e(caption)}">{svg}</figure>'


def _head(doc: dict[str, Any]) -> str:
    """The ledger head the report was made from, as `scs ledger head` prints it."""
    head = doc.get("ledger_head")
    return f" (ledger head {head['rows']}:{head['hash']})" if head else ""


def city_html(doc: dict[str, Any], charts: dict[str, str]) -> str:
    city = doc["city"]
    known = day(doc["known_at"])
    parts = [
        f"<h1>{_e(city['name'])} — credit report as of {_e(day(doc['as_of']))}"
        + (" <span class=badge>public</span>" if doc["public"] else "") + "</h1>",
        f"<p class=sub>{_e(city['province'] or '')} · city id {_e(city['id'])} · ledger rows "
        f"recorded by {_e(known)}{_e(_head(doc))} · {_e(doc['generated_by'])}</p>",
    ]
    if doc["public"]:
        parts.append(f"<p class=note>{_e(HIDDEN_NOTE)}</p>")
    parts.append("<h2 id=headline>Headline</h2><div class=cards>" + "".join(
        f"<div class=card><b>{_e(v)}</b>{_e(k)}</div>" for k, v in headline_cards(doc))
        + "</div>")
    parts += [f"<p>{_e(scheme_text(doc))}</p>", html_table(adopted_table(doc))]
    parts += ["<h2 id=tiers>Tiers</h2>", _figure(charts["tier-shares"], "tier shares"),
              html_table(tiers_table(doc))]
    parts += ["<h2 id=distribution>Score distribution</h2>",
              _figure(charts["score-distribution"], "score distribution"),
              "<details><summary>Residents per score bin</summary>"
              + html_table(distribution_table(doc)) + "</details>"]
    parts += ["<h2 id=monthly>Tier shares month by month</h2>",
              _figure(charts["tier-shares-monthly"], "tier shares at each month end"),
              html_table(monthly_table(doc))]
    parts += ["<h2 id=indicators>Indicators most applied</h2>",
              _figure(charts["indicators"], "most applied indicators"),
              "<p class=note>Counting events on the as-of date; points before caps.</p>",
              html_table(indicators_table(doc)), "<h3>By category</h3>",
              html_table(categories_table(doc)),
              "<h3 id=provenance>Resting on assumptions</h3>",
              f"<p>{_e(provenance_text(doc))}</p>"]
    parts += ["<h2 id=rewards>Rewards and sanctions</h2><h3>Rewards granted</h3>",
              html_table(grants_table(doc, "rewards") if doc["rewards"] else None,
                         "The catalogue defines no rewards."),
              "<h3>Sanctions applied</h3>",
              html_table(grants_table(doc, "sanctions") if doc["sanctions"] else None,
                         "The catalogue defines no sanctions.")]
    parts += ["<h2 id=transitions>Tier transitions since the last saved run</h2>",
              f"<p>{_e(transitions_text(doc))}</p>", html_table(transitions_table(doc))]
    parts += ["<h2 id=objections>Objections</h2>", f"<p>{_e(objections_text(doc))}</p>"]
    if objections_table(doc, "overdue_list"):
        parts += ["<h3>Overdue, oldest first</h3>",
                  html_table(objections_table(doc, "overdue_list"))]
    if objections_table(doc, "pending_list"):
        parts += ["<h3>All pending, oldest first</h3>",
                  html_table(objections_table(doc, "pending_list"))]
    dq = doc["data_quality"]
    parts.append("<h2 id=quality>Data quality</h2>")
    parts.append("<ul>" + "".join(f"<li class=warn>{_e(w)}</li>" for w in dq["warnings"])
                 + "</ul>" if dq["warnings"] else "<p>No warnings.</p>")
    parts += [f"<p>{_e(late_text(doc))}</p>", html_table(late_table(doc)),
              f"<p>{_e(bursts_text(doc))}</p>", html_table(bursts_table(doc)),
              f"<p>{_e(heavy_text(doc))}</p>", "<h3>Voids, lifts and objections by agency</h3>",
              html_table(agency_table(doc))]
    parts.append("<p class=note>Machine-readable: <a href=report.json>report.json</a>; "
                 "the same figures as <a href=report.md>Markdown</a>.</p>")
    return _page(f"{city['name']} — credit report {day(doc['as_of'])}", "\n".join(parts))


def index_rows(docs: Sequence[dict[str, Any]]) -> Table:
    rows = []
    for d in docs:
        h = d["headline"]
        shares = ", ".join(f"{t['tier']} {pct(t['share'], t['suppressed'])}" for t in d["tiers"])
        rows.append([d["city"]["name"], d["city"]["id"], h["scheme"]["version"],
                     num(h["residents_scored"], h["suppressed"]),
                     num(h["events_counted"], h["suppressed"]), num(h["base"]),
                     signed(h["mean_relative_to_base"]), shares])
    return (["city", "id", "scheme", "residents", "events counted", "base",
             "mean relative to base", "tier shares"], rows, {3, 4, 5, 6})


def index_html(docs: Sequence[dict[str, Any]], chart: str) -> str:
    first = docs[0]
    links = "".join(f'<li><a href="{_e(d["city"]["id"])}/index.html">{_e(d["city"]["name"])}'
                    f"</a> (<a href=\"{_e(d['city']['id'])}/report.json\">JSON</a>, "
                    f"<a href=\"{_e(d['city']['id'])}/report.md\">Markdown</a>)</li>"
                    for d in docs)
    body = "\n".join([
        f"<h1>Credit reports as of {_e(day(first['as_of']))}</h1>",
        "<p class=sub>Each city is scored on its own ledger with its own catalogue; no "
        "resident is ever counted across cities. Tiers differ by city.</p>",
        f"<p class=note>{_e(HIDDEN_NOTE)}</p>" if first["public"] else "",
        f"<ul>{links}</ul>", _figure(chart, "tier shares by city"),
        html_table(index_rows(docs)),
    ])
    return _page(f"Credit reports {day(first['as_of'])}", body)


# --- Markdown ----------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(table: Table | None, empty: str = "") -> str:
    if table is None:
        return empty + "\n" if empty else ""
    header, rows, numeric = table
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
             "|" + "|".join("---:" if i in numeric else "---" for i in range(len(header)))
             + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def city_markdown(doc: dict[str, Any], chart_files: dict[str, str]) -> str:
    city = doc["city"]
    out: list[str] = [
        f"# {city['name']} — credit report as of {day(doc['as_of'])}"
        + (" (public)" if doc["public"] else ""), "",
        f"City id `{city['id']}`; ledger rows recorded by {day(doc['known_at'])}"
        f"{_head(doc)}; "
        f"{doc['generated_by']}.", "",
    ]
    if doc["public"]:
        out += [HIDDEN_NOTE, ""]
    img: Callable[[str, str], str] = lambda name, alt: f"![{alt}]({chart_files[name]})\n"  # noqa: E731
    out += ["## Headline", ""] + [f"- {k}: **{v}**" for k, v in headline_cards(doc)] + [""]
    out += [scheme_text(doc), "", md_table(adopted_table(doc))]
    out += ["## Tiers", "", img("tier-shares", "tier shares"), md_table(tiers_table(doc))]
    out += ["## Score distribution", "", img("score-distribution", "score distribution"),
            md_table(distribution_table(doc))]
    out += ["## Tier shares month by month", "",
            img("tier-shares-monthly", "tier shares at each month end"),
            md_table(monthly_table(doc))]
    out += ["## Indicators most applied", "", img("indicators", "most applied indicators"),
            "Counting events on the as-of date; points before caps.", "",
            md_table(indicators_table(doc)), "### By category", "",
            md_table(categories_table(doc)), "### Resting on assumptions", "",
            provenance_text(doc), ""]
    out += ["## Rewards and sanctions", "", "### Rewards granted", "",
            md_table(grants_table(doc, "rewards") if doc["rewards"] else None,
                     "The catalogue defines no rewards."),
            "### Sanctions applied", "",
            md_table(grants_table(doc, "sanctions") if doc["sanctions"] else None,
                     "The catalogue defines no sanctions.")]
    out += ["## Tier transitions since the last saved run", "", transitions_text(doc), "",
            md_table(transitions_table(doc))]
    out += ["## Objections", "", objections_text(doc), ""]
    for which, title in (("overdue_list", "Overdue, oldest first"),
                         ("pending_list", "All pending, oldest first")):
        table = objections_table(doc, which)
        if table:
            out += [f"### {title}", "", md_table(table)]
    dq = doc["data_quality"]
    out += ["## Data quality", ""]
    out += [f"- **{w}**" for w in dq["warnings"]] or ["No warnings."]
    out += ["", late_text(doc), "", md_table(late_table(doc)), bursts_text(doc), "",
            md_table(bursts_table(doc)), heavy_text(doc), "",
            "### Voids, lifts and objections by agency", "", md_table(agency_table(doc))]
    text = "\n".join(out).rstrip() + "\n"
    # names, notes and reasons come from catalogues and ledgers: HTML in them stays text
    return markdown_document(re.sub(r"\n{3,}", "\n\n", text))  # no gap for an empty table


def city_json(doc: dict[str, Any]) -> str:
    return to_json(doc, indent=2) + "\n"


def index_json(docs: Sequence[dict[str, Any]]) -> str:
    cities = [{"id": d["city"]["id"], "name": d["city"]["name"],
               "path": f"{d['city']['id']}/report.json", **{
                   k: d["headline"][k] for k in ("residents_scored", "events_counted",
                                                  "base", "mean_score",
                                                  "mean_relative_to_base", "suppressed")},
               "scheme_version": d["headline"]["scheme"]["version"],
               "tiers": [{k: t[k] for k in ("tier", "residents", "share", "suppressed")}
                         for t in d["tiers"]]} for d in docs]
    return to_json({"format": "scs-report-index", "format_version": docs[0]["format_version"],
                    "as_of": docs[0]["as_of"], "public": docs[0]["public"],
                    "cities": cities}, indent=2) + "\n"
