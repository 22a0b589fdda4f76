"""`PoolIndex.patched` equals `PoolIndex.build` over the same records, whatever changed."""

from __future__ import annotations

import random
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

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
