"""Loading the ranking snapshot from the store: the signals in force at `now`, per pool."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.pool_cache import PoolIndexCache
from collectors import CollectContext, get_source
from collectors.runner import run_source
from core.pool_reader import VOLATILITY_WINDOW, load_pool_records
from core.pool_snapshot import load_snapshot
from core.settings import Settings
from core.store import persist_run
from selector import PoolIndex, PoolRecord, estimate_hazard, parse_requirements, rank
from tests.factories import T0, make_offering, make_result, make_spot_price, make_type

NOW = T0
LATER = NOW + timedelta(hours=1)


def _records(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> dict[str, PoolRecord]:
    persist_run(engine, make_result(rows))
    with Session(engine) as s:
        return {r.key.zone_id: r for r in load_pool_records(s, now=NOW)}


def _interruption(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "region": "us-east-1", "zone_id": "", "instance_type": "g5.xlarge",
        "source": "aws-advisor", "observed_at": NOW - timedelta(hours=5), "bucket": 1,
        "label": "5-10%", "rate": None, "savings_pct": 60.0,
    }  # fmt: skip
    return row | overrides


def _score(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
        "instance_types": "g4dn.xlarge,g5.xlarge,g6.xlarge", "target_capacity": 1,
        "observed_at": NOW - timedelta(hours=2), "score": 0.9, "raw": "9", "source": "test",
    }  # fmt: skip
    return row | overrides


def test_price_in_force_is_the_last_change_not_after_now(engine: Engine) -> None:
    prices = [
        make_spot_price(ts=NOW - timedelta(hours=3), price_usd_per_hour=0.30),
        make_spot_price(ts=NOW - timedelta(hours=1), price_usd_per_hour=0.35),
        make_spot_price(ts=NOW + timedelta(hours=1), price_usd_per_hour=0.99),
    ]
    records = _records(
        engine, {"instance_types": [make_type()], "offerings": [make_offering()],
                 "spot_prices": prices},
    )  # fmt: skip
    pool = records["use1-az1"]
    assert pool.spot_price == 0.35
    assert pool.spot_price_at == NOW, "age counts from the last confirmation, not the change"
    expected_cv = 0.025 / 0.325  # population std / mean of 0.30 and 0.35
    assert pool.spot_price_volatility is not None
    assert math.isclose(pool.spot_price_volatility, expected_cv, rel_tol=1e-6)


def test_a_price_unchanged_through_the_volatility_window_is_still(engine: Engine) -> None:
    """Volatility 0 for a price in force whose last change is older than the window, on every
    engine and after a full or an incremental load alike."""
    old = make_spot_price(ts=NOW - VOLATILITY_WINDOW - timedelta(days=1))
    records = _records(
        engine, {"instance_types": [make_type()], "offerings": [make_offering()],
                 "spot_prices": [old]},
    )  # fmt: skip
    assert records["use1-az1"].spot_price == old["price_usd_per_hour"]
    assert records["use1-az1"].spot_price_volatility == 0.0
    snapshot = load_snapshot(engine, now=NOW)
    persist_run(engine, make_result({"spot_prices": [
        make_spot_price(ts=NOW - VOLATILITY_WINDOW - timedelta(hours=1), observed_at=LATER,
                        price_usd_per_hour=0.5)]}))  # fmt: skip
    patched = load_snapshot(engine, now=LATER, previous=snapshot)
    assert patched.stats.kind == "incremental"
    (record,) = patched.index.records
    assert (record.spot_price, record.spot_price_volatility) == (0.5, 0.0)


def test_regional_and_zonal_signals_reach_the_right_pools(engine: Engine) -> None:
    zones = ("use1-az1", "use1-az2")
    records = _records(
        engine,
        {
            "instance_types": [make_type()],
            "offerings": [make_offering(zone_id=z) for z in zones],
            "interruption_rates": [
                _interruption(observed_at=NOW - timedelta(days=2), label=">20%", bucket=4),
                _interruption(),  # newer: wins
            ],
            "placement_scores": [
                _score(),  # a 3-type set in az1
                _score(instance_types="g5.xlarge", score=0.3, raw="3"),  # single type: wins
                _score(zone_id="", instance_types="g5.xlarge", score=0.7, raw="7"),
            ],
        },
    )
    az1, az2 = records["use1-az1"], records["use1-az2"]
    assert az1.interruption_label == az2.interruption_label == "5-10%"
    assert az1.interruption_source == "aws-advisor"
    assert (az1.capacity_score, az1.capacity_zonal) == (0.3, True)
    assert (az2.capacity_score, az2.capacity_zonal) == (0.7, False), "regional fallback"


def test_a_priced_zonal_pool_supersedes_the_regional_one_of_its_type(engine: Engine) -> None:
    """aws (zonal) and aws-public (regional) over one type: the capacity is listed once."""
    regional = {"zone_id": "", "source": "aws-public"}
    records = _records(
        engine,
        {
            "instance_types": [make_type(), make_type(name="g6.xlarge", family="g6")],
            "offerings": [
                make_offering(),  # g5.xlarge in use1-az1, priced below
                make_offering(**regional),
                make_offering(instance_type="g6.xlarge", zone_id="use1-az2"),  # no price
                make_offering(instance_type="g6.xlarge", **regional),
            ],
            "spot_prices": [
                make_spot_price(),
                make_spot_price(**regional),
                make_spot_price(instance_type="g6.xlarge", **regional),
            ],
            "interruption_rates": [_interruption()],
        },
    )
    with Session(engine) as s:
        keys = {(r.key.zone_id, r.key.instance_type) for r in load_pool_records(s, now=NOW)}
    assert keys == {("use1-az1", "g5.xlarge"), ("use1-az2", "g6.xlarge"), ("", "g6.xlarge")}
    assert records["use1-az1"].interruption_label == "5-10%", "the regional signal still applies"


def test_fleet_evidence_is_aggregated_per_pool(engine: Engine) -> None:
    def event(kind: str, hours_ago: float, n: int, **extra: Any) -> dict[str, Any]:
        return {
            "cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
            "instance_type": "g5.xlarge", "kind": kind,
            "occurred_at": NOW - timedelta(hours=hours_ago), "instance_hours": None,
            "source": "test", "external_id": f"{kind}-{n}", "detail": None, "observed_at": NOW,
        } | extra  # fmt: skip

    records = _records(
        engine,
        {
            "instance_types": [make_type()],
            "offerings": [make_offering()],
            "fleet_events": [
                event("interruption", 30, 1),
                event("interruption", 2, 2),
                event("usage", 1, 3, instance_hours=120.0),
                event("insufficient-capacity", 3, 4),
                event("insufficient-capacity", 48, 5),  # too old to lower capacity
                event("interruption", -5, 6),  # in the future of `now`: ignored
            ],
        },
    )
    pool = records["use1-az1"]
    assert pool.fleet_interruptions == 2
    assert pool.fleet_instance_hours == 120.0
    assert pool.fleet_capacity_errors == 1
    assert pool.fleet_at == NOW - timedelta(hours=1)
    # The ICE decay counts from the newest capacity error, not from the later usage record.
    assert pool.fleet_capacity_error_at == NOW - timedelta(hours=3)


def test_pools_without_specs_or_not_yet_seen_are_left_out(engine: Engine) -> None:
    records = _records(
        engine,
        {
            "instance_types": [make_type()],
            "offerings": [
                make_offering(),
                make_offering(zone_id="use1-az2", instance_type="unknown.type"),
                make_offering(zone_id="use1-az3", first_seen=NOW + timedelta(hours=1),
                              last_seen=NOW + timedelta(hours=1)),
            ],
        },
    )  # fmt: skip
    assert set(records) == {"use1-az1"}
    assert records["use1-az1"].spot_price is None, "no price collected yet"


def test_cache_rebuilds_only_when_a_run_lands(engine: Engine) -> None:
    persist_run(engine, make_result({"instance_types": [make_type()],
                                     "offerings": [make_offering()]}))  # fmt: skip
    cache = PoolIndexCache(engine, clock=lambda: NOW)
    first = cache.get()
    assert first.size == 1
    assert cache.refresh() is first, "nothing new landed"
    persist_run(engine, make_result({"offerings": [make_offering(zone_id="use1-az2")]}))
    second = cache.refresh()
    assert second is not first
    assert second.size == 2
    assert cache.generation == 2


def test_the_cache_prepares_each_snapshot_before_it_serves_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-snapshot tables every ranking shares are built by the load, not by a request."""
    persist_run(engine, make_result({"instance_types": [make_type()],
                                     "offerings": [make_offering()]}))  # fmt: skip
    cache = PoolIndexCache(engine, clock=lambda: NOW)
    real_memo = PoolIndex.memo
    for snapshot in (cache.get(), _after_one_more_run(engine, cache)):
        read: dict[str, bool] = {}  # table -> whether the load had built it

        def recording(
            index: PoolIndex, name: str, derive: Any, read: dict[str, bool] = read
        ) -> Any:
            read[name] = name in index._memo
            return real_memo(index, name, derive)

        with monkeypatch.context() as patched:
            patched.setattr(PoolIndex, "memo", recording)
            request = parse_requirements({"regions": ["us-east-1"], "gpu_models": ["T4"]})
            rank(snapshot, request, now=NOW)
        assert len(read) >= 4, f"the ranking reads its shared tables through memo: {read}"
        assert all(read.values()), f"built by a request, not by the load: {read}"


