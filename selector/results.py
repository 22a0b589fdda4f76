"""What a ranking returns: frozen dataclasses of plain Python values, each with `to_dict()`.

Every returned pool carries its full score breakdown and the age of every signal used;
the ranking carries the exclusion counts, the unmet constraints and the spot verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from selector.cost import SpotVerdict
from selector.diversify import UnmetConstraint
from selector.evidence import FleetEvidence
from selector.filters import SIMULATED_EXCLUSION, Exclusion
from selector.hazard import Hazard
from selector.ordering import Ordering
from selector.pools import PoolKey
from selector.requirements import Requirements

__all__ = ["RankedPool", "Ranking", "SignalAges"]


@dataclass(frozen=True, slots=True)
class SignalAges:
    """Age in seconds of each signal at `now`; None = the signal is absent."""

    spot_price: float | None
    on_demand_price: float | None
    interruption: float | None
    capacity: float | None
    fleet: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "spot_price": self.spot_price,
            "on_demand_price": self.on_demand_price,
            "interruption": self.interruption,
            "capacity": self.capacity,
            "fleet": self.fleet,
        }


@dataclass(frozen=True, slots=True)
class RankedPool:
    """One offering (pool × capacity type) of the answer, with its score breakdown."""

    rank: int  # 1 = best
    key: PoolKey
    capacity_type: str  # "spot" | "on-demand"
    nodes: int  # suggested node count of the `nodes` target
    family: str
    vcpus: int
    memory_gib: float
    arch: str
    gpu_count: int
    gpu_model: str | None
    gpu_class: str | None
    gpu_memory_gib: float | None
    price: float  # $/h of this offering
    spot_price: float | None
    on_demand_price: float | None  # what on-demand costs the user: list × (1 − discount)
    savings: float | None  # 1 - price / on-demand price (the discounted one)
    price_volatility: float | None
    hazard: Hazard  # on-demand offerings: rate 0, source "on-demand"
    lost_hours_per_interruption: float
    useful_fraction: float
    effective_cost: float  # $ per useful hour = price / useful_fraction
    capacity: float
    capacity_basis: str  # "zonal" | "regional" | "none"
    capacity_raw: str | None
    # Spot price over the median of its type's priced zones in the region; None = regional, or no
    # other zone of its type to compare with.
    zone_price_ratio: float | None
    score: float  # the strategy's objective relative to the best candidate (1.0 = best)
    ages: SignalAges
    flags: tuple[str, ...]
    sources: tuple[str, ...] = ()  # collector sources of the rows behind this pool
    simulated: bool = False  # any of them simulated
    on_demand_list_price: float | None = None  # the cloud's list price
    on_demand_discount: float = 0.0  # fraction off list (requirements.on_demand_discounts)
    # λ from the interruption bucket alone, before the fleet update (None for on-demand).
    hazard_prior: float | None = None
    # The user's own fleet evidence and what it moved; None = the pool has none.
    fleet: FleetEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            **self.key.to_dict(),
            "capacity_type": self.capacity_type,
            "nodes": self.nodes,
            "family": self.family,
            "vcpus": self.vcpus,
            "memory_gib": self.memory_gib,
            "arch": self.arch,
            "gpu_count": self.gpu_count,
            "gpu_model": self.gpu_model,
            "gpu_class": self.gpu_class,
            "gpu_memory_gib": self.gpu_memory_gib,
            "price": self.price,
            "spot_price": self.spot_price,
            "on_demand_price": self.on_demand_price,
            "on_demand_list_price": self.on_demand_list_price,
            "on_demand_discount": self.on_demand_discount,
            "savings": self.savings,
            "price_volatility": self.price_volatility,
            "hazard": self.hazard.to_dict(),
            "hazard_prior": self.hazard_prior,
            "fleet": self.fleet.to_dict() if self.fleet else None,
            "lost_hours_per_interruption": self.lost_hours_per_interruption,
            "useful_fraction": self.useful_fraction,
            "effective_cost": self.effective_cost,
            "capacity": self.capacity,
            "capacity_basis": self.capacity_basis,
            "capacity_raw": self.capacity_raw,
            "zone_price_ratio": self.zone_price_ratio,
            "score": self.score,
            "ages_seconds": self.ages.to_dict(),
            "flags": list(self.flags),
            "sources": list(self.sources),
            "simulated": self.simulated,
        }


@dataclass(frozen=True, slots=True)
class Ranking:
    """The answer to one request over one snapshot."""

    requirements: Requirements
    strategy: str
    now: datetime
    snapshot_built_at: datetime
    snapshot_size: int
    candidates: int  # pools with at least one eligible offering
    pools: tuple[RankedPool, ...]
    exclusions: tuple[Exclusion, ...]  # counts + candidates == snapshot_size
    unmet: tuple[UnmetConstraint, ...]
    verdict: SpotVerdict
    ordering: Ordering | None = None  # how the rows are ordered (None: built by hand)
    # Listing notes, e.g. more pools than `top` because the constraints need them.
    notes: tuple[str, ...] = ()

    @property
    def instance_types(self) -> tuple[str, ...]:
        """Distinct instance types of the answer, best first."""
        return tuple(dict.fromkeys(p.key.instance_type for p in self.pools))

    @property
    def simulated(self) -> bool:
        """Whether any pool of the answer rests on simulated data (then it says so on top)."""
        return any(p.simulated for p in self.pools)

    @property
    def sources(self) -> tuple[str, ...]:
        """Every collector source behind the answer's pools, sorted."""
        return tuple(sorted({s for p in self.pools for s in p.sources}))

    @property
    def simulated_excluded(self) -> int:
        """Pools matching the request left out because they rest on simulated data."""
        return sum(e.count for e in self.exclusions if e.code == SIMULATED_EXCLUSION)

    def to_dict(self) -> dict[str, Any]:
        return {
            "simulated": self.simulated,
            "sources": list(self.sources),
            "simulated_excluded": self.simulated_excluded,
            "strategy": self.strategy,
            "now": self.now.isoformat(),
            "snapshot_built_at": self.snapshot_built_at.isoformat(),
            "snapshot_size": self.snapshot_size,
            "candidates": self.candidates,
            "requirements": self.requirements.to_dict(),
            "pools": [p.to_dict() for p in self.pools],
            "exclusions": [e.to_dict() for e in self.exclusions],
            "unmet": [u.to_dict() for u in self.unmet],
            "verdict": self.verdict.to_dict(),
            "ordering": self.ordering.to_dict() if self.ordering else None,
            "notes": list(self.notes),
        }
