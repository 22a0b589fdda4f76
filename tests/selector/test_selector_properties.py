"""Property tests: invariants of rank() over generated markets and requests."""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from selector import PoolIndex, PoolKey, PoolRecord, parse_requirements, rank
from selector.requirements import Requirements
from tests.selector.factories import HOUR, NOW, make_pool

FAST = settings(max_examples=60, deadline=None)

# (instance type, family, vcpus, memory, gpus, model, gpu memory, arch)
SHAPES = [
    ("g4dn.xlarge", "g4dn", 4, 16.0, 1, "T4", 16.0, "x86_64"),
    ("g4dn.12xlarge", "g4dn", 48, 192.0, 4, "T4", 16.0, "x86_64"),
    ("g5.xlarge", "g5", 4, 16.0, 1, "A10G", 24.0, "x86_64"),
    ("g5g.xlarge", "g5g", 4, 8.0, 1, "T4G", 16.0, "arm64"),
    ("g6.xlarge", "g6", 4, 16.0, 1, "L4", 24.0, "x86_64"),
    ("p3.2xlarge", "p3", 8, 61.0, 1, "V100", 16.0, "x86_64"),
    ("g4ad.xlarge", "g4ad", 4, 16.0, 1, "Radeon Pro V520", 8.0, "x86_64"),
    ("m5.xlarge", "m5", 4, 16.0, 0, None, None, "x86_64"),
    ("m6g.xlarge", "m6g", 4, 16.0, 0, None, None, "arm64"),
    ("c5.4xlarge", "c5", 16, 32.0, 0, None, None, "x86_64"),
]
ZONES = [("us-east-1", "use1-az1"), ("us-east-1", "use1-az2"), ("us-east-1", "use1-az4"),
         ("us-west-2", "usw2-az1"), ("eu-west-1", "euw1-az3")]  # fmt: skip
BUCKETS = [None, "<5%", "5-10%", "10-15%", "15-20%", ">20%"]


@st.composite
def pool_records(draw: st.DrawFn) -> PoolRecord:
    itype, fam, vcpus, mem, gpus, model, gmem, arch = draw(st.sampled_from(SHAPES))
    region, zone = draw(st.sampled_from(ZONES))
    spot = draw(st.one_of(st.none(), st.floats(0.01, 5.0)))
    od = draw(st.one_of(st.none(), st.floats(0.05, 10.0)))
    bucket = draw(st.sampled_from(BUCKETS))
    return make_pool(
        instance_type=itype, region=region, zone_id=zone, family=fam, vcpus=vcpus,
        memory_gib=mem, gpu_count=gpus, gpu_model=model, gpu_memory_gib=gmem, arch=arch,
        accelerator_kind="gpu" if gpus else "none",
        spot_offered=draw(st.booleans()) or spot is not None, spot_price=spot,
        spot_price_at=NOW - draw(st.sampled_from([0.5, 3.0, 10.0])) * HOUR,
        on_demand_price=od,
        interruption_source="aws-advisor" if bucket else None, interruption_label=bucket,
        capacity_score=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
        capacity_zonal=draw(st.booleans()),
        fleet_interruptions=draw(st.integers(0, 5)),
        fleet_instance_hours=draw(st.sampled_from([0.0, 10.0, 500.0])),
        fleet_capacity_errors=draw(st.integers(0, 2)), fleet_at=NOW - HOUR,
    )  # fmt: skip


def markets() -> st.SearchStrategy[list[PoolRecord]]:
    return st.lists(pool_records(), max_size=40, unique_by=lambda p: p.key)


