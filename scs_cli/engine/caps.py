"""Step 6 of the scoring kernel: indicator and category caps, event by event.

SPEC §4 "Which points a cap cuts": a cap keeps points in event order (`occurred_on`, event
id) and cuts the latest; what remains of each event after the indicator cap is what its
category (named by the event's own rule) adds up; a nested category is capped first, then
each parent in turn over everything beneath it. So every event ends with the points it
keeps (``kept``), never more than it took, and the first cap that cut it is named.

A cap over one group of events is a running sum in event order, held at the bound: the
points an event keeps are ``held(sum up to it) − held(sum before it)``. That is whole-column
arithmetic, no loop per event: for indicators the kernel's order (resident, indicator,
day, event id) already groups and orders the events; each level of categories sorts the
few events under a cap once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from scs_cli.engine.rulebook import RuleBook
from scs_cli.rules.model import Catalogue, cents

SCOPE_INDICATOR, SCOPE_CATEGORY = 1, 2
ADJUST_SCHEMA = {"rix": pl.Int32, "scope": pl.String, "code": pl.Int32, "amount": pl.Int64}


@dataclass(frozen=True)
class Capped:
    """What the caps did, per event that adds points and per capped side of a total.

    The per-event columns are for the rows ``at`` of the frame (the events whose points are
    not zero); `per_event` spreads them over every row."""

    at: pl.Series           # Int64 positions in the frame of the rows below
    kept: pl.Series         # Int64 hundredths each event adds after every cap
    cut_scope: pl.Series    # Int8: 0 uncut, SCOPE_INDICATOR or SCOPE_CATEGORY (first to cut)
    cut_code: pl.Series     # Int32: the indicator or category code of that first cap
    adjustments: pl.DataFrame  # rix, scope, code, amount: one line per capped side

    def per_event(self, frame: pl.DataFrame) -> dict[str, pl.Series]:
        """kept, cut_scope and cut_code for every row of ``frame`` (kept = pts elsewhere)."""
        height = frame.height
        return {
            "kept": frame["pts"].fill_null(0).cast(pl.Int64).clone().scatter(self.at, self.kept),
            "cut_scope": pl.repeat(0, height, dtype=pl.Int8, eager=True).scatter(
                self.at, self.cut_scope),
            "cut_code": pl.repeat(None, height, dtype=pl.Int32, eager=True).scatter(
                self.at, self.cut_code),
        }


def apply_caps(book: RuleBook, scheme: Catalogue, frame: pl.DataFrame) -> Capped:
    """Caps of the as-of version (``scheme``) over judged events sorted in kernel order.

    ``frame`` needs ``rix``, ``ic``, ``cat``, ``day``, ``row`` and ``pts`` (0 when the event
    does not count). Only the events that add points take part, in the frame's order, so a
    resident's indicator is still one run of rows in event order."""
    live = frame.lazy().with_row_index("at").filter(pl.col("pts") != 0).select(
        pl.col("at").cast(pl.Int64), "rix", "ic", "cat", "day", "row",
        pts=pl.col("pts").cast(pl.Int64)).collect()
    kept = live["pts"]
    cut_scope = pl.repeat(0, live.height, dtype=pl.Int8, eager=True)
    cut_code = pl.repeat(None, live.height, dtype=pl.Int32, eager=True)
    parts: list[pl.DataFrame] = []

    ind_caps = {book.codes[i]: scheme.indicators[i] for i in book.indicators
                if i in scheme.indicators and has_cap(scheme.indicators[i])}
    if ind_caps:
        size = max(len(book.indicators), 1)
        start = ((pl.col("rix") != pl.col("rix").shift())
                 | (pl.col("ic") != pl.col("ic").shift())).fill_null(True)
        kept = live.select(_held(pl.col("pts"), start,
                                 pl.lit(by_code(ind_caps, size, "max_deduction")).gather(
                                     pl.col("ic")),
                                 pl.lit(by_code(ind_caps, size, "max_award")).gather(
                                     pl.col("ic")))).to_series()
        cut = kept != live["pts"]
        cut_scope = cut.cast(pl.Int8) * SCOPE_INDICATOR
        cut_code = live.select(pl.when(pl.lit(cut)).then(pl.col("ic"))).to_series()
        parts.append(_sides(live.select("rix", code="ic", before="pts", after=kept)
                            .filter(pl.lit(cut)), "indicator"))

    for level in category_levels(book, scheme):
        before = kept
        kept, changed = _category_level(live, kept, level, scheme, book)
        if changed is None:
            continue
        first = changed & (cut_scope == 0)
        cut_scope = cut_scope.clone().scatter(first.arg_true(), SCOPE_CATEGORY)
        cut_code = live.select(pl.when(pl.lit(first)).then(
            pl.lit(level).gather(pl.col("cat"))).otherwise(pl.lit(cut_code))).to_series()
        parts.append(_sides(live.select(
            "rix", code=pl.lit(level).gather(pl.col("cat")), before=before, after=kept)
            .filter(pl.lit(changed)), "category"))
    adjustments = (pl.concat(parts) if parts else pl.DataFrame(schema=ADJUST_SCHEMA)).cast(
        ADJUST_SCHEMA)  # type: ignore[arg-type]
    return Capped(live["at"], kept.rename("kept"), cut_scope, cut_code.cast(pl.Int32),
                  adjustments)


