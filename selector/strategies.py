"""Step 4 of ranking: order the eligible offerings by the requested strategy.

Every ordering ends with the zone-level signals (the zone's price against its type's other
zones, then its price volatility), the pool key (the snapshot row, since rows are key-sorted)
and spot-before-on-demand, so ties break the same way for any input order, and zones of one
type fall back to their zone ID only when nothing zone-level tells them apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.requirements import DEFAULT_COST_TIE_BAND

__all__ = [
    "PRICE_CAPACITY_THRESHOLD",
    "SIMILAR_COST_TOLERANCE",
    "Candidates",
    "first_positions",
    "order_candidates",
    "tie_places",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Effective costs within this fraction of each other are "similar" (one band): the default of
# `Requirements.cost_tie_band`, where the reason for its value is given.
SIMILAR_COST_TOLERANCE: Final = DEFAULT_COST_TIE_BAND
# price-capacity: a pool is capacity-qualified at c >= 0.6 (AWS score 6/10, Azure "Medium").
PRICE_CAPACITY_THRESHOLD: Final = 0.6


@dataclass(frozen=True, slots=True)
class Candidates:
    """Eligible offerings as parallel arrays (one entry per pool × capacity type).

    Only what orders every candidate is computed for all of them; capacity comes from
    `capacity_of` (candidate positions -> c) for the few that are sorted or returned, unless
    the strategy orders by it. The zone keys are snapshot columns, read at the same few rows.
    """

    rows: IntArray
    spot: BoolArray
    price: FloatArray
    rate: FloatArray
    lost: FloatArray
    useful: FloatArray
    effective: FloatArray
    capacity_of: Callable[[IntArray], FloatArray]
    # Per snapshot row, its place in the tie order: the zone's price level (no comparison = at
    # its type's median), then its volatility (unknown = still), then the row. None = the row.
    tie_place: IntArray | None = None

    @property
    def size(self) -> int:
        return int(self.rows.size)


def cost_bands(cost: FloatArray, tie_band: float = SIMILAR_COST_TOLERANCE) -> IntArray:
    """Band index on a ×(1 + tie_band) ladder from the cheapest cost (band 0 = similar).

    A band of 0 ties nothing: each distinct cost is its own band, cheapest first.
    """
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64)
    if tie_band <= 0:
        dense: IntArray = np.unique(cost, return_inverse=True)[1].astype(np.int64).reshape(-1)
        return dense
    ratio = cost / max(float(cost.min()), 1e-12)
    bands: IntArray = np.floor(np.log(ratio) / math.log1p(tie_band) + 1e-9).astype(np.int64)
    return bands


def first_positions(codes: IntArray) -> IntArray:
    """The position of each distinct value's first occurrence in `codes` (small non-negative
    ints), in value order: `np.unique(codes, return_index=True)[1]` without its sort."""
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = int(codes.max()) + 1
    if span > 4 * codes.size + 1024:  # sparse codes: a table that large costs more than a sort
        sparse: IntArray = np.unique(codes, return_index=True)[1].astype(np.int64)
        return sparse
    first = np.full(span, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(codes.size, dtype=np.int64))
    found: IntArray = first[first < codes.size]
    return found


def tie_places(zone_price_ratio: FloatArray, volatility: FloatArray) -> IntArray:
    """Each row's place when ordered by zone price level (NaN = 1, at its type's median), then
    volatility (NaN = 0: the store records a still price as no change), then row: one integer
    key for what breaks exact ties, computed once per snapshot."""
    n = zone_price_ratio.size
    order = np.lexsort(
        (np.arange(n), np.nan_to_num(volatility, nan=0.0), np.nan_to_num(zone_price_ratio, nan=1.0))
    )
    place = np.empty(n, dtype=np.int64)
    place[order] = np.arange(n, dtype=np.int64)
    return place


# From about this many rows a chain of stable argsorts beats np.lexsort (1.3-2x with two keys,
# ~1.15x with four); below it, lexsort's lower overhead wins.
_CHAIN_SORT_FROM: Final = 1024


def _lexsort(keys: tuple[npt.NDArray[np.generic], ...]) -> IntArray:
    """`np.lexsort(keys)` (last key most significant) for a first key without ties."""
    first = keys[0]
    if first.size < _CHAIN_SORT_FROM:
        small: IntArray = np.lexsort(keys)
        return small
    order: IntArray = np.argsort(first)  # no ties: any sort is stable
    for key in keys[1:]:
        order = order[np.argsort(key[order], kind="stable")]
    return order


def _tie_key(cand: Candidates, subset: IntArray) -> IntArray:
    """The tie order of `subset`: its rows' places, spot before on-demand within a row."""
    rows = cand.rows[subset]
    place = rows if cand.tie_place is None else cand.tie_place[rows]
    key: IntArray = place * 2 + (~cand.spot[subset])
    return key


