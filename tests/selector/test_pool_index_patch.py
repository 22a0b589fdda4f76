"""`PoolIndex.patched` equals `PoolIndex.build` over the same records, whatever changed."""

from __future__ import annotations

import random
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench._pools import make_pools
from selector import PoolIndex, PoolRecord
from selector.errors import PoolIndexError
from tests.selector.factories import HOUR, NOW, cpu_pool, make_pool

# Random patches per seed: enough to hit every kind of change, and the fallbacks, many times.
PATCHES = 40
LABELS = ("<5%", "5-10%", "10-15%", ">20%", "not-a-bucket", None)


def _assert_same(patched: PoolIndex, built: PoolIndex) -> None:
    """Every column equal in value, dtype and NaN positions; every other field equal."""
    for field in fields(PoolIndex):
        got, want = getattr(patched, field.name), getattr(built, field.name)
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, field.name
            assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), field.name
            if want.dtype.kind == "f":
                assert np.array_equal(np.isnan(got), np.isnan(want)), field.name
            assert not got.flags.writeable, field.name
        else:
            assert got == want, field.name


def _pools() -> list[PoolRecord]:
    """GPU and CPU pools over regions and zones, regional rows, simulated rows, fleet evidence."""
    pools: list[PoolRecord] = []
    for region in ("us-east-1", "us-west-2"):
        for zone in ("az1", "az2", "az3", ""):
            for n, itype in enumerate(("g4dn.xlarge", "g5.xlarge")):
                price = 0.2 + 0.01 * n
                pool = make_pool(region=region, zone_id=zone, instance_type=itype, spot_price=price)
                pools.append(replace(pool, simulated=zone == "az3"))
            evidence = {"fleet_instance_hours": 10.0, "fleet_interruptions": 1}
            pools.append(cpu_pool(region=region, zone_id=zone, fleet_at=NOW - HOUR, **evidence))
    return pools + make_pools(400, seed=11)


def _changed(rng: random.Random, record: PoolRecord) -> PoolRecord:
    """`record` with a few values changed the way a collection run changes them."""
    choices: dict[str, Any] = {
        "spot_price": rng.choice([None, 0.1, 0.2, 0.21, rng.uniform(0.05, 3.0)]),
        "spot_price_at": rng.choice([None, NOW - HOUR, NOW - rng.randint(1, 90) * HOUR]),
        "spot_price_volatility": rng.choice([None, 0.0, 0.05, rng.random()]),
        "capacity_score": rng.choice([None, 0.5, 0.9, rng.random()]),
        "capacity_zonal": rng.choice([True, False]),
        "capacity_at": rng.choice([None, NOW - 2 * HOUR]),
        "interruption_source": rng.choice([None, "aws-advisor", "sim"]),
        "interruption_label": rng.choice(LABELS),
        "interruption_at": NOW - rng.randint(1, 48) * HOUR,
        "fleet_interruptions": rng.randint(-1, 4),
        "fleet_instance_hours": rng.choice([0.0, 5.0, rng.uniform(0, 500)]),
        "fleet_capacity_errors": rng.randint(0, 3),
        "fleet_at": rng.choice([None, NOW - 3 * HOUR]),
        "fleet_capacity_error_at": rng.choice([None, NOW - 5 * HOUR]),
        "spot_offered": rng.choice([True, False]),
        "simulated": rng.choice([True, False]),
        "on_demand_price": rng.choice([None, 0.5, rng.uniform(0.1, 5.0)]),
    }
    picked = rng.sample(sorted(choices), rng.randint(1, 5))
    return replace(record, **{name: choices[name] for name in picked})


@pytest.mark.parametrize("seed", range(4))
def test_patched_equals_a_full_build(seed: int) -> None:
    rng = random.Random(seed)
    records = _pools()
    rng.shuffle(records)
    index = PoolIndex.build(records, built_at=NOW)
    for step in range(PATCHES):
        records = list(records)
        for i in rng.sample(range(len(records)), rng.randint(0, 30)):
            records[i] = _changed(rng, records[i])
        kind = rng.random()
        if kind < 0.1:  # a new pool: falls back to a full build
            records.append(make_pool(zone_id=f"new-{step}", region="eu-west-1"))
        elif kind < 0.2:  # a pool gone
            records.pop(rng.randrange(len(records)))
        elif kind < 0.25:  # a type's family or architecture moved: codes could move
            i = rng.randrange(len(records))
            records[i] = replace(records[i], family="other", arch="arm64")
        rng.shuffle(records)  # the input order does not matter
        at = NOW + step * HOUR
        patched = PoolIndex.patched(index, records, built_at=at)
        _assert_same(patched, PoolIndex.build(records, built_at=at))
        index = patched


