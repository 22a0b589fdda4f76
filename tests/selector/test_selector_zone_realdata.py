"""Zones of one type on real data: ordered by their signals, by zone ID only when flagged.

Two real us-east-1 markets: the store built from the DescribeSpotPriceHistory dump through the
collectors' parsers and the one write path (tests/real_store.py; no placement scores, so the
zones differ only by price and volatility), ranked just after the dump ends so the trailing
week holds its price changes; and SpotLake's zonal placement scores joined to the same prices
(tests/selector/realdata.py).
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from core.pool_reader import load_pool_index
from core.settings import Settings
from selector import PoolIndex, RankedPool, Ranking, parse_requirements, rank
from selector.strategies import cost_bands
from tests.real_store import load_real_store
from tests.selector import realdata

pytestmark = pytest.mark.skipif(
    not realdata.available() and not os.environ.get("CI"), reason="../shared/data not present"
)

# The dump covers 2022-05-31 18:20 .. 23:59: at this `now` its changes are the trailing week.
STORE_NOW = datetime(2022, 6, 1, tzinfo=UTC)
# Every spot pool of the region in one list, in strategy order (no diversity reshuffle).
ALL_SPOT = {
    "regions": ["us-east-1"],
    "capacity_types": ["spot"],
    "top": 200,
    "min_instance_types": 1,
    "max_share_per_type": 1.0,
    "max_share_per_zone": 1.0,
}


def _zone_keys(p: RankedPool) -> tuple[float, float, float, float]:
    """The keys that order zones of one type with one λ (selector/strategies.py), in order."""
    ratio = 1.0 if p.zone_price_ratio is None else p.zone_price_ratio
    volatility = p.price_volatility or 0.0
    return (-p.capacity, p.effective_cost, ratio, volatility)


def _same_type_pairs(ranking: Ranking) -> list[tuple[RankedPool, RankedPool, int, int]]:
    """Every (earlier, later) pair of one type and λ, with the cost band of each."""
    assert len(ranking.pools) == ranking.candidates, "the whole market is listed"
    costs = np.array([p.effective_cost for p in ranking.pools])
    bands = cost_bands(costs, ranking.requirements.cost_tie_band).tolist()
    return [
        (a, b, bands[i], bands[j])
        for (i, a), (j, b) in itertools.combinations(enumerate(ranking.pools), 2)
        if a.key.instance_type == b.key.instance_type and a.hazard.rate == b.hazard.rate
    ]


def _check(ranking: Ranking) -> tuple[int, int]:
    """Assert the zone order; return (pairs ordered against zone ID, pairs left to zone ID)."""
    against_id = by_id = 0
    for a, b, band_a, band_b in _same_type_pairs(ranking):
        if band_a != band_b:
            assert band_a < band_b
            continue
        ka, kb = _zone_keys(a), _zone_keys(b)
        if ka == kb:  # nothing zone-level tells them apart: zone ID decides, and says so
            by_id += 1
            assert a.key.zone_id < b.key.zone_id
            assert "no-zone-signal" in a.flags, (a.key, b.key)
            assert "no-zone-signal" in b.flags, (a.key, b.key)
        else:  # the signals decide
            assert ka < kb, (a.key, ka, b.key, kb)
            against_id += a.key.zone_id > b.key.zone_id
    return against_id, by_id


@pytest.fixture
def store_index(engine: Engine, settings: Settings, shared_data: Path) -> PoolIndex:
    load_real_store(engine, settings, shared_data, now=STORE_NOW)
    return load_pool_index(engine, now=STORE_NOW)


@pytest.mark.parametrize("band", [0.0, 0.05], ids=["no band (default)", "5% band"])
def test_store_zones_follow_price_and_volatility(store_index: PoolIndex, band: float) -> None:
    assert np.count_nonzero(~np.isnan(store_index.zone_price_ratio)) > 50
    moved = np.nan_to_num(store_index.spot_volatility) > 0
    assert moved.any(), "the dump's price changes reach the index as volatility"
    request = {**ALL_SPOT, "cost_tie_band": band}
    ranking = rank(store_index, parse_requirements(request), now=STORE_NOW)
    against_id, by_id = _check(ranking)
    if band:  # within a band the zone signals, not the zone ID, order zones of a type
        assert against_id > 0, "zone ID no longer orders zones whose prices differ"
    assert by_id > 0, "zones priced alike are flagged no-zone-signal"
    lonely = [p for p in ranking.pools if p.zone_price_ratio is None]
    assert lonely, "types priced in one zone only"
    assert all("no-zone-signal" in p.flags for p in lonely)


def test_spotlake_zones_follow_their_zonal_scores() -> None:
    snapshot = PoolIndex.build(realdata.load_us_east_1(), built_at=realdata.NOW)
    request = {**ALL_SPOT, "gpus": 1, "max_price_age_hours": 24 * 60}
    ranking = rank(snapshot, parse_requirements(request), now=realdata.NOW)
    against_id, _ = _check(ranking)
    assert against_id > 0
    scored = [p for p in ranking.pools if p.capacity_basis == "zonal"]
    assert scored
    # A zonal score is a zone signal: flagged only where a sibling has the same score and price.
    for p in scored:
        if "no-zone-signal" in p.flags:
            assert any(
                q is not p
                and q.key.instance_type == p.key.instance_type
                and (q.capacity_raw, q.spot_price) == (p.capacity_raw, p.spot_price)
                for q in ranking.pools
            ), p.key
