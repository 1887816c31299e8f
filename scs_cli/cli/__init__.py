"""The command line: typer commands that parse, call one library function and render its result.

`app` assembles the groups; one module per group: `score_cmds` (score, eligible, runs),
`explain_cmds`, `report_cmds`, `statement_cmds`, `objection_cmds`, `ledger_cmds`,
`catalogue_cmds`, `authoring_cmds` (catalogue new and fmt), `audit_cmds` (lint, compare, diff),
`cases_cmds` (catalogue test), `lists_cmds` (lists, repair), `impact_cmds` and `demo_cmds`;
`common` holds what they share (consoles, option types, dates, the one map from errors to exit
codes), `examples` every command's examples, and `start` the program's entry point.

Nothing imports this package. Each command imports the library inside its own function, and that
is the one place scs imports inside functions: the library loads Polars, SQLite and matplotlib,
and `scs --help` must not wait for them (tests/test_layers.py checks it).
"""
