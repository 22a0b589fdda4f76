"""Pool listing over the in-memory snapshot: the same pools and signals ranking sees.

PoolIndex rows are sorted by pool key, so a row index order is the key order: filters are
numpy masks, a cursor (the last key served) is found by bisection, and pages stay stable
across snapshot refreshes (no duplicates, no gaps for pools that existed when paging began).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from api.pagination import ResultPage, decode_cursor, encode_cursor
from selector import PoolIndex, PoolRecord
from selector.gpus import expand_gpu_models

__all__ = ["PoolFilters", "list_pools"]

BoolArray = npt.NDArray[np.bool_]
KEY_PARTS = 4


@dataclass(frozen=True, slots=True)
class PoolFilters:
    cloud: str | None = None
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    gpu_model: str | None = None  # a model or an equivalence class
    min_gpu_memory: float | None = None
    capacity_type: str | None = None  # "spot" | "on-demand"


def _key(record: PoolRecord) -> tuple[str, str, str, str]:
    k = record.key
    return (k.cloud, k.region, k.zone_id, k.instance_type)


def _match(snap: PoolIndex, f: PoolFilters) -> BoolArray:
    mask = np.ones(snap.size, dtype=bool)
    for values, codes, wanted in (
        (snap.clouds, snap.cloud_code, f.cloud),
        (snap.regions, snap.region_code, f.region),
    ):
        if wanted is not None:
            code = values.index(wanted) if wanted in values else -2
            mask &= codes == code
    if f.zone is not None or f.instance_type is not None:
        mask &= np.fromiter(
            (
                (f.zone is None or r.key.zone_id == f.zone)
                and (f.instance_type is None or r.key.instance_type == f.instance_type)
                for r in snap.records
            ),
            dtype=bool,
            count=snap.size,
        )
    if f.gpu_model is not None:
        models = set(expand_gpu_models((f.gpu_model,)))
        allowed = np.array([m in models for m in snap.gpu_models] + [False])
        mask &= allowed[snap.gpu_model_code]  # code -1 (no GPU) reads the trailing False
    if f.min_gpu_memory is not None:
        with np.errstate(invalid="ignore"):
            mask &= snap.gpu_memory_gib >= f.min_gpu_memory
    if f.capacity_type == "spot":
        mask &= snap.spot_offered
    elif f.capacity_type == "on-demand":
        mask &= snap.on_demand_offered
    return mask


def _item(record: PoolRecord) -> dict[str, Any]:
    return {
        **record.key.to_dict(),
        "family": record.family,
        "vcpus": record.vcpus,
        "memory_gib": record.memory_gib,
        "arch": record.arch,
        "gpu_count": record.gpu_count,
        "gpu_model": record.gpu_model,
        "gpu_memory_gib": record.gpu_memory_gib,
        "spot_offered": record.spot_offered,
        "on_demand_offered": record.on_demand_offered,
        "spot_price": record.spot_price,
        "spot_price_at": record.spot_price_at,
        "on_demand_price": record.on_demand_price,
        "interruption_source": record.interruption_source,
        "interruption_label": record.interruption_label,
        "interruption_value": record.interruption_value,
        "capacity_score": record.capacity_score,
        "capacity_raw": record.capacity_raw,
        "capacity_zonal": record.capacity_zonal,
        "sources": list(record.sources),
        "simulated": record.simulated,
    }


def list_pools(
    snap: PoolIndex, filters: PoolFilters, *, limit: int, cursor: str | None
) -> ResultPage:
    """One page of the pools matching `filters`, in pool-key order, after `cursor`."""
    rows = np.flatnonzero(_match(snap, filters))
    total = int(rows.size)
    if cursor is not None:
        after = decode_cursor(cursor, parts=KEY_PARTS)
        first = bisect.bisect_right(snap.records, after, key=_key)
        rows = rows[np.searchsorted(rows, first) :]
    page = [snap.records[int(i)] for i in rows[:limit]]
    more = rows.size > limit
    return ResultPage(
        items=[_item(r) for r in page],
        total=total,
        next_cursor=encode_cursor(_key(page[-1])) if more and page else None,
    )
