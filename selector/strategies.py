"""Step 4 of ranking: order the eligible offerings by the requested strategy.

Every ordering ends with the zone-level signals (the zone's price against its type's other
zones, then its price volatility), the pool key (the snapshot row, since rows are key-sorted)
and spot-before-on-demand, so ties break the same way for any input order, and zones of one
type fall back to their zone ID only when nothing zone-level tells them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.requirements import DEFAULT_COST_TIE_BAND

__all__ = [
    "PRICE_CAPACITY_THRESHOLD",
    "SIMILAR_COST_TOLERANCE",
    "Candidates",
    "order_candidates",
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
    zone_price_ratio: FloatArray | None = None  # NaN / None = no other zone to compare with
    volatility: FloatArray | None = None  # 7-day coefficient of variation; NaN / None = unknown

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


def _zone_keys(cand: Candidates, subset: IntArray) -> tuple[FloatArray, FloatArray]:
    """Zone price level (no comparison = at its type's median) and volatility (unknown = still,
    as the store records a pool without changes) of `subset`, lower first."""
    ratio, vol = cand.zone_price_ratio, cand.volatility
    return (
        np.ones(subset.size) if ratio is None else np.nan_to_num(ratio[subset], nan=1.0),
        np.zeros(subset.size) if vol is None else np.nan_to_num(vol[subset], nan=0.0),
    )


def _keys(
    strategy: str, cand: Candidates, tie_band: float
) -> tuple[tuple[npt.NDArray[np.generic], ...], FloatArray]:
    """The strategy's sort keys (most significant first; the first is a float "primary") and
    scores. `order_candidates` adds the zone keys and the pool key after them."""
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
        bands = cost_bands(cand.effective, tie_band).astype(np.float64)
        # Within a band (similar cost) and equal λ: capacity (zone-aware), then the exact cost.
        keys = (bands, cand.rate, -cand.capacity, cand.effective)
        return keys, cand.effective.min() / cand.effective
    raise ValueError(f"unknown strategy {strategy!r}")  # guarded by parse_requirements


def order_candidates(
    strategy: str,
    cand: Candidates,
    *,
    head: int,
    groups: tuple[IntArray, ...] = (),
    tie_band: float = SIMILAR_COST_TOLERANCE,
) -> tuple[IntArray, FloatArray]:
    """The shortlist in strategy order, and every candidate's score (1.0 = best).

    The shortlist is the best `head` candidates plus the best candidate of every value of
    each `groups` column (instance type, family, zone) so diversity stays reachable. Only
    that subset is fully sorted: anything that can be first overall or first in its group
    has the smallest primary key overall or in its group, so the subset is found with a
    partition and per-group minima instead of a sort of every candidate. `tie_band` is the
    effective-cost strategy's similar-cost band (`Requirements.cost_tie_band`).
    """
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    keys, score = _keys(strategy, cand, tie_band)
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
    # Ties end with the zone's price level and volatility (for zones of one type with one λ the
    # strategy's cost keys already follow the zone's price, so these decide exact ties), then
    # the pool key (row order) and spot before on-demand.
    tie = (*_zone_keys(cand, subset), cand.rows[subset], (~cand.spot[subset]).astype(np.int64))
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
