"""The simulated market: pools, prices, capacity and interruption signals from the catalog.

Everything here is SIMULATED (rows carry ``source="sim"``); only the instance types, their specs
and the regions/zones come from the real catalog. The market is deterministic for a seed: each
value is a function of (seed, pool, time slot), so runs at the same ``as_of`` are identical and a
later run only appends what happened since. ``scale`` adds replicas of the real geography
(regions ``<name>-sim<r>``) so benchmarks can reach hundreds of thousands of pools.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from collectors.sim.catalog import INSTANCE_TYPES, REGIONS, RegionSpec, TypeSpec
from collectors.sim.hashing import F64, U64, B, stable_hash, uniform
from core.progress import NullProgress, Progress
from core.runs import TableRows
from core.tables import REGIONAL_ZONE
from selector.capacity import normalise_placement

__all__ = ["SIM_ACCOUNT", "SOURCE", "SimRegion", "generate", "sim_regions"]

SOURCE = "sim"
SIM_ACCOUNT = "sim-account"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# Spot prices may change once per slot; AWS prices move a few times a week per pool.
PRICE_SLOT = timedelta(hours=8)
PRICE_WINDOW = timedelta(days=7)  # first-run look-back, like the AWS collector's default
# Slots searched before the window for the change still in force at its start.
PRICE_LOOKBACK_SLOTS = 90
CHANGE_PROBABILITY_CPU = 0.18
CHANGE_PROBABILITY_GPU = 0.28
# Price shape: a slow monthly swell plus a per-change jitter around the pool's base discount.
TREND_PERIOD_HOURS = 24 * 30
TREND_AMPLITUDE = 0.10
JITTER_AMPLITUDE = 0.06
# Spot never goes below / above these fractions of on-demand.
MIN_SPOT_FRACTION = 0.08
MAX_SPOT_FRACTION = 0.97
# Capacity is re-scored every 6 h (AWS allows only ~10 new configurations a day);
# interruption buckets and list prices are published daily.
PLACEMENT_PERIOD = timedelta(hours=6)
DAILY = timedelta(days=1)
# Share of zones where a type is offered: big GPUs are scarce, CPUs nearly everywhere.
OFFER_PROBABILITY_CPU = 0.92
OFFER_PROBABILITY_GPU = 0.72
OFFER_PROBABILITY_BIG_GPU = 0.5
SPOT_NOT_OFFERED_PROBABILITY = 0.03
AWS_BUCKET_LABELS = ("<5%", "5-10%", "10-15%", "15-20%", ">20%")
AZURE_BUCKET_LABELS = ("0-5", "5-10", "10-15", "15-20", "20+")
AZURE_CAPACITY_LABELS = ("Low", "Medium", "High")


@dataclass(frozen=True, slots=True)
class SimRegion:
    """A region of the simulated market: a real one, or a labelled replica of it."""

    cloud: str
    name: str
    base: RegionSpec
    zone_ids: tuple[str, ...]
    replica: int


def sim_regions(scale: int) -> list[SimRegion]:
    """The real regions, then ``scale - 1`` replicas of them for benchmarks."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    regions = []
    for replica in range(1, scale + 1):
        for spec in REGIONS:
            suffix = "" if replica == 1 else f"-sim{replica}"
            regions.append(
                SimRegion(
                    cloud=spec.cloud,
                    name=spec.name + suffix,
                    base=spec,
                    zone_ids=tuple(z + suffix for z in spec.zone_ids),
                    replica=replica,
                )
            )
    return regions


