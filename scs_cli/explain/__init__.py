"""Explain: one resident's score, event by event, put into words from the engine's own result.

`explain` (entry points) runs the kernel on one resident; `events` words each event's row,
`summary` the caps, score, tier, main reasons, rewards and sanctions, `projection` what happens
as events stop counting, `lists` the resident's listings and measures; `model` holds the frozen
`Explanation`. No rule is computed here: every fact comes from the kernel's rows. It may import
`core`, `rules`, `ledger`, `engine` and `scoring`.
"""
