"""`scs catalogue validate|show|list`: reading and presenting one city's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from scs_cli.cli.common import (
    FormatOpt,
    ScsGroup,
    complete_catalogue,
    emit,
    err,
    fits,
    formats,
    out,
)
from scs_cli.core.errors import CatalogueError, Problem
from scs_cli.core.output import Format, decimal_text, to_json
from scs_cli.core.text import signed

catalogue_app = typer.Typer(cls=ScsGroup, no_args_is_help=True, rich_markup_mode=None,
                            help="Validate, show, list, compare, diff and lint catalogues.")

FilesArg = Annotated[list[Path], typer.Argument(help="Catalogue TOML files (or bundled names "
                                                "such as rongcheng-2016).", show_default=False,
                                                autocompletion=complete_catalogue)]


@catalogue_app.command("validate")
def validate(files: FilesArg) -> None:
    """Check catalogue files against the format; list every problem, one per line.

    A behaviour taxonomy file (such as catalogues/taxonomy.toml) is checked as a taxonomy.
    Exit status 0 when all are valid, 1 otherwise.
    """
    from scs_cli.rules.schema import is_taxonomy_file, load_catalogue, resolve_catalogue_path
    from scs_cli.rules.taxonomy import load_taxonomy

    problems: list[Problem] = []
    for file in files:
        path = resolve_catalogue_path(file)
        try:
            if is_taxonomy_file(path):
                taxonomy = load_taxonomy(path)
                codes = sum(len(d.behaviours) for d in taxonomy.domains.values())
                err.print(f"{file}: ok (taxonomy: {len(taxonomy.domains)} domains, "
                          f"{codes} behaviours)", highlight=False)
                continue
            cat = load_catalogue(path)
        except CatalogueError as exc:
            problems.extend(exc.problems)
            continue
        err.print(f"{file}: ok ({cat.city.name} {cat.version}, "
                  f"{len(cat.indicators)} indicators)", highlight=False)
    if problems:
        raise CatalogueError(problems)


ShowFormatOpt = Annotated[Format, formats(
    Format.table, Format.markdown, Format.csv, Format.json, Format.jsonl,
    help="table: for people; markdown: a page with every indicator's source; csv or jsonl: "
    "one row per value (section, item, field, value, source, assumed); json: the "
    "catalogue's whole TOML document.")]


@catalogue_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="A catalogue file or bundled name.",
                                         show_default=False,
                                         autocompletion=complete_catalogue)],
    fmt: ShowFormatOpt = Format.table,
) -> None:
    """Show what a person needs to know about a catalogue: scale, tiers, indicators,
    rewards, sanctions, policy and sources; every indicator's source is shown, and every
    value that is the compiler's assumption is marked (assumed)."""
    from scs_cli.rules.listing import VALUE_COLUMNS, catalogue_markdown, value_rows
    from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path, to_document

    cat = load_catalogue(resolve_catalogue_path(file))
    if fmt is Format.json:
        emit(to_json(to_document(cat), indent=2))
    elif fmt in (Format.csv, Format.jsonl):
        from scs_cli.core.output import render

        emit(render(value_rows(cat), VALUE_COLUMNS, fmt.value))
    elif fmt is Format.markdown:
        emit(catalogue_markdown(cat))
    else:
        _show_table(cat)


