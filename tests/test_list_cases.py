"""The bundled catalogues' worked examples about lists (SPEC §2 "Catalogue cases", §4a).

`scs catalogue test` runs these cases with every other (tests/test_catalogue_cases.py);
this checks that the list examples of the sources are among them. In them `sanctions` are
the measures in force: sanctions by tier and those on a list the resident is on.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

from scs_cli.rules.taxonomy import bundled_dir


def list_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in sorted(bundled_dir().glob("*.cases.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        for case in doc.get("case", []):
            if "lists" in case.get("expect", {}):
                found.append((f"{path.stem}:{case['name']}", doc, case))
    return found


def test_the_worked_examples_24_25_26_30_are_cases() -> None:
    sources = " ".join(str(c["source"]) for _, _, c in list_cases())
    for words in ("two years", "150", "below 650", "180 days"):
        assert words in sources