@st.composite
def requests(draw: st.DrawFn) -> Requirements:
    req: dict[str, Any] = {
        "strategy": draw(
            st.sampled_from(["effective-cost", "price", "capacity", "price-capacity"])
        ),
        "top": draw(st.integers(1, 12)),
        "nodes": draw(st.integers(1, 30)),
        "min_instance_types": draw(st.integers(1, 5)),
        "min_zones": draw(st.integers(1, 3)),
        "max_share_per_type": draw(st.sampled_from([1.0, 0.5, 0.34, 0.25])),
        "max_share_per_zone": draw(st.sampled_from([1.0, 0.5])),
        "max_share_per_family": draw(st.sampled_from([1.0, 0.5])),
        "capacity_types": draw(st.sampled_from([["spot"], ["on-demand"], ["spot", "on-demand"]])),
    }
    gpu = draw(st.sampled_from(["any", "cpu", "one16", "class"]))
    if gpu == "cpu":
        req["gpus"] = 0
    elif gpu == "one16":
        req.update(gpus=1, gpu_memory_gib=16)
    elif gpu == "class":
        req["gpu_models"] = ["inference-16-24gb"]
    if draw(st.booleans()):
        req["regions"] = draw(st.lists(st.sampled_from(["us-east-1", "us-west-2"]), min_size=1))
    if draw(st.booleans()):
        req["arch"] = draw(st.sampled_from(["x86_64", "arm64"]))
    if draw(st.booleans()):
        req["vcpus"] = {"min": 4, "max": 16}
    if draw(st.booleans()):
        req["max_price"] = draw(st.floats(0.05, 5.0))
    return parse_requirements(req)


def _rank(pools: list[PoolRecord], req: Requirements) -> Any:
    # A region the market does not hold is refused (test_selector_known.py): these invariants
    # are about requests over regions that exist.
    assume(not pools or set(req.regions) <= {p.key.region for p in pools})
    return rank(PoolIndex.build(pools, built_at=NOW), req, now=NOW)


@FAST
@given(markets(), requests())
def test_every_returned_pool_satisfies_the_requirements(
    pools: list[PoolRecord], req: Requirements
) -> None:
    r = _rank(pools, req)
    by_key = {p.key: p for p in pools}
    for rp in r.pools:
        rec = by_key[rp.key]
        assert rp.capacity_type in req.capacity_types
        assert not req.regions or rec.key.region in req.regions
        assert req.arch is None or rec.arch == req.arch
        assert req.vcpus.contains(rec.vcpus)
        if req.gpus == 0:
            assert rec.gpu_count == 0
        if req.gpus == 1:
            assert rec.gpu_count == 1
        if req.gpu_memory_gib is not None:
            assert rec.gpu_memory_gib is not None
            assert rec.gpu_memory_gib >= req.gpu_memory_gib
        if req.gpu_models:
            assert rp.gpu_class == "inference-16-24gb"
        assert req.max_price is None or rp.price <= req.max_price
        if rp.capacity_type == "spot":
            assert rp.ages.spot_price is not None
            assert rp.ages.spot_price <= req.max_price_age_hours * 3600
    assert sum(e.count for e in r.exclusions) + r.candidates == len(pools)
    # More than top only when the constraints need the pools, and then the answer says so.
    assert len(r.pools) <= req.top or any("more than top" in n for n in r.notes)


@FAST
@given(markets(), requests())
def test_constraints_hold_whenever_nothing_is_reported_unmet(
    pools: list[PoolRecord], req: Requirements
) -> None:
    r = _rank(pools, req)
    if r.pools:
        assert sum(p.nodes for p in r.pools) == req.nodes
    if r.unmet:
        return
    assert len({p.key.instance_type for p in r.pools}) >= req.min_instance_types
    assert len({(p.key.region, p.key.zone_id) for p in r.pools}) >= req.min_zones
    for dim, share in (
        (lambda p: p.key.instance_type, req.max_share_per_type),
        (lambda p: p.family, req.max_share_per_family),
        (lambda p: (p.key.region, p.key.zone_id), req.max_share_per_zone),
    ):
        load: Counter[object] = Counter()
        for p in r.pools:
            load[dim(p)] += p.nodes
        # The documented cap: the share of the nodes, but never less than one node.
        assert max(load.values()) <= max(1, math.floor(share * req.nodes + 1e-9))


@FAST
@given(markets(), requests(), st.randoms(use_true_random=False))
def test_ranking_is_deterministic_under_record_order(
    pools: list[PoolRecord], req: Requirements, rnd: random.Random
) -> None:
    first = _rank(pools, req).to_dict()
    assert _rank(pools, req).to_dict() == first
    shuffled = pools[:]
    rnd.shuffle(shuffled)
    assert _rank(shuffled, req).to_dict() == first


