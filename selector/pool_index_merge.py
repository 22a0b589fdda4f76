"""Patching the rows of a built `PoolIndex`: new records merged in by key, gone ones dropped.

`PoolIndex.build` sorts every record by key and numbers each category in order of first
appearance. A patch keeps the previous rows in place and inserts the few new ones at their
sorted positions (a binary search each), so the merged rows are the ones `build` would sort;
the category codes of the kept rows are gathered from the previous index and renumbered only
when the order of first appearance moved (a category came, went or appears earlier).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from selector.errors import PoolIndexError
from selector.pools import PoolKey, PoolRecord

__all__ = [
    "KEY_PARTS",
    "RowMerge",
    "find_rows",
    "first_appearance",
    "gathered",
    "insertion_points",
    "merge_rows",
    "recode",
]

IntArray = npt.NDArray[np.int64]
H = TypeVar("H", bound=Hashable)

# The sort key of a row, as `PoolIndex.build` sorts them.
KEY_PARTS = attrgetter("key.cloud", "key.region", "key.zone_id", "key.instance_type")


@dataclass(frozen=True, slots=True)
class RowMerge:
    """The merged rows (sorted by key) and where each one comes from."""

    rows: list[PoolRecord]
    src: IntArray  # per merged row: its row in the previous index, -1 = a fresh record
    fresh_at: IntArray  # the merged rows that hold fresh records, ascending
    fresh: list[PoolRecord]  # those records, in the same order


def insertion_points(rows: Sequence[PoolRecord], records: Iterable[PoolRecord]) -> list[int]:
    """Where each record's key sorts into `rows` (sorted by key): its pool's row, if held."""
    return [bisect_left(rows, KEY_PARTS(r), key=KEY_PARTS) for r in records]


def find_rows(rows: Sequence[PoolRecord], keys: Iterable[PoolKey]) -> dict[PoolKey, int]:
    """The row of each key that `rows` (sorted by key) holds; keys it does not hold are left out."""
    found: dict[PoolKey, int] = {}
    for key in keys:
        parts = (key.cloud, key.region, key.zone_id, key.instance_type)
        j = bisect_left(rows, parts, key=KEY_PARTS)
        if j < len(rows) and KEY_PARTS(rows[j]) == parts:
            found[key] = j
    return found


def merge_rows(
    previous: Sequence[PoolRecord],
    fresh: Sequence[PoolRecord],
    dropped: Iterable[int],
    points: Sequence[int] | None = None,
) -> RowMerge:
    """`previous` (sorted by key) without the rows `dropped`, `fresh` inserted in key order
    (`points`: their `insertion_points`, when the caller has them already).

    Raises `PoolIndexError` when two fresh records, or a fresh and a kept one, share a key.
    """
    n = len(previous)
    keep = np.ones(n, dtype=bool)
    keep[np.fromiter(dropped, dtype=np.int64)] = False
    parts = sorted(zip(map(KEY_PARTS, fresh), range(len(fresh)), strict=True))
    for (key, _), (after, i) in itertools.pairwise(parts):
        if key == after:
            raise PoolIndexError(f"duplicate pool key {fresh[i].key}")
    at = []
    for key, i in parts:
        j = bisect_left(previous, key, key=KEY_PARTS) if points is None else points[i]
        if j < n and keep[j] and KEY_PARTS(previous[j]) == key:
            raise PoolIndexError(f"duplicate pool key {fresh[i].key}")
        at.append(j)
    kept = np.flatnonzero(keep)
    src = np.insert(kept, np.searchsorted(kept, np.array(at, dtype=np.int64)), -1)
    ordered = [fresh[i] for _, i in parts]
    placed = iter(ordered)
    rows = [previous[j] if j >= 0 else next(placed) for j in src.tolist()]
    return RowMerge(rows, src, np.flatnonzero(src < 0), ordered)


def gathered(column: npt.NDArray[Any], merge: RowMerge) -> npt.NDArray[Any]:
    """A writable copy of `column` in the merged rows' order (the fresh rows' values to fill)."""
    if column.size == 0:  # nothing kept: every row is fresh
        return np.empty(merge.src.size, dtype=column.dtype)
    return column[np.maximum(merge.src, 0)]


def recode(
    table: tuple[H, ...], codes: IntArray, merge: RowMerge, fresh_values: Sequence[H]
) -> tuple[tuple[H, ...], IntArray]:
    """The category table and codes of the merged rows, numbered as `build` numbers them.

    `codes` index `table` for the previous rows; `fresh_values` are the fresh rows' values.
    """
    lookup = {value: code for code, value in enumerate(table)}
    values = list(table)
    fresh_codes = []
    for value in fresh_values:
        code = lookup.get(value)
        if code is None:  # a new category: numbered after the known ones, then renumbered
            code = lookup[value] = len(values)
            values.append(value)
        fresh_codes.append(code)
    merged = gathered(codes, merge)
    merged[merge.fresh_at] = fresh_codes
    return first_appearance(values, merged)


def first_appearance(values: Sequence[H], codes: IntArray) -> tuple[tuple[H, ...], IntArray]:
    """`codes` (indexes into `values`) renumbered in order of first appearance, and the values
    they then index: the encoding `build` gives the same column."""
    if codes.size == 0:
        return (), codes
    top = np.maximum.accumulate(codes)
    if codes[0] == 0 and bool((np.diff(top) <= 1).all()):
        # Each code first appears right after the one below it: already in order (the usual
        # patch), and the codes above the highest one are categories no row holds any more.
        return tuple(values[: int(top[-1]) + 1]), codes
    held, first = np.unique(codes, return_index=True)
    order = held[np.argsort(first)]
    renumber = np.full(len(values), -1, dtype=np.int64)
    renumber[order] = np.arange(order.size)
    return tuple(values[i] for i in order.tolist()), renumber[codes]
