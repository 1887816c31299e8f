"""The engine: the nine scoring steps as one pure function from frames to frames.

`kernel.score(data, history, as_of)` takes the ledger's frames (`core.frames.LedgerData`) and
the catalogue history and returns a `ScoreResult`; `rulebook` turns catalogue versions into
dense rule tables, `sort` orders the events once, and `totals` applies caps, tiers, rewards and
sanctions. It reads and writes nothing: no files, no SQLite, no ledger. It may import `core`
and `rules`.
"""
