"""Statements: the letter an office hands or posts to one resident (`scs statement`).

It owns building each resident's letter from the `explain` computation and the ledger's own
records (`letter`), rendering it as a self-contained printable HTML page from templates
(`render`) in plain words (`words`), printing those pages to PDF with one headless Chromium for
the whole batch (`pdf`), and writing the files (`batch`). It may import `core`, `rules`,
`ledger`, `engine`, `scoring` and `explain`; it derives no number itself.
"""
