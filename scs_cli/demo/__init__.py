"""The demo: a synthetic ledger for a bundled catalogue (`generate`) and the whole job (`run`).

The generator is also how the benchmarks make their ledgers. It may import every library part.
"""
