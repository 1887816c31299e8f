"""The shared core: what every part of scs may import, and which imports nothing else of ours.

It owns the error types and how they word a problem (`errors`), exact decimals as text and the
machine output formats (`output`), and the frames the ledger hands the engine (`frames`). It may
import only the standard library, Polars and PyArrow.
"""
