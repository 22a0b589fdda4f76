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
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

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
T = TypeVar("T")


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
    # Request-independent arrays ranking derives from the columns on first use (`memo`); never
    # copied by `replace`, so a patched index starts without them.
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.records)

    def memo(self, name: str, derive: Callable[[PoolIndex], T]) -> T:
        """`derive(self)`, computed once per index (a race computes it twice, harmlessly)."""
        try:
            value: T = self._memo[name]
        except KeyError:
            value = self._memo[name] = derive(self)
        return value

    @classmethod
    def build(cls, records: Sequence[PoolRecord], *, built_at: datetime) -> PoolIndex:
        """Index `records`; raises `PoolIndexError` on duplicate keys or naive datetimes."""
        return cls._indexed(records, built_at, None)

    @classmethod
    def _indexed(
        cls, records: Sequence[PoolRecord], built_at: datetime, reuse: PoolIndex | None
    ) -> PoolIndex:
        """`build`; the per-row columns of the records `reuse` holds are taken from it."""
        _require_aware(built_at, "built_at")
        # Each column is read in one C-level pass (attrgetter), and strings and timestamps are
        # converted once per distinct value: rows share few clouds, zones, labels and times.
        parts = list(map(_KEY_PARTS, records))
        order = sorted(range(len(parts)), key=parts.__getitem__)  # stable, as sorting records
        rows = [records[i] for i in order]
        parts = [parts[i] for i in order]
        for i, (prev, cur) in enumerate(itertools.pairwise(parts)):
            if prev == cur:
                raise PoolIndexError(f"duplicate pool key {rows[i + 1].key}")
        clouds, cloud_code = _encode([p[0] for p in parts])
        regions, region_code = _encode([p[1] for p in parts])
        zones, zone_code = _encode(list(map(_ZONE_PART, parts)))
        _, type_code = _encode(list(map(_TYPE_PART, parts)))
        _, family_code = _encode(list(zip(map(_CLOUD, rows), map(_FAMILY, rows), strict=True)))
        arches, arch_code = _encode(list(map(_ARCH, rows)))
        raw_models = list(map(_GPU_MODEL, rows))
        normal = {m: normalise_gpu_model(m) if m else "" for m in dict.fromkeys(raw_models)}
        gpu_models, gpu_model_code = _encode(list(map(normal.__getitem__, raw_models)))
        if "" in gpu_models:
            blank = gpu_models.index("")
            gpu_model_code = np.where(gpu_model_code == blank, -1, gpu_model_code)
        kinds = list(map(_ACCELERATOR, rows))
        zoned = np.array([zone != "" for _, _, zone in zones], dtype=bool)[zone_code]
        columns = _row_columns(rows, reuse)
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
            is_gpu=_ro(np.array([k == "gpu" for k in kinds], dtype=bool)),
            accelerated=_ro(np.array([k != "none" for k in kinds], dtype=bool)),
            **columns,
            **_derived(rows, columns, type_code, region_code, len(regions), zoned),
            one_family_per_type=_one_family_per_type(type_code, family_code),
        )

    @classmethod
    def patched(
        cls, previous: PoolIndex, records: Sequence[PoolRecord], *, built_at: datetime
    ) -> PoolIndex:
        """`build(records)`, reusing `previous`'s rows for the records it already holds.

        A record that is the very object `previous` holds keeps its row; a new record of a pool
        `previous` holds replaces that pool's row. Only those rows are read again; the columns
        derived from whole groups (hazards, zone signals) are recomputed vectorised. New or
        removed pools, or a changed family, architecture, GPU model or accelerator kind (the
        categorical codes could move), sort and encode every row as `build` does, still taking
        the per-row columns of the records `previous` holds from it.
        """
        _require_aware(built_at, "built_at")
        if len(records) != previous.size:
            return cls._indexed(records, built_at, previous)
        position = {id(r): j for j, r in enumerate(previous.records)}
        fresh = [r for r in records if position.pop(id(r), None) is None]
        left = {previous.records[j].key: j for j in position.values()}  # rows not reused
        if len(left) != len(fresh):
            return cls._indexed(records, built_at, previous)
        rows = list(previous.records)
        for record in fresh:
            j = left.pop(record.key, None)
            if j is None or _categories(rows[j]) != _categories(record):
                return cls._indexed(records, built_at, previous)
            rows[j] = record
        columns = _row_columns(rows, previous)
        # Zone codes do not move (the keys are the same): one row per zone says if it is zonal.
        zone_ids, first = np.unique(previous.zone_code, return_index=True)
        zonal_zone = np.zeros(int(zone_ids.max()) + 1 if zone_ids.size else 0, dtype=bool)
        zonal_zone[zone_ids] = [rows[i].key.zone_id != "" for i in first.tolist()]
        derived = _derived(
            rows,
            columns,
            previous.type_code,
            previous.region_code,
            len(previous.regions),
            zonal_zone[previous.zone_code],
        )
        return replace(previous, built_at=built_at, records=tuple(rows), **columns, **derived)

    def gpu_class(self, row: int) -> str | None:
        return gpu_class_of(self.records[row].gpu_model)