def _show_table(cat) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table
    from rich.text import Text

    from scs_cli.rules.listing import (
        list_condition,
        office_text,
        reward_condition,
        sanction_condition,
    )

    # Prose wraps at a terminal's width (soft_wrap=False); tables fold their own text.
    def say(text: str | Text) -> None:
        out.print(text, highlight=False, markup=False, soft_wrap=False)

    scale = cat.scale
    say(Text(cat.city.name, style="bold") + Text(
        f" ({cat.city.province or 'province not given'}) — catalogue {cat.version}, in force "
        f"from {_mark(cat.effective_from, 'effective_from', cat.assumed)}"))
    if cat.title:
        say(cat.title)
    clamp = ""
    low_s = _mark(_num(scale.min), "min", scale.assumed) if scale.min is not None else None
    high_s = _mark(_num(scale.max), "max", scale.assumed) if scale.max is not None else None
    if low_s and high_s:
        clamp = f", clamped to [{low_s}, {high_s}]"
    elif low_s or high_s:  # an open end in words: "…" would read as a value cut short
        clamp = f", never below {low_s}" if low_s else f", never above {high_s}"
    say(f"Mode: {cat.mode}; participation: "
        f"{_mark(cat.policy.participation, 'participation', cat.policy.assumed)}; "
        f"base {_mark(_num(scale.base), 'base', scale.assumed)}{clamp}")

    tiers = Table(title="Tiers (best first)")
    for col in ("tier", "from", "below", "relative to base"):
        tiers.add_column(col, no_wrap=True)
    for tier in cat.tiers:
        low, high = cat.tier_band(tier.name)
        upper = cat.tiers[cat.tier_rank(tier.name) - 1] if cat.tier_rank(tier.name) else None
        tiers.add_row(_mark(tier.name, "name", tier.assumed),
                      _mark(_num(low), "min", tier.assumed) if low is not None else "—",
                      _mark(_num(high), "min", upper.assumed) if high is not None and upper
                      else "—",
                      _signed(low - scale.base) if low is not None else "below")
    out.print(tiers)

    if cat.categories:
        cats = Table(title="Categories")
        for col in ("id", "name", "inside", "max deduction", "max award"):
            cats.add_column(col, no_wrap=col != "name", overflow="fold")
        for c in cat.categories.values():
            cats.add_row(c.id, c.name, _mark(c.parent or "", "parent", c.assumed),
                         _mark(_num(c.max_deduction), "max_deduction", c.assumed),
                         _mark(_num(c.max_award), "max_award", c.assumed))
        out.print(cats)

    for category, inds in cat.indicators_by_category().items():
        title = cat.categories[category].name if category else "Uncategorised"
        t = Table(title=f"Indicators — {title}")
        # Ids, durations and limits never wrap; words fold (at 80 columns too).
        for col in ("id", "name", "points", "expires", "limit", "caps", "basis", "source"):
            t.add_column(col, overflow="fold", no_wrap=col == "id")
        rows: list[tuple[str, ...]] = []
        for i in inds:
            a = i.assumed
            caps = ", ".join(x for x in (
                _mark(f"max −{_num(i.max_deduction)}", "max_deduction", a)
                if i.max_deduction else "",
                _mark(f"max +{_num(i.max_award)}", "max_award", a) if i.max_award else "",
                _mark(f"tier ≤ {i.tier_cap}", "tier_cap", a) if i.tier_cap else "",
                _mark(f"score ≤ {_num(i.score_cap)}", "score_cap", a)
                if i.score_cap is not None else "",
                f"applies to {i.applies_to}" if i.applies_to != "self" else "",
                "unpublished" if not i.published else "") if x)
            window = (_mark(f" within {i.escalation_window}", "escalation_window", a)
                      if i.escalation_window else "")
            points = _mark(i.describe_points(), ("points", "points_range", "escalation"), a)
            # No expires_after says the catalogue sets none, not that the law says "never".
            expires = (_mark(i.expires_after, "expires_after", a) if i.expires_after
                       else "none set")
            limit = _mark(f"{i.limit.count}/{i.limit.per}", "limit", a) if i.limit else ""
            basis = _mark(i.basis, "basis", a) if i.basis else ""
            rows.append((i.id, i.name, points + window, expires, limit, caps, basis,
                         i.source or "no source given"))
            t.add_row(*rows[-1][:6], basis or Text("none given", style="red"),
                      Text(rows[-1][7]))
        if not fits(t):
            # Eight columns cannot fit a narrow terminal beside a 30-letter id: three do,
            # the rule's numbers in one and its words in the other, each folding.
            t = Table(title=f"Indicators — {title}")
            t.add_column("id", no_wrap=True)
            t.add_column("points, expiry, limit, caps", overflow="fold")
            t.add_column("name, legal basis, source", overflow="fold")
            for ident, name, pts, exp, lim, cap, basis, source in rows:
                rule = [pts, f"expires: {exp}"] + ([f"limit {lim}"] if lim else []) \
                    + ([cap] if cap else [])
                words = Text(f"{name}\nbasis: ")  # catalogue text: never parsed as markup
                if basis:
                    words.append(basis)
                else:
                    words.append("none given", style="red")
                words.append(f"\nsource: {source}")
                t.add_row(ident, "\n".join(rule), words)
        out.print(t)

    if cat.rewards or cat.sanctions:
        t = Table(title="Rewards and sanctions")
        for col in ("kind", "id", "name", "condition"):
            t.add_column(col, overflow="fold", no_wrap=col in ("kind", "id"))
        for r in cat.rewards.values():
            marked = reward_condition(r, lambda text, key: _mark(text, key, r.assumed))  # noqa: B023
            t.add_row("reward", r.id, r.name, marked)
        for s in cat.sanctions.values():
            t.add_row("sanction", s.id, s.name, sanction_condition(
                s, lambda text, key: _mark(text, key, s.assumed)))  # noqa: B023
        out.print(t)
    if cat.lists:
        t = Table(title="Lists")
        for col in ("kind", "id", "name", "rule"):
            t.add_column(col, overflow="fold", no_wrap=col in ("kind", "id"))
        for item in cat.lists.values():
            t.add_row(f"{item.kind} list", item.id, item.name, list_condition(
                item, lambda text, key: _mark(text, key, item.assumed)))  # noqa: B023
        out.print(t)
    if cat.policy.objection_deadline or not cat.policy.objection_suspends:
        pa = cat.policy.assumed
        suspend = 'suspend' if cat.policy.objection_suspends else 'do not suspend'
        deadline = (_mark(cat.policy.objection_deadline, "objection_deadline", pa)
                    if cat.policy.objection_deadline else "no deadline")
        say(f"Objections: {_mark(suspend, 'objection_suspends', pa)} the event; decided "
            f"within {deadline}")
    say("Office: " + office_text(
        cat, lambda text, key: _mark(text, key, cat.office.assumed if cat.office else frozenset())))
    assumed = cat.assumptions()
    if assumed:
        say(f"{len(assumed)} value{'s' * (len(assumed) != 1)} marked (assumed) "
            f"{'are' if len(assumed) != 1 else 'is'} the compiler's assumption: no "
            "source gives them (see Notes); scores that rest on them are illustrations, "
            "not the law.")
    if cat.sources:
        say("Sources: " + "; ".join(cat.sources))
    if cat.notes:
        say("Notes: " + cat.notes)


