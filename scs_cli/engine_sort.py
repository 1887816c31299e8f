"""Putting millions of events in (resident, indicator, occurred_on, event id) order, fast.

Sorting plain integers is several times faster in Polars than sorting with an index
(``arg_sort``) or by several columns, and hash tables with half a million residents are
slow to probe. So residents are numbered by two *value* sorts of packed 64-bit keys whose
low bits carry the row number, which yields the permutation for free:

1. key = top bits of a 64-bit hash of the resident id | row. Sorted, each resident's rows
   are together. Two ids sharing the top bits (rare) are told apart by re-sorting just
   those rows by the full hash; two ids sharing the full hash (astronomically rare) are
   caught by a second, independently seeded hash, and then the ids themselves are ranked.
2. key = resident number | indicator code | day | row. Sorted, this is the kernel's order.

Residents are numbered in hash order; ``lexical`` gives their resident-id order for output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

_SEED2 = 0x5C5  # seed of the second hash that checks the first


@dataclass(frozen=True)
class Order:
    """Events in kernel order, and the residents they belong to."""

    row: pl.Series        # position in the events frame, per sorted event (Int64)
    rix: pl.Series        # resident number (Int32), non-decreasing
    ic: pl.Series         # indicator code (Int32, -1 for an indicator no version defines)
    day: pl.Series        # occurred_on as a day number (Int32)
    residents: pl.DataFrame  # rix, resident_id in rix order
    lexical: pl.Series    # rix of each resident, in resident-id order


def bits(n: int) -> int:
    """Bits needed to store 0 … n."""
    return max(int(n).bit_length(), 1)


def order_events(ids: pl.Series, codes: pl.Series, days: pl.Series, first_day: int,
                 n_codes: int, hasher: Callable[[pl.Series, int], pl.Series] | None = None
                 ) -> Order:
    """Order events by (resident, code, day, row); rows must already be in event-id order.

    ``codes`` are indicator codes in -1 … n_codes-1; ``days`` day numbers ≥ ``first_day``.
    ``hasher`` (tests only) replaces the string hash to provoke collisions.
    """
    hasher = hasher or (lambda s, seed: s.hash(seed))
    n = ids.len()
    if n == 0:
        empty = pl.Series([], dtype=pl.Int32)
        return Order(pl.Series([], dtype=pl.Int64), empty, empty, empty,
                     pl.DataFrame(schema={"rix": pl.Int32, "resident_id": pl.String}), empty)
    row_bits = bits(n - 1)
    row_mask = (1 << row_bits) - 1
    rows = pl.int_range(n, eager=True, dtype=pl.UInt64)

    # 1. Residents together: value-sort (top hash bits | row).
    h = hasher(ids, 0)
    key = ((h & ((2**64 - 1) ^ row_mask)) | rows).sort()
    row = (key & row_mask).cast(pl.Int64)
    hs = h.gather(row)
    top = key // 2**row_bits
    clash = ((top == top.shift()) & (hs != hs.shift())).fill_null(False)
    if clash.any():  # ids sharing the top bits: re-sort those rows by the full hash
        run = (top != top.shift()).fill_null(True).cast(pl.Int64).cum_sum()
        bad = run.is_in(run.filter(clash).implode())
        at = bad.arg_true()
        fixed = pl.DataFrame({"h": hs.gather(at), "row": row.gather(at)}).sort("h", "row")
        row = row.scatter(at, fixed["row"])
        hs = h.gather(row)
    checks = hasher(ids, _SEED2).gather(row)
    if ((hs == hs.shift()) & (checks != checks.shift())).any():  # full 64-bit clash
        hs = ids.rank("dense").cast(pl.UInt64).gather(row)
        row = pl.DataFrame({"h": hs, "row": row}).sort("h", "row")["row"]
        hs = hs.sort()
    new = (hs != hs.shift()).fill_null(True)
    rix_by_sorted = new.cast(pl.Int32).cum_sum() - 1
    n_res = int(rix_by_sorted[-1]) + 1
    starts = new.arg_true()
    residents = pl.DataFrame({
        "rix": pl.int_range(n_res, eager=True, dtype=pl.Int32),
        "resident_id": ids.gather(row.gather(starts)),
    })

    # 2. Kernel order: value-sort (resident | code | day | row).
    codes_s = codes.gather(row).cast(pl.Int64) + 1
    days_s = days.gather(row).cast(pl.Int64) - first_day
    day_bits = bits(int(days_s.max() or 0))  # type: ignore[arg-type]
    code_bits = bits(n_codes)
    res_bits = bits(n_res - 1)
    if res_bits + code_bits + day_bits + row_bits <= 64:
        packed = (rix_by_sorted.cast(pl.UInt64) * 2**(code_bits + day_bits + row_bits)
                  + codes_s.cast(pl.UInt64) * 2**(day_bits + row_bits)
                  + days_s.cast(pl.UInt64) * 2**row_bits + row.cast(pl.UInt64)).sort()
        final_row = (packed & row_mask).cast(pl.Int64)
        final_day = ((packed // 2**row_bits) & ((1 << day_bits) - 1)).cast(pl.Int32) \
            + first_day
        final_ic = ((packed // 2**(day_bits + row_bits)) & ((1 << code_bits) - 1)).cast(
            pl.Int32) - 1
        final_rix = (packed // 2**(code_bits + day_bits + row_bits)).cast(pl.Int32)
    else:  # keys too wide to pack: sort by columns (slower, same order)
        frame = pl.DataFrame({"rix": rix_by_sorted, "ic": codes_s, "day": days_s, "row": row}
                             ).sort("rix", "ic", "day", "row")
        final_row = frame["row"]
        final_day = (frame["day"] + first_day).cast(pl.Int32)
        final_ic = (frame["ic"] - 1).cast(pl.Int32)
        final_rix = frame["rix"].cast(pl.Int32)

    lexical = _lexical(residents, lambda s: hasher(s, 0))
    return Order(final_row, final_rix, final_ic, final_day, residents, lexical)


def _lexical(residents: pl.DataFrame, hasher: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """The residents' numbers in resident-id order.

    Sorting the id strings alone is fast; each sorted id is found again through its hash,
    which is unique among residents and increasing in rix order after step 1 — unless the
    ids had to be ranked, in which case rix is already in id order.
    """
    ids = residents["resident_id"]
    h = hasher(ids)
    increasing = h.len() < 2 or bool((h.slice(1) > h.slice(0, h.len() - 1)).all())
    if not increasing:  # hash order is strictly increasing unless ids were ranked
        return residents.sort("resident_id")["rix"]
    return h.search_sorted(hasher(ids.sort())).cast(pl.Int32).rename("rix")
