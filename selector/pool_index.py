"""An immutable, columnar, in-memory index of every pool, built once per collection.

Ranking filters and scores whole columns with numpy and only touches Python objects for
the shortlisted candidates. Records are stored sorted by pool key, so a row index is also
the deterministic tie-break (the same pools in any input order give the same snapshot).
Hazard priors and the fleet update do not depend on the request and are precomputed here, as
are the zone-level signals (a zone's price against its type's other zones), so a request never
groups pools by type.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from selector.capacity import zone_signal_penalty
from selector.errors import PoolIndexError, SignalError
from selector.gpus import gpu_class_of, normalise_gpu_model
from selector.hazard import hazard_arrays, prior_probability, signal_kind
from selector.pools import PoolRecord

__all__ = ["PoolIndex"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
H = TypeVar("H", bound=Hashable)
A = TypeVar("A", bound=npt.NDArray[np.generic])


@dataclass(frozen=True, slots=True, eq=False)
class PoolIndex:
    """Columnar view of `records` (sorted by key). Arrays are read-only."""

    built_at: datetime
    records: tuple[PoolRecord, ...]
    # Categorical columns: codes index into the matching tuple of values.
    clouds: tuple[str, ...]
    cloud_code: IntArray
    regions: tuple[str, ...]
    region_code: IntArray
    zone_code: IntArray  # (cloud, region, zone_id); "" zone = regional
    type_code: IntArray  # (cloud, instance_type)
    family_code: IntArray  # (cloud, family)
    arches: tuple[str, ...]
    arch_code: IntArray
    gpu_models: tuple[str, ...]
    gpu_model_code: IntArray  # -1 = no GPU model
    is_gpu: BoolArray  # accelerator_kind == "gpu"
    accelerated: BoolArray  # accelerator_kind != "none": GPU, Neuron, FPGA, media, …
    vcpus: FloatArray
    memory_gib: FloatArray
    gpu_count: FloatArray
    gpu_memory_gib: FloatArray  # NaN = unknown
    spot_offered: BoolArray
    on_demand_offered: BoolArray
    spot_price: FloatArray  # NaN = unknown
    on_demand_price: FloatArray
    # Timestamps as POSIX seconds, NaN = unknown.
    spot_at: FloatArray
    on_demand_at: FloatArray
    interruption_at: FloatArray
    capacity_at: FloatArray
    fleet_at: FloatArray
    capacity_error_at: FloatArray  # the newest insufficient-capacity error
    hazard_rate: FloatArray
    hazard_low: FloatArray
    hazard_high: FloatArray
    hazard_default: BoolArray  # no usable interruption signal: conservative default used
    # λ from the bucket alone, before the fleet update: beside `hazard_rate` it shows what the
    # user's own fleet evidence moved (the explanation of a ranked pool).
    hazard_prior: FloatArray
    capacity_score: FloatArray  # NaN = missing
    capacity_zonal: BoolArray
    ice_errors: FloatArray
    spot_volatility: FloatArray  # 7-day coefficient of variation of the spot price; NaN = unknown
    # Spot price over the median spot price of the same (cloud, region, type) across its priced
    # zones (real and simulated apart); NaN = regional, unpriced, or no other priced zone.
    zone_price_ratio: FloatArray
    # Something zone-level sets this pool apart from its type's other zones: a zonal placement
    # score or a price to compare, and no other zone of its type with the very same score, price
    # and volatility. False = its place among them falls to the zone ID (`no-zone-signal`).
    zone_signal: BoolArray
    # Capacity the zone's price signal takes where no zonal score exists: it depends on no
    # request, so `capacity.zone_signal_penalty` runs once here.
    zone_penalty: FloatArray
    simulated: BoolArray  # any signal of the pool comes from a simulated source
    # Every instance type has one family throughout: then a family's cheapest pool is its
    # cheapest type's, and ranking needs no per-family minimum over all candidates.
    one_family_per_type: bool = False

    @property
    def size(self) -> int:
        return len(self.records)

    @classmethod
    def build(cls, records: Sequence[PoolRecord], *, built_at: datetime) -> PoolIndex:
        """Index `records`; raises `PoolIndexError` on duplicate keys or naive datetimes."""
        _require_aware(built_at, "built_at")
        rows = sorted(
            records, key=lambda r: (r.key.cloud, r.key.region, r.key.zone_id, r.key.instance_type)
        )
        for prev, cur in itertools.pairwise(rows):
            if prev.key == cur.key:
                raise PoolIndexError(f"duplicate pool key {cur.key}")
        clouds, cloud_code = _encode([r.key.cloud for r in rows])
        regions, region_code = _encode([r.key.region for r in rows])
        zones, zone_code = _encode([(r.key.cloud, r.key.region, r.key.zone_id) for r in rows])
        _, type_code = _encode([(r.key.cloud, r.key.instance_type) for r in rows])
        _, family_code = _encode([(r.key.cloud, r.family) for r in rows])
        arches, arch_code = _encode([r.arch for r in rows])
        models = [normalise_gpu_model(r.gpu_model) if r.gpu_model else "" for r in rows]
        gpu_models, gpu_model_code = _encode(models)
        if "" in gpu_models:
            blank = gpu_models.index("")
            gpu_model_code = np.where(gpu_model_code == blank, -1, gpu_model_code)
        rate, low, high, default, prior = _hazards(rows)
        spot_price = _floats(rows, lambda r: r.spot_price)
        volatility = _floats(rows, lambda r: r.spot_price_volatility)
        capacity_score = _floats(rows, lambda r: r.capacity_score)
        capacity_zonal = np.array([r.capacity_zonal for r in rows], dtype=bool)
        zoned = np.array([zone != "" for _, _, zone in zones], dtype=bool)[zone_code]
        simulated = np.array([r.simulated for r in rows], dtype=bool)
        # Zone peers: one (cloud, instance type) in one region, real and simulated apart.
        peer = (type_code * len(regions) + region_code) * 2 + simulated
        ratio, zone_signal = _zone_signals(
            peer, zoned, spot_price, volatility, capacity_score, capacity_zonal
        )
        return cls(
            built_at=built_at,
            records=tuple(rows),
            clouds=clouds,
            cloud_code=_ro(cloud_code),
            regions=regions,
            region_code=_ro(region_code),
            zone_code=_ro(zone_code),
            type_code=_ro(type_code),
            family_code=_ro(family_code),
            arches=arches,
            arch_code=_ro(arch_code),
            gpu_models=gpu_models,
            gpu_model_code=_ro(gpu_model_code),
            is_gpu=_ro(np.array([r.accelerator_kind == "gpu" for r in rows], dtype=bool)),
            accelerated=_ro(np.array([r.accelerator_kind != "none" for r in rows], dtype=bool)),
            vcpus=_floats(rows, lambda r: r.vcpus),
            memory_gib=_floats(rows, lambda r: r.memory_gib),
            gpu_count=_floats(rows, lambda r: r.gpu_count),
            gpu_memory_gib=_floats(rows, lambda r: r.gpu_memory_gib),
            spot_offered=_ro(np.array([r.spot_offered for r in rows], dtype=bool)),
            on_demand_offered=_ro(np.array([r.on_demand_offered for r in rows], dtype=bool)),
            spot_price=spot_price,
            on_demand_price=_floats(rows, lambda r: r.on_demand_price),
            spot_at=_times(rows, lambda r: r.spot_price_at, "spot_price_at"),
            on_demand_at=_times(rows, lambda r: r.on_demand_at, "on_demand_at"),
            interruption_at=_times(rows, lambda r: r.interruption_at, "interruption_at"),
            capacity_at=_times(rows, lambda r: r.capacity_at, "capacity_at"),
            fleet_at=_times(rows, lambda r: r.fleet_at, "fleet_at"),
            capacity_error_at=_times(
                rows, lambda r: r.capacity_errors_dated, "fleet_capacity_error_at"
            ),
            hazard_rate=_ro(rate),
            hazard_low=_ro(low),
            hazard_high=_ro(high),
            hazard_default=_ro(default),
            hazard_prior=_ro(prior),
            capacity_score=capacity_score,
            capacity_zonal=_ro(capacity_zonal),
            ice_errors=_floats(rows, lambda r: r.fleet_capacity_errors),
            spot_volatility=volatility,
            zone_price_ratio=_ro(ratio),
            zone_signal=_ro(zone_signal),
            zone_penalty=_ro(zone_signal_penalty(ratio, volatility)),
            simulated=_ro(simulated),
            one_family_per_type=_one_family_per_type(type_code, family_code),
        )

    def gpu_class(self, row: int) -> str | None:
        return gpu_class_of(self.records[row].gpu_model)


def _one_family_per_type(type_code: IntArray, family_code: IntArray) -> bool:
    if type_code.size == 0:
        return True
    family_of = np.full(int(type_code.max()) + 1, -1, dtype=np.int64)
    family_of[type_code] = family_code
    return bool(np.array_equal(family_of[type_code], family_code))


def _ro(array: A) -> A:
    array.flags.writeable = False
    return array


def _encode(values: list[H]) -> tuple[tuple[H, ...], IntArray]:
    table: dict[H, int] = {}
    codes = [table.setdefault(v, len(table)) for v in values]
    return tuple(table), np.array(codes, dtype=np.int64)


def _floats(rows: list[PoolRecord], get: Callable[[PoolRecord], float | None]) -> FloatArray:
    values = [get(r) for r in rows]
    array = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    array.flags.writeable = False
    return array


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PoolIndexError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")


def _times(
    rows: list[PoolRecord], get: Callable[[PoolRecord], datetime | None], name: str
) -> FloatArray:
    out = np.full(len(rows), math.nan)
    for i, r in enumerate(rows):
        value = get(r)
        if value is not None:
            if value.tzinfo is None:
                raise PoolIndexError(f"{r.key}: {name} must be timezone-aware (UTC)")
            out[i] = value.timestamp()
    out.flags.writeable = False
    return out


def _hazards(
    rows: list[PoolRecord],
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray, FloatArray]:
    """(rate, low, high) after the fleet update, the default mask, and the bucket-only rate."""
    n = len(rows)
    priors = np.empty((n, 4))
    default = np.zeros(n, dtype=bool)
    cache: dict[tuple[str | None, str | None, float | None], tuple[float, ...] | None] = {}
    unknown = prior_probability(None, None, None)
    for i, r in enumerate(rows):
        # The conversion follows the signal's kind, not its provenance (a simulated advisor
        # bucket converts like a real one).
        kind = signal_kind(r.interruption_source, r.interruption_label, r.interruption_value)
        signal = (kind, r.interruption_label, r.interruption_value)
        if signal not in cache:
            try:
                cache[signal] = None if signal[0] is None else prior_probability(*signal)
            except SignalError:
                cache[signal] = None  # unreadable signal: same as none, flagged below
        prior = cache[signal]
        if prior is None:
            default[i] = True
            prior = unknown
        priors[i] = prior
    bucket = (priors[:, 0], priors[:, 1], priors[:, 2], priors[:, 3], default)
    rate, low, high = hazard_arrays(
        *bucket,
        np.array([max(r.fleet_interruptions, 0) for r in rows], dtype=np.float64),
        np.array([max(r.fleet_instance_hours, 0.0) for r in rows], dtype=np.float64),
    )
    # The same conversion with no evidence: the prior the fleet update starts from.
    bucket_rate, _, _ = hazard_arrays(*bucket, np.zeros(n), np.zeros(n))
    return rate, low, high, default, bucket_rate


def _zone_signals(
    peer: IntArray,
    zoned: BoolArray,
    price: FloatArray,
    volatility: FloatArray,
    score: FloatArray,
    zonal: BoolArray,
) -> tuple[FloatArray, BoolArray]:
    """Per pool: its spot price over the median of its type's priced zones, and whether a
    zone-level signal sets it apart from them (see the `zone_price_ratio` / `zone_signal` columns).

    `peer` numbers the groups of zones compared: (cloud, region, instance type, simulated), as a
    simulated price says nothing about a real zone. Unknown volatility counts as 0, as the store
    records a pool without changes in the trailing week.
    """
    ratio = np.full(peer.size, math.nan)
    zonal_score = np.where(zonal, score, math.nan)
    signal = ~np.isnan(zonal_score)  # a zonal placement score is a zone-level signal
    priced = np.flatnonzero(zoned & (np.nan_to_num(price, nan=0.0) > 0))
    if priced.size == 0:
        return ratio, signal
    vol = np.nan_to_num(volatility, nan=0.0)
    score_key = np.nan_to_num(zonal_score, nan=-1.0)
    # By peer group, then the signals: zones with identical signals end up side by side.
    order = priced[np.lexsort((score_key[priced], vol[priced], price[priced], peer[priced]))]
    group, p = peer[order], price[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    counts = np.diff(np.r_[starts, order.size])
    # The median of each group, its prices being sorted: the mean of its two middle prices.
    median = 0.5 * (p[starts + (counts - 1) // 2] + p[starts + counts // 2])
    compared = np.repeat(counts > 1, counts)
    ratio[order[compared]] = p[compared] / np.repeat(median, counts)[compared]
    same = (group[1:] == group[:-1]) & (p[1:] == p[:-1])
    same &= (vol[order][1:] == vol[order][:-1]) & (score_key[order][1:] == score_key[order][:-1])
    tied = np.r_[same, False] | np.r_[False, same]  # equal to the zone before or after it
    signal[order] = (signal[order] | compared) & ~tied
    return ratio, signal