@catalogue_app.command("list")
def list_bundled(fmt: FormatOpt = Format.table) -> None:
    """List the bundled catalogues: city, version, effective date, indicator counts."""
    from rich import box
    from rich.table import Table

    from scs_cli.rules.schema import bundled_catalogue_paths, load_catalogue

    rows = []
    for path in bundled_catalogue_paths():
        cat = load_catalogue(path)
        rows.append({
            "name": path.stem, "city": cat.city.name, "version": cat.version,
            "effective_from": cat.effective_from, "mode": cat.mode,
            "indicators": len(cat.indicators),
            "negative": sum(i.is_negative for i in cat.indicators.values()),
            "positive": sum(i.is_positive for i in cat.indicators.values()),
            "published_indicators": cat.published_indicators,
            "assumed_values": len(cat.assumptions()),
        })
    if fmt is not Format.table:
        from scs_cli.core.output import render

        emit(render(rows, list(rows[0]) if rows else [], fmt.value))
        return
    # Fits 80 columns with every name whole: the version is in the name, and the mode is
    # said only when it is not the usual one (`--format csv` and `show` have every field).
    # Where the dates do not fit beside the rest, they open the notes instead, so that a
    # city's name wraps between its words, never inside one ("public-housin|g").
    from scs_cli.cli.common import fits

    longest = max((len(w) for r in rows for w in str(r["city"]).split()), default=0)

    def table(since_apart: bool) -> Table:
        t = Table(title="Bundled catalogues", box=box.SIMPLE_HEAD, show_edge=False,
                  padding=(0, 1, 0, 0))
        columns = ("name", "city", *(("since",) if since_apart else ()), "indicators",
                   "coverage and notes" if since_apart else "since; coverage and notes")
        for col in columns:
            t.add_column(col, overflow="fold", no_wrap=col in ("name", "since", "indicators"),
                         min_width=longest if col == "city" else None)
        for r in rows:
            covered = (f"{r['indicators']} of {r['published_indicators']} published"
                       if r["published_indicators"] else "count not published")
            if r["mode"] != "rewards-and-penalties":
                covered += "; " + str(r["mode"]).replace("-", " ")
            if r["assumed_values"]:
                covered += f"; {r['assumed_values']} values assumed"
            since = str(r["effective_from"])
            counts = f"{r['indicators']} ({r['negative']}−/{r['positive']}+)"
            if since_apart:
                t.add_row(str(r["name"]), str(r["city"]), since, counts, covered)
            else:
                t.add_row(str(r["name"]), str(r["city"]), counts, f"{since}; {covered}")
        return t

    wide = table(since_apart=True)
    out.print(wide if fits(wide) and _rendered_width(wide) <= _width() else
              table(since_apart=False))


def _width() -> int:
    return int(getattr(out, "console", out).width)


def _rendered_width(renderable: Any) -> int:
    """How wide rich actually draws it (its own measure can be narrower than it draws)."""
    from rich.segment import Segment

    console = getattr(out, "console", out)
    lines = Segment.split_lines(console.render(renderable, console.options))
    return max((Segment.get_line_length(line) for line in lines), default=0)


def _mark(value: object, keys: str | tuple[str, ...], assumed: frozenset[str]) -> str:
    """A shown value, with " (assumed)" when its key is in the table's `assumed`."""
    names = (keys,) if isinstance(keys, str) else keys
    text = str(value)
    return f"{text} (assumed)" if text and any(k in assumed for k in names) else text


def _num(value) -> str:  # type: ignore[no-untyped-def]
    return "" if value is None else decimal_text(value)


_signed = signed


def register(app: typer.Typer) -> None:
    app.add_typer(catalogue_app, name="catalogue")
