"""The simulated market: deterministic, realistic in shape, incremental, and at scale."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors import CollectContext, get_source
from collectors.runner import run_source
from collectors.sim.catalog import INSTANCE_TYPES, REGIONS
from collectors.sim.market import PRICE_WINDOW, generate, sim_regions
from core.settings import Settings
from core.tables import CollectionRun, Offering, SpotPrice

AS_OF = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _rows(
    seed: int = 7, scale: int = 1, as_of: datetime = AS_OF
) -> dict[str, list[dict[str, Any]]]:
    rows, _ = generate(seed=seed, scale=scale, as_of=as_of)
    return rows.by_table


@pytest.fixture(scope="module")
def market() -> dict[str, list[dict[str, Any]]]:
    return _rows()


def test_same_seed_same_market(market: dict[str, list[dict[str, Any]]]) -> None:
    assert _rows() == market


def test_other_seed_other_market(market: dict[str, list[dict[str, Any]]]) -> None:
    other = _rows(seed=8)
    assert other["spot_prices"] != market["spot_prices"]
    assert other["instance_types"] == market["instance_types"], "the catalog is real, not seeded"


def test_spot_is_below_on_demand_everywhere(market: dict[str, list[dict[str, Any]]]) -> None:
    on_demand = {
        (r["region"], r["instance_type"]): r["price_usd_per_hour"]
        for r in market["on_demand_prices"]
    }
    ratios = [
        r["price_usd_per_hour"] / on_demand[(r["region"], r["instance_type"])]
        for r in market["spot_prices"]
    ]
    assert ratios
    assert max(ratios) < 1.0
    assert min(ratios) > 0.05


def test_prices_move_over_time(market: dict[str, list[dict[str, Any]]]) -> None:
    per_pool = Counter(
        (r["region"], r["zone_id"], r["instance_type"]) for r in market["spot_prices"]
    )
    assert sum(per_pool.values()) / len(per_pool) > 2, "pools should see several changes a week"
    window_start = AS_OF - PRICE_WINDOW
    assert all(r["ts"] <= AS_OF for r in market["spot_prices"])
    before = [r for r in market["spot_prices"] if r["ts"] < window_start]
    assert len(before) <= len(per_pool), "at most one in-force change before the window per pool"


def test_realistic_catalog_shape(market: dict[str, list[dict[str, Any]]]) -> None:
    types = market["instance_types"]
    assert {t["cloud"] for t in types} == {"aws", "gcp", "azure"}
    gpus = {t["gpu_model"] for t in types if t["accelerator_kind"] == "gpu"}
    assert {"T4", "A10G", "L4", "V100", "A100", "H100"} <= gpus
    assert {t["arch"] for t in types} == {"x86_64", "arm64"}
    aws_zones = {o["zone_id"] for o in market["offerings"] if o["cloud"] == "aws"}
    assert all(re.fullmatch(r"[a-z]+\d-az\d", z) for z in aws_zones), "AWS uses zone IDs"


def test_every_signal_is_present(market: dict[str, list[dict[str, Any]]]) -> None:
    labels = {r["label"] for r in market["interruption_rates"] if r["cloud"] == "aws"}
    assert labels <= {"<5%", "5-10%", "10-15%", "15-20%", ">20%"}
    assert len(labels) >= 4
    scores = [r["score"] for r in market["placement_scores"]]
    assert all(s is None or 0.0 <= s <= 1.0 for s in scores)
    assert {r["cloud"] for r in market["placement_scores"]} == {"aws", "gcp", "azure"}
    gcp_rates = [r["rate"] for r in market["interruption_rates"] if r["cloud"] == "gcp"]
    assert gcp_rates
    assert all(0.0 <= r <= 1.0 for r in gcp_rates)


def test_a_later_run_only_adds_new_changes(market: dict[str, list[dict[str, Any]]]) -> None:
    """Values depend on absolute time, so a later run agrees with an earlier one."""
    later = _rows(as_of=AS_OF + timedelta(hours=5))
    key = ("region", "zone_id", "instance_type", "ts")
    earlier_prices = {
        tuple(r[k] for k in key): r["price_usd_per_hour"] for r in market["spot_prices"]
    }
    later_prices = {tuple(r[k] for k in key): r["price_usd_per_hour"] for r in later["spot_prices"]}
    horizon = AS_OF + timedelta(hours=5) - PRICE_WINDOW
    shared = [k for k in earlier_prices if k[3] >= horizon]
    assert shared
    assert all(later_prices[k] == earlier_prices[k] for k in shared)


def test_scale_reaches_one_hundred_thousand_pools() -> None:
    regions = sim_regions(32)
    assert len(regions) == 32 * len(REGIONS)
    assert len({r.name for r in regions}) == len(regions), "replica names are unique"
    rows = _rows(scale=32)
    pools = {(o["cloud"], o["region"], o["zone_id"], o["instance_type"]) for o in rows["offerings"]}
    assert len(pools) >= 100_000
    assert len(rows["instance_types"]) == len(INSTANCE_TYPES)


def test_sim_writes_through_the_shared_path(engine: Engine, settings: Settings) -> None:
    ctx = CollectContext(settings=settings, now=AS_OF, options={"seed": 3})
    run = run_source(engine, get_source("sim"), ctx)
    again = run_source(engine, get_source("sim"), ctx)
    assert run.status == again.status == "ok"
    assert run.rows_new == run.rows_written
    assert again.rows_new == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(CollectionRun)) == 2
        assert s.scalar(select(func.count()).select_from(Offering)) > 2_000
        assert s.scalar(select(func.max(SpotPrice.ts))) <= AS_OF
        assert s.scalars(select(CollectionRun.source)).all() == ["sim", "sim"]
