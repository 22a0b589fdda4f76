"""Weekly report sections computed from rankings and fleet records: the movers of the week,
the hazard heat map, and the fallback accounting (requested versus realized capacity type).

Pure functions over `Ranking`s and `selector.outputs.report_model` inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from selector.outputs.profile import OutputProfile
from selector.outputs.report_model import (
    CapacityAccount,
    FallbackAccount,
    HeatCell,
    Mover,
    NodeLifetime,
    SpotCandidate,
    WeekInputs,
)
from selector.pools import PoolKey
from selector.results import RankedPool, Ranking

__all__ = [
    "BACK_TO_SPOT_TOP",
    "MIN_MOVE",
    "MOVERS_TOP",
    "fallback_account",
    "heat_map",
    "movers",
    "profile_nodes",
]

# Movers listed per metric (price, hazard, capacity): a report is read in minutes; five per
# metric is what fits on a screen beside the charts.
MOVERS_TOP: Final = 5
# A relative change below this is noise: spot prices drift ~4 % a month (bench/zone_signals.py),
# i.e. about 1 % a week.
MIN_MOVE: Final = 0.01
# Spot pools listed as able to take on-demand work back.
BACK_TO_SPOT_TOP: Final = 5
# What a profile asks for first: its spot NodePool has the higher weight (DEFAULT_SPOT_WEIGHT).
REQUESTED: Final = "spot"
FALLBACK: Final = "on-demand"
UNKNOWN: Final = "unknown"
_SECONDS_PER_HOUR: Final = 3600.0

_METRICS: Final[tuple[tuple[str, Callable[[RankedPool], float | None]], ...]] = (
    ("price", lambda p: p.spot_price),
    ("hazard", lambda p: p.hazard.rate),
    ("capacity", lambda p: p.capacity),
)


def _spot(ranking: Ranking | None) -> dict[PoolKey, RankedPool]:
    if ranking is None:
        return {}
    return {p.key: p for p in ranking.pools if p.capacity_type == "spot"}


def movers(
    start: Ranking | None, end: Ranking | None, *, top: int = MOVERS_TOP
) -> tuple[Mover, ...]:
    """Per metric, the pools whose value moved most (relative change) between the week's start
    and end, largest first; pools present at only one end are not compared."""
    before, after = _spot(start), _spot(end)
    out: list[Mover] = []
    for metric, value in _METRICS:
        moved = []
        for key in sorted(before.keys() & after.keys()):
            a, b = value(before[key]), value(after[key])
            if a is None or b is None or a <= 0:
                continue
            change = b / a - 1.0
            if abs(change) >= MIN_MOVE:
                moved.append(Mover(key, metric, a, b, change))
        moved.sort(key=lambda m: (-abs(m.change), m.key))
        out.extend(moved[:top])
    return tuple(out)


def heat_map(ranking: Ranking, types: Sequence[str]) -> tuple[HeatCell, ...]:
    """λ of every (type, zone) spot pool of `types` the ranking lists; a zone none of the
    types is ranked in is left out, a missing pair is a cell without a value."""
    pools = _spot(ranking)
    wanted = set(types)
    zones = sorted({k.zone_id for k in pools if k.instance_type in wanted})
    hazard = {(k.instance_type, k.zone_id): p.hazard.rate for k, p in pools.items()}
    return tuple(HeatCell(t, z, hazard.get((t, z))) for t in types for z in zones)


def profile_nodes(profile: OutputProfile, nodes: Sequence[NodeLifetime]) -> list[NodeLifetime]:
    """The profile's nodes: Karpenter names a NodeClaim `<nodepool name>-<suffix>`, and the
    profile's NodePools are `<nodepool>-spot` and `<nodepool>-on-demand`."""
    prefixes = (f"{profile.spot_pool_name}-", f"{profile.on_demand_pool_name}-")
    return [n for n in nodes if n.nodeclaim and n.nodeclaim.startswith(prefixes)]


def _hours(node: NodeLifetime, start: datetime, cut: datetime) -> float:
    if node.launched_at is None:
        return 0.0
    begin = max(node.launched_at, start)
    end = min(node.ended_at or cut, cut)
    return max((end - begin).total_seconds(), 0.0) / _SECONDS_PER_HOUR


def fallback_account(
    profile: OutputProfile, inputs: WeekInputs, spot: Ranking | None
) -> FallbackAccount:
    """Node-hours of the profile's nodes in the week per realized capacity type; the hours on
    on-demand are fallback (the profile asked for spot first), and the spot pools whose
    effective cost beats on-demand now could take that work back."""
    mine = profile_nodes(profile, inputs.nodes)
    hours: dict[str, float] = {}
    counts: dict[str, int] = {}
    for node in mine:
        kind = node.capacity_type or UNKNOWN
        hours[kind] = hours.get(kind, 0.0) + _hours(node, inputs.start, inputs.cut)
        counts[kind] = counts.get(kind, 0) + 1
    total = sum(hours.values())
    return FallbackAccount(
        requested=REQUESTED,
        nodes=len(mine),
        accounts=tuple(CapacityAccount(k, counts[k], hours[k]) for k in sorted(hours)),
        fallback_hours=hours.get(FALLBACK, 0.0),
        spot_share=hours.get(REQUESTED, 0.0) / total if total > 0 else None,
        back_to_spot=_back_to_spot(spot),
    )


def _back_to_spot(spot: Ranking | None) -> tuple[SpotCandidate, ...]:
    if spot is None:
        return ()
    out = []
    for pool in _spot(spot).values():
        on_demand = spot.verdict.best_on_demand_price or pool.on_demand_price
        if on_demand is not None and pool.effective_cost < on_demand:
            out.append(SpotCandidate(pool.key, pool.price, pool.effective_cost, on_demand))
    out.sort(key=lambda c: (c.effective_cost, c.key))
    return tuple(out[:BACK_TO_SPOT_TOP])
