"""Audit: catalogues read side by side, never residents.

It owns the policy audit (`lint`), the cross-city comparison (`compare`) and the diff between
two versions of a city's catalogue (`diff`). It may import `core` and `rules`, never `ledger`.
"""
