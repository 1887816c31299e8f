"""Scoring exported datasets: what `scs score DIR…` does, on one machine or on Spark.

The rules are chosen as `scoring.batch.score_source` chooses them (`choose_rules`: the
versions adopted by known-at, or a what-if catalogue of the same city), checked before any
event is read, and the result is the same `ScoreRun` that command renders, so every output
format and ``--output`` work unchanged. `score_datasets` scores several cities one after the other,
each with its own rules and its own result: nothing of one city meets another's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from scs_cli.core.errors import UsageError
from scs_cli.engine.kernel import ScoreResult, scheme_at
from scs_cli.engine.results import ADJUSTMENTS_SCHEMA, EVENTS_SCHEMA
from scs_cli.rules.model import AdoptedCatalogue, Catalogue, CatalogueHistory
from scs_cli.scale.dataset import Dataset
from scs_cli.scale.source import DatasetFolder
from scs_cli.scoring.batch import ScoreRun, choose_rules, score_sources, summarize
from scs_cli.scoring.lists import ListsRun, listings_run

Progress = Callable[[str], None]


@dataclass(frozen=True)
class City:
    """One dataset with the rules it is scored under, checked before any event is read."""

    dataset: Dataset
    adopted: tuple[AdoptedCatalogue, ...]
    history: CatalogueHistory
    what_if: Catalogue | None
    baseline: Catalogue | None
    catalogue_path: str | None

    @property
    def rules(self) -> str:
        if self.what_if is not None:
            return f"what-if {self.what_if.label} ({self.catalogue_path})"
        return "adopted " + ", ".join(f"{v.version} (from {v.effective_from})"
                                      for v in self.history.versions)


def open_cities(paths: Sequence[str | Path], as_of: date, known_at: datetime, *,
                catalogue: str | Path | None = None,
                baseline: str | Path | None = None, head: str | None = None) -> list[City]:
    """Open every dataset and choose its rules as `score` does (`scoring.batch.choose_rules`);
    refuse two datasets of one city. With ``head`` (one dataset's published head) its files
    are proven against it."""
    _one_head(paths, head)
    cities: list[City] = []
    seen: dict[str, Path] = {}
    for path in paths:
        source = DatasetFolder(Dataset.open(path, head=head))
        if source.city_id in seen:
            raise UsageError(f"{path} and {seen[source.city_id]} are both datasets of city "
                             f"{source.city_id!r}", "score one dataset per city in a run")
        seen[source.city_id] = source.path
        rules = choose_rules(source, as_of, known_at, catalogue=catalogue, baseline=baseline)
        cities.append(City(source.dataset, rules.adopted, rules.history, rules.what_if,
                           rules.baseline, None if catalogue is None else str(catalogue)))
    return cities


def run_of(city: City, as_of: date, known_at: datetime, result: ScoreResult) -> ScoreRun:
    """The `ScoreRun` the CLI renders, from a city's scored residents."""
    return ScoreRun(str(city.dataset.path), city.dataset.city_name or city.dataset.city_id,
                    as_of, known_at, city.rules, tuple(a.sha256 for a in city.adopted),
                    result, summarize(result), None, None, city.what_if is not None)


def result_of(history: CatalogueHistory, as_of: date, residents: pl.DataFrame) -> ScoreResult:
    """A `ScoreResult` of residents scored elsewhere (in Spark tasks), in resident-id order."""
    return ScoreResult(as_of, scheme_at(history, as_of), residents.sort("resident_id"),
                       pl.DataFrame(schema=EVENTS_SCHEMA), pl.DataFrame(schema=ADJUSTMENTS_SCHEMA))


def score_datasets(paths: Sequence[str | Path], as_of: date, known_at: datetime | None = None,
                   *, catalogue: str | Path | None = None, baseline: str | Path | None = None,
                   head: str | None = None, progress: Progress | None = None
                   ) -> list[ScoreRun]:
    """Score each dataset on this machine, one city at a time (SPEC §6): `score_sources`
    over each folder opened as a `Source` (proven against ``head`` when one is given)."""
    _one_head(paths, head)
    sources = [DatasetFolder(Dataset.open(p, head=head)) for p in paths]
    return score_sources(sources, as_of, known_at, catalogue=catalogue, baseline=baseline,
                         progress=progress)


def _one_head(paths: Sequence[str | Path], head: str | None) -> None:
    if head is not None and len(paths) > 1:
        raise UsageError("--head is one ledger's published head; with several datasets "
                         "it cannot be checked", "score one dataset with its own --head")


def dataset_listings(path: str | Path, as_of: date, known_at: datetime | None = None, *,
                     only: str | None = None, public: bool = False) -> ListsRun:
    """`scs lists DIR`: the listings of an exported dataset, as the ledger would give them."""
    known_at = known_at or datetime.now(UTC)
    city = open_cities([path], as_of, known_at)[0]
    return listings_run(str(path), city.dataset.read(known_at), city.history, as_of,
                        known_at, only, public)
