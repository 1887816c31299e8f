"""The bundled catalogues and behaviour taxonomy, shipped inside the package.

This folder is installed as ``scs_cli.catalogues`` (pyproject.toml, ``package-dir``) so that a
wheel carries the TOML files; ``scs_cli.rules.taxonomy.bundled_dir`` finds them with
``importlib.resources``. It holds no code.
"""
