"""Batch reports for a credit office: figures, charts and the HTML, Markdown and JSON pages.

`batch` (`write_reports`) drives it; `figures` computes, `charts` draws, `render` writes. It may
import `core`, `rules`, `ledger`, `engine` and `scoring`.
"""
