"""Ranking on real public data: us-east-1, "1 GPU with >= 16 GiB" (see realdata.py)."""

from __future__ import annotations

import os

import pytest

from selector import PoolIndex, Ranking, parse_requirements, rank
from selector.hazard import AWS_ADVISOR_BUCKETS
from selector.strategies import SIMILAR_COST_TOLERANCE
from tests.selector import realdata

# CI always has ../shared/data beside the checkout: there a missing file fails, never skips.
pytestmark = pytest.mark.skipif(
    not realdata.available() and not os.environ.get("CI"), reason="../shared/data not present"
)

BUCKET_ORDER = {label: i for i, label in enumerate(AWS_ADVISOR_BUCKETS)}
# The price dump ends 2022-06-01 and `now` is 2022-07-12: allow 60 days of price age.
REQUEST = {
    "gpus": 1,
    "gpu_memory_gib": 16,
    "regions": ["us-east-1"],
    "max_price_age_hours": 24 * 60,
}


@pytest.fixture(scope="module")
def snapshot() -> PoolIndex:
    return PoolIndex.build(realdata.load_us_east_1(), built_at=realdata.NOW)


@pytest.fixture(scope="module")
def ranking(snapshot: PoolIndex) -> Ranking:
    return rank(snapshot, parse_requirements(REQUEST), now=realdata.NOW)


def _spot_alternatives(snapshot: PoolIndex) -> Ranking:
    """Every eligible spot pool, ranked, as the universe of alternatives."""
    req = parse_requirements({**REQUEST, "capacity_types": ["spot"], "top": 200})
    return rank(snapshot, req, now=realdata.NOW)


def test_snapshot_is_real_sized(snapshot: PoolIndex) -> None:
    assert snapshot.size > 2000  # us-east-1 pools from the dump and SpotLake


def test_answer_is_diversified(ranking: Ranking) -> None:
    assert len(ranking.instance_types) >= 3
    assert not ranking.unmet
    assert all(p.gpu_count == 1 and (p.gpu_memory_gib or 0) >= 16 for p in ranking.pools)


def test_top_pool_is_not_dominated(ranking: Ranking, snapshot: PoolIndex) -> None:
    top = ranking.pools[0]
    assert top.capacity_type == "spot"
    alternatives = _spot_alternatives(snapshot).pools
    best_cost = min(p.effective_cost for p in alternatives)
    top_bucket = BUCKET_ORDER[top.hazard.label or ">20%"]
    for alt in alternatives:
        bucket = BUCKET_ORDER.get(alt.hazard.label or "", len(BUCKET_ORDER))
        # Pareto: nothing both cheaper (effective) and in a strictly better bucket.
        assert not (bucket < top_bucket and alt.effective_cost <= top.effective_cost), alt.key
        # Near-ties go to risk: no better bucket within 5 % of the best effective cost.
        similar = alt.effective_cost <= best_cost * (1 + SIMILAR_COST_TOLERANCE)
        assert not (bucket < top_bucket and similar), alt.key
    assert top.effective_cost <= best_cost * (1 + SIMILAR_COST_TOLERANCE)


def test_every_pool_is_explained(ranking: Ranking) -> None:
    for p in ranking.pools:
        assert p.price > 0
        assert p.effective_cost >= p.price
        assert 0 < p.useful_fraction <= 1
        assert 0 <= p.capacity <= 1
        assert p.hazard.low <= p.hazard.rate <= p.hazard.high
        assert p.ages.spot_price is not None
        assert p.ages.interruption is not None
        assert p.score > 0
        assert p.rank >= 1
        if p.capacity_basis == "none":
            assert "no-capacity-signal" in p.flags
        else:
            assert p.ages.capacity is not None
            assert p.capacity_raw is not None


def test_exclusions_account_for_the_whole_snapshot(ranking: Ranking, snapshot: PoolIndex) -> None:
    counted = sum(e.count for e in ranking.exclusions)
    assert counted + ranking.candidates == snapshot.size
    codes = {e.code for e in ranking.exclusions}
    assert {"gpus", "gpu_memory_gib"} <= codes  # multi-GPU and 8 GiB cards are explained
    assert ranking.verdict.spot_pays_off is True
    assert ranking.verdict.best_on_demand_price is not None
