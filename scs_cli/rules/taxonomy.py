"""The shared behaviour taxonomy: codes ``domain.name`` that align cities' indicators.

Domains are of three kinds: ``credit`` (creditworthiness proper: finance, contract,
judicial…), ``other`` (traffic, civic, pets…: scope creep when penalised) and
``protected`` (data that must not be collected: religion, health, ethnicity…).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from scs_cli.core.errors import CatalogueError, Problem

KINDS = ("credit", "other", "protected")


def bundled_dir() -> Path:
    """Where the bundled catalogues live (``SCS_CATALOGUES`` overrides, for packagers).

    They ship inside the package as ``scs_cli.catalogues`` (the repository's top-level
    ``catalogues/``, mapped by pyproject.toml), so an installed wheel finds them too. A source
    tree used without installing it (``PYTHONPATH=.``) falls back to the repository folder.
    """
    override = os.environ.get("SCS_CATALOGUES")
    if override:
        return Path(override)
    try:
        bundled = resources.files("scs_cli.catalogues")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "catalogues"
    # The catalogues are globbed and opened by path: a wheel installs them as plain files,
    # so the Traversable is a directory on disk (a zipped install is not supported).
    return Path(str(bundled))


@dataclass(frozen=True)
class Domain:
    id: str
    kind: str
    name: str
    behaviours: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Taxonomy:
    domains: dict[str, Domain]

    def domain_of(self, code: str) -> Domain | None:
        return self.domains.get(code.split(".", 1)[0])

    def kind_of(self, code: str) -> str | None:
        domain = self.domain_of(code)
        return domain.kind if domain else None

    def is_listed(self, code: str) -> bool:
        domain = self.domain_of(code)
        return bool(domain) and code.split(".", 1)[1] in domain.behaviours  # type: ignore[union-attr]

    def describe(self, code: str) -> str | None:
        domain = self.domain_of(code)
        return domain.behaviours.get(code.split(".", 1)[1]) if domain else None

    def problem(self, code: str) -> tuple[str, str] | None:
        """(what, fix) when ``code`` is malformed or names an unknown domain."""
        if code.count(".") != 1 or not all(code.split(".")):
            return (f"{code!r} is not a behaviour code",
                    "write domain.name, e.g. \"traffic.drunk-driving\"")
        if self.domain_of(code) is None:
            return (f"unknown behaviour domain {code.split('.')[0]!r}",
                    "domains are: " + ", ".join(sorted(self.domains)))
        return None


def load_taxonomy(path: str | Path) -> Taxonomy:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError([Problem(str(path), "", f"cannot read taxonomy: {exc}")]) from None
    except RecursionError:
        raise CatalogueError([Problem(str(path), "", "nested too deeply to read")]) from None
    domains: dict[str, Domain] = {}
    problems: list[Problem] = []
    for did, raw in doc.get("domains", {}).items():
        kind = raw.get("kind")
        if kind not in KINDS:
            problems.append(Problem(str(path), f"domains.{did}.kind",
                                    f"{kind!r} is not a domain kind", "use " + ", ".join(KINDS)))
            continue
        domains[did] = Domain(did, kind, raw.get("name", did), dict(raw.get("behaviours", {})))
    if problems:
        raise CatalogueError(problems)
    return Taxonomy(domains)


@cache
def default_taxonomy() -> Taxonomy:
    """The bundled taxonomy; a minimal built-in one if the file is not shipped."""
    path = bundled_dir() / "taxonomy.toml"
    if path.exists():
        return load_taxonomy(path)
    kinds = {d: "credit" for d in ("finance", "contract", "judicial", "tax", "fraud", "market")}
    kinds |= {d: "other" for d in ("traffic", "utilities", "public-order", "crime",
                                    "environment", "family", "civic", "honours", "pets")}
    kinds |= {d: "protected" for d in ("religion", "party", "health", "ethnicity",
                                        "biometrics")}
    return Taxonomy({d: Domain(d, k, d) for d, k in kinds.items()})
