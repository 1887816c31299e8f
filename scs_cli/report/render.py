"""The figures document as HTML, Markdown and JSON.

Every renderer reads the same (already suppressed) document. The HTML page stands alone:
CSS inline, charts as inline SVG, and a Content-Security-Policy that forbids loading
anything, so the page makes no request even if a browser were tempted to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from scs_cli.core.output import markdown_document, to_json
from scs_cli.core.templates import Templates
from scs_cli.core.text import day, duration_words

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HIDDEN = {"<5": "<5", "complement": "×"}
HIDDEN_NOTE = ("Published report: counts below 5 are shown as “<5”; a count marked “×” is "
               "hidden as well, so that a “<5” cell cannot be worked out from a total.")

# the page's CSS is the template report.css


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
    """`core.text.signed` with thousands separators, as the report's counts are."""
    text = num(value)
    return "+" + text if value is not None and value > 0 else text


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


def lists_table(doc: dict[str, Any]) -> Table | None:
    """Residents on each list on the as-of date (a public report: published lists only)."""
    items = doc["lists"]["lists"]
    if not items:
        return None
    rows = [[x["name"], f"{x['kind']} list", x["severity"] or "—",
             num(x["residents"], x["suppressed"]), _words(x["lasts"]) or "—",
             _words(x["repair_after"]) or "—"] for x in items]
    return (["list", "kind", "severity", "residents on it", "lasts", "repair after entry"],
            rows, {3})


def repairs_table(doc: dict[str, Any]) -> Table | None:
    items = doc["lists"]["repairs"]["pending_list"]
    if not items:
        return None
    names = {x["id"]: x["name"] for x in doc["lists"]["lists"]}
    rows = [[str(r["repair_id"]), names.get(r["list"], r["list"]), day(r["filed_on"]),
             num(r["age_days"]), day(r["due_on"]),
             "yes" if r["due_on"] is not None and r["due_on"] < doc["as_of"] else "no"]
            for r in items]
    return ["repair", "list", "filed on", "age (days)", "decision due", "overdue"], rows, {0, 3}


def lists_text(doc: dict[str, Any]) -> str:
    """Repairs pending and overdue, and what a published report leaves out."""
    r = doc["lists"]["repairs"]
    deadline = (f"pending longer than the catalogue's {_words(r['deadline'])} to decide "
                "objections" if r["deadline"] else "the catalogue sets no decision deadline, "
                "so none is")
    noun = "application" if r["pending"] == 1 else "applications"
    text = (f"Residents on each list on {day(doc['as_of'])}: lists are kept beside the score "
            f"and change no point. {num(r['pending'], r['suppressed'])} repair {noun} "
            f"pending, {num(r['overdue'], r['suppressed'])} of them overdue ({deadline}).")
    if doc["public"]:
        text += (" A published report counts only the lists the office publishes, never one "
                 "of minor severity, and names no single repair.")
    return text


def _words(duration: str | None) -> str | None:
    return duration_words(duration) if duration else None


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


# --- HTML (templates report.html and report-index.html) ----------------------------------

_bundled: Templates | None = None


def _templates(templates: Templates | None) -> Templates:
    global _bundled
    if templates is not None:
        return templates
    _bundled = _bundled or Templates()
    return _bundled


def _head(doc: dict[str, Any]) -> str:
    """The ledger head the report was made from, as `scs ledger head` prints it."""
    head = doc.get("ledger_head")
    return f" (ledger head {head['rows']}:{head['hash']})" if head else ""


def city_html(doc: dict[str, Any], charts: dict[str, str],
              templates: Templates | None = None) -> str:
    """One city's page; the charts are our own SVG, put in as they are."""
    city = doc["city"]
    return _templates(templates).render(
        "report.html", lang="en", csp=Markup(CSP),
        title=f"{city['name']} — credit report {day(doc['as_of'])}",
        city=city, as_of=day(doc["as_of"]), public=doc["public"], hidden_note=HIDDEN_NOTE,
        known=day(doc["known_at"]), head=_head(doc), generated_by=doc["generated_by"],
        cards=headline_cards(doc), doc=doc,
        charts={k: Markup(v) for k, v in charts.items()},
        warnings=doc["data_quality"]["warnings"],
        texts={"scheme": scheme_text(doc), "provenance": provenance_text(doc),
               "transitions": transitions_text(doc), "objections": objections_text(doc),
               "late": late_text(doc), "bursts": bursts_text(doc), "heavy": heavy_text(doc),
               "lists": lists_text(doc) if "lists" in doc else None},
        tables={"adopted": adopted_table(doc), "tiers": tiers_table(doc),
                "distribution": distribution_table(doc), "monthly": monthly_table(doc),
                "indicators": indicators_table(doc), "categories": categories_table(doc),
                "rewards": grants_table(doc, "rewards") if doc["rewards"] else None,
                "sanctions": grants_table(doc, "sanctions") if doc["sanctions"] else None,
                "transitions": transitions_table(doc),
                "overdue": objections_table(doc, "overdue_list"),
                "pending": objections_table(doc, "pending_list"),
                "late": late_table(doc), "bursts": bursts_table(doc),
                "agency": agency_table(doc),
                "lists": lists_table(doc) if "lists" in doc else None,
                "repairs": repairs_table(doc) if "lists" in doc else None})


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


def index_html(docs: Sequence[dict[str, Any]], chart: str,
               templates: Templates | None = None) -> str:
    first = docs[0]
    return _templates(templates).render(
        "report-index.html", lang="en", csp=Markup(CSP),
        title=f"Credit reports {day(first['as_of'])}", as_of=day(first["as_of"]),
        public=first["public"], hidden_note=HIDDEN_NOTE,
        cities=[d["city"] for d in docs], chart=Markup(chart), rows=index_rows(docs))


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
    if "lists" in doc:  # only a catalogue with lists
        out += ["## Lists beside the score", "", lists_text(doc), "",
                md_table(lists_table(doc), "No list is shown.")]
        if table := repairs_table(doc):
            out += ["### Repairs pending, oldest first", "", md_table(table)]
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
