"""Scoring a ledger: what `scs score`, `scs eligible` and `scs runs` do with the engine.

It owns scoring a ledger or a what-if catalogue and comparing it with a baseline (`batch`),
writing score tables to files (`files`), saved runs and their verification (`runs`), who is
listed and the repair checks that need listings (`lists`), catalogue cases run in memory
(`cases`), the prepared frames kept for the next score of the same rows (`prepared`) and the
data-quality counts kept beside them for the next report (`quality`).
It may import `core`, `rules`, `ledger` and `engine`.
"""