# Columns read straight from each record: `build` reads every row, `patched` the changed ones.
# A column computed in `build` from several rows must go to `_derived` instead (or `patched`
# would keep a stale value).
_FLOAT_COLUMNS = {
    "vcpus": "vcpus",
    "memory_gib": "memory_gib",
    "gpu_count": "gpu_count",
    "gpu_memory_gib": "gpu_memory_gib",
    "spot_price": "spot_price",
    "on_demand_price": "on_demand_price",
    "capacity_score": "capacity_score",
    "ice_errors": "fleet_capacity_errors",
    "spot_volatility": "spot_price_volatility",
}
_BOOL_COLUMNS = {
    "spot_offered": "spot_offered",
    "on_demand_offered": "on_demand_offered",
    "capacity_zonal": "capacity_zonal",
    "simulated": "simulated",
}
# Column -> (record attribute, the name errors give it).
_TIME_COLUMNS = {
    "spot_at": ("spot_price_at", "spot_price_at"),
    "on_demand_at": ("on_demand_at", "on_demand_at"),
    "interruption_at": ("interruption_at", "interruption_at"),
    "capacity_at": ("capacity_at", "capacity_at"),
    "fleet_at": ("fleet_at", "fleet_at"),
    "capacity_error_at": ("capacity_errors_dated", "fleet_capacity_error_at"),
}
_KEY_PARTS = attrgetter("key.cloud", "key.region", "key.zone_id", "key.instance_type")
_ZONE_PART = itemgetter(0, 1, 2)
_TYPE_PART = itemgetter(0, 3)
_CLOUD = attrgetter("key.cloud")
_FAMILY = attrgetter("family")
_ARCH = attrgetter("arch")
_GPU_MODEL = attrgetter("gpu_model")
_ACCELERATOR = attrgetter("accelerator_kind")
_CATEGORIES = attrgetter("family", "arch", "gpu_model", "accelerator_kind")
_SIGNAL = attrgetter("interruption_source", "interruption_label", "interruption_value")
_FLEET_INTERRUPTIONS = attrgetter("fleet_interruptions")
_FLEET_HOURS = attrgetter("fleet_instance_hours")


def _categories(record: PoolRecord) -> tuple[str, str, str | None, str]:
    categories: tuple[str, str, str | None, str] = _CATEGORIES(record)
    return categories


def _row_columns(rows: list[PoolRecord], previous: PoolIndex | None) -> dict[str, Any]:
    """The per-row columns of `rows`: a record `previous` holds (the very object) keeps its
    values there, every other record is read."""
    src = None
    read = rows
    if previous is not None and previous.size:
        position = {id(r): j for j, r in enumerate(previous.records)}
        src = np.fromiter((position.get(id(r), -1) for r in rows), dtype=np.int64, count=len(rows))
        fresh_at = np.flatnonzero(src < 0)
        read = [rows[j] for j in fresh_at.tolist()]
    fresh: dict[str, npt.NDArray[Any]] = {}
    for name, attr in _FLOAT_COLUMNS.items():
        fresh[name] = np.array(list(map(attrgetter(attr), read)), dtype=np.float64)  # None = NaN
    for name, attr in _BOOL_COLUMNS.items():
        fresh[name] = np.array(list(map(attrgetter(attr), read)), dtype=bool)
    for name, (attr, label) in _TIME_COLUMNS.items():
        fresh[name] = _times(read, list(map(attrgetter(attr), read)), label)
    if src is None:
        return {name: _ro(array) for name, array in fresh.items()}
    out: dict[str, npt.NDArray[Any]] = {}
    for name, array in fresh.items():
        column = getattr(previous, name)[np.maximum(src, 0)]  # a gathered, writable copy
        column[fresh_at] = array
        out[name] = _ro(column)
    return out


