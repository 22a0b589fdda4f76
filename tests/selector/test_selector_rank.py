"""rank(): filters with reasons, strategies, explanations and the answer's shape."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from selector import (
    PoolIndex,
    PoolIndexError,
    PoolRecord,
    Ranking,
    parse_requirements,
    rank,
)
from tests.selector.factories import HOUR, NOW, cpu_pool, make_pool


def _rank(pools: list[PoolRecord], now: datetime = NOW, **req: Any) -> Ranking:
    return rank(PoolIndex.build(pools, built_at=now), parse_requirements(req), now=now)


def _types(r: Ranking) -> list[str]:
    return [p.key.instance_type for p in r.pools]


@pytest.mark.parametrize(
    ("pool", "req", "code", "reason"),
    [
        pytest.param(
            make_pool(region="eu-west-1", zone_id="euw1-az1"),
            {"regions": ["us-east-1"]},
            "region",
            "region not in ['us-east-1']",
            id="outside requested regions",
        ),
        pytest.param(make_pool(cloud="gcp"), {"clouds": ["aws"]}, "cloud", None, id="other cloud"),
        pytest.param(make_pool(arch="arm64"), {"arch": "x86_64"}, "arch", None, id="wrong arch"),
        pytest.param(
            make_pool(gpu_memory_gib=8.0),
            {"gpu_memory_gib": 16},
            "gpu_memory_gib",
            "gpu memory < 16 GiB",
            id="GPU too small",
        ),
        pytest.param(
            make_pool(gpu_memory_gib=None),
            {"gpu_memory_gib": 16},
            "gpu_memory_gib",
            None,
            id="unknown GPU memory is not assumed big enough",
        ),
        pytest.param(
            make_pool(gpu_count=4), {"gpus": 1}, "gpus", "gpu count != 1", id="too many GPUs"
        ),
        pytest.param(make_pool(), {"gpus": 0}, "gpus", None, id="CPU-only request drops GPUs"),
        pytest.param(
            cpu_pool(), {"gpu_memory_gib": 16}, "gpus", "no GPU", id="GPU memory implies a GPU"
        ),
        pytest.param(
            make_pool(gpu_model="V100"),
            {"gpu_models": ["inference-16-24gb"]},
            "gpu_models",
            None,
            id="model outside the requested class",
        ),
        pytest.param(
            make_pool(vcpus=64),
            {"vcpus": "4:16"},
            "vcpus",
            "vcpus outside 4:16",
            id="too many vCPUs",
        ),
        pytest.param(
            make_pool(memory_gib=8),
            {"memory_gib": "16:"},
            "memory_gib",
            None,
            id="too little memory",
        ),
        pytest.param(
            make_pool(spot_offered=False),
            {"capacity_types": ["spot"]},
            "capacity_type",
            None,
            id="spot not offered",
        ),
        pytest.param(
            make_pool(spot_price=None, on_demand_price=None),
            {},
            "price",
            None,
            id="no price at all",
        ),
        pytest.param(
            make_pool(spot_price_at=NOW - 7 * HOUR),
            {"capacity_types": ["spot"]},
            "stale_price",
            "no price newer than 6 h",
            id="spot price older than 6 h",
        ),
        pytest.param(
            make_pool(spot_price_at=None),
            {"capacity_types": ["spot"]},
            "stale_price",
            None,
            id="undated price is not fresh",
        ),
        pytest.param(
            make_pool(spot_price=2.0, on_demand_price=3.0),
            {"max_price": 1.0},
            "max_price",
            None,
            id="over max price on both offerings",
        ),
    ],
)
def test_each_exclusion_is_counted_with_its_reason(
    pool: PoolRecord, req: dict[str, Any], code: str, reason: str | None
) -> None:
    keeper = make_pool(instance_type="g5.xlarge", gpu_model="A10G", gpu_memory_gib=24.0)
    if req.get("gpus") == 0:
        keeper = cpu_pool()
    r = _rank([pool, keeper], **req)
    assert [(e.code, e.count) for e in r.exclusions] == [(code, 1)]
    if reason is not None:
        assert r.exclusions[0].reason == reason
    assert r.candidates == 1
    assert sum(e.count for e in r.exclusions) + r.candidates == r.snapshot_size
    assert pool.key not in {p.key for p in r.pools}


def test_pool_is_excluded_under_its_furthest_reaching_offering() -> None:
    # Spot has no price (stage 'price'); on-demand is too expensive (later stage 'max_price').
    pool = make_pool(spot_price=None, on_demand_price=5.0)
    r = _rank([pool], max_price=1.0)
    assert [e.code for e in r.exclusions] == ["max_price"]


@pytest.mark.parametrize(
    ("strategy", "expected_first"),
    [
        pytest.param("price", "cheap.risky", id="price: cheapest regardless of risk"),
        pytest.param("capacity", "dear.roomy", id="capacity: highest placement score"),
        pytest.param("price-capacity", "mid.ok", id="price-capacity: cheapest qualified pool"),
        pytest.param("effective-cost", "mid.ok", id="effective-cost: risk priced in"),
    ],
)
def test_strategies_pick_different_winners(strategy: str, expected_first: str) -> None:
    pools = [
        make_pool(
            instance_type="cheap.risky",
            spot_price=0.20,
            interruption_label=">20%",
            capacity_score=0.3,
        ),
        make_pool(
            instance_type="mid.ok", spot_price=0.205, interruption_label="<5%", capacity_score=0.7
        ),
        make_pool(instance_type="dear.roomy", spot_price=0.40, capacity_score=1.0),
    ]
    r = _rank(pools, strategy=strategy, capacity_types=["spot"])
    assert r.pools[0].key.instance_type == expected_first
    assert r.pools[0].score == pytest.approx(1.0) or strategy in {"capacity", "price-capacity"}


@pytest.mark.parametrize(
    ("risky_price", "expected_first"),
    [
        pytest.param(0.195, "safe", id="within 5%: lower hazard wins the near-tie"),
        pytest.param(0.15, "risky", id="25% cheaper: price wins despite the worse bucket"),
    ],
)
def test_effective_cost_near_ties_go_to_lower_hazard(
    risky_price: float, expected_first: str
) -> None:
    pools = [
        make_pool(instance_type="safe.x", spot_price=0.20, interruption_label="<5%"),
        make_pool(instance_type="risky.x", spot_price=risky_price, interruption_label="15-20%"),
    ]
    r = _rank(pools, capacity_types=["spot"])
    assert r.pools[0].key.instance_type.startswith(expected_first)


def test_fleet_evidence_demotes_a_pool_that_keeps_getting_interrupted() -> None:
    a = make_pool(instance_type="a.x", spot_price=0.20)
    b = make_pool(instance_type="b.x", spot_price=0.20)
    assert _types(_rank([a, b], capacity_types=["spot"]))[0] == "a.x"  # key tie-break
    bad_a = make_pool(
        instance_type="a.x",
        spot_price=0.20,
        fleet_interruptions=30,
        fleet_instance_hours=50.0,
        fleet_at=NOW - HOUR,
    )
    r = _rank([bad_a, b], capacity_types=["spot"])
    assert _types(r)[0] == "b.x"
    demoted = next(p for p in r.pools if p.key.instance_type == "a.x")
    assert demoted.hazard.fleet_updated
    assert "fleet-evidence" in demoted.flags


def test_verdict_says_when_spot_stops_paying() -> None:
    # Frequent interruptions (default hazard), long restarts, no final checkpoint on GCP.
    pools = [
        make_pool(
            cloud="gcp",
            region="us-central1",
            zone_id="us-central1-a",
            instance_type="g2-standard-4",
            gpu_model="L4",
            spot_price=0.5,
            on_demand_price=0.7,
            interruption_source=None,
            interruption_label=None,
        ),
    ]
    r = _rank(pools, restart_overhead_minutes=120, checkpoint_interval_minutes=240)
    assert r.verdict.spot_pays_off is False
    assert r.pools[0].capacity_type == "on-demand"  # effective cost puts on-demand first
    assert "final-checkpoint-misses-notice" in r.pools[1].flags


def test_spot_pays_off_for_a_healthy_pool() -> None:
    r = _rank([make_pool()])
    assert r.verdict.spot_pays_off is True
    assert r.verdict.break_even_hazard is not None
    assert r.verdict.break_even_hazard > r.pools[0].hazard.rate


def test_breakdown_carries_prices_ages_and_flags() -> None:
    pool = make_pool(
        capacity_at=NOW - 72 * HOUR,
        interruption_source=None,
        interruption_label=None,
        spot_price_volatility=0.5,
    )
    p = _rank([pool], capacity_types=["spot"]).pools[0]
    assert p.price == 0.20
    assert p.on_demand_price == 0.526
    assert p.savings == pytest.approx(1 - 0.20 / 0.526)
    assert p.effective_cost == pytest.approx(p.price / p.useful_fraction)
    assert p.useful_fraction == pytest.approx(1 - p.hazard.rate * p.lost_hours_per_interruption)
    assert p.ages.spot_price == 3600.0
    assert p.ages.capacity == 72 * 3600.0
    assert p.ages.fleet is None
    assert {"stale-capacity", "no-interruption-signal", "volatile-price"} <= set(p.flags)
    assert p.hazard.source == "default"


def test_on_demand_offerings_have_no_hazard(now: datetime) -> None:
    r = _rank([make_pool(spot_price_volatility=0.0)], now=now, capacity_types=["on-demand"])
    (p,) = r.pools
    assert (p.capacity_type, p.price, p.useful_fraction, p.hazard.rate) == (
        "on-demand",
        0.526,
        1.0,
        0.0,
    )


def _walk(value: object) -> None:
    """Every leaf is a plain JSON type (no numpy scalars, no datetimes)."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str
            _walk(v)
    elif isinstance(value, list):
        for v in value:
            _walk(v)
    else:
        assert value is None or type(value) in {str, int, float, bool}, (value, type(value))


