"""`scs catalogue validate|show|list`: reading and presenting one city's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scs_cli.cli.common import FormatOpt, ScsGroup, emit, err, formats, out
from scs_cli.core.errors import CatalogueError, Problem
from scs_cli.core.output import Format, decimal_text, to_json

catalogue_app = typer.Typer(cls=ScsGroup, no_args_is_help=True, rich_markup_mode=None,
                            help="Validate, show, list, compare, diff and lint catalogues.")

FilesArg = Annotated[list[Path], typer.Argument(help="Catalogue TOML files (or bundled names "
                                                "such as rongcheng-2016).", show_default=False)]


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


@catalogue_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="A catalogue file or bundled name.")],
    fmt: Annotated[Format, formats(Format.table, Format.json, Format.jsonl)] = Format.table,
) -> None:
    """Show what a person needs to know about a catalogue: scale, tiers, indicators,
    rewards, sanctions, policy and sources."""
    from rich.table import Table

    from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path, to_document

    cat = load_catalogue(resolve_catalogue_path(file))
    if fmt in (Format.json, Format.jsonl):
        emit(to_json(to_document(cat), indent=2 if fmt is Format.json else None))
        return
    scale = cat.scale
    out.print(f"[bold]{cat.city.name}[/bold] ({cat.city.province or 'province not given'}) — "
              f"catalogue {cat.version}, in force from {cat.effective_from}", highlight=False)
    if cat.title:
        out.print(cat.title, highlight=False)
    clamp = ""
    if scale.min is not None or scale.max is not None:
        clamp = (f", clamped to [{_num(scale.min) if scale.min is not None else '…'}, "
                 f"{_num(scale.max) if scale.max is not None else '…'}]")
    out.print(f"Mode: {cat.mode}; participation: {cat.policy.participation}; "
              f"base {_num(scale.base)}{clamp}", highlight=False)

    tiers = Table(title="Tiers (best first)")
    for col in ("tier", "from", "below", "relative to base"):
        tiers.add_column(col)
    for tier in cat.tiers:
        low, high = cat.tier_band(tier.name)
        tiers.add_row(tier.name, _num(low) if low is not None else "—",
                      _num(high) if high is not None else "—",
                      _signed(low - scale.base) if low is not None else "below")
    out.print(tiers)

    if cat.categories:
        cats = Table(title="Categories")
        for col in ("id", "name", "max deduction", "max award"):
            cats.add_column(col)
        for c in cat.categories.values():
            cats.add_row(c.id, c.name, _num(c.max_deduction), _num(c.max_award))
        out.print(cats)

    for category, inds in cat.indicators_by_category().items():
        title = cat.categories[category].name if category else "Uncategorised"
        t = Table(title=f"Indicators — {title}")
        for col in ("id", "name", "points", "expires", "limit", "caps", "basis"):
            t.add_column(col, overflow="fold")
        for i in inds:
            caps = ", ".join(x for x in (
                f"max −{_num(i.max_deduction)}" if i.max_deduction else "",
                f"max +{_num(i.max_award)}" if i.max_award else "",
                f"tier ≤ {i.tier_cap}" if i.tier_cap else "",
                f"score ≤ {_num(i.score_cap)}" if i.score_cap is not None else "",
                f"applies to {i.applies_to}" if i.applies_to != "self" else "",
                "unpublished" if not i.published else "") if x)
            window = f" within {i.escalation_window}" if i.escalation_window else ""
            t.add_row(i.id, i.name, i.describe_points() + window,
                      str(i.expires_after or "never"),
                      f"{i.limit.count}/{i.limit.per}" if i.limit else "",
                      caps, i.basis or "[red]none given[/red]")
        out.print(t)

    if cat.rewards or cat.sanctions:
        t = Table(title="Rewards and sanctions")
        for col in ("kind", "id", "name", "condition"):
            t.add_column(col)
        for r in cat.rewards.values():
            cond = f"tier {r.min_tier} or better"
            if r.min_score is not None:
                cond += f", score ≥ {_num(r.min_score)}"
            if r.clean_for:
                cond += f", no negative event in the last {r.clean_for}"
            t.add_row("reward", r.id, r.name, cond)
        for s in cat.sanctions.values():
            t.add_row("sanction", s.id, s.name, f"tier {s.max_tier} or worse")
        out.print(t)
    if cat.policy.objection_deadline or not cat.policy.objection_suspends:
        out.print(f"Objections: {'suspend' if cat.policy.objection_suspends else 'do not suspend'}"
                  f" the event; decided within {cat.policy.objection_deadline or 'no deadline'}",
                  highlight=False)
    if cat.sources:
        out.print("Sources: " + "; ".join(cat.sources), highlight=False, markup=False)
    if cat.notes:
        out.print("Notes: " + cat.notes, highlight=False, markup=False)


@catalogue_app.command("list")
def list_bundled(fmt: FormatOpt = Format.table) -> None:
    """List the bundled catalogues: city, version, effective date, indicator counts."""
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
        })
    if fmt is not Format.table:
        from scs_cli.core.output import render

        emit(render(rows, list(rows[0]) if rows else [], fmt.value))
        return
    t = Table(title="Bundled catalogues")
    for col in ("name", "city", "version", "in force from", "mode", "indicators",
                "− / +", "coverage"):
        t.add_column(col)
    for r in rows:
        covered = (f"{r['indicators']} of {r['published_indicators']} published"
                   if r["published_indicators"] else "count not published")
        t.add_row(str(r["name"]), str(r["city"]), str(r["version"]),
                  str(r["effective_from"]), str(r["mode"]), str(r["indicators"]),
                  f"{r['negative']} / {r['positive']}", covered)
    out.print(t)


def _num(value) -> str:  # type: ignore[no-untyped-def]
    return "" if value is None else decimal_text(value)


def _signed(value) -> str:  # type: ignore[no-untyped-def]
    text = decimal_text(value)
    return text if value <= 0 else "+" + text


def register(app: typer.Typer) -> None:
    app.add_typer(catalogue_app, name="catalogue")