class _Keys:
    """One strategy's sort keys: a float "primary" over every candidate (what the shortlist is
    cut on), then `at(subset)`: every key (most significant first) and the score (1.0 = best) of
    the candidates at `subset`. `order_candidates` adds the zone keys and the pool key after them.

    Effective-cost without a tie band orders by the cost itself: its bands are then the cost's
    dense ranks, a strictly increasing map of it, which orders, ties and cuts alike.
    """

    def __init__(self, strategy: str, cand: Candidates, tie_band: float) -> None:
        self.strategy = strategy
        self.cand = cand
        self.capacity: FloatArray | None = None
        if strategy == "price":
            self.primary = cand.price
        elif strategy == "capacity":
            self.capacity = cand.capacity_of(np.arange(cand.size))
            self.primary = -self.capacity
        elif strategy == "price-capacity":
            capacity = self.capacity = cand.capacity_of(np.arange(cand.size))
            qualified = capacity >= PRICE_CAPACITY_THRESHOLD
            self.best = cand.price[qualified].min() if qualified.any() else cand.price.min()
            # Qualified pools first: shift unqualified prices above every qualified one.
            self.primary = cand.price + np.where(qualified, 0.0, cand.price.max() + 1.0)
        elif strategy == "effective-cost":
            self.primary = (
                cand.effective
                if tie_band <= 0
                else cost_bands(cand.effective, tie_band).astype(np.float64)
            )
        else:
            raise ValueError(f"unknown strategy {strategy!r}")  # guarded by parse_requirements

    def at(self, subset: IntArray) -> tuple[tuple[npt.NDArray[np.generic], ...], FloatArray]:
        cand, strategy = self.cand, self.strategy
        price = cand.price[subset]
        if strategy == "price":
            return (price,), cand.price.min() / price
        capacity = cand.capacity_of(subset) if self.capacity is None else self.capacity[subset]
        if strategy == "capacity":
            return (-capacity, cand.effective[subset]), capacity.copy()
        if strategy == "price-capacity":
            # Unqualified pools score lower in proportion to their capacity shortfall.
            score = self.best / price * np.minimum(capacity / PRICE_CAPACITY_THRESHOLD, 1.0)
            return (self.primary[subset], -capacity), score
        effective = cand.effective[subset]
        # Within a band (similar cost) and equal λ: capacity (zone-aware), then the exact cost.
        keys = (self.primary[subset], cand.rate[subset], -capacity, effective)
        return keys, cand.effective.min() / effective


def order_candidates(
    strategy: str,
    cand: Candidates,
    *,
    head: int,
    groups: tuple[IntArray, ...] = (),
    nested_groups: tuple[Callable[[IntArray], IntArray], ...] = (),
    tie_band: float = SIMILAR_COST_TOLERANCE,
) -> tuple[IntArray, FloatArray]:
    """The shortlist in strategy order, and the score (1.0 = best) of each shortlisted one.

    The shortlist is the best `head` candidates plus the best candidate of every value of
    each `groups` column (instance type, family, zone) so diversity stays reachable. Only
    that subset is fully sorted: anything that can be first overall or first in its group
    has the smallest primary key overall or in its group, so the subset is found with a
    partition and per-group minima instead of a sort of every candidate. `tie_band` is the
    effective-cost strategy's similar-cost band (`Requirements.cost_tie_band`).

    `nested_groups` (candidate positions -> values) are grouping columns each value of which is
    a union of values of one of `groups` (a family is a union of instance types): their best
    candidate is always the best of one of those, so only their first in the sorted subset is
    looked for, with no pass over every candidate.
    """
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    strategy_keys = _Keys(strategy, cand, tie_band)
    primary = np.asarray(strategy_keys.primary, dtype=np.float64)
    if head >= cand.size:
        keep = np.ones(cand.size, dtype=bool)
    else:
        threshold = np.partition(primary, head - 1)[head - 1]
        keep = primary <= threshold
    for column in groups:
        best = np.full(int(column.max()) + 1, np.inf)
        np.minimum.at(best, column, primary)
        keep |= primary <= best[column]
    subset = np.flatnonzero(keep)
    keys, score = strategy_keys.at(subset)
    # Ties end with the zone's price level and volatility (for zones of one type with one λ the
    # strategy's cost keys already follow the zone's price, so these decide exact ties), then
    # the pool key (row order) and spot before on-demand: one key, `tie_places`.
    # np.lexsort sorts by the last key first.
    by = _lexsort((_tie_key(cand, subset), *reversed(keys)))
    order = subset[by]
    first = np.zeros(order.size, dtype=bool)
    first[: min(head, order.size)] = True
    for values in (*(column[order] for column in groups), *(g(order) for g in nested_groups)):
        first[first_positions(values)] = True
    shortlist: IntArray = order[first].astype(np.int64)
    return shortlist, np.asarray(score, dtype=np.float64)[by[first]]
