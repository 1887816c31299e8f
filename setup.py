"""Only the package list, which pyproject.toml cannot say: every `scs_cli` subpackage (found,
so a new one ships without anyone remembering to list it) plus `scs_cli.catalogues`, the
repository's top-level catalogues/ folder mapped into the package ([tool.setuptools.package-dir]
in pyproject.toml). Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["scs_cli", "scs_cli.*"]), "scs_cli.catalogues"])
