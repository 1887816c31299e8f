"""Every command's `--help` ends with examples, kept here in one place.

They are written to run as they stand in the folder where a user ran `scs demo` and then the
README's tour (`city.db` is the tour's ledger, `scs-demo/` the demo's), and
tests/test_readme_tour.py runs every one of them there, in this order, so no `--help`
example can go stale. A `# exit N` comment states an exit status other than 0.
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, list[str]] = {
    "score": [
        "scs score city.db --as-of 2024-06-30",
        "scs score city.db --as-of 2024-06-30 --output scores.csv --save",
        "scs score city.db --as-of 2024-06-30 --format jsonl > scores.jsonl",
    ],
    "eligible": [
        "scs eligible city.db heating-fee-reduction --as-of 2024-06-30",
        "scs eligible city.db service-hall-priority --as-of 2024-06-30 --output eligible.json",
    ],
    "explain": [
        "scs explain city.db R0000042 --as-of 2024-06-30",
        "scs explain scs-demo/ledger.sqlite R0000155 --as-of 2024-12-31 --format json",
    ],
    "report": [
        "scs report city.db --as-of 2024-06-30 --output reports/",
    ],
    "impact": [
        "scs impact city.db --reform rongcheng-2021 --as-of 2024-06-30",
        "scs impact scs-demo/ledger.sqlite --baseline rongcheng-2016 --reform rongcheng-2021 "
        "--as-of 2024-12-31 --output impact/",
    ],
    "statement": [
        "scs statement city.db R0000042 R0000043 --as-of 2024-06-30 --output letters/",
        "scs statement city.db --changed-since 1 --as-of 2024-12-31 --output notices/ --no-pdf",
    ],
    "catalogue validate": [
        "scs catalogue validate rongcheng-2016 suining-2010",
    ],
    "catalogue show": [
        "scs catalogue show rongcheng-2016",
        "scs catalogue show rongcheng-2016 --format csv > rongcheng-values.csv",
        "scs catalogue show jinan-dogs-2017 --format markdown > jinan.md",
    ],
    "catalogue list": [
        "scs catalogue list",
        "scs catalogue list --format csv",
    ],
    "catalogue new": [
        "scs catalogue new shouguang --from rongcheng-2016 --name Shouguang > shouguang.toml",
    ],
    "catalogue fmt": [
        "scs catalogue fmt shouguang.toml --check",
    ],
    "catalogue compare": [
        "scs catalogue compare rongcheng-2016 suining-2010 jinan-dogs-2017",
        "scs catalogue compare --bundled --top 5 --format markdown > compare.md",
    ],
    "catalogue diff": [
        "scs catalogue diff rongcheng-2016 rongcheng-2021",
        "scs catalogue diff rongcheng-2016 rongcheng-2021 --format csv",
    ],
    "catalogue test": [
        "scs catalogue test --bundled",
        "scs catalogue test rongcheng-2016 jinan-dogs-2017 --format json",
    ],
    "catalogue lint": [
        "scs catalogue lint rongcheng-2021",
        "scs catalogue lint --bundled --format markdown   # exit 1: two catalogues score religion",
    ],
    "ledger init": [
        "scs ledger init town.db --catalogue suining-2010",
    ],
    "ledger adopt": [
        "scs ledger adopt city.db rongcheng-2021",
    ],
    "ledger import": [
        "scs demo generate --output more.csv -c rongcheng-2016 -c rongcheng-2021 --seed 7",
        "scs ledger import city.db more.csv",
        "scs ledger import city.db more.csv   # exit 1: the same bytes twice are refused",
        "scs ledger import city.db more.csv --again   # each row listed as a duplicate",
    ],
    "ledger consent": [
        "scs ledger consent city.db R0000042 --on 2024-07-01",
        "scs ledger consent city.db R0000042 --on 2024-08-01 --withdraw",
    ],
    "ledger void": [
        'scs ledger void city.db 18 --reason "recorded twice"',
    ],
    "ledger lift": [
        "scs ledger lift city.db 43 --on 2024-06-01",
    ],
    "ledger stats": [
        "scs ledger stats city.db",
        "scs ledger stats city.db --as-of 2024-06-30 --format json",
    ],
    "ledger export": [
        "scs ledger export city.db --output city-events.parquet",
        "scs ledger export city.db --format parquet --output city-dataset",
        "scs score city-dataset --as-of 2024-06-30 --format csv --output dataset-scores.csv",
    ],
    "ledger history": [
        "scs ledger history city.db R0000042",
        "scs ledger history city.db R0000042 --format csv",
    ],
    "ledger head": [
        "scs ledger head city.db",
        "scs ledger head city.db --format json > published-head.json",
    ],
    "ledger verify": [
        "scs ledger verify city.db",
    ],
    "objection file": [
        'scs objection file city.db 20 --on 2024-06-01 --grounds "not me"',
    ],
    "objection decide": [
        "scs objection decide city.db 2 --rejected --on 2024-06-10",
    ],
    "objection list": [
        "scs objection list scs-demo/ledger.sqlite --as-of 2024-12-31",
        "scs objection list scs-demo/ledger.sqlite --as-of 2024-12-31 --format csv",
    ],
    "lists": [
        "scs lists wuxi.db --as-of 2024-06-30 --public",
        "scs lists wuxi.db --as-of 2024-06-30 --list court-defaulters --output listed.json",
    ],
    "repair file": [
        'scs repair file wuxi.db R0000002 --list court-defaulters --on 2024-06-30 '
        '--grounds "performed"',
    ],
    "repair decide": [
        "scs repair decide wuxi.db 2 --refused --on 2024-07-01",
    ],
    "repair list": [
        "scs repair list wuxi.db --as-of 2024-06-30",
    ],
    "runs list": [
        "scs runs list city.db",
    ],
    "runs verify": [
        "scs runs verify city.db 1",
    ],
    "demo": [
        "scs demo --output demo-small --residents 200 --seed 7",
    ],
    "demo generate": [
        "scs demo generate --output events-500.csv --residents 50 --events 500 --seed 1",
    ],
}


# The root's own, besides which `scs demo` is named in words (it makes scs-demo/ once).
EXAMPLES[""] = [
    "scs catalogue list",
    "scs explain scs-demo/ledger.sqlite R0000155 --as-of 2024-12-31",
    "scs ledger --help",
]


def group_examples(prefix: str) -> list[str]:
    """A group's examples: the first example of each of its commands."""
    return [next(line for line in lines if line.startswith(f"scs {path}"))
            for path, lines in EXAMPLES.items() if path.startswith(prefix)]


def epilog(path: str) -> str | None:
    """The examples of the command `path` ("ledger import") as a help epilog. The ``\\b``
    line keeps click from joining the examples into one paragraph."""
    lines = EXAMPLES.get(path) or group_examples(f"{path} ")
    if not lines:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def attach(app: Any, prefix: str = "") -> None:
    """Give every command registered on the typer `app` (and its groups) its examples."""
    from typer.main import get_command_name

    if not prefix:
        app.info.epilog = app.info.epilog or (
            "Start with `scs demo`: a synthetic city's ledger, scored, explained and "
            "reported in scs-demo/, and the commands to try next.\n\n" + (epilog("") or ""))
    for info in app.registered_commands:
        name = info.name or get_command_name(info.callback.__name__)
        info.epilog = info.epilog or epilog(f"{prefix}{name}")
    for group in app.registered_groups:
        group.epilog = group.epilog or epilog(f"{prefix}{group.name}")
        attach(group.typer_instance, f"{prefix}{group.name} ")
