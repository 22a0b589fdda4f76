"""Effective cost per useful hour, and when spot stops paying off versus on-demand.

Each interruption loses L hours: the restart overhead, plus half a checkpoint interval of
work when the final checkpoint cannot be written inside the part of the cloud's notice a
preStop hook gets (`FINAL_CHECKPOINT_WINDOW_SECONDS`, the window the outputs use too). The
useful fraction is u = 1 - λ·L (floored), and a spot pool costs price / u per useful hour.
On-demand pools are never interrupted by the cloud, so u = 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.hazard import FINAL_CHECKPOINT_WINDOW_SECONDS
from selector.pools import PoolKey
from selector.requirements import Requirements

__all__ = [
    "MIN_USEFUL_FRACTION",
    "SpotVerdict",
    "lost_hours",
    "spot_verdict",
    "useful_fraction",
    "with_rank_one_note",
]

FloatArray = npt.NDArray[np.float64]

# Below 5 % useful time spot is hopeless anyway; the floor keeps price / u finite and ordered.
MIN_USEFUL_FRACTION: Final = 0.05
# Unknown cloud: assume the shortest window any cloud gives.
DEFAULT_CHECKPOINT_WINDOW_SECONDS: Final = min(FINAL_CHECKPOINT_WINDOW_SECONDS.values())


def lost_hours(cloud: str, req: Requirements) -> float:
    """Hours of work lost per interruption on `cloud` for this workload."""
    window = FINAL_CHECKPOINT_WINDOW_SECONDS.get(cloud, DEFAULT_CHECKPOINT_WINDOW_SECONDS)
    lost = req.restart_overhead_minutes / 60.0
    if req.final_checkpoint_seconds > window:
        # No final checkpoint: on average half an interval since the last one is lost.
        lost += req.checkpoint_interval_minutes / 2.0 / 60.0
    return lost


def useful_fraction(rate: FloatArray, lost: FloatArray) -> FloatArray:
    """u = 1 - λ·L, floored at MIN_USEFUL_FRACTION."""
    u: FloatArray = np.maximum(1.0 - rate * lost, MIN_USEFUL_FRACTION)
    return u


@dataclass(frozen=True, slots=True)
class SpotVerdict:
    """Best spot effective cost versus best on-demand price among matching pools."""

    spot_pays_off: bool | None  # None when one side has no price
    best_spot_pool: PoolKey | None
    best_spot_price: float | None
    best_spot_effective_cost: float | None
    best_on_demand_pool: PoolKey | None
    best_on_demand_price: float | None  # what it costs the user: list × (1 − discount)
    savings_fraction: float | None  # 1 - spot effective / on-demand
    # λ at which the best spot pool's effective cost would equal the on-demand price.
    break_even_hazard: float | None
    message: str
    best_on_demand_list_price: float | None = None
    on_demand_discount: float = 0.0  # fraction off list of the best on-demand pool
    best_spot_hazard: float | None = None  # λ of the best spot pool, interruptions/h
    # Why the ranking's rank 1 is not `best_spot_pool` (None when it is); also in `message`.
    rank_one_note: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "spot_pays_off": self.spot_pays_off,
            "best_spot_pool": self.best_spot_pool.to_dict() if self.best_spot_pool else None,
            "best_spot_price": self.best_spot_price,
            "best_spot_effective_cost": self.best_spot_effective_cost,
            "best_on_demand_pool": (
                self.best_on_demand_pool.to_dict() if self.best_on_demand_pool else None
            ),
            "best_on_demand_price": self.best_on_demand_price,
            "best_on_demand_list_price": self.best_on_demand_list_price,
            "on_demand_discount": self.on_demand_discount,
            "best_spot_hazard": self.best_spot_hazard,
            "rank_one_note": self.rank_one_note,
            "savings_fraction": self.savings_fraction,
            "break_even_hazard": self.break_even_hazard,
            "message": self.message,
        }


def spot_verdict(
    *,
    spot: tuple[PoolKey, float, float, float, float] | None,
    on_demand: tuple[PoolKey, float] | None,
    on_demand_discount: float = 0.0,
) -> SpotVerdict:
    """Compare (key, price, effective, λ, L) of the best spot pool with (key, price) on-demand,
    where the on-demand price is what the user pays: list × (1 − `on_demand_discount`)."""
    od_list = None if on_demand is None else on_demand[1] / (1.0 - on_demand_discount)
    # Named in every message that quotes the price, so a flipped verdict explains itself.
    od_terms = (
        f" (list {od_list:.4f} $/h less your {on_demand_discount:.0%} discount)"
        if od_list is not None and on_demand_discount > 0
        else ""
    )
    if spot is None or on_demand is None:
        missing = "spot" if spot is None else "on-demand"
        return SpotVerdict(
            spot_pays_off=None,
            best_spot_pool=spot[0] if spot else None,
            best_spot_price=spot[1] if spot else None,
            best_spot_effective_cost=spot[2] if spot else None,
            best_on_demand_pool=on_demand[0] if on_demand else None,
            best_on_demand_price=on_demand[1] if on_demand else None,
            savings_fraction=None,
            break_even_hazard=None,
            message=f"cannot compare: no matching {missing} pool with a current price",
            best_on_demand_list_price=od_list,
            on_demand_discount=on_demand_discount,
            best_spot_hazard=spot[3] if spot else None,
        )
    key, price, effective, rate, lost = spot
    od_key, od_price = on_demand
    savings = 1.0 - effective / od_price
    # price / (1 - λ*·L) = od  =>  λ* = (1 - price / od) / L
    break_even = (1.0 - price / od_price) / lost if lost > 0 and price < od_price else None
    pays = effective < od_price
    if pays:
        message = (
            f"spot pays off: {effective:.4f} $/useful-h on {key.instance_type} vs on-demand "
            f"{od_price:.4f} $/h{od_terms} ({savings:.0%} saved)"
        )
        if break_even is not None:
            message += (
                f"; it stops paying above {break_even:.3g} interruptions/h (now {rate:.3g}/h)"
            )
    else:
        message = (
            f"spot does not pay off: best spot costs {effective:.4f} $/useful-h vs on-demand "
            f"{od_price:.4f} $/h on {od_key.instance_type}{od_terms}; use on-demand"
        )
    return SpotVerdict(
        spot_pays_off=pays,
        best_spot_pool=key,
        best_spot_price=price,
        best_spot_effective_cost=effective,
        best_on_demand_pool=od_key,
        best_on_demand_price=od_price,
        savings_fraction=savings,
        break_even_hazard=break_even,
        message=message,
        best_on_demand_list_price=od_list,
        on_demand_discount=on_demand_discount,
        best_spot_hazard=rate,
    )


def with_rank_one_note(verdict: SpotVerdict, note: str | None) -> SpotVerdict:
    """The verdict saying why rank 1 differs from its best spot pool (unchanged if it does not)."""
    if note is None:
        return verdict
    return replace(verdict, rank_one_note=note, message=f"{verdict.message}. {note}")
