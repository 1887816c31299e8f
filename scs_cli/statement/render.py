"""One `Letter` as a self-contained, printable HTML page.

No external resource of any kind: CSS inline, no script, no image, and a
Content-Security-Policy that forbids loading anything. The page prints on A4 (``@page``),
table rows are never cut across pages and table headers repeat; on a narrow screen
(a phone) each table row becomes a card with its labels. Every piece of text from a
catalogue or ledger (ids, names, legal bases, grounds, notes) is HTML-escaped.

The words are for a resident without training: what the score is, why, what will change
it and when, and how to object. The numbers are the explanation's, shown, never computed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from scs_cli.core.output import decimal_text
from scs_cli.core.text import shown
from scs_cli.explain.explain import EventLine
from scs_cli.statement.letter import NOT_RECORDED, Letter, Notice, Objection

CSP = "default-src 'none'; style-src 'unsafe-inline'"

COUNTING = ("counted", "capped")
ENDED = ("expired", "lifted", "voided", "over-limit")
STATUS_WORDS = {
    "counted": "counts",
    "capped": "counts, held back by a cap",
    "over-limit": "does not count: over the rule's limit per period",
    "expired": "no longer counts: expired",
    "lifted": "no longer counts: lifted",
    "voided": "removed from your record",
    "suspended": "does not count while your objection is pending",
    "future": "dated after this statement",
    NOT_RECORDED: "not yet recorded",
}
UNITS = {"d": ("day", "days"), "w": ("week", "weeks"), "m": ("month", "months"),
         "y": ("year", "years")}

CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
 color:#111;background:#fff;margin:0 auto;max-width:60rem;padding:1.2rem}
h1{font-size:1.45rem;margin:.2rem 0 .4rem}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:2px solid #333;padding-bottom:.15rem;
 break-after:avoid;page-break-after:avoid}
p{margin:.35rem 0}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.6rem 0;
 font-size:.92rem}
.meta dt{color:#444}
.meta dd{margin:0;overflow-wrap:anywhere}
.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
code{overflow-wrap:anywhere}
.score{display:flex;flex-wrap:wrap;gap:1rem;margin:.6rem 0}
.score div{border:2px solid #333;border-radius:.4rem;padding:.4rem .9rem;min-width:8rem}
.score b{display:block;font-size:1.8rem;line-height:1.2}
.small{font-size:.85rem;color:#333}
table{border-collapse:collapse;width:99.5%;margin:.4rem 0;font-size:.88rem;
 table-layout:fixed}
th,td{border:1px solid #999;padding:.25rem .4rem;text-align:left;vertical-align:top;
 overflow-wrap:anywhere}
td.d{white-space:nowrap}
th{background:#eee;overflow-wrap:normal}
td.n,th.n{text-align:right}
tr,li{break-inside:avoid;page-break-inside:avoid}
.ev th:nth-child(1){width:6%}.ev th:nth-child(2){width:12%}.ev th:nth-child(3){width:15%}
.ev th:nth-child(4){width:16%}.ev th:nth-child(5){width:10%}.ev th:nth-child(6){width:10%}
.ev th:nth-child(7){width:19%}.ev th:nth-child(8){width:12%}
.ob th:nth-child(1){width:13%}.ob th:nth-child(2){width:9%}.ob th:nth-child(3){width:12%}
.ob th:nth-child(4){width:38%}.ob th:nth-child(5){width:13%}.ob th:nth-child(6){width:15%}
.pr th:nth-child(1){width:14%}.pr th:nth-child(2){width:11%}.pr th:nth-child(3){width:9%}
.ch th:nth-child(1){width:6%}.ch th:nth-child(2){width:13%}.ch th:nth-child(3){width:25%}
thead{display:table-header-group}
ol.reasons li{margin:.25rem 0}
.box{border:2px solid #333;border-radius:.4rem;padding:.5rem .8rem;margin:.6rem 0;
 break-inside:avoid;page-break-inside:avoid}
footer{margin-top:2rem;font-size:.8rem;color:#333;border-top:1px solid #999;padding-top:.4rem}
@media (max-width:640px){
 body{padding:.7rem;font-size:16px}
 table,thead,tbody,tr,td{display:block;width:100%}
 thead{display:none}
 tr{border:1px solid #999;border-radius:.3rem;margin:.5rem 0;padding:.2rem}
 td{border:0;padding:.15rem .3rem}
 td.n{text-align:left}
 td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
}
@page{size:A4;margin:16mm 14mm 16mm 14mm}
@media print{body{max-width:none;padding:0;font-size:10.5pt}
 table{font-size:9pt} .small{font-size:8pt}}
"""


def _e(text: object) -> str:
    return html.escape(shown(str(text)), quote=True)  # no bidi override or control


def _num(value: Decimal | None) -> str:
    return "—" if value is None else decimal_text(value)


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + decimal_text(value)


