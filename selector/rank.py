"""`rank(snapshot, requirements, *, now)`: the ranking pipeline.

filters (with reasons) -> hazard -> cost -> capacity -> strategy order -> shortlist ->
diversify -> explain (`selector.explain`). Everything up to the shortlist is vectorised over
the snapshot's columns; Python only runs over the shortlisted candidates.
"""

from __future__ import annotations

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
from selector.diversify import constraints_of, diversify
from selector.errors import PoolIndexError
from selector.explain import explain_pools
from selector.filters import FilterResult, apply_filters
from selector.hazard import INTERRUPTION_TTL_HOURS, UNKNOWN_PROBABILITY
from selector.hazard import UNKNOWN_EXPOSURE_HOURS as _UNKNOWN_EXPOSURE
from selector.known import check_known_names, prepare_known_names
from selector.ordering import describe_ordering, rank_one_note
from selector.pool_index import PoolIndex
from selector.requirements import Requirements
from selector.results import RankedPool, Ranking
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
# A stale interruption signal keeps its point estimate but its upper bound widens to the
# unknown-signal ceiling: we no longer know it has not got worse.
_STALE_HAZARD_HIGH: Final = -math.log1p(-UNKNOWN_PROBABILITY[2]) / _UNKNOWN_EXPOSURE


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
    positions = np.asarray(selection.chosen, dtype=np.int64)
    chosen = shortlist[positions]
    returned_rows = cand.rows[chosen]
    # λ's interval and capacity are needed for the returned rows only (`_score` leaves them out).
    _, lows, highs = _hazard_step(snapshot, returned_rows, cand.spot[chosen], now_ts)
    pools = explain_pools(
        snapshot,
        requirements,
        cand,
        chosen,
        selection.nodes,
        score[positions],
        (lows, highs),
        _capacity_step(snapshot, returned_rows, now_ts),
        now_ts,
    )
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
