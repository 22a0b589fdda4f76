"""Step 1 of ranking: requirement filters, each with a reason, over the whole snapshot.

Filters run in a fixed order on a shrinking set of rows; a pool is counted once, under the
first filter it fails, so the exclusion counts plus the candidates always equal the snapshot
size. Pool-level filters (shape, place) come first, then per-offering ones (capacity type,
price, freshness, max price): a pool is excluded only when every requested offering fails,
and then under the filter its furthest-reaching offering failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from selector.discounts import on_demand_discount_by_row
from selector.pool_index import PoolIndex
from selector.requirements import Range, Requirements

__all__ = [
    "ON_DEMAND_PRICE_TTL_HOURS",
    "SIMULATED_EXCLUSION",
    "Exclusion",
    "FilterResult",
    "apply_filters",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
# A filter reads its columns through a `Take`: the whole column, or the rows still left.
Take = Callable[[npt.NDArray[Any]], npt.NDArray[Any]]
Keep = Callable[[Take], BoolArray]

# On-demand list prices change a few times a year; a month-old list price is still good.
ON_DEMAND_PRICE_TTL_HOURS: Final = 31 * 24.0
# Exclusion code of the pools left out because they rest on simulated data.
SIMULATED_EXCLUSION: Final = "simulated"
# Filters test whole columns until fewer than 1 / this of the pools are left, then only the
# rows left: a gather of a few rows beats streaming the whole column from there on.
_SPARSE_FRACTION: Final = 16
# Up to this many allowed codes of a categorical column are tested by equality, not a lookup.
_FEW_CODES: Final = 4


@dataclass(frozen=True, slots=True)
class Exclusion:
    """`count` pools of the snapshot left out because of `reason` (`code` is stable)."""

    code: str
    reason: str
    count: int

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "reason": self.reason, "count": self.count}


@dataclass(frozen=True, slots=True)
class FilterResult:
    spec_rows: IntArray  # rows passing every pool-level (shape / place) filter
    spot_rows: IntArray  # rows whose spot offering is fully eligible
    on_demand_rows: IntArray  # rows whose on-demand offering is fully eligible
    fresh_spot_rows: IntArray  # spec rows with a fresh spot price (for the spot verdict)
    fresh_on_demand_rows: IntArray  # spec rows with a fresh on-demand price (for the verdict)
    exclusions: tuple[Exclusion, ...]
    candidates: int  # pools with at least one eligible offering


def _fmt(rng: Range) -> str:
    lo = "" if rng.min is None else f"{rng.min:g}"
    hi = "" if rng.max is None else f"{rng.max:g}"
    return f"{lo}:{hi}"


def _in_range(values: npt.NDArray[np.float64], rng: Range) -> BoolArray:
    ok = np.ones(values.shape, dtype=bool)
    if rng.min is not None:
        ok &= values >= rng.min
    if rng.max is not None:
        ok &= values <= rng.max
    return ok


def _allowed(table: tuple[str, ...], wanted: tuple[str, ...]) -> BoolArray:
    """Lookup table over a categorical column: code -> allowed."""
    wanted_set = {w.lower() for w in wanted}
    return np.array([v.lower() in wanted_set for v in table] + [False], dtype=bool)


def _code_in(codes: IntArray, allowed: BoolArray) -> BoolArray:
    """`allowed[codes]` (code -1 hits the table's trailing False), as a few equality tests when
    only a few codes are allowed: a comparison streams, a table lookup gathers."""
    wanted = np.flatnonzero(allowed[:-1])
    if wanted.size > _FEW_CODES:
        kept: BoolArray = allowed[codes]
        return kept
    ok = np.zeros(codes.shape, dtype=bool)
    for code in wanted.tolist():
        ok |= codes == code
    return ok


def _pool_filters(snap: PoolIndex, req: Requirements) -> list[tuple[str, str, Keep]]:
    """(code, reason, keep(take)) in attribution order; only the filters the request uses.

    `keep` reads its columns through `take` (the whole column, or the rows still left)."""
    out: list[tuple[str, str, Keep]] = []
    if req.clouds:
        ok = _allowed(snap.clouds, req.clouds)
        out.append(
            (
                "cloud",
                f"cloud not in {list(req.clouds)}",
                lambda t: _code_in(t(snap.cloud_code), ok),
            )
        )
    if req.regions:
        okr = _allowed(snap.regions, req.regions)
        out.append(
            (
                "region",
                f"region not in {list(req.regions)}",
                lambda t: _code_in(t(snap.region_code), okr),
            )
        )
    if req.arch is not None:
        oka = _allowed(snap.arches, (req.arch,))
        out.append(("arch", f"arch is not {req.arch}", lambda t: _code_in(t(snap.arch_code), oka)))
    if req.gpus == 0:
        out.append(("gpus", "has accelerators (CPU only requested)", _no_gpu(snap)))
    elif req.gpus is not None:
        n = req.gpus
        out.append(
            ("gpus", f"gpu count != {n}", lambda t: t(snap.is_gpu) & (t(snap.gpu_count) == n))
        )
    elif req.wants_gpu:
        out.append(("gpus", "no GPU", lambda t: t(snap.is_gpu) & (t(snap.gpu_count) >= 1)))
    if req.gpu_models:
        okm = _allowed(snap.gpu_models, req.gpu_models)
        # code -1 (no model) indexes the trailing False of the lookup table.
        out.append(
            (
                "gpu_models",
                f"gpu model not in {list(req.gpu_models)}",
                lambda t: _code_in(t(snap.gpu_model_code), okm),
            )
        )
    if req.gpu_memory_gib is not None:
        gm = req.gpu_memory_gib
        # NaN (unknown memory) compares False: an unknown card is not assumed big enough.
        out.append(
            (
                "gpu_memory_gib",
                f"gpu memory < {gm:g} GiB",
                lambda t: np.greater_equal(t(snap.gpu_memory_gib), gm),
            )
        )
    if req.vcpus != Range():
        out.append(
            (
                "vcpus",
                f"vcpus outside {_fmt(req.vcpus)}",
                lambda t: _in_range(t(snap.vcpus), req.vcpus),
            )
        )
    if req.memory_gib != Range():
        out.append(
            (
                "memory_gib",
                f"memory outside {_fmt(req.memory_gib)} GiB",
                lambda t: _in_range(t(snap.memory_gib), req.memory_gib),
            )
        )
    provenance = _data_filter(snap, req.data)
    if provenance is not None:
        out.append(provenance)
    return out


def _data_filter(snap: PoolIndex, data: str) -> tuple[str, str, Keep] | None:
    """Simulated and real pools never mix unless the request says ``data: any``.

    Last of the pool filters, so its count is of pools that matched everything else.
    """
    if data == "simulated":
        return ("real", "rests on real data (data: simulated)", lambda t: t(snap.simulated))
    if data == "real" or (data == "auto" and not snap.simulated.all()):
        why = (
            "rests on simulated data; the store also holds real data "
            "(data: auto uses real pools only; data: any mixes them)"
            if data == "auto"
            else "rests on simulated data (data: real)"
        )
        return (SIMULATED_EXCLUSION, why, lambda t: ~t(snap.simulated))
    return None  # data: any, or auto over a store that holds only simulated pools


def _no_gpu(snap: PoolIndex) -> Keep:
    # CPU only means no accelerator of any kind: an FPGA, media or Neuron type is not a CPU
    # type even when a source left its device count at zero.
    def keep(take: Take) -> BoolArray:
        no_gpu: BoolArray = (take(snap.gpu_count) == 0) & ~take(snap.accelerated)
        return no_gpu

    return keep


def _whole(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return column


def _at(column: npt.NDArray[Any], *, rows: IntArray) -> npt.NDArray[Any]:
    return column[rows]


def _spec_rows(snap: PoolIndex, req: Requirements) -> tuple[IntArray, list[Exclusion]]:
    """Rows passing every pool filter, and the pools each filter dropped first.

    While most pools are left, a filter tests whole columns (streaming comparisons, no gather)
    and a mask keeps the survivors; once few are left it tests only their rows.
    """
    exclusions: list[Exclusion] = []
    alive: BoolArray | None = None
    left = snap.size
    rows: IntArray | None = None
    for code, reason, keep in _pool_filters(snap, req):
        if rows is None:
            mask = keep(_whole)
            alive = mask.copy() if alive is None else alive & mask
            kept = int(np.count_nonzero(alive))
            if kept * _SPARSE_FRACTION < snap.size:
                rows = np.flatnonzero(alive).astype(np.int64, copy=False)
        else:
            mask = keep(functools.partial(_at, rows=rows))
            rows = rows[mask]
            kept = int(rows.size)
        if left - kept:
            exclusions.append(Exclusion(code, reason, left - kept))
        left = kept
    if rows is None:
        rows = (
            np.arange(snap.size, dtype=np.int64)
            if alive is None
            else np.flatnonzero(alive).astype(np.int64, copy=False)
        )
    return rows, exclusions


# Offering stages, in order; an offering's stage is the first it fails (len = eligible).
_OFFER_STAGES: Final = ("capacity_type", "price", "stale_price", "max_price")


def _offer_stage(
    offered: BoolArray,
    price: npt.NDArray[np.float64],
    priced_at: npt.NDArray[np.float64],
    fresh_since: float,
    max_price: float | None,
) -> npt.NDArray[np.int8]:
    # The first stage failed, as nested products of the passes (one pass over the arrays per
    # test, no scatter): not offered 0, no price 1, stale 2 (priced before `fresh_since`, or
    # undated: NaN compares False), over 3, else 4.
    stage = (
        np.ones(offered.shape, dtype=np.int8)
        if max_price is None
        else (~(price > max_price)).astype(np.int8)
    )
    stage += 1
    stage *= priced_at >= fresh_since
    stage += 1
    stage *= ~np.isnan(price)
    stage += 1
    stage *= offered
    return stage


def apply_filters(snap: PoolIndex, req: Requirements, *, now_ts: float) -> FilterResult:
    """Run every filter, count exclusions by reason, and return the eligible rows."""
    rows, exclusions = _spec_rows(snap, req)
    spec_rows = rows

    od_ttl = max(req.max_price_age_hours, ON_DEMAND_PRICE_TTL_HOURS)
    spot_stage = _offer_stage(
        snap.spot_offered[rows],
        snap.spot_price[rows],
        snap.spot_at[rows],
        now_ts - req.max_price_age_hours * 3600.0,
        req.max_price,
    )
    # max_price holds against what on-demand really costs (list × (1 − discount)).
    od_paid = snap.on_demand_price[rows]
    if req.on_demand_discounts:
        od_paid = od_paid * (1.0 - on_demand_discount_by_row(snap, rows, req.on_demand_discounts))
    od_stage = _offer_stage(
        snap.on_demand_offered[rows],
        od_paid,
        snap.on_demand_at[rows],
        now_ts - od_ttl * 3600.0,
        req.max_price,
    )
    done = len(_OFFER_STAGES)
    want_spot = "spot" in req.capacity_types
    want_od = "on-demand" in req.capacity_types
    pool_stage = np.maximum(
        spot_stage if want_spot else np.zeros_like(spot_stage),
        od_stage if want_od else np.zeros_like(od_stage),
    )
    reasons = (
        f"capacity type {' or '.join(req.capacity_types)} not offered",
        "no price for the requested capacity types",
        f"no price newer than {req.max_price_age_hours:g} h"
        + (f" (on-demand: {od_ttl:g} h)" if want_od else ""),
        f"price above max_price {req.max_price:g} $/h" if req.max_price is not None else "",
    )
    counts = np.bincount(pool_stage, minlength=done + 1)
    for stage, code in enumerate(_OFFER_STAGES):
        if counts[stage]:
            exclusions.append(Exclusion(code, reasons[stage], int(counts[stage])))
    spot_rows = rows[spot_stage == done] if want_spot else rows[:0]
    od_rows = rows[od_stage == done] if want_od else rows[:0]
    # Without max_price no offering stops at stage 3: the fresh rows are the eligible ones.
    unbounded = req.max_price is None
    return FilterResult(
        spec_rows=spec_rows,
        spot_rows=spot_rows,
        on_demand_rows=od_rows,
        fresh_spot_rows=spot_rows if unbounded and want_spot else rows[spot_stage >= 3],
        fresh_on_demand_rows=od_rows if unbounded and want_od else rows[od_stage >= 3],
        exclusions=tuple(exclusions),
        candidates=int(counts[done]),
    )
