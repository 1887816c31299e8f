"""`scs`, the program's entry point: the garbage collector waits while the program loads.

Loading typer, Polars and scs makes a few hundred thousand objects that live until the
process ends. Python's cyclic collector, which runs every few hundred new objects, walks
them again and again and frees none: 15-20 ms of the 0.3 s `scs explain` may take
(measured, issue 23). `loading` pauses it meanwhile, then sets what loading made out of its
reach for good (`gc.freeze`), so that it runs again over what the command makes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """Imports made meanwhile are not walked by the collector, then or later."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.freeze()
            gc.enable()


def main() -> None:
    with loading():
        from scs_cli.cli.app import main as run
    run()