def _day(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


def duration_words(text: str) -> str:
    """``15d`` → ``15 days``, ``1m`` → ``1 month``."""
    amount, unit = int(text[:-1]), text[-1]
    one, many = UNITS[unit]
    return f"{amount} {one if amount == 1 else many}"


def letter_html(letter: Letter) -> str:
    """The whole page."""
    x = letter.explanation
    title = f"{letter.city_name}: credit statement for {x.resident_id}, {x.as_of}"
    body = "\n".join(part for part in (
        _header(letter), _score(letter), _notice(letter.notice), _reasons(letter),
        _events_section(letter), _projection(letter), _objecting(letter),
        _footer(letter)) if part)
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f'<meta name=generator content="{_e(letter.generated_by)}">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
            f"{body}\n</body></html>\n")


def _header(letter: Letter) -> str:
    x = letter.explanation
    place = letter.city_name + (f", {letter.province}" if letter.province else "")
    version = f"version {x.version}" + (
        f", in force from {_day(letter.effective_from)}" if letter.effective_from else "")
    if letter.catalogue_title:
        version += f" ({letter.catalogue_title})"
    head = (f'<dd id=head><span class=hash>{_e(letter.head.hash)}</span> '
            f'({letter.head.rows:,} rows)</dd>')
    return (
        f"<header><p class=small>{_e(place)} credit office</p>"
        f"<h1>Your credit statement</h1>"
        "<dl class=meta>"
        f"<dt>Resident</dt><dd id=resident>{_e(x.resident_id)}</dd>"
        f"<dt>Statement date</dt><dd id=as-of>{_e(_day(x.as_of))}</dd>"
        f"<dt>City</dt><dd id=city>{_e(place)}</dd>"
        f"<dt>Rules applied</dt><dd id=catalogue>{_e(version)}</dd>"
        f"<dt>Ledger records up to</dt><dd>{_e(letter.known_at.isoformat(timespec='seconds'))}"
        "</dd>"
        f"<dt>Ledger head</dt>{head}"
        "</dl>"
        "<p class=small>This statement concerns the resident named by the id above and no "
        "one else. It holds no name: only the office can link the id to a person.</p>"
        "</header>")


def _score(letter: Letter) -> str:
    x = letter.explanation
    if not x.scored:
        return (f'<section id=score><h2>Your score</h2><p class=box id=not-scored>You are '
                f"not scored. {_e(_capital(x.score_reason))}.</p></section>")
    got = [r for r in x.rewards if r.applies]
    missed = [r for r in x.rewards if not r.applies]
    sanctions = [s for s in x.sanctions if s.applies]
    parts = [
        "<section id=score><h2>Your score</h2>",
        f'<div class=score><div>Score<b id=score-value>{_e(_num(x.score))}</b></div>'
        f'<div>Tier<b id=tier>{_e(x.tier)}</b></div></div>',
        f"<p><b>How the score is made:</b> {_e(x.score_reason)}.</p>",
        f"<p><b>Why this tier:</b> {_e(x.tier_reason)}.</p>",
        "<h3>Rewards</h3>" if x.rewards else "",
    ]
    if x.rewards:
        parts.append("<ul id=rewards>" + "".join(
            f"<li data-reward={_q(r.id)}><b>{_e(r.name)}</b>: "
            f"{'you receive it' if r.applies else 'not for you now'} ({_e(r.reason)})</li>"
            for r in (*got, *missed)) + "</ul>")
    if x.assumptions:
        parts.append(
            "<p class=box id=assumptions><b>Not all of these rules are published.</b> This "
            "score rests on values the catalogue itself marks as assumed, because no "
            f"published source gives them: {_e(', '.join(x.assumptions))}. You may ask the "
            "office where they come from.</p>")
    if sanctions:
        parts.append("<h3>Measures that apply to you</h3><ul id=sanctions>" + "".join(
            f"<li><b>{_e(s.name)}</b> ({_e(s.reason)})</li>" for s in sanctions) + "</ul>")
    parts.append("<p class=small>If a record is wrong you may object to it: see "
                 "<b>How to object</b> at the end of this letter.</p>")
    parts.append("</section>")
    return "".join(parts)