def _derived(
    rows: list[PoolRecord],
    columns: dict[str, Any],
    type_code: IntArray,
    region_code: IntArray,
    n_regions: int,
    zoned: BoolArray,
) -> dict[str, Any]:
    """The columns computed over whole groups of rows or from several columns."""
    rate, low, high, default, prior = _hazards(rows)
    volatility = columns["spot_volatility"]
    # Zone peers: one (cloud, instance type) in one region, real and simulated apart.
    peer = (type_code * n_regions + region_code) * 2 + columns["simulated"]
    ratio, zone_signal = _zone_signals(
        peer,
        zoned,
        columns["spot_price"],
        volatility,
        columns["capacity_score"],
        columns["capacity_zonal"],
    )
    return {
        "hazard_rate": _ro(rate),
        "hazard_low": _ro(low),
        "hazard_high": _ro(high),
        "hazard_default": _ro(default),
        "hazard_prior": _ro(prior),
        "zone_price_ratio": _ro(ratio),
        "zone_signal": _ro(zone_signal),
        "zone_penalty": _ro(zone_signal_penalty(ratio, volatility)),
    }


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
    """The distinct values in order of first appearance and each value's code."""
    table: dict[H, int] = dict.fromkeys(values, 0)
    for code, value in enumerate(table):
        table[value] = code
    codes = np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))
    return tuple(table), codes


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PoolIndexError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")


def _times(rows: list[PoolRecord], values: list[datetime | None], name: str) -> FloatArray:
    """POSIX seconds of `values` (NaN = None), converted once per datetime object: the reader
    shares one object per distinct time (a run's), and an id hashes faster than a datetime."""
    ids = list(map(id, values))
    stamps: dict[int, float] = {}
    for key, value in dict(zip(ids, values, strict=True)).items():
        if value is None:
            stamps[key] = math.nan
        elif value.tzinfo is None:
            where = rows[values.index(value)].key
            raise PoolIndexError(f"{where}: {name} must be timezone-aware (UTC)")
        else:
            stamps[key] = value.timestamp()
    return np.fromiter(map(stamps.__getitem__, ids), dtype=np.float64, count=len(values))


def _hazards(
    rows: list[PoolRecord],
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray, FloatArray]:
    """(rate, low, high) after the fleet update, the default mask, and the bucket-only rate."""
    n = len(rows)
    signals = list(map(_SIGNAL, rows))
    # Rows share few distinct signals: each is converted once, then looked up by its code.
    codes: dict[tuple[str | None, str | None, float | None], int] = dict.fromkeys(signals, 0)
    table = np.empty((len(codes), 4))
    unreadable = np.zeros(len(codes), dtype=bool)
    unknown = prior_probability(None, None, None)
    for code, signal in enumerate(codes):
        codes[signal] = code
        # The conversion follows the signal's kind, not its provenance (a simulated advisor
        # bucket converts like a real one).
        kind = signal_kind(*signal)
        try:
            prior = None if kind is None else prior_probability(kind, signal[1], signal[2])
        except SignalError:
            prior = None  # unreadable signal: same as none, flagged below
        unreadable[code] = prior is None
        table[code] = unknown if prior is None else prior
    row_code = np.fromiter(map(codes.__getitem__, signals), dtype=np.int64, count=n)
    priors, default = table[row_code], unreadable[row_code]
    bucket = (priors[:, 0], priors[:, 1], priors[:, 2], priors[:, 3], default)
    interruptions = np.array(list(map(_FLEET_INTERRUPTIONS, rows)), dtype=np.float64)
    hours = np.array(list(map(_FLEET_HOURS, rows)), dtype=np.float64)
    rate, low, high = hazard_arrays(*bucket, np.maximum(interruptions, 0.0), np.maximum(hours, 0.0))
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