def test_to_dict_is_plain_json() -> None:
    pools = [make_pool(), make_pool(instance_type="g5.xlarge", zone_id="use1-az2")]
    d = _rank(pools).to_dict()
    _walk(d)
    assert json.loads(json.dumps(d)) == d
    assert d["now"] == NOW.isoformat()


def test_public_results_hold_no_numpy_scalars(now: datetime) -> None:
    p = _rank([make_pool(spot_price_volatility=0.0)], now=now).pools[0]
    assert p.price_volatility == 0.0  # a zero is a value, not "unknown"
    for name in ("price", "effective_cost", "capacity", "score", "useful_fraction"):
        assert type(getattr(p, name)) is float
    assert type(p.hazard.rate) is float
    assert type(p.nodes) is int


@pytest.mark.parametrize(
    ("build", "match"),
    [
        pytest.param(
            lambda: PoolIndex.build([make_pool(), make_pool()], built_at=NOW),
            "duplicate",
            id="duplicate pool keys",
        ),
        pytest.param(
            lambda: PoolIndex.build([make_pool(spot_price_at=datetime(2025, 1, 1))], built_at=NOW),
            "timezone",
            id="naive timestamp",
        ),
        pytest.param(
            lambda: PoolIndex.build([], built_at=datetime(2025, 1, 1)),
            "timezone",
            id="naive built_at",
        ),
        pytest.param(
            lambda: rank(
                PoolIndex.build([], built_at=NOW), parse_requirements({}), now=datetime(2025, 1, 1)
            ),
            "timezone",
            id="naive now",
        ),
    ],
)
def test_bad_snapshot_input_raises(build: Any, match: str) -> None:
    with pytest.raises(PoolIndexError, match=match):
        build()


def test_empty_snapshot_gives_an_explained_empty_answer() -> None:
    r = _rank([])
    assert r.pools == ()
    assert r.candidates == 0
    assert r.verdict.spot_pays_off is None
    assert "min_instance_types" in {u.code for u in r.unmet}


def test_top_limits_the_answer_and_split_sums_to_nodes() -> None:
    pools = [
        make_pool(instance_type=f"t{i}.x", zone_id=f"use1-az{i % 3}", spot_price=0.2 + i / 100)
        for i in range(10)
    ]
    r = _rank(pools, top=4, nodes=8, max_share_per_type=0.25, capacity_types=["spot"])
    assert len(r.pools) == 4
    assert [p.rank for p in r.pools] == [1, 2, 3, 4]
    assert sum(p.nodes for p in r.pools) == 8
    assert all(p.nodes <= 2 for p in r.pools)
    assert not r.unmet
