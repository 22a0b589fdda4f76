"""Step 4 of ranking: order the eligible offerings by the requested strategy.

Every ordering ends with the pool key (the snapshot row, since rows are key-sorted) and
spot-before-on-demand, so ties break the same way for any input order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "PRICE_CAPACITY_THRESHOLD",
    "SIMILAR_COST_TOLERANCE",
    "Candidates",
    "order_candidates",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Effective costs within 5 % of each other are "similar": the bucket behind λ is coarse and
# prices move by more than that within a day, so among similar costs the lower hazard wins.
SIMILAR_COST_TOLERANCE: Final = 0.05
# price-capacity: a pool is capacity-qualified at c >= 0.6 (AWS score 6/10, Azure "Medium").
PRICE_CAPACITY_THRESHOLD: Final = 0.6


@dataclass(frozen=True, slots=True)
class Candidates:
    """Eligible offerings as parallel arrays (one entry per pool × capacity type)."""

    rows: IntArray
    spot: BoolArray
    price: FloatArray
    rate: FloatArray
    low: FloatArray
    high: FloatArray
    lost: FloatArray
    useful: FloatArray
    effective: FloatArray
    capacity: FloatArray
    capacity_flags: IntArray

    @property
    def size(self) -> int:
        return int(self.rows.size)


def cost_bands(cost: FloatArray) -> IntArray:
    """Band index on a ×(1 + tolerance) ladder from the cheapest cost (band 0 = similar)."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64)
    ratio = cost / max(float(cost.min()), 1e-12)
    bands: IntArray = np.floor(np.log(ratio) / math.log1p(SIMILAR_COST_TOLERANCE) + 1e-9).astype(
        np.int64
    )
    return bands


def _keys(
    strategy: str, cand: Candidates
) -> tuple[tuple[npt.NDArray[np.generic], ...], FloatArray]:
    """Sort keys (most significant first; the first is a float "primary") and scores."""
    if strategy == "price":
        return (cand.price,), cand.price.min() / cand.price
    if strategy == "capacity":
        return (-cand.capacity, cand.effective), cand.capacity.copy()
    if strategy == "price-capacity":
        qualified = cand.capacity >= PRICE_CAPACITY_THRESHOLD
        best = cand.price[qualified].min() if qualified.any() else cand.price.min()
        # Unqualified pools score lower in proportion to their capacity shortfall.
        score = best / cand.price * np.minimum(cand.capacity / PRICE_CAPACITY_THRESHOLD, 1.0)
        # Qualified pools first: shift unqualified prices above every qualified one.
        primary = cand.price + np.where(qualified, 0.0, cand.price.max() + 1.0)
        return (primary, -cand.capacity), score
    if strategy == "effective-cost":
        bands = cost_bands(cand.effective).astype(np.float64)
        keys = (bands, cand.rate, -cand.capacity, cand.effective)
        return keys, cand.effective.min() / cand.effective
    raise ValueError(f"unknown strategy {strategy!r}")  # guarded by parse_requirements


def order_candidates(
    strategy: str, cand: Candidates, *, head: int, groups: tuple[IntArray, ...] = ()
) -> tuple[IntArray, FloatArray]:
    """The shortlist in strategy order, and every candidate's score (1.0 = best).

    The shortlist is the best `head` candidates plus the best candidate of every value of
    each `groups` column (instance type, family, zone) so diversity stays reachable. Only
    that subset is fully sorted: anything that can be first overall or first in its group
    has the smallest primary key overall or in its group, so the subset is found with a
    partition and per-group minima instead of a sort of every candidate.
    """
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    keys, score = _keys(strategy, cand)
    primary = np.asarray(keys[0], dtype=np.float64)
    keep = np.zeros(cand.size, dtype=bool)
    if head >= cand.size:
        keep[:] = True
    else:
        threshold = np.partition(primary, head - 1)[head - 1]
        keep |= primary <= threshold
    for column in groups:
        best = np.full(int(column.max()) + 1, np.inf)
        np.minimum.at(best, column, primary)
        keep |= primary <= best[column]
    subset = np.flatnonzero(keep)
    # Ties end with the pool key (row order) and spot before on-demand.
    tie = (cand.rows[subset], (~cand.spot[subset]).astype(np.int64))
    sub_keys = tuple(np.asarray(k)[subset] for k in keys)
    # np.lexsort sorts by the last key first.
    order = subset[np.lexsort((*reversed(tie), *reversed(sub_keys)))]
    first = np.zeros(order.size, dtype=bool)
    first[: min(head, order.size)] = True
    for column in groups:
        values = column[order]
        _, idx = np.unique(values, return_index=True)
        first[idx] = True
    shortlist: IntArray = order[first].astype(np.int64)
    return shortlist, np.asarray(score, dtype=np.float64)
