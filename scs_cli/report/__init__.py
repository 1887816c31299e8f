"""Batch reports for a credit office: figures, charts and the HTML, Markdown and JSON pages.

`batch` (`write_reports`) drives it; `figures` computes (`lists_figures`: residents per list,
repairs; `quality`: the data-quality section, from counts; `suppression`: what a published
report hides), `charts` draws (in the worker process `artist` starts, beside the scoring),
`render` writes from the templates. It may import `core`, `rules`, `ledger`, `engine` and
`scoring`.
"""
