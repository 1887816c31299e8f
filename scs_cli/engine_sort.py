"""Putting millions of events in (resident, indicator, occurred_on, event id) order, fast.

Sorting plain integers is several times faster in Polars than sorting with an index
(``arg_sort``) or by several columns. Events arrive with residents already numbered by the
ledger (`LedgerData.residents`), so one value sort of a packed 64-bit key
(resident | indicator code | day | row) gives the kernel's order, and the row number in its
low bits gives the permutation for free. When the key is too wide to pack, a sort by
columns gives the same order, more slowly.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Order:
    """Events in kernel order, and the residents they belong to."""

    row: pl.Series        # position in the events frame, per sorted event (Int64)
    rix: pl.Series        # resident number 0…n-1 in sorted order (Int32), non-decreasing
    ic: pl.Series         # indicator code (Int32, -1 for an indicator no version defines)
    day: pl.Series        # occurred_on as a day number (Int32)
    keys: pl.Series       # the events' resident key of each resident number (Int32)


def bits(n: int) -> int:
    """Bits needed to store 0 … n."""
    return max(int(n).bit_length(), 1)


def order_events(residents: pl.Series, codes: pl.Series, days: pl.Series,
                 first_day: int, n_codes: int) -> Order:
    """Order events by (resident, code, day, row); rows must already be in event-id order.

    ``residents`` are non-negative resident keys, ``codes`` indicator codes in
    -1 … n_codes-1, ``days`` day numbers ≥ ``first_day``.
    """
    n = residents.len()
    if n == 0:
        empty = pl.Series([], dtype=pl.Int32)
        return Order(pl.Series([], dtype=pl.Int64), empty, empty, empty, empty)
    row_bits = bits(n - 1)
    res = residents.cast(pl.UInt64)
    code = (codes.cast(pl.Int64) + 1).cast(pl.UInt64)
    day = (days.cast(pl.Int64) - first_day).cast(pl.UInt64)
    res_bits = bits(int(res.max()))  # type: ignore[arg-type]
    code_bits = bits(n_codes)
    day_bits = bits(int(day.max()))  # type: ignore[arg-type]
    if res_bits + code_bits + day_bits + row_bits <= 64:
        rows = pl.int_range(n, eager=True, dtype=pl.UInt64)
        packed = (res * 2**(code_bits + day_bits + row_bits) + code * 2**(day_bits + row_bits)
                  + day * 2**row_bits + rows).sort()
        row = (packed & ((1 << row_bits) - 1)).cast(pl.Int64)
        day_s = ((packed // 2**row_bits) & ((1 << day_bits) - 1)).cast(pl.Int32) + first_day
        ic = ((packed // 2**(day_bits + row_bits)) & ((1 << code_bits) - 1)).cast(pl.Int32) - 1
        key = (packed // 2**(code_bits + day_bits + row_bits)).cast(pl.Int32)
    else:  # keys too wide to pack: sort by columns (slower, same order)
        frame = pl.DataFrame({"res": res, "code": code, "day": day,
                              "row": pl.int_range(n, eager=True, dtype=pl.Int64)}
                             ).sort("res", "code", "day", "row")
        row = frame["row"]
        day_s = (frame["day"].cast(pl.Int64) + first_day).cast(pl.Int32)
        ic = (frame["code"].cast(pl.Int64) - 1).cast(pl.Int32)
        key = frame["res"].cast(pl.Int32)
    # Renumber the residents 0…n-1 in key order: keys need not be dense (one resident's
    # data, a partition of residents).
    new = (key != key.shift()).fill_null(True)
    rix = new.cast(pl.Int32).cum_sum() - 1
    return Order(row, rix, ic, day_s, key.filter(new))