def _after_one_more_run(engine: Engine, cache: PoolIndexCache) -> PoolIndex:
    persist_run(engine, make_result({"offerings": [make_offering(zone_id="use1-az2")]}))
    return cache.refresh()


def test_simulated_market_ranks_end_to_end(engine: Engine, settings: Settings) -> None:
    ctx = CollectContext(settings=settings, now=NOW, options={"seed": 11})
    run_source(engine, get_source("sim"), ctx)
    cache = PoolIndexCache(engine, clock=lambda: NOW)
    request = parse_requirements({"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"]})
    ranking = rank(cache.get(), request, now=NOW)
    assert len(ranking.instance_types) >= 3
    assert all(p.gpu_count == 1 and (p.gpu_memory_gib or 0) >= 16 for p in ranking.pools)
    assert all(p.key.region == "us-east-1" for p in ranking.pools)
    assert ranking.verdict.spot_pays_off is True
    assert sum(e.count for e in ranking.exclusions) + ranking.candidates == cache.get().size


@pytest.mark.parametrize("hours", [0, 3])
def test_sim_signals_are_fresh_right_after_collection(
    engine: Engine, settings: Settings, hours: int
) -> None:
    ctx = CollectContext(settings=settings, now=NOW, options={"seed": 2})
    run_source(engine, get_source("sim"), ctx)
    with Session(engine) as s:
        records = load_pool_records(s, now=NOW + timedelta(hours=hours))
    priced = [r for r in records if r.spot_price is not None]
    assert len(priced) > 0.9 * len(records)
    assert all(r.on_demand_price is not None for r in records)
    assert all(r.interruption_label or r.interruption_value is not None for r in records)


