"""Explain: one resident's score, event by event, put into words from the engine's own result.

It may import `core`, `rules`, `ledger`, `engine` and `scoring`.
"""
