"""Karpenter `karpenter.sh/v1` NodePools and `karpenter.sh/v1alpha1` NodeOverlays as plain dicts.

Per profile: a spot NodePool (ranked spot types and zones, label `lifecycle=spot`), an on-demand
fallback NodePool with a lower weight (types ranked for on-demand), optionally a critical-addons
on-demand NodePool (`CriticalAddonsOnly=true:NoSchedule`) and, opt-in, NodeOverlays whose
`priceAdjustment` adds each offering's risk (effective cost - price) so Karpenter's own
cheapest-first choice follows effective cost.

Guard: the spot and the fallback NodePool both carry `spot=true:NoSchedule` and
`spotsel.io/profile=<profile>:NoSchedule` (`selector.outputs.labels`), so a pod without the
profile's tolerations schedules on neither, and their weights only order the profile's own pools.

The NodePools are built in `selector.outputs.karpenter_nodepools` (zone pinning there), the
NodeOverlays in `selector.outputs.karpenter_overlays` (coverage, on-demand discounts, fleet
evidence there); this module assembles a profile's documents and stays the home of their names.

Every NodePool and NodeOverlay built from simulated data carries the `spotsel.io/simulated`
annotation (`selector.outputs.provenance`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from selector.outputs.errors import OutputError
from selector.outputs.karpenter_nodepools import (
    API_VERSION,
    ZONE_ID_KEY,
    critical_addons_nodepool,
    on_demand_nodepool,
    spot_nodepool,
    spot_pools,
    zone_requirement,
)
from selector.outputs.karpenter_overlays import (
    OVERLAY_API_VERSION,
    OVERLAY_POOL_WEIGHT,
    OVERLAY_TYPE_WEIGHT,
    discount_adjustment,
    ice_adjustment,
    node_overlays,
)
from selector.outputs.labels import LIFECYCLE_LABEL, SPOT_TAINT
from selector.outputs.profile import OutputProfile
from selector.outputs.provenance import Provenance
from selector.outputs.workload import workload_snippet
from selector.results import Ranking

__all__ = [
    "API_VERSION",
    "LIFECYCLE_LABEL",
    "OVERLAY_API_VERSION",
    "OVERLAY_POOL_WEIGHT",
    "OVERLAY_TYPE_WEIGHT",
    "SPOT_TAINT",
    "ZONE_ID_KEY",
    "KarpenterDocuments",
    "critical_addons_nodepool",
    "discount_adjustment",
    "ice_adjustment",
    "karpenter_documents",
    "node_overlays",
    "on_demand_nodepool",
    "spot_nodepool",
    "wants_fallback",
    "zone_requirement",
]


@dataclass(frozen=True, slots=True)
class KarpenterDocuments:
    """Everything generated for one profile (plain dicts, serialised at the edge)."""

    profile: str
    nodepools: tuple[dict[str, Any], ...]
    overlays: tuple[dict[str, Any], ...]
    workload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def manifests(self) -> tuple[dict[str, Any], ...]:
        """The Kubernetes objects (NodePools then NodeOverlays); the workload is a snippet."""
        return (*self.nodepools, *self.overlays)

    @property
    def simulated(self) -> bool:
        return self.provenance.simulated


def wants_fallback(profile: OutputProfile, spot: Ranking) -> bool:
    """Whether the on-demand fallback NodePool is emitted for this spot ranking."""
    if profile.on_demand_fallback == "always":
        return True
    if profile.on_demand_fallback == "never":
        return False
    return not spot_pools(spot) or bool(spot.unmet) or spot.verdict.spot_pays_off is False


def karpenter_documents(
    profile: OutputProfile,
    *,
    spot: Ranking,
    on_demand: Ranking | None,
    region_zones: Collection[str] = (),
) -> KarpenterDocuments:
    """All NodePools (+ opt-in overlays) and the workload snippet of one profile; `on_demand`
    is needed for the fallback. Everything is labelled simulated when either ranking is."""
    provenance = Provenance.of(spot, on_demand)
    pools: list[dict[str, Any]] = []
    has_spot = bool(spot_pools(spot))
    fallback = wants_fallback(profile, spot)
    if has_spot:
        pools.append(spot_nodepool(profile, spot, region_zones=region_zones, provenance=provenance))
    elif not fallback:
        raise OutputError(
            f"profile {profile.name}",
            "no spot pool matches the requirements and on_demand_fallback is 'never'",
        )
    if fallback:
        if on_demand is None:
            raise OutputError(f"profile {profile.name}", "the fallback needs an on-demand ranking")
        pools.append(
            on_demand_nodepool(profile, on_demand, region_zones=region_zones, provenance=provenance)
        )
    if profile.critical_addons:
        pools.append(critical_addons_nodepool(profile, provenance=provenance))
    overlays = (
        node_overlays(
            profile, spot, on_demand=on_demand if fallback else None, provenance=provenance
        )
        if profile.node_overlays
        else []
    )
    return KarpenterDocuments(
        profile=profile.name,
        nodepools=tuple(pools),
        overlays=tuple(overlays),
        workload=workload_snippet(profile, provenance=provenance),
        provenance=provenance,
    )
