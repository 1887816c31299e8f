"""`scs catalogue compare|diff|lint`: reading published rules across cities and versions.

Added to the `catalogue` group of catalogue_cmds. No command here opens a ledger: only
published rules cross city lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scs_cli.cli.catalogue_cmds import catalogue_app
from scs_cli.cli.common import complete_catalogue, emit, err, formats, out
from scs_cli.core.output import Format

if TYPE_CHECKING:
    from scs_cli.rules.taxonomy import Taxonomy


FormatOpt = Annotated[Format, formats(Format.table, Format.markdown, Format.csv, Format.json)]
TaxonomyOpt = Annotated[Path | None, typer.Option(
    "--taxonomy", help="Behaviour taxonomy file (default: the bundled catalogues/taxonomy.toml).",
    show_default=False)]


FilesArg = Annotated[list[Path] | None, typer.Argument(
    help="Catalogue TOML files or bundled names (such as rongcheng-2016).", show_default=False,
    metavar="CATALOGUE", autocompletion=complete_catalogue)]
BundledOpt = Annotated[bool, typer.Option(
    "--bundled", help="Add every bundled catalogue (see `scs catalogue list`).")]


def _files(files: list[Path] | None, bundled: bool) -> list[Path]:
    from scs_cli.core.errors import UsageError

    chosen = list(files or [])
    if bundled:
        from scs_cli.rules.schema import bundled_catalogue_paths

        chosen += [Path(p.stem) for p in bundled_catalogue_paths()]  # shown by bundled name
    if not chosen:
        raise UsageError("no catalogue given", "give catalogue files or bundled names, or "
                         "--bundled")
    return chosen


def _skipped(files: tuple[str, ...]) -> None:
    for file in files:
        err.print(f"{file}: skipped (a behaviour taxonomy, not a catalogue)", highlight=False,
                  markup=False)


def _taxonomy(path: Path | None) -> Taxonomy | None:
    if path is None:
        return None
    from scs_cli.rules.taxonomy import load_taxonomy

    return load_taxonomy(path)


@catalogue_app.command("compare")
def compare_cmd(
    files: FilesArg = None,
    bundled: BundledOpt = False,
    fmt: FormatOpt = Format.table,
    top: Annotated[int | None, typer.Option(
        "--top", min=1, help="Show only the N widest disagreements (table and markdown).",
        show_default=False)] = None,
    taxonomy: TaxonomyOpt = None,
    versions: Annotated[bool, typer.Option(
        "--versions", help="Compare every version given; by default only each city's latest "
        "version is compared (the others are named as set aside).")] = False,
) -> None:
    """Put two or more catalogues side by side: scale, tiers, caps, the behaviours they
    share (aligned by taxonomy code, widest disagreement first), what only one has, and
    lint counts. One version per city unless --versions. Only published rules are
    compared, never residents."""
    from scs_cli.audit.compare import compare_files, comparison_markdown
    from scs_cli.core.output import render, to_json

    chosen = _files(files, bundled)
    if len(chosen) < 2:  # a usage error, like any other wrong count of arguments: exit 2
        raise typer.BadParameter("compare needs at least two catalogues: give two or more "
                                 "files or bundled names, or --bundled",
                                 param_hint="CATALOGUE...")
    comp = compare_files(chosen, _taxonomy(taxonomy), versions)
    _skipped(comp.skipped)
    for label in comp.set_aside:
        err.print(f"{label}: set aside (an older version of a city compared here; "
                  "--versions compares every version)", highlight=False, markup=False)
    if fmt is Format.json:
        emit(to_json(comp.as_dict()))
    elif fmt is Format.csv:
        emit(render(comp.csv_records(), comp.csv_columns(), "csv"))
    elif fmt is Format.markdown:
        emit(comparison_markdown(comp, max_behaviours=top))
    else:
        _compare_table(comp, top)


def _compare_table(comp, top: int | None) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table
    from rich.text import Text

    from scs_cli.audit.compare import behaviour_rows, only_in_text, overview_rows

    labels = list(comp.labels)
    t = Table(title="Catalogues side by side", show_lines=True)
    t.add_column("", no_wrap=True)
    for label in labels:
        t.add_column(label, overflow="fold")
    for what, cells in overview_rows(comp):
        t.add_row(what, *map(Text, cells))
    out.print(t)

    rows = behaviour_rows(comp, sep="\n")
    shown = rows if top is None else rows[:top]
    title = "Behaviours scored by more than one catalogue, widest disagreement first"
    if len(shown) < len(rows):
        title += f" ({len(shown)} of {len(rows)})"
    b = Table(title=title, show_lines=True)
    for col in ("behaviour", "disagreement", *labels):
        b.add_column(col, overflow="fold")
    for row in shown:
        b.add_row(*map(Text, row))
    out.print(b if rows else "No behaviour is scored by more than one catalogue.",
              highlight=False)

    o = Table(title="Only in one catalogue")
    for col in ("catalogue", "count", "behaviours (points)"):
        o.add_column(col, overflow="fold", no_wrap=col != "behaviours (points)")
    for label, items in comp.only_in.items():
        o.add_row(Text(label), str(len(items)), Text(only_in_text(items)))
    out.print(o)


@catalogue_app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The older version (file or bundled name).",
                                        autocompletion=complete_catalogue)],
    new: Annotated[Path, typer.Argument(help="The newer version (file or bundled name).",
                                        autocompletion=complete_catalogue)],
    fmt: FormatOpt = Format.table,
    taxonomy: TaxonomyOpt = None,
) -> None:
    """List what a new version of one city's catalogue added, removed and changed:
    indicators (field by field), scale, tiers, categories, rewards, sanctions, policy
    and mode. When the new version says it is partial (catalogue.partial = true), what it
    lacks is "not in the new version's sources", not removed. Two different cities are
    refused (use compare)."""
    from scs_cli.audit.diff import CatalogueDiff, diff_files, diff_markdown
    from scs_cli.core.output import render, to_json

    d = diff_files(old, new, _taxonomy(taxonomy))
    if fmt is Format.json:
        emit(to_json(d.as_dict()))
    elif fmt is Format.csv:
        emit(render(d.csv_records(), CatalogueDiff.CSV_COLUMNS, "csv"))
    elif fmt is Format.markdown:
        emit(diff_markdown(d))
    else:
        _diff_table(d)


def _diff_table(d) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table
    from rich.text import Text

    from scs_cli.audit.diff import change_text, field_lines, item_title

    out.print(f"{d.city}: version {d.old_version} (in force from {d.old_effective_from}) → "
              f"{d.new_version} (in force from {d.new_effective_from})", highlight=False,
              markup=False)
    if not d.changes:
        out.print("No differences.")
        return
    console = getattr(out, "console", out)
    if not console.is_terminal:
        _diff_lines(d)
        return
    t = Table(show_lines=True)
    for col in ("section", "item", "change", "what"):
        t.add_column(col, overflow="fold")
    for item in d.changes:
        t.add_row(item.section, Text(item_title(item)), change_text(item.change),
                  Text("\n".join(field_lines(item))))  # whole values; they fold
    out.print(t)


# Into a file or a pipe, a table has no width to fit and would set long notes and sources
# side by side as whole lines thousands of characters long: the changes go one per block
# instead, each value whole, wrapped between words.
DIFF_FILE_WIDTH = 100


def _diff_lines(d) -> None:  # type: ignore[no-untyped-def]
    import textwrap

    from scs_cli.audit.diff import field_lines, item_title

    blocks = []
    for item in d.changes:
        lines = [f"{item.section}: {item_title(item)}: {item.change}"]
        for line in field_lines(item):
            lines += textwrap.wrap(line, DIFF_FILE_WIDTH, initial_indent="    ",
                                   subsequent_indent="      ", break_long_words=False,
                                   break_on_hyphens=False) or ["    "]
        blocks.append("\n".join(lines))
    emit("\n\n".join(blocks) + "\n")


@catalogue_app.command("lint")
def lint_cmd(
    files: FilesArg = None,
    bundled: BundledOpt = False,
    fmt: FormatOpt = Format.table,
    taxonomy: TaxonomyOpt = None,
) -> None:
    """Audit catalogues against the criticisms in the literature (prohibited data,
    retention, scope creep, legal basis, sanctions and more); each finding has a stable code.

    Exit status 1 when any finding is an error, else 0. docs/lint.md explains every code.
    """
    from scs_cli.audit.lint import lint_files, lint_summary_markdown
    from scs_cli.core.output import render, to_json

    report = lint_files(_files(files, bundled), _taxonomy(taxonomy))
    _skipped(report.skipped)
    if fmt is Format.json:
        emit(to_json(report.records()))
    elif fmt is Format.csv:
        records = [f.as_dict(lf.file) for lf in report.files for f in lf.findings]
        emit(render(records, ["file", "code", "severity", "indicator", "message"], "csv"))
    elif fmt is Format.markdown:
        emit(lint_summary_markdown(report))
    else:
        _lint_table(report)
    n = len(report.files)
    err.print(f"{n} catalogue{'' if n == 1 else 's'} linted: {_counts_text(report.counts)}",
              highlight=False)
    if report.has_errors:
        raise typer.Exit(1)


def _lint_table(report) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table
    from rich.text import Text

    colour = {"error": "red", "warning": "yellow", "info": "cyan"}
    for lf in report.files:
        title = f"{lf.file} — {lf.catalogue.city.name} {lf.catalogue.version}: " + \
            _counts_text(lf.counts)
        if not lf.findings:
            out.print(f"{title}: nothing found", highlight=False, markup=False)
            continue
        t = Table(title=title, title_justify="left", show_lines=True)
        t.add_column("finding", no_wrap=True)
        t.add_column("message", overflow="fold")
        for f in lf.findings:
            where = Text(f.title + "\n")
            where.append(f.severity, style=colour[f.severity])
            where.append(f"\n{f.indicator or '(catalogue)'}")
            t.add_row(where, Text(f.message))
        out.print(t)


def _counts_text(counts: dict[str, int]) -> str:
    e, w = counts["error"], counts["warning"]
    return (f"{e} error{'' if e == 1 else 's'}, {w} warning{'' if w == 1 else 's'}, "
            f"{counts['info']} info")


def register(app: typer.Typer) -> None:
    """Nothing to add: the commands above join the `catalogue` group (an ScsGroup, which
    maps errors to exit codes) when this module is imported."""
