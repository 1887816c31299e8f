"""`scs catalogue new|fmt`: writing catalogue files (TOML through tomli-w)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from scs_cli.cli.catalogue_cmds import catalogue_app
from scs_cli.cli.common import emit, err, parse_date


@catalogue_app.command("new")
def new(
    city_id: Annotated[str, typer.Argument(help="The new city's id: a slug such as "
                                           "'shouguang'.", show_default=False)],
    template: Annotated[str, typer.Option("--from", help="The catalogue to copy the shape "
                                          "from: a file or bundled name.",
                                          show_default=False)],
    name: Annotated[str, typer.Option("--name", help="The city's name.",
                                      show_default=False)],
    province: Annotated[str | None, typer.Option(help="The province.")] = None,
    version: Annotated[str, typer.Option(help="The catalogue version.")] = "draft",
    effective_from: Annotated[str | None, typer.Option(
        "--effective-from", metavar="YYYY-MM-DD",
        help="The date the draft takes effect (default: the template's).")] = None,
) -> None:
    """Scaffold a new city's catalogue from an existing one and print it as TOML.

    The draft keeps the template's scale, tiers, categories, indicators, rewards and policy,
    takes the new city's id and name, and drops the template's citations (they describe
    another city). It validates as printed. Edit every value to the new city's rules.

    Example: scs catalogue new shouguang --from rongcheng-2016 --name Shouguang > shouguang.toml
    """
    from scs_cli.rules.authoring import draft  # lazy: see scs_cli/cli/__init__.py
    from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path

    start: date | None = parse_date(effective_from, "--effective-from") if effective_from \
        else None
    base = load_catalogue(resolve_catalogue_path(template))
    text = draft(base, city_id, name, province=province, version=version,
                 effective_from=start)
    emit(text, nl=False)
    err.print(f"draft for {city_id} from {template}: {len(base.indicators)} indicators to "
              "check against the city's published rules", highlight=False)


@catalogue_app.command("fmt")
def fmt(
    file: Annotated[Path, typer.Argument(help="A catalogue file.", show_default=False)],
    check: Annotated[bool, typer.Option("--check", help="Print nothing; exit 1 if the file "
                                        "is not in canonical form.")] = False,
) -> None:
    """Print a catalogue in canonical form: the format's key order, values as scs reads them.

    The file itself is never rewritten (comments would be lost); redirect the output to a
    new file and compare. With --check, exit 1 when the file differs from its canonical form.

    Example: scs catalogue fmt my-city.toml --check
    """
    from scs_cli.core.errors import CatalogueError, Problem  # lazy: see scs_cli/cli/__init__.py
    from scs_cli.rules.authoring import canonical_text
    from scs_cli.rules.schema import load_catalogue

    text = canonical_text(load_catalogue(file))
    if not check:
        emit(text, nl=False)
        return
    if file.read_text(encoding="utf-8") != text:
        raise CatalogueError([Problem(str(file), "", "is not in canonical form",
                                      f"run `scs catalogue fmt {file}` and use its output")])
    err.print(f"{file}: canonical", highlight=False)


def register(app: typer.Typer) -> None:
    """Commands attach to the `catalogue` group, which catalogue_cmds registers."""