def _slot(ts: datetime, length: timedelta) -> int:
    return int((ts - EPOCH) // length)


def _slot_start(index: int, length: timedelta) -> datetime:
    return EPOCH + index * length


def _floor(ts: datetime, length: timedelta) -> datetime:
    return _slot_start(_slot(ts, length), length)


def _is_big_gpu(spec: TypeSpec) -> bool:
    return spec.gpu_count >= 4 or (spec.gpu_model or "") in {"A100", "H100", "H200"}


@dataclass(frozen=True)
class _Pools:
    """The pools of one region as parallel arrays (one entry per type × zone)."""

    types: list[TypeSpec]
    zones: list[str]
    keys: U64
    on_demand: F64
    gpu: B
    spot: B


def _region_types(region: SimRegion) -> list[TypeSpec]:
    return [
        t
        for t in INSTANCE_TYPES
        if t.cloud == region.cloud and (t.regions is None or region.base.name in t.regions)
    ]


def _region_pools(seed: int, region: SimRegion) -> _Pools:
    types: list[TypeSpec] = []
    zones: list[str] = []
    keys: list[int] = []
    for spec in _region_types(region):
        for zone in region.zone_ids:
            keys.append(stable_hash(seed, region.cloud, region.name, zone, spec.name))
            types.append(spec)
            zones.append(zone)
    key_arr = np.array(keys, dtype=np.uint64)
    offer_p = np.array(
        [
            OFFER_PROBABILITY_BIG_GPU
            if _is_big_gpu(t)
            else OFFER_PROBABILITY_GPU
            if t.gpu_count
            else OFFER_PROBABILITY_CPU
            for t in types
        ]
    )
    offered = uniform(key_arr, 1) < offer_p
    # Every type keeps at least its first zone, so a type listed for a region exists there.
    first_zone = np.array([z == region.zone_ids[0] for z in zones], dtype=bool)
    offered |= first_zone
    idx = np.flatnonzero(offered)
    kept_types = [types[i] for i in idx]
    return _Pools(
        types=kept_types,
        zones=[zones[i] for i in idx],
        keys=key_arr[idx],
        on_demand=np.array(
            [t.on_demand_usd * region.base.price_factor for t in kept_types], dtype=np.float64
        ),
        gpu=np.array([t.gpu_count > 0 for t in kept_types], dtype=bool),
        spot=uniform(key_arr[idx], 2) >= SPOT_NOT_OFFERED_PROBABILITY,
    )


def _base_spot_fraction(pools: _Pools) -> F64:
    """Each pool's long-run spot/on-demand ratio: 0.25–0.55 for CPUs, 0.35–0.75 for GPUs."""
    u = uniform(pools.keys, 3)
    return np.where(pools.gpu, 0.35 + 0.40 * u, 0.25 + 0.30 * u)


def _spot_changes(pools: _Pools, as_of: datetime) -> Iterator[tuple[int, datetime, float]]:
    """(pool index, ts, price) for the changes in the window plus the one in force at its start."""
    window_start = as_of - PRICE_WINDOW
    first = _slot(window_start, PRICE_SLOT) - PRICE_LOOKBACK_SLOTS
    last = _slot(as_of, PRICE_SLOT)
    slots = np.arange(first, last + 1, dtype=np.int64)
    n, m = len(pools.keys), len(slots)
    if n == 0:
        return
    grid = pools.keys[:, None] ^ (slots.astype(np.uint64)[None, :] * np.uint64(0x100000001B3))
    prob = np.where(pools.gpu, CHANGE_PROBABILITY_GPU, CHANGE_PROBABILITY_CPU)[:, None]
    changed = uniform(grid, 4) < prob
    offset_s = np.floor(uniform(grid, 5) * PRICE_SLOT.total_seconds())
    slot_start_s = (slots * PRICE_SLOT.total_seconds()).astype(np.float64)[None, :]
    ts_s = slot_start_s + offset_s  # seconds since EPOCH
    as_of_s = (as_of - EPOCH).total_seconds()
    start_s = (window_start - EPOCH).total_seconds()
    changed &= ts_s <= as_of_s
    in_window = changed & (ts_s >= start_s)
    before = changed & (ts_s < start_s)
    # The latest change before the window: AWS returns it with a StartTime query too.
    has_before = before.any(axis=1)
    last_before = m - 1 - np.argmax(before[:, ::-1], axis=1)
    keep = in_window.copy()
    rows = np.flatnonzero(has_before)
    keep[rows, last_before[rows]] = True
    phase = uniform(pools.keys, 6)[:, None] * 2 * math.pi
    trend = np.sin(2 * math.pi * ts_s / (TREND_PERIOD_HOURS * 3600) + phase)
    jitter = 2 * uniform(grid, 7) - 1
    fraction = _base_spot_fraction(pools)[:, None] * (
        1 + TREND_AMPLITUDE * trend + JITTER_AMPLITUDE * jitter
    )
    fraction = np.clip(fraction, MIN_SPOT_FRACTION, MAX_SPOT_FRACTION)
    price = np.round(fraction * pools.on_demand[:, None], 4)
    price = np.maximum(price, 0.0001)
    pool_idx, slot_idx = np.nonzero(keep)
    for i, j in zip(pool_idx.tolist(), slot_idx.tolist(), strict=True):
        yield i, EPOCH + timedelta(seconds=float(ts_s[i, j])), float(price[i, j])


def _bucket(keys: U64, gpu: B, week: int) -> npt.NDArray[np.int64]:
    """Interruption bucket 0–4: GPUs skew riskier; drifts by at most one step week to week."""
    u = uniform(keys, 8)
    base = np.where(gpu, np.floor(u * 4.2 + 0.4), np.floor(u**1.6 * 4.6))
    drift_u = uniform(keys ^ np.uint64(week), 9)
    drift = np.where(drift_u < 0.15, -1, np.where(drift_u > 0.85, 1, 0))
    bucket: npt.NDArray[np.int64] = np.clip(base + drift, 0, 4).astype(np.int64)
    return bucket


def _capacity(keys: U64, gpu: B, period: int) -> F64:
    """Obtainability in [0, 1]: GPUs are scarcer; it moves a little every scoring period."""
    u = uniform(keys, 10)
    base = np.where(gpu, 0.15 + 0.75 * u, 0.45 + 0.55 * u)
    noise = 0.15 * (2 * uniform(keys ^ np.uint64(period), 11) - 1)
    return np.clip(base + noise, 0.0, 1.0)


def generate(
    *, seed: int, scale: int, as_of: datetime, progress: Progress | None = None
) -> tuple[TableRows, list[str]]:
    """All rows of the simulated market at ``as_of``; also the regions it covers."""
    progress = progress or NullProgress()
    regions = sim_regions(scale)
    rows = TableRows()
    daily = _floor(as_of, DAILY)
    scored_at = _floor(as_of, PLACEMENT_PERIOD)
    week = _slot(as_of, timedelta(days=7))
    period = _slot(as_of, PLACEMENT_PERIOD)
    rows.add("instance_types", (_type_row(t, daily) for t in INSTANCE_TYPES))
    progress.stage("simulating market", len(regions))
    for region in regions:
        pools = _region_pools(seed, region)
        _add_region(rows, seed, region, pools, as_of, daily, scored_at, week, period)
        progress.advance()
    return rows, [r.name for r in regions]


def _type_row(t: TypeSpec, observed_at: datetime) -> dict[str, object]:
    return {
        "cloud": t.cloud,
        "name": t.name,
        "family": t.family,
        "generation": t.generation,
        "size": t.size,
        "vcpus": t.vcpus,
        "memory_gib": t.memory_gib,
        "arch": t.arch,
        "gpu_count": t.gpu_count,
        "gpu_model": t.gpu_model,
        "gpu_memory_gib": t.gpu_memory_gib,
        "accelerator_kind": t.accelerator_kind,
        "network_gbps": t.network_gbps,
        "local_storage_gib": t.local_storage_gib,
        "source": SOURCE,
        "observed_at": observed_at,
    }


def _add_region(
    rows: TableRows,
    seed: int,
    region: SimRegion,
    pools: _Pools,
    as_of: datetime,
    daily: datetime,
    scored_at: datetime,
    week: int,
    period: int,
) -> None:
    cloud, name = region.cloud, region.name

    def pool_row(i: int) -> dict[str, object]:
        return {
            "cloud": cloud,
            "region": name,
            "zone_id": pools.zones[i],
            "instance_type": pools.types[i].name,
        }

    rows.add("zones", _zone_rows(seed, region, daily))
    rows.add(
        "offerings",
        (
            pool_row(i)
            | {
                "spot": bool(pools.spot[i]),
                "on_demand": True,
                "source": SOURCE,
                "first_seen": as_of,
                "last_seen": as_of,
            }
            for i in range(len(pools.types))
        ),
    )
    types = {t.name: t for t in pools.types}
    rows.add(
        "on_demand_prices",
        (
            {
                "cloud": cloud,
                "region": name,
                "instance_type": t.name,
                "os": "linux",
                "price_usd_per_hour": round(t.on_demand_usd * region.base.price_factor, 4),
                "source": SOURCE,
                "observed_at": daily,
            }
            for t in types.values()
        ),
    )
    spot_sum: dict[str, list[float]] = {}
    spot_rows = []
    for i, ts, price in _spot_changes(pools, as_of):
        if not pools.spot[i]:
            continue
        spot_rows.append(
            pool_row(i)
            | {"ts": ts, "price_usd_per_hour": price, "source": SOURCE, "observed_at": as_of}
        )
        if ts >= as_of - PRICE_WINDOW:
            spot_sum.setdefault(pools.types[i].name, []).append(price)
    rows.add("spot_prices", spot_rows)
    rows.add("placement_scores", _placement_rows(region, pools, scored_at, period))
    rows.add(
        "interruption_rates",
        _interruption_rows(seed, region, pools, types, spot_sum, daily, week),
    )


def _zone_rows(seed: int, region: SimRegion, observed_at: datetime) -> list[dict[str, object]]:
    """Zone names per account: AWS shuffles name↔ID per account, so the sim does too."""
    ids = list(region.zone_ids)
    if region.cloud == "aws":
        order = sorted(ids, key=lambda z: stable_hash(seed, SIM_ACCOUNT, z))
        names = {z: f"{region.name}{chr(ord('a') + k)}" for k, z in enumerate(order)}
    elif region.cloud == "azure":
        names = {z: z.rsplit("-", 1)[-1] for z in ids}
    else:
        names = {z: z for z in ids}
    return [
        {
            "cloud": region.cloud,
            "account": SIM_ACCOUNT,
            "zone_id": z,
            "region": region.name,
            "zone_name": names[z],
            "source": SOURCE,
            "observed_at": observed_at,
        }
        for z in ids
    ]


def _placement_rows(
    region: SimRegion, pools: _Pools, scored_at: datetime, period: int
) -> list[dict[str, object]]:
    """AWS scores a family's sizes as one set per zone; GCP and Azure score single types."""
    capacity = _capacity(pools.keys, pools.gpu, period)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, spec in enumerate(pools.types):
        group = spec.family if region.cloud == "aws" else spec.name
        groups.setdefault((pools.zones[i], group), []).append(i)
    out = []
    for (zone, _group), members in sorted(groups.items()):
        value = float(np.mean(capacity[members]))
        if region.cloud == "aws":
            raw = str(max(1, min(10, round(value * 10))))
        elif region.cloud == "azure":
            raw = AZURE_CAPACITY_LABELS[min(2, int(value * 3))]
        else:
            raw = f"{value:.2f}"
        out.append(
            {
                "cloud": region.cloud,
                "region": region.name,
                "zone_id": zone,
                "instance_types": ",".join(sorted(pools.types[i].name for i in members)),
                "target_capacity": 1,
                "observed_at": scored_at,
                "score": normalise_placement(region.cloud, raw),
                "raw": raw,
                "source": SOURCE,
            }
        )
    return out


def _interruption_rows(
    seed: int,
    region: SimRegion,
    pools: _Pools,
    types: dict[str, TypeSpec],
    spot_prices: dict[str, list[float]],
    observed_at: datetime,
    week: int,
) -> list[dict[str, object]]:
    """AWS and Azure publish regional buckets per type; GCP a per-zone preemption rate."""
    out: list[dict[str, object]] = []
    if region.cloud == "gcp":
        buckets = _bucket(pools.keys, pools.gpu, week)
        jitter = uniform(pools.keys ^ np.uint64(week), 12)
        for i, spec in enumerate(pools.types):
            # Monthly preemption fraction: bucket b spans [5b, 5b+5) percent, like AWS's.
            rate = round((5 * int(buckets[i]) + 5 * float(jitter[i])) / 100, 4)
            out.append(
                {
                    "cloud": "gcp",
                    "region": region.name,
                    "zone_id": pools.zones[i],
                    "instance_type": spec.name,
                    "source": SOURCE,
                    "observed_at": observed_at,
                    "bucket": int(buckets[i]),
                    "label": None,
                    "rate": rate,
                    "savings_pct": None,
                }
            )
        return out
    names = sorted(types)
    keys = np.array(
        [stable_hash(seed, region.cloud, region.name, n) for n in names], dtype=np.uint64
    )
    gpu = np.array([types[n].gpu_count > 0 for n in names], dtype=bool)
    buckets = _bucket(keys, gpu, week)
    labels = AWS_BUCKET_LABELS if region.cloud == "aws" else AZURE_BUCKET_LABELS
    for k, name in enumerate(names):
        on_demand = types[name].on_demand_usd * region.base.price_factor
        prices = spot_prices.get(name)
        savings = round(100 * (1 - float(np.mean(prices)) / on_demand)) if prices else None
        out.append(
            {
                "cloud": region.cloud,
                "region": region.name,
                "zone_id": REGIONAL_ZONE,
                "instance_type": name,
                "source": SOURCE,
                "observed_at": observed_at,
                "bucket": int(buckets[k]),
                "label": labels[int(buckets[k])],
                "rate": None,
                "savings_pct": savings if region.cloud == "aws" else None,
            }
        )
    return out
