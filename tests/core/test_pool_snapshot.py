"""The incremental snapshot: patching the previous snapshot equals reloading the store in full."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from api.pool_cache import PoolIndexCache
from core.pool_snapshot import MAX_PATCH_SPAN, PoolSnapshot, load_snapshot
from core.store import persist_run
from selector import PoolIndex
from tests.factories import T0, make_offering, make_result, make_spot_price, make_type

NOW = T0
LATER = NOW + timedelta(hours=1)
ZONES = ("use1-az1", "use1-az2", "use1-az3")
Rows = dict[str, list[dict[str, Any]]]


def _pool(zone: str = "use1-az1", itype: str = "g5.xlarge", **extra: Any) -> dict[str, Any]:
    return {"cloud": "aws", "region": "us-east-1", "zone_id": zone, "instance_type": itype} | extra


def _rate(zone: str = "", at: datetime = NOW - timedelta(hours=5), **extra: Any) -> dict[str, Any]:
    return _pool(zone, source="aws-advisor", observed_at=at, bucket=1, label="5-10%", rate=None,
                 savings_pct=60.0) | extra  # fmt: skip


def _score(zone: str, types: str, score: float, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"cloud": "aws", "region": "us-east-1", "zone_id": zone, "instance_types": types,
            "target_capacity": 1, "observed_at": at, "score": score, "raw": str(score * 10),
            "source": "test"} | extra  # fmt: skip


def _event(n: int, kind: str, at: datetime, zone: str = "use1-az1", **extra: Any) -> dict[str, Any]:
    return _pool(zone, kind=kind, occurred_at=at, instance_hours=None, source="test",
                 external_id=f"e{n}", detail=None, observed_at=at) | extra  # fmt: skip


def _on_demand(price: float, at: datetime, itype: str = "g5.xlarge") -> dict[str, Any]:
    return {"cloud": "aws", "region": "us-east-1", "instance_type": itype, "os": "linux",
            "price_usd_per_hour": price, "source": "aws-pricing", "observed_at": at}  # fmt: skip


def _store() -> Rows:
    """Two types in three zones and a regional pool, every kind of signal, some history."""
    types = ("g5.xlarge", "g6.xlarge")
    prices = [
        make_spot_price(zone_id=z, instance_type=t, ts=NOW - timedelta(days=d, hours=i),
                        price_usd_per_hour=0.3 + 0.01 * d + 0.02 * i,
                        observed_at=NOW - timedelta(hours=i))
        for i, t in enumerate(types) for z in ZONES for d in (0, 2, 6.98)
    ]  # fmt: skip
    return {
        "instance_types": [make_type(), make_type(name="g6.xlarge", family="g6")],
        "offerings": [make_offering(zone_id=z, instance_type=t) for t in types for z in ZONES]
        + [make_offering(zone_id="", instance_type="g6.xlarge", source="aws-public"),
           make_offering(zone_id="use1-az4", first_seen=NOW + timedelta(minutes=30),
                         last_seen=NOW + timedelta(minutes=30))],
        "spot_prices": prices,
        "on_demand_prices": [_on_demand(1.006, NOW - timedelta(days=1)),
                             _on_demand(0.805, NOW - timedelta(days=1), "g6.xlarge")],
        "interruption_rates": [_rate(), _rate("use1-az2", label="<5%", bucket=0),
                               _rate(instance_type="g6.xlarge", label=">20%", bucket=4)],
        "placement_scores": [_score("use1-az1", "g5.xlarge,g6.xlarge", 0.9,
                                    NOW - timedelta(hours=2)),
                             _score("", "g5.xlarge", 0.7, NOW - timedelta(hours=3))],
        "fleet_events": [_event(1, "interruption", NOW - timedelta(hours=30)),
                         _event(2, "insufficient-capacity", NOW - timedelta(hours=11, minutes=30)),
                         _event(3, "usage", NOW - timedelta(hours=2), instance_hours=40.0)],
    }  # fmt: skip


# One run an hour later: (what it writes, the clock of the load after it). Each changes records.
RUNS: dict[str, Callable[[], Rows]] = {
    "new prices": lambda: {"spot_prices": [
        make_spot_price(zone_id="use1-az2", ts=LATER - timedelta(minutes=20),
                        price_usd_per_hour=0.55, observed_at=LATER)]},
    "a re-confirmed price": lambda: {"spot_prices": [
        make_spot_price(zone_id="use1-az3", ts=NOW, price_usd_per_hour=0.3, observed_at=LATER)]},
    "new placement scores": lambda: {"placement_scores": [
        _score("use1-az1", "g5.xlarge", 0.2, LATER),
        _score("", "g5.xlarge,g6.xlarge", 0.4, LATER)]},
    "new interruption rates": lambda: {"interruption_rates": [
        _rate(at=LATER, label=">20%", bucket=4),
        _rate("use1-az3", at=LATER, instance_type="g6.xlarge", source="gcp-capacity-history",
              label=None, bucket=None, rate=0.12)]},
    "fleet events": lambda: {"fleet_events": [
        _event(10, "interruption", LATER - timedelta(minutes=10), "use1-az2"),
        _event(11, "insufficient-capacity", LATER - timedelta(minutes=5), "use1-az3")]},
    "a new pool and type": lambda: {
        "instance_types": [make_type(name="g4dn.xlarge", family="g4dn", observed_at=LATER)],
        "offerings": [make_offering(zone_id="use1-az5", first_seen=LATER, last_seen=LATER),
                      make_offering(zone_id="use1-az1", instance_type="g4dn.xlarge",
                                    first_seen=LATER, last_seen=LATER)]},
    "an on-demand price and a spec change": lambda: {
        "on_demand_prices": [_on_demand(1.1, LATER)],
        "instance_types": [make_type(name="g6.xlarge", family="g6", vcpus=8, observed_at=LATER)]},
    "a pool no longer offered as spot": lambda: {"offerings": [
        make_offering(zone_id="use1-az2", spot=False, last_seen=LATER)]},
    # No zone of g6.xlarge has a spot price left: its regional pool comes into the index.
    "a regional pool uncovered": lambda: {"offerings": [
        make_offering(zone_id=z, instance_type="g6.xlarge", spot=False, last_seen=LATER)
        for z in ZONES]},
}  # fmt: skip


def _equal_to_full_reload(engine: Engine, patched: PoolSnapshot, now: datetime) -> PoolSnapshot:
    full = load_snapshot(engine, now=now)
    assert full.stats.kind == "full"
    mine = {r.key: r for r in patched.index.records}
    theirs = {r.key: r for r in full.index.records}
    assert set(mine) == set(theirs)
    differ = {
        key: [(f, getattr(r, f), getattr(theirs[key], f)) for f in r.__slots__
              if getattr(r, f) != getattr(theirs[key], f)]
        for key, r in mine.items() if r != theirs[key]
    }  # fmt: skip
    assert not differ, f"patched (left) differs from a full reload (right): {differ}"
    assert patched.generation == full.generation
    for name in ("records", *(f.name for f in fields(PoolIndex) if f.name != "records")):
        mine_column, full_column = getattr(patched.index, name), getattr(full.index, name)
        if isinstance(full_column, np.ndarray):
            assert np.array_equal(mine_column, full_column, equal_nan=True), name
        elif name not in ("records", "built_at", "_memo"):
            assert mine_column == full_column, name
    return full


def test_a_regional_pool_comes_and_goes_with_its_zones_prices(engine: Engine) -> None:
    persist_run(engine, make_result(_store()))
    snapshot = load_snapshot(engine, now=NOW)
    regional = ("aws", "us-east-1", "", "g6.xlarge")
    for n, (spot, shown) in enumerate([(False, True), (True, False), (False, True)], start=1):
        zones = ZONES if not spot else ZONES[:1]  # one priced zone hides it again
        offerings = [
            make_offering(
                zone_id=z,
                instance_type="g6.xlarge",
                spot=spot,
                last_seen=LATER + timedelta(minutes=n),
            )
            for z in zones
        ]
        persist_run(engine, make_result({"offerings": offerings}))  # fmt: skip
        snapshot = load_snapshot(engine, now=LATER + timedelta(minutes=n), previous=snapshot)
        assert snapshot.stats.kind == "incremental"
        keys = {(k.cloud, k.region, k.zone_id, k.instance_type) for k in
                (r.key for r in snapshot.index.records)}  # fmt: skip
        assert (regional in keys) is shown, n
        _equal_to_full_reload(engine, snapshot, LATER + timedelta(minutes=n))


@pytest.mark.parametrize("run", list(RUNS), ids=list(RUNS))
def test_a_patched_snapshot_equals_a_full_reload(engine: Engine, run: str) -> None:
    persist_run(engine, make_result(_store()))
    first = load_snapshot(engine, now=NOW)
    before = set(first.index.records)
    persist_run(engine, make_result(RUNS[run]()))
    patched = load_snapshot(engine, now=LATER, previous=first)
    assert patched.stats.kind == "incremental"
    assert 0 < patched.stats.pools_patched < patched.index.size + 2
    full = _equal_to_full_reload(engine, patched, LATER)
    assert set(full.index.records) != before, "the run changed what ranking sees"


def test_runs_in_a_row_each_patch_the_last_snapshot(engine: Engine) -> None:
    persist_run(engine, make_result(_store()))
    snapshot = load_snapshot(engine, now=NOW)
    for n, run in enumerate(RUNS.values(), start=1):
        persist_run(engine, make_result(run()))
        snapshot = load_snapshot(engine, now=LATER + timedelta(minutes=n), previous=snapshot)
        assert snapshot.stats.kind == "incremental"
    _equal_to_full_reload(engine, snapshot, LATER + timedelta(minutes=len(RUNS)))


def test_the_clock_alone_moves_windows_and_future_rows(engine: Engine) -> None:
    """No run lands, an hour passes: a capacity error and a week-old price change leave their
    windows, a future-dated offering comes into force."""
    persist_run(engine, make_result(_store()))
    first = load_snapshot(engine, now=NOW)
    later = NOW + timedelta(hours=1)
    patched = load_snapshot(engine, now=later, previous=first)
    assert patched.stats.kind == "incremental"
    full = _equal_to_full_reload(engine, patched, later)
    pools = {r.key.zone_id: r for r in full.index.records if r.key.instance_type == "g5.xlarge"}
    assert pools["use1-az1"].fleet_capacity_errors == 0
    assert "use1-az4" in pools
    was = {r.key.zone_id: r for r in first.index.records if r.key.instance_type == "g5.xlarge"}
    assert was["use1-az1"].fleet_capacity_errors == 1
    assert was["use1-az2"].spot_price_volatility != pools["use1-az2"].spot_price_volatility


def test_a_run_dated_long_before_the_snapshot_loads_in_full(engine: Engine) -> None:
    persist_run(engine, make_result(_store()))
    first = load_snapshot(engine, now=NOW)
    old = NOW - MAX_PATCH_SPAN - timedelta(hours=1)
    persist_run(engine, make_result({"interruption_rates": [_rate(at=old, label="<5%")]}))
    again = load_snapshot(engine, now=LATER, previous=first)
    assert again.stats.kind == "full"
    _equal_to_full_reload(engine, again, LATER)


def test_a_snapshot_hands_its_signals_to_one_successor_only(engine: Engine) -> None:
    persist_run(engine, make_result(_store()))
    first = load_snapshot(engine, now=NOW)
    assert load_snapshot(engine, now=LATER, previous=first).stats.kind == "incremental"
    assert load_snapshot(engine, now=LATER, previous=first).stats.kind == "full"
    assert load_snapshot(engine, now=NOW, previous=first).stats.kind == "full", "clock went back"


def test_the_cache_settles_each_snapshot_and_still_frees_the_one_it_replaces(
    engine: Engine,
) -> None:
    """Each loaded snapshot leaves the garbage collector's walks (frozen), yet the one a newer
    load replaces is freed (it holds no reference cycle a frozen object would keep)."""
    persist_run(engine, make_result(_store()))
    clock = [NOW]
    cache = PoolIndexCache(engine, clock=lambda: clock[0])
    index = cache.get()
    assert gc.get_freeze_count() > 0
    assert not any(obj is index for obj in gc.get_objects()), "frozen: out of the walks"
    first = weakref.ref(index.spot_price)  # a column only that index holds
    del index
    clock[0] = LATER
    persist_run(engine, make_result(RUNS["new prices"]()))
    cache.refresh()
    assert cache.last_load is not None
    assert cache.last_load.kind == "incremental"
    assert first() is None, "the replaced snapshot is freed"


def test_the_cache_patches_its_snapshot_when_a_run_lands(engine: Engine) -> None:
    persist_run(engine, make_result(_store()))
    clock = [NOW]
    cache = PoolIndexCache(engine, clock=lambda: clock[0])
    first = cache.get()
    assert cache.last_load is not None
    assert cache.last_load.kind == "full"
    clock[0] = LATER
    persist_run(engine, make_result(RUNS["new prices"]()))
    second = cache.refresh()
    assert cache.last_load.kind == "incremental"
    assert cache.last_load.full_seconds > 0
    assert second is not first
    assert cache.generation == 2
    assert set(second.records) == set(load_snapshot(engine, now=LATER).index.records)


def test_every_load_logs_how_long_it_took(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    persist_run(engine, make_result(_store()))
    with caplog.at_level(logging.INFO, logger="core.pool_snapshot"):
        first = load_snapshot(engine, now=NOW)
        load_snapshot(engine, now=LATER, previous=first)
    full, patch = [r for r in caplog.records if r.name == "core.pool_snapshot"]
    assert (full.kind, patch.kind) == ("full", "incremental")  # type: ignore[attr-defined]
    assert full.seconds == round(first.stats.seconds, 3)  # type: ignore[attr-defined]
    assert f"in {first.stats.seconds:.2f} s" in full.getMessage()
    assert f"newest full load {first.stats.seconds:.2f} s" in patch.getMessage()