def _q(text: str) -> str:
    return '"' + _e(text) + '"'


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _notice(notice: Notice | None) -> str:
    if notice is None:
        return ""
    def side(score: Decimal | None, tier: str | None, rewards: Sequence[str]) -> str:
        if tier is None:
            return "not scored"
        return (f"score {_num(score)}, tier {tier}; rewards: "
                f"{', '.join(rewards) if rewards else 'none'}")
    rows = "".join(
        f"<tr><td class=n data-label=No.>{c.event_id}</td>"
        f"<td class=d data-label=Date>{_e(_day(c.occurred_on))}</td>"
        f"<td data-label=Record>{_e(c.name)}</td>"
        f"<td data-label=Then>{_e(STATUS_WORDS.get(c.before, c.before))} "
        f"({_e(_signed(c.before_points))})</td>"
        f"<td data-label=Now>{_e(STATUS_WORDS.get(c.after, c.after))} "
        f"({_e(_signed(c.after_points))})</td></tr>"
        for c in notice.events)
    rules = (f"<p id=rules-changed>The rules changed: catalogue version "
             f"{_e(notice.old_version or 'none')} then, version {_e(notice.new_version)} "
             "now.</p>" if notice.old_version != notice.new_version else "")
    events = (
        "<p>These records changed since then:</p>"
        "<table id=changed-events class=ch><thead><tr>"
        "<th class=n>No.</th><th>Date</th><th>Record</th><th>Then</th><th>Now</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>" if notice.events else
        "<p>No record of yours changed; the change comes from the rules in force or the "
        "passing of time.</p>")
    return (
        "<section id=notice><h2>What changed</h2><div class=box>"
        f"<p>On {_e(_day(notice.run_as_of))} (saved run {notice.run_id}): "
        f"<span id=before>{_e(side(notice.old_score, notice.old_tier, notice.old_rewards))}"
        "</span>.</p>"
        f"<p>Now: <span id=after>"
        f"{_e(side(notice.new_score, notice.new_tier, notice.new_rewards))}</span>.</p>"
        f"</div>{rules}{events}</section>")


def _reasons(letter: Letter) -> str:
    x = letter.explanation
    if not x.scored:
        return ""
    if not x.reasons:
        return ("<section id=reasons><h2>Main reasons your score is not higher</h2>"
                "<p>Nothing takes points off your score.</p></section>")
    items = "".join(f"<li><b>{_e(_num(f.cost))} points:</b> {_e(f.text)}"
                    + (f" (records {', '.join(str(i) for i in f.events)})" if f.events else "")
                    + "</li>" for f in x.reasons)
    return ("<section id=reasons><h2>Main reasons your score is not higher</h2>"
            "<p>At most four, the one that costs you most first.</p>"
            f"<ol class=reasons>{items}</ol></section>")


def _stops(e: EventLine) -> str:
    if e.status in COUNTING or e.status == "suspended":
        return _day(e.stops_on) if e.stops_on else "does not expire"
    if e.status in ("expired", "lifted"):
        return f"stopped on {_day(e.stops_on)}" if e.stops_on else "stopped"
    if e.status == "over-limit":
        return "never counted"
    return "—"


def _rule(e: EventLine) -> str:
    # explain's own list of the judging rule's values that no source gives
    mark = (f' <span class=small data-assumed="{_e(" ".join(e.assumed))}">(assumed by the '
            f"catalogue, not published: {_e(', '.join(e.assumed))})</span>"
            if e.assumed else "")
    return (f"{_e(e.name or e.indicator)} <span class=small>({_e(e.indicator)})</span>{mark}")


