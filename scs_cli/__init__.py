"""scs: municipal points-scoring systems, computed transparently.

The library knows the domain (catalogues, ledgers, the scoring engine, audits,
reports); `scs_cli.cli` is a thin typer layer over it. Nothing here imports typer.
"""

__version__ = "0.1.0"