def category_levels(book: RuleBook, scheme: Catalogue) -> list[pl.Series]:
    """For each depth of the as-of version's category tree, deepest first, the capped
    ancestor at that depth of every category code (null: none, or not capped).

    Caps apply innermost first; events under different categories of one depth are
    disjoint, so one depth is one pass."""
    chains = [scheme.category_chain(c) for c in book.categories]
    depth = max((len(chain) for chain in chains), default=0)
    codes = {c: n for n, c in enumerate(book.categories)}
    levels = []
    for d in range(depth - 1, -1, -1):
        # the ancestor at depth d sits at position len(chain) - 1 - d of a chain
        table = [chain[len(chain) - 1 - d] if len(chain) > d else None for chain in chains]
        table = [c if c is not None and has_cap(scheme.categories[c]) else None
                 for c in table]
        if any(table):
            levels.append(pl.Series([codes.get(c) if c else None for c in table],
                                    dtype=pl.Int32))
    return levels


def _category_level(frame: pl.DataFrame, kept: pl.Series, level: pl.Series,
                    scheme: Catalogue, book: RuleBook
                    ) -> tuple[pl.Series, pl.Series | None]:
    """One depth of category caps: the events under each capped category, in event order.

    Only the groups whose total passes a bound are sorted into event order: most
    residents stay inside every cap."""
    caps = {n: scheme.categories[book.categories[n]] for n in level.drop_nulls().unique()}
    size = max(len(book.categories), 1)
    ded = pl.lit(by_code(caps, size, "max_deduction")).gather(pl.col("anc"))
    award = pl.lit(by_code(caps, size, "max_award")).gather(pl.col("anc"))
    candidates = frame.lazy().select(
        "rix", "day", "row", i=pl.int_range(pl.len(), dtype=pl.Int64), kept=pl.lit(kept),
        anc=pl.lit(level).gather(pl.col("cat")),
    ).filter(pl.col("anc").is_not_null() & (pl.col("kept") != 0))
    over = candidates.group_by("rix", "anc").agg(
        neg=pl.col("kept").clip(upper_bound=0).sum(),
        pos=pl.col("kept").clip(lower_bound=0).sum(),
    ).filter((pl.col("neg") < -ded).fill_null(False) | (pl.col("pos") > award).fill_null(False))
    under = candidates.join(over.select("rix", "anc"), on=["rix", "anc"], how="semi").sort(
        "rix", "anc", "day", "row").collect()
    if under.is_empty():
        return kept, None
    start = ((pl.col("rix") != pl.col("rix").shift()) | (pl.col("anc") != pl.col("anc").shift())
             ).fill_null(True)
    held = under.select(_held(pl.col("kept"), start, ded, award)).to_series()
    moved = held != under["kept"]
    new = kept.clone().scatter(under["i"].filter(moved), held.filter(moved))  # in place
    return new, new != kept


def _held(points: pl.Expr, start: pl.Expr, max_deduction: pl.Expr, max_award: pl.Expr
          ) -> pl.Expr:
    """What each event keeps when its group's negatives may sum to at least −max_deduction
    and its positives to at most max_award, the earliest kept (rows grouped, in order)."""
    def running(x: pl.Expr) -> pl.Expr:  # the group's sum up to and including each row
        total = x.cum_sum()
        return total - pl.when(start).then(total - x).forward_fill()

    neg, pos = points.clip(upper_bound=0), points.clip(lower_bound=0)
    up_to_neg, up_to_pos = running(neg), running(pos)
    kept_neg = pl.when(max_deduction.is_null()).then(neg).otherwise(
        pl.max_horizontal(up_to_neg, -max_deduction)
        - pl.max_horizontal(up_to_neg - neg, -max_deduction))
    kept_pos = pl.when(max_award.is_null()).then(pos).otherwise(
        pl.min_horizontal(up_to_pos, max_award) - pl.min_horizontal(up_to_pos - pos, max_award))
    return (kept_neg + kept_pos).cast(pl.Int64).alias("kept")


def _sides(cut: pl.DataFrame, scope: str) -> pl.DataFrame:
    """One adjustment per (resident, cap, side): a capped deduction gives points back
    (amount > 0), a capped award takes them (amount < 0)."""
    return cut.group_by("rix", "code", pl.col("before") < 0).agg(
        amount=(pl.col("after") - pl.col("before")).sum()).select(
        "rix", scope=pl.lit(scope), code="code", amount="amount").sort(
        "rix", "code", "amount")


def has_cap(item: Any) -> bool:
    return item.max_deduction is not None or item.max_award is not None


def by_code(items: dict[int, Any], size: int, attr: str) -> pl.Series:
    values: list[int | None] = [None] * size
    for code, item in items.items():
        value = getattr(item, attr)
        values[code] = cents(value) if value is not None else None
    return pl.Series(values, dtype=pl.Int64)
