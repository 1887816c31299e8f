"""Beyond one machine: a city's exported dataset read back and scored, locally or on Spark.

It owns reading the dataset that `scs ledger export --format parquet` writes (`ledger.dataset`
defines its layout) into the engine's frames as known at a time (`dataset`), a dataset folder
behind the `Source` interface and `open_source`, the one place a path's kind (ledger file or
dataset) is decided (`source`), proving a dataset's files against the ledger's chain (`proof`),
scoring one or several datasets on one machine (`batch`), and scoring them on Apache Spark with
the same kernel, each task receiving whole residents as Arrow data (`spark`; PySpark is the
optional extra ``scs[spark]`` and is imported only there). It may import `core`, `rules`,
`ledger` (the layout's constants, never SQL), `engine` and `scoring` (the run and summary types
the CLI renders).
"""