def _on_demand(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "region": "us-east-1", "instance_type": "g5.xlarge", "os": "linux",
        "price_usd_per_hour": 1.006, "source": "aws-pricing",
        "observed_at": NOW - timedelta(days=1),
    }  # fmt: skip
    return row | overrides


def _fleet_event(source: str, n: int) -> dict[str, Any]:
    return {
        "cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
        "instance_type": "g5.xlarge", "kind": "usage", "occurred_at": NOW - timedelta(hours=1),
        "instance_hours": 10.0, "source": source, "external_id": f"e{n}", "detail": None,
        "observed_at": NOW,
    }  # fmt: skip


def test_every_signal_names_the_source_of_its_own_row(engine: Engine) -> None:
    records = _records(
        engine,
        {
            "instance_types": [make_type()],
            "offerings": [make_offering(source="aws")],
            "spot_prices": [make_spot_price(source="aws-spot")],
            "on_demand_prices": [_on_demand()],
            "interruption_rates": [_interruption()],
            "placement_scores": [_score(source="aws-placement")],
            "fleet_events": [_fleet_event("karpenter", 1), _fleet_event("eventbridge", 2)],
        },
    )
    pool = records["use1-az1"]
    assert pool.sources == (
        "aws", "aws-advisor", "aws-placement", "aws-pricing", "aws-spot", "eventbridge",
        "karpenter",
    )  # fmt: skip
    assert pool.interruption_source == "aws-advisor"
    assert pool.fleet_instance_hours == 20.0, "evidence of both sources adds up"
    assert pool.simulated is False


# (the one simulated row, why it matters)
SIMULATED_ROWS = [
    pytest.param({"offerings": [make_offering(source="sim")]}, id="simulated offering"),
    pytest.param({"spot_prices": [make_spot_price(source="sim")]}, id="simulated spot price"),
    pytest.param({"on_demand_prices": [_on_demand(source="sim")]}, id="simulated on-demand"),
    pytest.param({"interruption_rates": [_interruption(source="sim")]}, id="simulated bucket"),
    pytest.param({"placement_scores": [_score(source="sim")]}, id="simulated score"),
    pytest.param({"fleet_events": [_fleet_event("sim", 1)]}, id="simulated fleet event"),
]


@pytest.mark.parametrize("simulated", SIMULATED_ROWS)
def test_one_simulated_signal_makes_the_pool_simulated(
    engine: Engine, simulated: dict[str, list[dict[str, Any]]]
) -> None:
    real: dict[str, list[dict[str, Any]]] = {
        "instance_types": [make_type()],
        "offerings": [make_offering(source="aws")],
        "spot_prices": [make_spot_price(source="aws")],
        "on_demand_prices": [_on_demand()],
        "interruption_rates": [_interruption()],
        "placement_scores": [_score(source="aws")],
    }
    pool = _records(engine, real | simulated)["use1-az1"]
    assert pool.simulated is True
    assert "sim" in pool.sources


def test_a_simulated_bucket_converts_like_the_advisor_but_says_sim(engine: Engine) -> None:
    """The hazard's source is the row's; its kind (the conversion) comes from the label."""

    def hazard_of(source: str) -> Any:
        rows = {
            "instance_types": [make_type()],
            "offerings": [make_offering(source=source)],
            "spot_prices": [make_spot_price(source=source, observed_at=NOW)],
            "on_demand_prices": [_on_demand(source=source)],
            "interruption_rates": [_interruption(source=source, label="10-15%", bucket=2)],
        }
        persist_run(engine, make_result(rows, source=source))
        with Session(engine) as s:
            index = PoolIndex.build(load_pool_records(s, now=NOW), built_at=NOW)
        request = parse_requirements({"capacity_types": ["spot"], "min_instance_types": 1})
        [pool] = rank(index, request, now=NOW).pools
        return pool.hazard

    simulated = hazard_of("sim")
    assert (simulated.source, simulated.kind, simulated.label) == ("sim", "aws-advisor", "10-15%")
    assert simulated.rate == estimate_hazard("aws-advisor", "10-15%").rate
