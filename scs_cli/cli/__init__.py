"""The command line: typer commands that parse, call one library function and render its result.

Nothing imports this package. Each command imports the library inside its own function, and
that is the one place scs imports inside functions: the library loads Polars, SQLite and
matplotlib, and `scs --help` must not wait for them (tests/test_layers.py checks it).
"""
