"""Audit: catalogues read side by side, never residents.

It owns the policy audit (`lint`), the cross-city comparison (`compare`) and the diff between
two versions of a city's catalogue (`diff`); lint's checks of what a resident can reach
(`reach`) and of lists (`lint_lists`) register beside those in `lint`. It may import `core` and
`rules`, never `ledger`.
"""