def test_patched_reuses_unchanged_rows_and_reads_changed_ones() -> None:
    records = _pools()
    index = PoolIndex.build(records, built_at=NOW)
    row = next(i for i, r in enumerate(index.records) if r.spot_price is not None)
    target = index.records[row]
    records = [replace(r, spot_price=9.5) if r is target else r for r in records]
    patched = PoolIndex.patched(index, records, built_at=NOW + HOUR)
    assert patched.spot_price[row] == 9.5
    assert patched.built_at == NOW + HOUR
    assert patched.records[row] is not target
    assert patched.records[row - 1] is index.records[row - 1]
    _assert_same(patched, PoolIndex.build(records, built_at=NOW + HOUR))


def test_patched_rejects_what_build_rejects() -> None:
    records = _pools()
    index = PoolIndex.build(records, built_at=NOW)
    twin = replace(records[1], key=records[0].key)
    with pytest.raises(PoolIndexError, match="duplicate pool key"):
        PoolIndex.patched(index, [*records[:1], twin, *records[2:]], built_at=NOW)
    naive = replace(records[0], capacity_at=(NOW - timedelta(hours=2)).replace(tzinfo=None))
    with pytest.raises(PoolIndexError, match="capacity_at must be timezone-aware"):
        PoolIndex.patched(index, [naive, *records[1:]], built_at=NOW)


# A small universe of pool values, so that new pools often bring a category the index lacks and
# as often one it holds (placed before or after its first row), and removals empty categories.
CLOUDS = ("aws", "azure", "gcp")
REGIONS = ("a-region", "us-east-1", "zz-region")
ZONES = ("", "a-zone", "use1-az1", "z-zone")
TYPES = ("a1.large", "g4dn.xlarge", "m5.xlarge", "z9.metal")
ARCHES = ("x86_64", "arm64")
GPUS = (None, "T4", "nvidia-a10g", "A10G")
KINDS = ("gpu", "none", "neuron")


@st.composite
def _pool(draw: st.DrawFn) -> PoolRecord:
    return make_pool(
        cloud=draw(st.sampled_from(CLOUDS)),
        region=draw(st.sampled_from(REGIONS)),
        zone_id=draw(st.sampled_from(ZONES)),
        instance_type=draw(st.sampled_from(TYPES)),
        family=draw(st.sampled_from(("a1", "g4dn", "m5", "other"))),
        arch=draw(st.sampled_from(ARCHES)),
        gpu_model=draw(st.sampled_from(GPUS)),
        accelerator_kind=draw(st.sampled_from(KINDS)),
        spot_price=draw(st.sampled_from((None, 0.1, 0.2, 0.3))),
        spot_price_volatility=draw(st.sampled_from((None, 0.0, 0.1))),
        simulated=draw(st.booleans()),
        interruption_label=draw(st.sampled_from(LABELS)),
        fleet_interruptions=draw(st.integers(0, 2)),
        fleet_instance_hours=draw(st.sampled_from((0.0, 10.0))),
    )


def _unique(pools: list[PoolRecord]) -> list[PoolRecord]:
    return list({p.key: p for p in pools}.values())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_pool(), max_size=30).map(_unique),
    st.lists(_pool(), max_size=8).map(_unique),
    st.lists(st.integers(0, 29), max_size=12),
)
def test_new_changed_and_removed_pools_patch_as_a_full_build(
    base: list[PoolRecord], incoming: list[PoolRecord], removed: list[int]
) -> None:
    """Pools come (new categories or known ones, anywhere in key order), change and go (whole
    categories with them): `patched` and `with_changes` both give `build`'s index."""
    index = PoolIndex.build(base, built_at=NOW)
    gone = {base[i].key for i in removed if i < len(base)}
    held = {p.key: p for p in base if p.key not in gone}
    put = [p for p in incoming if p.key not in gone]
    records = list((held | {p.key: p for p in put}).values())
    want = PoolIndex.build(records, built_at=NOW + HOUR)
    _assert_same(PoolIndex.patched(index, records, built_at=NOW + HOUR), want)
    changed = index.with_changes(put=put, drop=gone, built_at=NOW + HOUR)
    _assert_same(changed, want)
    unchanged = [r for r in changed.records if r.key not in {p.key for p in put}]
    assert all(any(r is old for old in base) for r in unchanged)  # kept rows are not copied


def test_with_changes_ignores_unknown_and_held_pools_and_refuses_contradictions() -> None:
    records = _pools()
    index = PoolIndex.build(records, built_at=NOW)
    stranger = make_pool(region="nowhere-1")
    same = index.with_changes(put=[index.records[3]], drop=[stranger.key], built_at=NOW + HOUR)
    _assert_same(same, PoolIndex.build(records, built_at=NOW + HOUR))
    assert same.records == index.records
    moved = replace(index.records[3], spot_price=1.5)
    with pytest.raises(PoolIndexError, match="put and dropped"):
        index.with_changes(put=[moved], drop=[moved.key], built_at=NOW)
    with pytest.raises(PoolIndexError, match="duplicate pool key"):
        index.with_changes(put=[moved, replace(moved, spot_price=2.0)], drop=[], built_at=NOW)
