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
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from selector.capacity import zone_signal_penalty
from selector.errors import PoolIndexError, SignalError
from selector.gpus import gpu_class_of, normalise_gpu_model
from selector.hazard import hazard_arrays, prior_probability, signal_kind
from selector.pool_index_merge import (
    KEY_PARTS,
    find_rows,
    gathered,
    insertion_points,
    merge_rows,
    recode,
)
from selector.pools import PoolKey, PoolRecord

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
    zones: tuple[tuple[str, str, str], ...]  # (cloud, region, zone_id); "" zone = regional
    zone_code: IntArray
    types: tuple[tuple[str, str], ...]  # (cloud, instance_type)
    type_code: IntArray
    families: tuple[tuple[str, str], ...]  # (cloud, family)
    family_code: IntArray
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
        _require_aware(built_at, "built_at")
        # Each column is read in one C-level pass (attrgetter), and strings and timestamps are
        # converted once per distinct value: rows share few clouds, zones, labels and times.
        parts = list(map(KEY_PARTS, records))
        order = sorted(range(len(parts)), key=parts.__getitem__)  # stable, as sorting records
        rows = [records[i] for i in order]
        parts = [parts[i] for i in order]
        for i, (prev, cur) in enumerate(itertools.pairwise(parts)):
            if prev == cur:
                raise PoolIndexError(f"duplicate pool key {rows[i + 1].key}")
        clouds, cloud_code = _encode([p[0] for p in parts])
        regions, region_code = _encode([p[1] for p in parts])
        zones, zone_code = _encode(list(map(_ZONE_PART, parts)))
        types, type_code = _encode(list(map(_TYPE_PART, parts)))
        families, family_code = _encode(_family_values(rows))
        arches, arch_code = _encode(list(map(_ARCH, rows)))
        gpu_models, gpu_model_code = _encode(_gpu_model_values(rows))
        return cls._assemble(
            built_at,
            rows,
            {
                "clouds": clouds,
                "cloud_code": cloud_code,
                "regions": regions,
                "region_code": region_code,
                "zones": zones,
                "zone_code": zone_code,
                "types": types,
                "type_code": type_code,
                "families": families,
                "family_code": family_code,
                "arches": arches,
                "arch_code": arch_code,
            },
            (gpu_models, gpu_model_code),
            _row_columns(rows),
        )

    @classmethod
    def patched(
        cls, previous: PoolIndex, records: Sequence[PoolRecord], *, built_at: datetime
    ) -> PoolIndex:
        """`build(records)`, reusing `previous`'s rows for the records it already holds.

        A record that is the very object `previous` holds keeps its row; any other record is
        read and merged in at its sorted position (replacing the row of its pool, if
        `previous` holds it); the rows of the records missing from `records` are dropped.
        """
        position = {id(r): j for j, r in enumerate(previous.records)}
        fresh = [r for r in records if position.pop(id(r), None) is None]
        return previous._merged(fresh, position.values(), built_at)

    def with_changes(
        self,
        *,
        put: Sequence[PoolRecord],
        drop: Iterable[PoolKey],
        built_at: datetime,
    ) -> PoolIndex:
        """This index with the records `put` (each replacing its pool's row, if any) and without
        the pools `drop` (a pool it does not hold is ignored): `build` of the patched records,
        at a cost that grows with the changes, not with the index.

        A record in `put` that is the very object this index holds changes nothing; `put` holds
        each pool at most once.
        """
        rows, n = self.records, self.size
        fresh: list[PoolRecord] = []
        points: list[int] = []
        replaced: list[int] = []
        for record, j in zip(put, insertion_points(rows, put), strict=True):
            held = j < n and rows[j].key == record.key
            if held and rows[j] is record:
                continue
            fresh.append(record)
            points.append(j)
            if held:
                replaced.append(j)
        dropped = find_rows(rows, drop)
        if any(key in dropped for key in (r.key for r in put)):
            raise PoolIndexError("a pool cannot be put and dropped in one patch")
        return self._merged(fresh, [*replaced, *dropped.values()], built_at, points)

    def _merged(
        self,
        fresh: Sequence[PoolRecord],
        dropped: Iterable[int],
        built_at: datetime,
        points: Sequence[int] | None = None,
    ) -> PoolIndex:
        """This index without the rows `dropped`, with `fresh` merged in: `build`'s result.

        Only the fresh records are read; the codes and per-row columns of the kept rows are
        gathered from this index, and the columns that compare zones are recomputed.
        """
        _require_aware(built_at, "built_at")
        merge = merge_rows(self.records, fresh, dropped, points)
        parts = list(map(KEY_PARTS, merge.fresh))
        codes: dict[str, Any] = {}
        for table, code, values in (
            ("clouds", "cloud_code", [p[0] for p in parts]),
            ("regions", "region_code", [p[1] for p in parts]),
            ("zones", "zone_code", list(map(_ZONE_PART, parts))),
            ("types", "type_code", list(map(_TYPE_PART, parts))),
            ("families", "family_code", _family_values(merge.fresh)),
            ("arches", "arch_code", list(map(_ARCH, merge.fresh))),
        ):
            codes[table], codes[code] = recode(
                getattr(self, table), getattr(self, code), merge, values
            )
        # `build` numbers the blank GPU model like any other, then writes -1 for it.
        gpu_code = self.gpu_model_code
        if "" in self.gpu_models:
            gpu_code = np.where(gpu_code < 0, self.gpu_models.index(""), gpu_code)
        gpu = recode(self.gpu_models, gpu_code, merge, _gpu_model_values(merge.fresh))
        fresh_columns = _row_columns(merge.fresh)
        columns = {}
        for name, read in fresh_columns.items():
            columns[name] = column = gathered(getattr(self, name), merge)
            column[merge.fresh_at] = read
        return self._assemble(built_at, merge.rows, codes, gpu, columns)

    @classmethod
    def _assemble(
        cls,
        built_at: datetime,
        rows: list[PoolRecord],
        codes: dict[str, Any],
        gpu: tuple[tuple[str, ...], IntArray],
        columns: dict[str, Any],
    ) -> PoolIndex:
        """The index of `rows` (sorted) from their codes and per-row columns: the columns that
        compare rows with each other are derived here."""
        gpu_models, gpu_model_code = gpu
        if "" in gpu_models:
            blank = gpu_models.index("")
            gpu_model_code = np.where(gpu_model_code == blank, -1, gpu_model_code)
        zoned = np.array([zone != "" for _, _, zone in codes["zones"]], dtype=bool)
        zoned = zoned[codes["zone_code"]]
        type_code, family_code = codes["type_code"], codes["family_code"]
        derived = _derived(columns, type_code, codes["region_code"], len(codes["regions"]), zoned)
        return cls(
            built_at=built_at,
            records=tuple(rows),
            **_read_only(codes),
            gpu_models=gpu_models,
            gpu_model_code=_ro(gpu_model_code),
            **{name: _ro(array) for name, array in columns.items()},
            **derived,
            one_family_per_type=_one_family_per_type(type_code, family_code),
        )

    def gpu_class(self, row: int) -> str | None:
        return gpu_class_of(self.records[row].gpu_model)


