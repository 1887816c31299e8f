"""What a reform would do (`scs impact`): a city's residents scored under the baseline rules
and under a reform catalogue, compared resident by resident.

`batch` (`impact_ledger`) reads the ledger once and scores both sides with the kernel;
`figures` computes the document (SPEC §5's keys); `charts` draws, `render` writes JSON,
Markdown and the HTML page (from `templates/`). It may import `core`, `rules`, `ledger`,
`engine` and `scoring`.
"""
