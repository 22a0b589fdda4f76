"""Recommendations from the in-memory snapshot, with a small per-generation answer cache.

Ranking never runs SQL: it reads the current `PoolIndexCache` snapshot. The answer is encoded
straight from `Ranking.to_dict()` (`encode_answer`), not validated into `RecommendationResponse`
and dumped again: that round trip took 2.6x as long (0.31 ms against 0.12 ms at 100k pools)
for a body that tests/api/test_recommendation_encoding.py checks is the same. Identical requests
(same canonical `Requirements`) within one snapshot generation share one serialised answer
for at most `api_response_cache_ttl_seconds`, so signal ages in a cached answer drift by no
more than that; a new collection run (a new generation) invalidates every entry.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic_core import to_json

from api.errors import NoDataError
from api.pool_cache import PoolIndexCache
from api.schemas import RecommendationResponse
from selector import Requirements, parse_requirements, rank
from selector.discounts import NO_DISCOUNTS, OnDemandDiscounts
from selector.requirements import with_default_discounts

__all__ = ["Answer", "Recommender", "encode_answer"]

# The answer's timestamps: `Ranking.to_dict` writes UTC as "+00:00", the documented answer (as
# pydantic writes a UTC datetime) as "Z".
_TIMESTAMPS: Final = tuple(
    name
    for name, field in RecommendationResponse.model_fields.items()
    if field.annotation is datetime
)
_UTC_SUFFIX: Final = "+00:00"


def encode_answer(payload: dict[str, Any]) -> bytes:
    """``Ranking.to_dict()`` plus the generation, as the JSON body of `RecommendationResponse`."""
    for name in _TIMESTAMPS:
        value = payload.get(name)
        if isinstance(value, str) and value.endswith(_UTC_SUFFIX):
            payload[name] = value[: -len(_UTC_SUFFIX)] + "Z"
    return to_json(payload)


@dataclass(frozen=True, slots=True)
class Answer:
    """A serialised recommendation and whether it came from the cache."""

    body: bytes
    generation: int
    cached: bool


class _LRU:
    """Thread-safe LRU of (generation, requirements) -> (stored at, body)."""

    def __init__(self, size: int, ttl: float) -> None:
        self._size = size
        self._ttl = ttl
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, Requirements], tuple[float, bytes]] = OrderedDict()

    def get(self, key: tuple[int, Requirements], now: float) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if now - item[0] > self._ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: tuple[int, Requirements], now: float, body: bytes) -> None:
        if self._size == 0:
            return
        with self._lock:
            if key[0] != next(iter(self._items), key)[0]:
                self._items.clear()  # a new generation: every older answer is outdated
            self._items[key] = (now, body)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class Recommender:
    """parse → rank over the current snapshot → serialise, with the answer cache in front."""

    def __init__(
        self,
        cache: PoolIndexCache,
        *,
        clock: Callable[[], datetime],
        cache_size: int,
        cache_ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        default_discounts: OnDemandDiscounts = NO_DISCOUNTS,
    ) -> None:
        self._snapshots = cache
        self._default_discounts = default_discounts  # SPOTSEL_ON_DEMAND_DISCOUNTS
        self._clock = clock
        self._monotonic = monotonic
        self._answers = _LRU(cache_size, cache_ttl_seconds)
        self._count_lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def recommend(self, body: Mapping[str, object]) -> Answer:
        """Rank for `body` (the ranking vocabulary); raises `RequirementsError` when invalid."""
        requirements = with_default_discounts(parse_requirements(body), self._default_discounts)
        generation, snapshot = self._snapshots.current()
        if snapshot.size == 0:
            raise NoDataError(
                "the store holds no pools yet: run a collection (e.g. `spotsel collect sim`)"
            )
        key = (generation, requirements)
        stamp = self._monotonic()
        cached = self._answers.get(key, stamp)
        with self._count_lock:
            if cached is None:
                self.misses += 1
            else:
                self.hits += 1
        if cached is not None:
            return Answer(cached, generation, cached=True)
        ranking = rank(snapshot, requirements, now=self._clock())
        payload = ranking.to_dict() | {"snapshot_generation": generation}
        encoded = encode_answer(payload)
        self._answers.put(key, stamp, encoded)
        return Answer(encoded, generation, cached=False)