@FAST
@given(markets(), requests())
def test_a_pool_worse_on_every_signal_never_changes_the_top_choice(
    pools: list[PoolRecord], req: Requirements
) -> None:
    r = _rank(pools, req)
    # With a cap out of reach, a new pool of another type or zone can bring it within reach,
    # and the exact diversification then rightly gives up the old split: only an answer that
    # already meets every constraint must stay put.
    if not r.pools or r.unmet:
        return
    top = next(p for p in pools if p.key == r.pools[0].key)
    worse = replace(
        top,
        key=PoolKey(
            top.key.cloud, top.key.region, top.key.zone_id, "zz-worse." + top.key.instance_type
        ),
        spot_price=None if top.spot_price is None else top.spot_price * 1.5 + 0.01,
        on_demand_price=None if top.on_demand_price is None else top.on_demand_price * 1.5 + 0.01,
        interruption_source=None,
        interruption_label=None,
        fleet_interruptions=10_000,
        fleet_instance_hours=1.0,
        capacity_score=0.0,
        capacity_zonal=True,
        capacity_at=NOW,
        fleet_capacity_errors=top.fleet_capacity_errors + 5,
        fleet_at=NOW,
    )
    again = _rank([*pools, worse], req)
    assert again.pools[0].key == r.pools[0].key
    assert again.pools[0].capacity_type == r.pools[0].capacity_type


@given(
    st.lists(st.integers(min_value=0, max_value=40), max_size=200)
    | st.lists(st.integers(min_value=0, max_value=10**6), max_size=30)
)
def test_first_positions_are_numpys_unique_first_indices(codes: list[int]) -> None:
    """The sort-free first occurrence (dense codes) and its sparse fallback agree with np.unique."""
    import numpy as np

    from selector.strategies import first_positions

    array = np.asarray(codes, dtype=np.int64)
    expected = np.unique(array, return_index=True)[1]
    assert first_positions(array).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(
    size=st.sampled_from([0, 1, 7, 300, 1023, 1024, 3000]),
    n_keys=st.integers(min_value=0, max_value=4),
    distinct=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_the_chained_sort_is_numpys_lexsort(
    size: int, n_keys: int, distinct: int, seed: int
) -> None:
    """Below and above the size where the stable-argsort chain takes over, with many ties in
    the later keys (few distinct values, NaN and -0.0 among them): np.lexsort's order."""
    import numpy as np

    from selector.strategies import _lexsort

    rng = np.random.default_rng(seed)
    first = rng.permutation(size * 3)[:size].astype(np.int64)  # unique, as the tie key is
    values = np.array([np.nan, -0.0, 0.0, 1.5, -2.0, np.inf][:distinct])
    keys = (first, *(rng.choice(values, size) for _ in range(n_keys)))
    assert _lexsort(keys).tolist() == np.lexsort(keys).tolist()


@pytest.fixture(scope="module")
def large_market() -> PoolIndex:
    """Thousands of pools: more candidates than the head, so a shortlist cut can matter."""
    from bench._pools import make_pools

    return PoolIndex.build(make_pools(4_000, seed=5), built_at=NOW)


@settings(max_examples=40, deadline=None)
@given(
    strategy=st.sampled_from(["effective-cost", "price", "capacity", "price-capacity"]),
    top=st.integers(1, 40),
    min_instance_types=st.sampled_from([1, 3, 20, 200]),
    min_zones=st.sampled_from([1, 2, 30, 200]),
    shape=st.sampled_from([{"gpus": 0}, {"gpus": 1}, {"arch": "arm64"}, {}]),
)
def test_one_node_ranks_alike_from_the_head_alone(
    large_market: PoolIndex,
    strategy: str,
    top: int,
    min_instance_types: int,
    min_zones: int,
    shape: dict[str, Any],
) -> None:
    """One node: ranking from the best candidates alone (when they show the types and zones
    asked; past them the full shortlist) gives the full shortlist's answer, field for field."""
    req = parse_requirements(
        {"strategy": strategy, "top": top, "nodes": 1, "min_instance_types": min_instance_types,
         "min_zones": min_zones, **shape}
    )  # fmt: skip
    cut = rank(large_market, req, now=NOW).to_dict()
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(sys.modules["selector.rank"], "HEAD_ONLY_FOR_ONE_NODE", False)
        full = rank(large_market, req, now=NOW).to_dict()
    assert cut == full
