"""Step 6 of ranking: the returned pools explained, one `RankedPool` each.

Everything before this step is vectorised over the snapshot's columns; this is the only place
that builds Python objects per pool, and only for the few pools an answer returns: the price
and cost breakdown, λ with its interval and provenance, capacity and its basis, signal ages,
the flags a reader needs (each explained under the CLI's table, spotsel.render_ranking) and
what the pool's own fleet evidence moved.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from selector import capacity as cap
from selector.cost import lost_hours
from selector.evidence import FleetEvidence
from selector.gpus import gpu_class_of
from selector.hazard import INTERRUPTION_TTL_HOURS, Hazard, signal_kind
from selector.pool_index import PoolIndex
from selector.pools import PoolRecord
from selector.requirements import Requirements
from selector.results import RankedPool, SignalAges
from selector.strategies import Candidates

__all__ = ["DERIVED_SOURCE_SUFFIX", "VOLATILITY_FLAG_CV", "explain_pools"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A 7-day coefficient of variation above 20 % means the price is moving: flagged.
VOLATILITY_FLAG_CV: Final = 0.2
# An on-demand price whose row source ends so was computed (e.g. from spot price and advisor
# savings), not read from a price list: flagged `derived-on-demand-price`.
DERIVED_SOURCE_SUFFIX: Final = "-derived"

# The class of a raw GPU model name, memoised: parsing the name is pure, and a snapshot holds a
# few dozen distinct names against thousands of returned pools a minute.
_gpu_class = functools.lru_cache(maxsize=1024)(gpu_class_of)


def _signal_kind(rec: PoolRecord) -> str | None:
    return signal_kind(rec.interruption_source, rec.interruption_label, rec.interruption_value)


def _optional(values: FloatArray) -> list[float | None]:
    """The values as Python floats, NaN as None."""
    return [None if v != v else v for v in values.tolist()]  # NaN != NaN


def _ages(now_ts: float, at: FloatArray) -> list[float | None]:
    """Seconds since each time in `at` (never negative); None where it is unknown."""
    return _optional(np.maximum(now_ts - at, 0.0))


def explain_pools(
    snap: PoolIndex,
    req: Requirements,
    cand: Candidates,
    chosen: IntArray,
    node_counts: Sequence[int],
    scores: FloatArray,
    hazard_bounds: tuple[FloatArray, FloatArray],
    capacity_and_flags: tuple[FloatArray, IntArray],
    now_ts: float,
) -> tuple[RankedPool, ...]:
    """The returned pools as RankedPool: the only step that builds Python objects per pool.

    `chosen` are the returned candidates' positions, best first, with the nodes each carries
    (`node_counts`), their `scores`, λ's interval (`hazard_bounds`: low, high) and their
    capacity with its flag bits. Every column is read for the returned rows at once (a numpy
    gather, one `tolist`); the loop only assembles the objects."""
    rows_c = cand.rows[chosen]
    spot_c = cand.spot[chosen]
    lows, highs = hazard_bounds
    capacities, capacity_flags = capacity_and_flags
    ages = zip(
        *(_ages(now_ts, column[rows_c]) for column in (
            snap.spot_at, snap.on_demand_at, snap.interruption_at, snap.capacity_at,
            snap.fleet_at)),
        strict=True,
    )  # fmt: skip
    error_hours = np.maximum(now_ts - snap.capacity_error_at[rows_c], 0.0) / 3600.0
    error_weights = cap.ice_weight(snap.ice_errors[rows_c], error_hours)
    stale_after = INTERRUPTION_TTL_HOURS * 3600
    old_on_demand_after = req.max_price_age_hours * 3600
    misses_notice = {cloud: lost_hours(cloud, req) > req.restart_overhead_minutes / 60.0
                     for cloud in snap.clouds}  # fmt: skip
    columns = zip(
        node_counts,
        [snap.records[r] for r in rows_c.tolist()],
        spot_c.tolist(),
        cand.price[chosen].tolist(),
        cand.rate[chosen].tolist(),
        lows.tolist(),
        highs.tolist(),
        cand.lost[chosen].tolist(),
        cand.useful[chosen].tolist(),
        cand.effective[chosen].tolist(),
        capacities.tolist(),
        capacity_flags.tolist(),
        scores.tolist(),
        _optional(snap.on_demand_price[rows_c]),
        _optional(snap.gpu_memory_gib[rows_c]),
        _optional(snap.spot_price[rows_c]),
        _optional(snap.zone_price_ratio[rows_c]),
        snap.hazard_default[rows_c].tolist(),
        snap.hazard_prior[rows_c].tolist(),
        snap.zone_signal[rows_c].tolist(),
        _optional(error_hours),
        error_weights.tolist(),
        ages,
        strict=True,
    )
    out: list[RankedPool] = []
    for rank_no, column in enumerate(columns, 1):
        nodes, rec, is_spot, price, rate, low, high, lost, useful, effective = column[:10]
        capacity, bits, row_score, od_list, gpu_memory, spot_price, ratio = column[10:17]
        defaulted, prior_rate, zone_signal, error_age, error_weight, age_row = column[17:]
        key = rec.key
        discount = req.on_demand_discounts.discount_for(key.cloud, key.region, rec.family)
        od = None if od_list is None else od_list * (1.0 - discount)
        ages_of = SignalAges(*age_row)
        # Provenance (the stored row's source) and kind (the conversion) stay apart: a simulated
        # advisor-style bucket converts like an advisor bucket but says "sim".
        hazard = Hazard(
            rate=rate,
            low=low,
            high=high,
            source=(
                ("default" if defaulted else rec.interruption_source or "default")
                if is_spot
                else "on-demand"
            ),
            kind=(
                ("default" if defaulted else _signal_kind(rec) or "default")
                if is_spot
                else "on-demand"
            ),
            label=rec.interruption_label if is_spot else None,
            fleet_updated=is_spot and rec.fleet_instance_hours > 0,
        )
        prior = prior_rate if is_spot else None
        flags: list[str] = []
        if is_spot:
            if defaulted:
                flags.append("no-interruption-signal")
            elif ages_of.interruption is None or ages_of.interruption > stale_after:
                flags.append("stale-interruption")
            if rec.fleet_instance_hours > 0:
                flags.append("fleet-evidence")
            if misses_notice[key.cloud]:
                flags.append("final-checkpoint-misses-notice")
            volatility = rec.spot_price_volatility
            if volatility is not None and volatility > VOLATILITY_FLAG_CV:
                flags.append("volatile-price")
            if od_list is None:
                flags.append("no-on-demand-price")
        elif ages_of.on_demand_price is not None and ages_of.on_demand_price > old_on_demand_after:
            flags.append("old-on-demand-price")
        flags += _record_flags(rec, bits, zone_signal)
        out.append(
            RankedPool(
                rank=rank_no,
                key=key,
                capacity_type="spot" if is_spot else "on-demand",
                nodes=int(nodes),
                family=rec.family,
                vcpus=int(rec.vcpus),
                memory_gib=float(rec.memory_gib),
                arch=rec.arch,
                gpu_count=int(rec.gpu_count),
                gpu_model=rec.gpu_model,
                gpu_class=_gpu_class(rec.gpu_model),
                gpu_memory_gib=gpu_memory,
                price=price,
                spot_price=spot_price,
                on_demand_price=od,
                on_demand_list_price=od_list,
                on_demand_discount=discount,
                savings=(1.0 - price / od) if od else None,
                price_volatility=(
                    None if rec.spot_price_volatility is None else float(rec.spot_price_volatility)
                ),
                hazard=hazard,
                lost_hours_per_interruption=lost,
                useful_fraction=useful,
                effective_cost=effective,
                capacity=capacity,
                capacity_basis="none"
                if bits & cap.FLAG_MISSING
                else ("zonal" if rec.capacity_zonal else "regional"),
                capacity_raw=rec.capacity_raw,
                zone_price_ratio=ratio,
                score=row_score,
                ages=ages_of,
                sources=rec.sources,
                simulated=rec.simulated,
                flags=tuple(flags),
                hazard_prior=prior,
                fleet=_fleet_evidence(rec, prior, hazard.rate, capacity, error_age, error_weight),
            )
        )
    return tuple(out)


def _fleet_evidence(
    rec: PoolRecord,
    prior: float | None,
    rate: float,
    capacity: float,
    error_age_hours: float | None,
    error_weight: float,
) -> FleetEvidence | None:
    """What the pool's own fleet evidence moved: λ from `prior` to `rate`, and c down to
    `capacity` (the ICE penalty of `error_weight` full-strength errors undone for the
    "before")."""
    if not (
        rec.fleet_interruptions > 0 or rec.fleet_instance_hours > 0 or rec.fleet_capacity_errors > 0
    ):
        return None
    factor = cap.ICE_PENALTY_PER_EVENT**error_weight
    return FleetEvidence(
        interruptions=rec.fleet_interruptions,
        instance_hours=rec.fleet_instance_hours,
        capacity_errors=rec.fleet_capacity_errors,
        newest_error_age_hours=error_age_hours,
        prior_rate=prior,
        rate=None if prior is None else rate,
        capacity_before_errors=min(capacity / factor, 1.0),
        capacity=capacity,
        capacity_error_weight=error_weight,
    )


_CAPACITY_FLAGS: Final = (
    (cap.FLAG_MISSING, "no-capacity-signal"),
    (cap.FLAG_STALE, "stale-capacity"),
    (cap.FLAG_REGIONAL, "regional-capacity"),
    (cap.FLAG_ICE, "recent-capacity-errors"),
    (cap.FLAG_ZONE_PREMIUM, "zone-price-premium"),
)


def _record_flags(rec: PoolRecord, bits: int, zone_signal: bool) -> list[str]:
    """The flags of one returned offering that its pool decides, whatever the capacity type;
    `bits` are its capacity flags (cap.FLAG_*)."""
    flags: list[str] = []
    od_source = rec.on_demand_source
    if od_source is not None and od_source.endswith(DERIVED_SOURCE_SUFFIX):
        flags.append("derived-on-demand-price")
    if rec.key.zone_id == "":
        flags.append("regional-pool")  # priced per region: the zone is left open
    flags += [name for bit, name in _CAPACITY_FLAGS if bits & bit]
    if not zone_signal:  # its place among its type's zones falls to the zone ID
        flags.append("no-zone-signal")
    return flags
