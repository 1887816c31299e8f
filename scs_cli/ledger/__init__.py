"""The ledger: one city's append-only SQLite file, the only part of scs that speaks SQL.

It owns the schema and its triggers (`schema`), the engine's compact copy of the events
(`batches`), reading event files with every line numbered (`reader`) and validating them
(`importer`), the `Ledger` itself with voids, lifts, objections, consents and saved runs
(`store`), credit-repair applications and decisions (`repairs`), the records its changes hand
back (`records`), the hash chain and its head (`chain`), one resident's rows (`reads`; its
batches read and checked before Polars is loaded by `early`, and their rows found there by
`ipc`, which reads the Arrow streams by hand), the Parquet dataset a city
exports (`dataset`), the `Source` interface with a ledger file behind it (`source`), and
statistics, verification and export (`stats`, which `store` lends a `Reading`:
the connection stays private to this package and no other part executes SQL). It may import
`core` and `rules`, never the engine or anything above it.
"""
