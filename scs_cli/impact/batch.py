"""`impact_ledger`: read a ledger once, score it under the baseline and the reform, compare.

The baseline is what `scs score` uses (the adopted versions as known at known-at) or, with
``baseline``, a catalogue judging every event as `scs score --catalogue` does; the reform is
always such a catalogue. Both are scored by the same kernel from one read of the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scs_cli import __version__
from scs_cli.core.errors import CatalogueError, LedgerError, ScsError
from scs_cli.core.output import check_output_path, safe_child, write_text
from scs_cli.engine.kernel import evaluate, prepare, scheme_at
from scs_cli.impact.figures import Side, impact_figures
from scs_cli.ledger.source import LedgerFile
from scs_cli.rules.model import Catalogue, CatalogueHistory
from scs_cli.rules.schema import load_catalogue, resolve_catalogue_path
from scs_cli.scoring.batch import what_if_history
from scs_cli.scoring.prepared import prepared_rows

Progress = Callable[[str], None]
FILES = {"html": "impact.html", "markdown": "impact.md", "json": "impact.json"}


@dataclass(frozen=True)
class ImpactResult:
    """What `impact_ledger` found: the document every format renders, and the inputs."""

    ledger: Path
    reform: Path
    baseline: Path | None
    figures: dict[str, Any]


def _load_side(ledger: str | Path, city_id: str, given: str | Path, role: str) -> Catalogue:
    """A reform or baseline catalogue of this ledger's city; refused in one line if it
    does not validate or belongs to another city."""
    path = resolve_catalogue_path(given)
    try:
        catalogue = load_catalogue(path)
    except CatalogueError as exc:
        n = len(exc.problems)
        raise ScsError(f"{given}: the {role} catalogue does not validate ({n} problem"
                       f"{'s' * (n != 1)}; the first: {exc.problems[0]}) (see them all with "
                       f"`scs catalogue validate {given}`)") from None
    if catalogue.city.id != city_id:
        raise LedgerError(ledger, f"the {role} {given} is a catalogue of city "
                          f"{catalogue.city.id!r}, but this ledger belongs to {city_id!r}",
                          f"impact compares rules, never cities' residents: give a {role} "
                          f"of {city_id!r}")
    return catalogue


def _adopted_rules(history: CatalogueHistory) -> str:
    return "adopted " + ", ".join(f"{v.version} (from {v.effective_from})"
                                  for v in history.versions)


def impact_ledger(path: str | Path, reform: str | Path, as_of: date,
                  known_at: datetime | None = None, *, baseline: str | Path | None = None,
                  public: bool = False, progress: Progress | None = None) -> ImpactResult:
    """What the ``reform`` catalogue would do to the ledger's residents (SPEC §5)."""

    tick = progress or (lambda what: None)
    known_at = (known_at or datetime.now(UTC)).astimezone(UTC)
    with LedgerFile.open(path) as source, source.ledger.snapshot():
        ledger = source.ledger
        tick(f"reading {path}")
        adopted = ledger.adopted(known_at)
        if not adopted:
            raise LedgerError(path, f"no catalogue was adopted by {known_at.isoformat()}",
                              "compare at a later --known-at")
        new = _load_side(path, ledger.city_id, reform, "reform")
        old = _load_side(path, ledger.city_id, baseline, "baseline") if baseline else None
        old_history = what_if_history(old) if old else ledger.history(known_at)
        new_history = what_if_history(new)
        scheme_at(old_history, as_of, str(path))  # refuse before reading any event
        city = {"id": ledger.city_id, "name": ledger.city_name or ledger.city_id}
        # the adopted baseline is the frame `scs score` keeps; the reform is prepared anew
        kept = prepared_rows(source, known_at, old_history,
                             None if old else tuple(a.sha256 for a in adopted), events=True)
        data = kept.data  # the reform is prepared from the events
    old_rules = (f"{old.label} ({baseline})" if old else _adopted_rules(old_history))
    sides = []
    for name, rules in (("baseline", old_rules), ("reform", f"{new.label} ({reform})")):
        tick(f"scoring {data.events.height:,} events under the {name}")
        prepared = kept.prepared if name == "baseline" else prepare(data, new_history)
        # the kernel's own per-event counted points (tally), never recomputed here
        sides.append(Side(rules, evaluate(prepared, as_of, detail=False, tally=True)))
    tick("comparing")
    figures = {
        "city": city, "as_of": as_of, "known_at": known_at.isoformat(),
        "baseline": _side_doc(sides[0]), "reform": _side_doc(sides[1]), "public": public,
        **impact_figures(sides[0], sides[1], public),
        "generated_by": f"scs {__version__}",
    }
    return ImpactResult(Path(path), resolve_catalogue_path(reform),
                        resolve_catalogue_path(baseline) if baseline else None, figures)


def _side_doc(side: Side) -> dict[str, Any]:
    s = side.scheme
    return {"rules": side.rules, "scheme": s.label, "effective_from": s.effective_from,
            "tiers": list(s.tier_names)}


def write_impact(result: ImpactResult, output: str | Path) -> list[Path]:
    """Write the HTML page, Markdown and JSON into ``output`` (created if missing); no
    file may be one of the inputs."""
    from scs_cli.impact.render import impact_html, impact_json, impact_markdown

    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise ScsError(f"{folder}: exists and is not a directory (give --output a directory; "
                       "it is created if missing)")
    inputs = {"the ledger": result.ledger, "the reform catalogue": result.reform,
              "the baseline catalogue": result.baseline}
    folder.mkdir(parents=True, exist_ok=True)
    targets = {fmt: check_output_path(safe_child(folder, name), inputs)
               for fmt, name in FILES.items()}  # every refusal before the first write
    doc = result.figures
    texts = {"html": impact_html(doc), "markdown": impact_markdown(doc),
             "json": impact_json(doc)}
    for fmt, target in targets.items():
        write_text(target, texts[fmt])  # a temporary file renamed into place
    return list(targets.values())
