"""`rank(snapshot, requirements, *, now)`: the ranking pipeline.

filters (with reasons) -> hazard -> cost -> capacity -> strategy order -> shortlist ->
diversify -> explain. Everything up to the shortlist is vectorised over the snapshot's
columns; Python only runs over the shortlisted candidates.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from selector import capacity as cap
from selector.cost import (
    SpotVerdict,
    lost_hours,
    spot_verdict,
    useful_fraction,
    with_rank_one_note,
)
from selector.discounts import on_demand_discount_by_row
from selector.diversify import Selection, constraints_of, diversify
from selector.errors import PoolIndexError
from selector.evidence import FleetEvidence
from selector.filters import FilterResult, apply_filters
from selector.gpus import gpu_class_of
from selector.hazard import INTERRUPTION_TTL_HOURS, UNKNOWN_PROBABILITY, Hazard, signal_kind
from selector.hazard import UNKNOWN_EXPOSURE_HOURS as _UNKNOWN_EXPOSURE
from selector.known import check_known_names, prepare_known_names
from selector.ordering import describe_ordering, rank_one_note
from selector.pool_index import PoolIndex
from selector.pools import PoolRecord
from selector.requirements import Requirements
from selector.results import RankedPool, Ranking, SignalAges
from selector.strategies import Candidates, order_candidates, tie_places

__all__ = ["prepare", "rank"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Diversification looks at the best `top × 10` offerings (at least 256) plus the best offering
# of every instance type, family and zone, so diversity is reachable without scanning all.
SHORTLIST_FACTOR: Final = 10
SHORTLIST_MIN: Final = 256
# One node: rank from the best `top x 10` candidates alone when they show the types and zones
# asked (`_one_node_shortlist`; the same answer, without finding every type's and zone's best).
HEAD_ONLY_FOR_ONE_NODE: Final = True
# A 7-day coefficient of variation above 20 % means the price is moving: flagged.
VOLATILITY_FLAG_CV: Final = 0.2
# An on-demand price whose row source ends so was computed (e.g. from spot price and advisor
# savings), not read from a price list: flagged `derived-on-demand-price`.
DERIVED_SOURCE_SUFFIX: Final = "-derived"
# A stale interruption signal keeps its point estimate but its upper bound widens to the
# unknown-signal ceiling: we no longer know it has not got worse.
_STALE_HAZARD_HIGH: Final = -math.log1p(-UNKNOWN_PROBABILITY[2]) / _UNKNOWN_EXPOSURE
# The class of a raw GPU model name, memoised: parsing the name is pure, and a snapshot holds a
# few dozen distinct names against thousands of returned pools a minute.
_gpu_class = functools.lru_cache(maxsize=1024)(gpu_class_of)


def prepare(snapshot: PoolIndex) -> None:
    """Compute now what every ranking over `snapshot` shares (time-invariant capacity, the tie
    order, the known names), so the first request after a load does not pay for it (~50 ms
    at 300k pools)."""
    snapshot.memo("capacity", _static_capacity)
    snapshot.memo("tie_places", _tie_places)
    prepare_known_names(snapshot)


def rank(snapshot: PoolIndex, requirements: Requirements, *, now: datetime) -> Ranking:
    """Rank every pool of `snapshot` for `requirements` as of `now` (tz-aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise PoolIndexError(f"now must be timezone-aware (UTC), got naive {now.isoformat()}")
    check_known_names(snapshot, requirements)  # an unknown region is an error, not an empty list
    now_ts = now.timestamp()
    filt = apply_filters(snapshot, requirements, now_ts=now_ts)
    cand = _score(snapshot, requirements, filt.spot_rows, filt.on_demand_rows, now_ts)
    types = snapshot.type_code[cand.rows]
    zones = snapshot.zone_code[cand.rows]
    rows = cand.rows

    def family_at(idx: IntArray) -> IntArray:
        return snapshot.family_code[rows[idx]]

    nested = snapshot.one_family_per_type  # then a family's best pool is one of its types'
    head = max(SHORTLIST_MIN, requirements.top * SHORTLIST_FACTOR)
    one_node = _one_node_shortlist(requirements, cand, head, types, zones)
    if one_node is not None:
        shortlist, score = one_node
    else:
        shortlist, score = order_candidates(
            requirements.strategy,
            cand,
            head=head,
            groups=(types, zones) if nested else (types, family_at(np.arange(cand.size)), zones),
            nested_groups=(family_at,) if nested else (),
            tie_band=requirements.cost_tie_band,
        )
    selection = diversify(
        types[shortlist].tolist(),
        family_at(shortlist).tolist(),
        zones[shortlist].tolist(),
        constraints_of(requirements),
        market_types=int(np.count_nonzero(np.bincount(types))),
    )
    pools = _explain(snapshot, requirements, cand, score, shortlist, selection, now_ts)
    return Ranking(
        requirements=requirements,
        strategy=requirements.strategy,
        now=now,
        snapshot_built_at=snapshot.built_at,
        snapshot_size=snapshot.size,
        candidates=filt.candidates,
        pools=pools,
        exclusions=filt.exclusions,
        unmet=selection.unmet,
        verdict=_with_rank_one(
            _verdict(snapshot, requirements, filt, cand, now_ts), requirements, pools
        ),
        ordering=describe_ordering(requirements),
        notes=(selection.note,) if selection.note else (),
    )


def _one_node_shortlist(
    req: Requirements, cand: Candidates, head: int, types: IntArray, zones: IntArray
) -> tuple[IntArray, FloatArray] | None:
    """For one node, the best `head` candidates alone (and their scores), when they show the
    types and zones asked; else None.

    One node goes to the best candidate, and the list then adds the first candidates of new
    types and zones until it shows those asked, then the best others up to `top` (<= head):
    when the head shows them, the best candidate of every other type and zone (what the full
    shortlist adds after the head) is never reached, so it need not be found and sorted.
    """
    if not HEAD_ONLY_FOR_ONE_NODE or req.nodes != 1:
        return None
    shortlist, score = order_candidates(req.strategy, cand, head=head, tie_band=req.cost_tie_band)
    shown = (np.unique(types[shortlist]).size, np.unique(zones[shortlist]).size)
    if shown[0] < req.min_instance_types or shown[1] < req.min_zones:
        return None
    return shortlist, score


# --- hazard -> cost -> capacity ----------------------------------------------------------


def _hazard_step(
    snap: PoolIndex, rows: IntArray, spot: npt.NDArray[np.bool_], now_ts: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """λ with interval per offering: precomputed for spot, zero for on-demand."""
    stale = ~((now_ts - snap.interruption_at[rows]) / 3600.0 <= INTERRUPTION_TTL_HOURS)
    high = np.where(
        stale, np.maximum(snap.hazard_high[rows], _STALE_HAZARD_HIGH), snap.hazard_high[rows]
    )
    zero = np.zeros(rows.size)
    return (
        np.where(spot, snap.hazard_rate[rows], zero),
        np.where(spot, snap.hazard_low[rows], zero),
        np.where(spot, high, zero),
    )


def _cost_step(
    snap: PoolIndex,
    req: Requirements,
    rows: IntArray,
    spot: npt.NDArray[np.bool_],
    rate: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(price, L, u, effective cost) per offering; on-demand has u = 1 and is priced at
    list × (1 − the request's discount), what the user really pays. Spot offerings come first
    in `rows` (as `_score` lays them out)."""
    n_spot = int(np.count_nonzero(spot))
    spot_rows, od_rows = rows[:n_spot], rows[n_spot:]
    lost = np.zeros(rows.size)
    price = np.empty(rows.size)
    if n_spot:
        lost_by_cloud = np.array([lost_hours(c, req) for c in snap.clouds] or [0.0])
        if (lost_by_cloud == lost_by_cloud[0]).all():  # one workload loss everywhere: no gather
            lost[:n_spot] = lost_by_cloud[0]
        else:
            lost[:n_spot] = lost_by_cloud[snap.cloud_code[spot_rows]]
        price[:n_spot] = snap.spot_price[spot_rows]
    if req.on_demand_discounts:
        discount = on_demand_discount_by_row(snap, od_rows, req.on_demand_discounts)
        price[n_spot:] = snap.on_demand_price[od_rows] * (1.0 - discount)
    else:
        price[n_spot:] = snap.on_demand_price[od_rows]
    useful = useful_fraction(rate, lost)
    return price, lost, useful, price / useful


def _capacity_step(snap: PoolIndex, rows: IntArray, now_ts: float) -> tuple[FloatArray, IntArray]:
    """Capacity and its flags at `now_ts`: the time-invariant value where it holds, computed
    afresh only for the rows whose score has aged past its TTL or that carry ICE errors."""
    static, static_flags, expires = snap.memo("capacity", _static_capacity)
    capacity, flags = static[rows], static_flags[rows]
    moving = np.flatnonzero(~(now_ts < expires[rows]))
    if moving.size:
        capacity[moving], flags[moving] = _capacity_now(snap, rows[moving], now_ts)
    return capacity, flags


def _capacity_now(snap: PoolIndex, rows: IntArray, now_ts: float) -> tuple[FloatArray, IntArray]:
    return cap.capacity_arrays(
        snap.capacity_score[rows],
        snap.capacity_zonal[rows],
        (now_ts - snap.capacity_at[rows]) / 3600.0,
        snap.ice_errors[rows],
        (now_ts - snap.capacity_error_at[rows]) / 3600.0,
        zone_penalty=snap.zone_penalty[rows],
    )


def _static_capacity(snap: PoolIndex) -> tuple[FloatArray, IntArray, FloatArray]:
    """Capacity, flags and the time until which both hold, per row.

    A dated score counts in full until it is CAPACITY_TTL_HOURS old and an undated one not at
    all, so without ICE errors c does not move until then; rows with errors fade, so they are
    always recomputed (expiry -inf). A second's margin leaves the TTL boundary to the formula."""
    at = snap.capacity_at
    dated = ~np.isnan(at)
    errors = np.nan_to_num(snap.ice_errors, nan=0.0) > 0
    capacity, flags = cap.capacity_arrays(
        snap.capacity_score,
        snap.capacity_zonal,
        np.where(dated, 0.0, np.nan),
        np.zeros(snap.size),
        np.full(snap.size, np.nan),
        zone_penalty=snap.zone_penalty,
    )
    expires = np.where(dated, at + cap.CAPACITY_TTL_HOURS * 3600.0 - 1.0, np.inf)
    expires[errors] = -np.inf
    return capacity, flags, expires


def _score(
    snap: PoolIndex, req: Requirements, spot_rows: IntArray, od_rows: IntArray, now_ts: float
) -> Candidates:
    """What orders every candidate: price, λ and the effective cost. The rest of the hazard
    (its interval) and capacity are per-row functions of the snapshot, so they are computed
    only for the candidates that are sorted or returned (`Candidates.capacity_of`, `_explain`)."""
    rows = np.concatenate([spot_rows, od_rows])
    spot = np.zeros(rows.size, dtype=bool)
    spot[: spot_rows.size] = True
    rate = np.zeros(rows.size)
    rate[: spot_rows.size] = snap.hazard_rate[spot_rows]
    price, lost, useful, effective = _cost_step(snap, req, rows, spot, rate)

    def capacity_of(idx: IntArray) -> FloatArray:
        return _capacity_step(snap, rows[idx], now_ts)[0]

    return Candidates(
        rows, spot, price, rate, lost, useful, effective, capacity_of,
        tie_place=snap.memo("tie_places", _tie_places),
    )  # fmt: skip


def _tie_places(snap: PoolIndex) -> IntArray:
    return tie_places(snap.zone_price_ratio, snap.spot_volatility)


# --- shortlist, explanation, verdict ----------------------------------------------------------


def _signal_kind(rec: PoolRecord) -> str | None:
    return signal_kind(rec.interruption_source, rec.interruption_label, rec.interruption_value)


def _optional(values: FloatArray) -> list[float | None]:
    """The values as Python floats, NaN as None."""
    return [None if v != v else v for v in values.tolist()]  # NaN != NaN


def _ages(now_ts: float, at: FloatArray) -> list[float | None]:
    """Seconds since each time in `at` (never negative); None where it is unknown."""
    return _optional(np.maximum(now_ts - at, 0.0))


def _explain(
    snap: PoolIndex,
    req: Requirements,
    cand: Candidates,
    score: FloatArray,
    shortlist: IntArray,
    selection: Selection,
    now_ts: float,
) -> tuple[RankedPool, ...]:
    """The returned pools as RankedPool: the only step that builds Python objects per pool.

    Every column is read for the returned rows at once (a numpy gather, one `tolist`); the
    loop only assembles the objects."""
    positions = np.asarray(selection.chosen, dtype=np.int64)
    chosen = shortlist[positions]
    rows_c = cand.rows[chosen]
    spot_c = cand.spot[chosen]
    # λ's interval and capacity are needed for these rows only (`_score` leaves them out).
    _, lows, highs = _hazard_step(snap, rows_c, spot_c, now_ts)
    capacities, capacity_flags = _capacity_step(snap, rows_c, now_ts)
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
        selection.nodes,
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
        score[positions].tolist(),
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


def _with_rank_one(
    verdict: SpotVerdict, req: Requirements, pools: tuple[RankedPool, ...]
) -> SpotVerdict:
    """The verdict saying why rank 1 is not its best spot pool, when it is not."""
    if not pools:
        return verdict
    first = pools[0]
    note = rank_one_note(
        req,
        best_spot=verdict.best_spot_pool,
        best_effective=verdict.best_spot_effective_cost,
        best_rate=verdict.best_spot_hazard,
        first=first.key,
        first_spot=first.capacity_type == "spot",
        first_price=first.price,
        first_effective=first.effective_cost,
        first_rate=first.hazard.rate,
        first_capacity=first.capacity,
    )
    return with_rank_one_note(verdict, note)


def _verdict(
    snap: PoolIndex, req: Requirements, filt: FilterResult, cand: Candidates, now_ts: float
) -> SpotVerdict:
    """Best spot effective cost vs best on-demand price over all matching pools.

    The fresh rows hold the eligible ones (those under max_price, when the capacity type is
    asked): when they are as many, they are the same rows and the candidates' costs serve."""
    n_spot = int(filt.spot_rows.size)
    rows = filt.fresh_spot_rows
    best_spot = None
    if rows.size:
        if rows.size == n_spot:
            price, lost, effective = (
                cand.price[:n_spot],
                cand.lost[:n_spot],
                cand.effective[:n_spot],
            )
            rate = cand.rate[:n_spot]
        else:
            spot = np.ones(rows.size, dtype=bool)
            rate = np.array(snap.hazard_rate[rows], dtype=np.float64)
            price, lost, _, effective = _cost_step(snap, req, rows, spot, rate)
        j = int(np.argmin(effective))  # first minimum = lowest key: deterministic
        best_spot = (
            snap.records[int(rows[j])].key,
            float(price[j]),
            float(effective[j]),
            float(rate[j]),
            float(lost[j]),
        )
    od_rows = filt.fresh_on_demand_rows
    best_od = None
    od_discount = 0.0
    if od_rows.size:
        discount = on_demand_discount_by_row(snap, od_rows, req.on_demand_discounts)
        if od_rows.size == filt.on_demand_rows.size:
            paid = cand.price[n_spot:]  # the same rows, priced the same way in `_cost_step`
        else:
            paid = snap.on_demand_price[od_rows] * (1.0 - discount)  # what on-demand costs
        k = int(np.argmin(paid))
        best_od = (snap.records[int(od_rows[k])].key, float(paid[k]))
        od_discount = float(discount[k])
    return spot_verdict(spot=best_spot, on_demand=best_od, on_demand_discount=od_discount)
