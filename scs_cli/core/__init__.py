"""The shared core: what every part of scs may import, and which imports nothing else of ours.

It owns the error types and how they word a problem (`errors`), exact decimals as text and the
machine output formats (`output`), the frames the ledger hands the engine (`frames`), text as
people read it and the one sanitiser (`text`), the guard that no output overwrites an input
(`guard`) and the template folders an office may replace (`templates`). It may import only the
standard library, Polars and PyArrow.
"""
