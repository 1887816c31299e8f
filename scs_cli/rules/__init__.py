"""The rules: a city's catalogue as a frozen model, read from and written to TOML.

It owns the catalogue model and "which version was in force" (`model`), reading, validating and
writing catalogue files and finding the bundled ones (`schema`, lists and measures in
`schema_lists`), the behaviour taxonomy
(`taxonomy`), calendar durations (`durations`), a new city's draft and the canonical form
(`authoring`), the facts of a day (`day`: objections pending, due and overdue, consent in force)
and a catalogue laid out for reading, row by row or as Markdown (`listing`). It may import only
`core`.
"""
