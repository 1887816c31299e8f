"""The ledger: one city's append-only SQLite file, the only part of scs that speaks SQL.

It owns the schema and its triggers (`schema`), the engine's compact copy of the events
(`batches`), reading and validating event files (`importer`), the `Ledger` itself with voids,
lifts, objections, consents and saved runs (`store`), and statistics, verification and export
(`stats`). It may import `core` and `rules`, never the engine or anything above it.
"""