def _events_table(letter: Letter, events: Sequence[EventLine], table_id: str) -> str:
    rows = []
    for e in events:
        basis = _e(e.basis) if e.basis else "<b>no legal basis given</b>"
        source = f"<br><span class=small>Source: {_e(e.source)}</span>" if e.source else ""
        nominal = (f" <span class=small>(rule: {_e(_signed(e.nominal_points))})</span>"
                   if e.nominal_points is not None and e.nominal_points != e.points else "")
        agency = letter.agencies.get(e.event_id)
        rows.append(
            f"<tr data-event={e.event_id}>"
            f"<td class=n data-label=No.>{e.event_id}</td>"
            f"<td class=d data-label=Date>{_e(_day(e.occurred_on))}</td>"
            f"<td data-label=Record>{_rule(e)}</td>"
            f"<td data-label=\"Legal basis\">{basis}{source}</td>"
            f"<td data-label=Agency>{_e(agency) if agency else '—'}</td>"
            f"<td class=n data-label=Points>{_e(_signed(e.points))}{nominal}</td>"
            f"<td data-label=Status>{_e(STATUS_WORDS.get(e.status, e.status))}"
            f"<br><span class=small>{_e(e.reason)}</span></td>"
            f"<td{' class=d' if _stops(e)[:1].isdigit() else ''} "
            f"data-label=\"Stops counting\">{_e(_stops(e))}</td></tr>")
    return (f"<table id={table_id} class=ev><thead><tr><th class=n>No.</th><th>Date</th>"
            "<th>Record</th><th>Legal basis and source</th><th>Agency</th>"
            "<th class=n>Points</th><th>Status</th><th>Stops counting</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _events_section(letter: Letter) -> str:
    events = letter.shown_events()
    counting = [e for e in events if e.status in COUNTING]
    suspended = [e for e in events if e.status == "suspended"]
    ended = [e for e in events if e.status in ENDED]
    parts = ["<section id=records><h2>Records that count now</h2>"]
    parts.append(_events_table(letter, counting, "counting") if counting
                 else "<p>No record counts in your score now.</p>")
    parts.append("</section><section id=suspended><h2>Records under objection</h2>")
    pending = [o for o in letter.objections if o.pending]
    if suspended or pending:
        if suspended:
            parts.append("<p>While your objection is pending these records do not count.</p>"
                         + _events_table(letter, suspended, "suspended-events"))
        parts.append(_objections_table(pending))
    else:
        parts.append("<p>You have no objection pending.</p>")
    parts.append("</section>")
    if ended:
        parts.append("<section id=ended><h2>Records that no longer count or never "
                     "counted</h2>" + _events_table(letter, ended, "not-counting")
                     + "</section>")
    decided = [o for o in letter.objections if not o.pending]
    if decided:
        parts.append("<section id=decided><h2>Objections decided</h2>"
                     + _objections_table(decided) + "</section>")
    return "".join(parts)


def _objections_table(objections: Sequence[Objection]) -> str:
    if not objections:
        return ""
    rows = "".join(
        f"<tr data-objection={o.objection_id}>"
        f"<td class=n data-label=Objection>{o.objection_id}</td>"
        f"<td class=n data-label=Record>{o.event_id}</td>"
        f"<td class=d data-label=Filed>{_e(_day(o.filed_on))}</td>"
        f"<td data-label=Grounds class=grounds>{_e(o.grounds)}</td>"
        f"<td data-label=\"Decision due\">{_e(_day(o.due_on)) if o.due_on else 'no deadline'}"
        f"</td><td data-label=Decision>"
        f"{_e(f'{o.outcome} on {_day(o.decided_on)}') if o.decided_on else 'pending'}</td>"
        "</tr>" for o in objections)
    return ("<table class=\"objections ob\"><thead><tr><th class=n>Objection</th>"
            "<th class=n>Record</th><th>Filed</th><th>Your grounds</th><th>Decision due</th>"
            f"<th>Decision</th></tr></thead><tbody>{rows}</tbody></table>")


def _projection(letter: Letter) -> str:
    x = letter.explanation
    if not x.scored:
        return ""
    head = "<section id=projection><h2>What will change, and when</h2>"
    if not x.projection:
        return (head + "<p>If nothing else happens your score stays as it is: no record "
                "that lowers it is due to stop counting.</p></section>")
    rows = "".join(
        f"<tr><td class=d data-label=From>{_e(_day(p.date))}</td>"
        f"<td class=n data-label=Score>{_e(_num(p.score))}</td>"
        f"<td data-label=Tier>{_e(p.tier or '—')}</td>"
        f"<td data-label=Because>{_e(p.reason)}</td></tr>" for p in x.projection)
    return (head + "<p>If nothing else happens, your score and tier on each date a record "
            "stops counting:</p>"
            "<table id=projection-table class=pr><thead><tr><th>From</th>"
            "<th class=n>Score</th><th>Tier</th><th>Because</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")


def _objecting(letter: Letter) -> str:
    x = letter.explanation
    if letter.objection_deadline:
        deadline = (f"The office must decide within <b id=deadline>"
                    f"{_e(duration_words(letter.objection_deadline))}</b> of receiving your "
                    "objection.")
    else:
        deadline = ("<span id=deadline>The rules of "
                    f"{_e(letter.city_name)} set no time limit for the office to decide."
                    "</span>")
    suspends = ("While your objection is pending, the record does not count in your score."
                if letter.objection_suspends else
                "The record keeps counting while your objection is pending.")
    return (
        "<section id=object><h2>How to object</h2><div class=box>"
        "<p>If a record is wrong, you may object to it. Tell the credit office, in writing "
        "or in person:</p><ol>"
        "<li>the record's number (the <b>No.</b> column above), and</li>"
        "<li>your grounds: what is wrong with it and why.</li></ol>"
        f"<p>{deadline} {_e(suspends)} If your objection is upheld the record is removed; "
        "either way you are told the decision.</p>"
        f"<p class=small>For the office: record it with <code>scs objection file LEDGER "
        f"NO. --grounds TEXT --on DATE</code> for resident {_e(x.resident_id)}.</p>"
        "</div></section>")


def _footer(letter: Letter) -> str:
    verify = ("The ledger head above is the office's published fingerprint of every record "
              "up to this statement; anyone holding the ledger can check that it still extends "
              f"it: <code>scs ledger verify LEDGER --head {letter.head.rows}:"
              f"{_e(letter.head.hash)}</code>.")
    return (f"<footer><p>Made by {_e(letter.generated_by)} from the same computation as "
            f"<code>scs explain</code>; every point is traceable to a record and a rule. "
            f"{verify}</p></footer>")
