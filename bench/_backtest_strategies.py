"""Strategies as ordered node placements over one PoolIndex.

The four selector strategies are `selector.rank` itself. Two baselines are implemented here
and place their nodes with the selector's own diversification step, so only the ordering
differs: `pco-like` (EC2 price-capacity-optimized read as "pools within one interruption bucket
of the best available, then cheapest") and `random` (a seeded shuffle).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from selector import PoolIndex, PoolKey, Requirements, rank
from selector.diversify import constraints_of, diversify
from selector.filters import apply_filters
from selector.hazard import AWS_ADVISOR_BUCKETS

__all__ = ["BENCH_STRATEGIES", "SELECTOR_STRATEGIES", "STRATEGIES", "Placement", "place"]

SELECTOR_STRATEGIES: Final = ("effective-cost", "price", "capacity", "price-capacity")
BENCH_STRATEGIES: Final = ("pco-like", "random")
STRATEGIES: Final = SELECTOR_STRATEGIES + BENCH_STRATEGIES
# pco-like keeps pools whose bucket is at most this many buckets above the best available.
PCO_BUCKET_SLACK: Final = 1
_BUCKET_INDEX: Final = {label: i for i, label in enumerate(AWS_ADVISOR_BUCKETS)}


@dataclass(frozen=True, slots=True)
class Placement:
    """One pool of a strategy's answer, in answer order, with the nodes put on it."""

    key: PoolKey
    nodes: int
    price: float


def place(
    snapshot: PoolIndex,
    req: Requirements,
    strategy: str,
    *,
    now: datetime,
    seed: int = 0,
) -> list[Placement]:
    """The pools `strategy` lists for `req` (best first) and the nodes it puts on each."""
    if strategy in SELECTOR_STRATEGIES:
        ranking = rank(snapshot, replace(req, strategy=strategy), now=now)
        return [Placement(p.key, p.nodes, p.price) for p in ranking.pools]
    rows = [int(r) for r in apply_filters(snapshot, req, now_ts=now.timestamp()).spot_rows]
    if strategy == "pco-like":
        rows = _pco_order(snapshot, rows)
    elif strategy == "random":
        random.Random(seed).shuffle(rows)
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    return _diversified(snapshot, req, rows)


def _bucket(snapshot: PoolIndex, row: int) -> int:
    label = snapshot.records[row].interruption_label
    return _BUCKET_INDEX.get(label or "", len(_BUCKET_INDEX))


def _pco_order(snapshot: PoolIndex, rows: list[int]) -> list[int]:
    if not rows:
        return rows
    best = min(_bucket(snapshot, r) for r in rows)
    kept = [r for r in rows if _bucket(snapshot, r) <= best + PCO_BUCKET_SLACK]
    # Ties end with the pool key (row order), as in the selector.
    return sorted(kept, key=lambda r: (float(snapshot.spot_price[r]), r))


def _diversified(snapshot: PoolIndex, req: Requirements, rows: list[int]) -> list[Placement]:
    """The selector's diversification over a bench-made order."""
    selection = diversify(
        [int(snapshot.type_code[r]) for r in rows],
        [int(snapshot.family_code[r]) for r in rows],
        [int(snapshot.zone_code[r]) for r in rows],
        constraints_of(req),
        market_types=len({int(snapshot.type_code[r]) for r in rows}),
    )
    return [
        Placement(snapshot.records[rows[pos]].key, int(n), float(snapshot.spot_price[rows[pos]]))
        for pos, n in zip(selection.chosen, selection.nodes, strict=True)
    ]