# Columns read straight from each record (or computed from that record alone): `build` reads
# every row, a patch only the new ones. A column computed from several rows must go to
# `_derived` instead (or a patch would keep a stale value).
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
_ZONE_PART = itemgetter(0, 1, 2)
_TYPE_PART = itemgetter(0, 3)
_CLOUD = attrgetter("key.cloud")
_FAMILY = attrgetter("family")
_ARCH = attrgetter("arch")
_GPU_MODEL = attrgetter("gpu_model")
_ACCELERATOR = attrgetter("accelerator_kind")
_SIGNAL = attrgetter("interruption_source", "interruption_label", "interruption_value")
_FLEET_INTERRUPTIONS = attrgetter("fleet_interruptions")
_FLEET_HOURS = attrgetter("fleet_instance_hours")


def _family_values(rows: list[PoolRecord]) -> list[tuple[str, str]]:
    return list(zip(map(_CLOUD, rows), map(_FAMILY, rows), strict=True))


def _gpu_model_values(rows: list[PoolRecord]) -> list[str]:
    """Each row's normalised GPU model ("" = none), normalised once per distinct model."""
    raw_models = list(map(_GPU_MODEL, rows))
    normal = {m: normalise_gpu_model(m) if m else "" for m in dict.fromkeys(raw_models)}
    return list(map(normal.__getitem__, raw_models))


def _row_columns(rows: list[PoolRecord]) -> dict[str, npt.NDArray[Any]]:
    """The columns each row's record alone determines (writable: a patch writes into them)."""
    columns: dict[str, npt.NDArray[Any]] = {}
    for name, attr in _FLOAT_COLUMNS.items():
        columns[name] = np.array(list(map(attrgetter(attr), rows)), dtype=np.float64)  # None=NaN
    for name, attr in _BOOL_COLUMNS.items():
        columns[name] = np.array(list(map(attrgetter(attr), rows)), dtype=bool)
    for name, (attr, label) in _TIME_COLUMNS.items():
        columns[name] = _times(rows, list(map(attrgetter(attr), rows)), label)
    kinds = list(map(_ACCELERATOR, rows))
    columns["is_gpu"] = np.array([k == "gpu" for k in kinds], dtype=bool)
    columns["accelerated"] = np.array([k != "none" for k in kinds], dtype=bool)
    rate, low, high, default, prior = _hazards(rows)
    columns |= {"hazard_rate": rate, "hazard_low": low, "hazard_high": high,
                "hazard_default": default, "hazard_prior": prior}  # fmt: skip
    return columns


def _derived(
    columns: dict[str, Any],
    type_code: IntArray,
    region_code: IntArray,
    n_regions: int,
    zoned: BoolArray,
) -> dict[str, Any]:
    """The columns computed over whole groups of rows: each zone against its type's others."""
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


def _read_only(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _ro(v) if isinstance(v, np.ndarray) else v for name, v in values.items()}


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
