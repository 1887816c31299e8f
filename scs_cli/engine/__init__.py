"""The engine: the nine scoring steps as one pure function from frames to frames.

`kernel` (`kernel.score(data, history, as_of)`) takes the ledger's frames
(`core.frames.LedgerData`) and the catalogue history and returns a `ScoreResult` (`results`,
with its schemas); `rulebook` turns catalogue versions into dense rule tables, `sort` orders the
events once, `caps` applies indicator and (nested) category caps event by event, `totals` the
score, tiers, rewards and sanctions, `freeze` gives the data as it stood on a day (nothing
later) for explain's projection, `listings` who is on which list on a date (SPEC §4a), and
`series` scores and tiers at many dates in one pass (the report's month ends). It
reads and writes nothing: no files, no SQLite, no ledger. It may import `core` and `rules`.
"""
