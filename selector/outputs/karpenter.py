"""Karpenter `karpenter.sh/v1` NodePools and `karpenter.sh/v1alpha1` NodeOverlays as plain dicts.

Per profile: a spot NodePool (ranked spot types and zones, label `lifecycle=spot`), an on-demand
fallback NodePool with a lower weight (types ranked for on-demand), optionally a critical-addons
on-demand NodePool (`CriticalAddonsOnly=true:NoSchedule`) and, opt-in, NodeOverlays whose
`priceAdjustment` adds each offering's risk (effective cost - price) so Karpenter's own
cheapest-first choice follows effective cost.

Guard: the spot and the fallback NodePool both carry `spot=true:NoSchedule` and
`spotsel.io/profile=<profile>:NoSchedule` (`selector.outputs.labels`), so a pod without the
profile's tolerations schedules on neither, and their weights only order the profile's own pools.

Zones are pinned by zone ID (`topology.k8s.aws/zone-id`, a well-known label Karpenter schedules
on), never by zone names, which map to different physical zones in every account. A zone
requirement listing every zone of the region is left out, and so is one over a regional pool
(zone ID "", priced per region): its zone is left open.

Overlay coverage: a NodePool allows every type x zone of its requirements, more than the ranked
pools. So each ranked type gets a NodeOverlay without a zone (weight `OVERLAY_TYPE_WEIGHT`, the
type's highest ranked adjustment: an unranked zone is assumed no safer than the worst ranked
one), and each ranked pool one with its zone and its own adjustment (`OVERLAY_POOL_WEIGHT`,
higher, so it takes precedence): every offering the spot NodePool allows is covered.

On-demand discounts (`requirements.on_demand_discounts`): Karpenter prices on-demand at list, so
under a Savings Plan it would think spot cheaper than it is. With overlays on, each type of the
on-demand fallback that has a discount gets a NodeOverlay lowering its price by that percentage
(`priceAdjustment: "-20%"`), so Karpenter's own comparisons see what on-demand really costs.

Fleet evidence: the user's own interruptions raise a pool's λ (Gamma-Poisson), so its risk and
its overlay's adjustment rise with them. Recent insufficient-capacity errors add an ICE
adjustment on top, price × (1/f − 1) with f the capacity factor the errors still apply
(`selector.capacity.ice_weight`): a launch whose odds the errors cut to f costs price / f per node
obtained. It fades with the errors and is gone after ICE_TTL_HOURS, where Karpenter's own
unavailable-offerings cache forgets an ICE after 3 minutes. Overlays of pools with fleet evidence
say what it moved (`spotsel.io/fleet-evidence`, the prior λ, the ICE part in $/h).

Every NodePool and NodeOverlay built from simulated data carries the `spotsel.io/simulated`
annotation (`selector.outputs.provenance`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from selector.capacity import ICE_PENALTY_PER_EVENT
from selector.outputs.errors import OutputError
from selector.outputs.labels import (
    CRITICAL_LABEL,
    CRITICAL_TAINT,
    LIFECYCLE_LABEL,
    PROFILE_LABEL,
    SPOT_TAINT,
    workload_taints,
)
from selector.outputs.profile import OutputProfile
from selector.outputs.provenance import Provenance
from selector.outputs.workload import workload_snippet
from selector.results import RankedPool, Ranking

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

API_VERSION: Final = "karpenter.sh/v1"
OVERLAY_API_VERSION: Final = "karpenter.sh/v1alpha1"
NODECLASS_GROUP: Final = "karpenter.k8s.aws"
NODECLASS_KIND: Final = "EC2NodeClass"
CAPACITY_TYPE_KEY: Final = "karpenter.sh/capacity-type"
INSTANCE_TYPE_KEY: Final = "node.kubernetes.io/instance-type"
# Well-known in Karpenter since v0.37; the only zone key spotsel emits (cloud-facts.md).
ZONE_ID_KEY: Final = "topology.k8s.aws/zone-id"
ARCH_KEY: Final = "kubernetes.io/arch"
NODEPOOL_KEY: Final = "karpenter.sh/nodepool"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "spotsel"}
# Kubernetes names arch `amd64`; the ranking says `x86_64`.
K8S_ARCH: Final = {"x86_64": "amd64", "arm64": "arm64"}
# CRD bound on requirements[].minValues (karpenter.sh_nodepools.yaml: maximum 50).
MAX_MIN_VALUES: Final = 50
# Critical add-ons (CoreDNS, controllers) need small general-purpose on-demand nodes.
CRITICAL_CATEGORIES: Final = ("c", "m", "r")
CRITICAL_SIZES: Final = ("large", "xlarge", "2xlarge")
CRITICAL_LIMITS: Final = (("cpu", "64"), ("memory", "256Gi"))
CRITICAL_WEIGHT: Final = 10
# NodeOverlays with a higher weight take precedence (CRD: 1..10000): a ranked pool's own overlay
# beats its type's zone-less catch-all. Overlays only match their own NodePool's offerings.
OVERLAY_TYPE_WEIGHT: Final = 10
OVERLAY_POOL_WEIGHT: Final = 20
# $/h precision of priceAdjustment: a hundredth of a cent per hour is below any real price step.
PRICE_DECIMALS: Final = 6
# Discount overlays state a percentage, not $/h: it applies to whatever list price Karpenter holds
# (its pricing refresh need not match ours). The CRD takes a decrease as "-NN.NN%" (below 100,
# `^-\d{1,2}(\.\d+)?%$`); a hundredth of a percent is finer than any price agreement.
PERCENT_DECIMALS: Final = 2
MAX_PERCENT_OFF: Final = 99.99


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


def zone_requirement(
    zone_ids: Iterable[str], region_zones: Collection[str] = ()
) -> dict[str, Any] | None:
    """`topology.k8s.aws/zone-id In [ids]`, or None when the ids cover every zone of the region
    (`region_zones`; empty = unknown, the requirement is kept). Regional pools carry no zone."""
    ids = sorted({z for z in zone_ids if z})
    if not ids:
        raise OutputError("zones", "the ranked pools carry no zone")
    if region_zones and set(region_zones) <= set(ids):
        return None
    return _req(ZONE_ID_KEY, ids)


def _pools_zone_requirement(
    pools: Sequence[RankedPool], region_zones: Collection[str]
) -> dict[str, Any] | None:
    """The zone requirement of a NodePool's pools: open (None) when any pool is regional, since
    a regional pool (priced per region, zone ID "") may launch in any zone of its region."""
    if any(not p.key.zone_id for p in pools):
        return None
    return zone_requirement((p.key.zone_id for p in pools), region_zones)


def wants_fallback(profile: OutputProfile, spot: Ranking) -> bool:
    """Whether the on-demand fallback NodePool is emitted for this spot ranking."""
    if profile.on_demand_fallback == "always":
        return True
    if profile.on_demand_fallback == "never":
        return False
    return not _spot_pools(spot) or bool(spot.unmet) or spot.verdict.spot_pays_off is False


def spot_nodepool(
    profile: OutputProfile,
    spot: Ranking,
    *,
    region_zones: Collection[str] = (),
    provenance: Provenance | None = None,
) -> dict[str, Any]:
    """The spot NodePool: ranked types (best first) and zones, tainted and labelled spot."""
    pools = _spot_pools(spot)
    if not pools:
        raise OutputError(f"profile {profile.name}", "no spot pool matches the requirements")
    types = _types(pools)
    type_req = _req(INSTANCE_TYPE_KEY, types)
    min_values = min(profile.requirements.min_instance_types, len(types), MAX_MIN_VALUES)
    if min_values > 1:  # diversity required: Karpenter must keep that many types in play
        type_req["minValues"] = min_values
    return _nodepool(
        profile,
        name=profile.spot_pool_name,
        weight=profile.spot_weight,
        limits=profile.limits,
        labels={LIFECYCLE_LABEL: "spot"},
        taints=workload_taints(profile.name),
        requirements=[
            _req(CAPACITY_TYPE_KEY, ["spot"]),
            type_req,
            _pools_zone_requirement(pools, region_zones),
            _req(ARCH_KEY, _arches(pools)),
        ],
        ranking=spot,
        provenance=provenance or Provenance.of(spot),
    )


def on_demand_nodepool(
    profile: OutputProfile,
    on_demand: Ranking,
    *,
    region_zones: Collection[str] = (),
    provenance: Provenance | None = None,
) -> dict[str, Any]:
    """The on-demand fallback: types ranked for on-demand, lower weight, tainted like the spot
    pool so only the profile's own pods (which tolerate both taints) can land on it."""
    pools = [p for p in on_demand.pools if p.capacity_type == "on-demand"]
    if not pools:
        raise OutputError(f"profile {profile.name}", "no on-demand pool matches the requirements")
    return _nodepool(
        profile,
        name=profile.on_demand_pool_name,
        weight=profile.on_demand_weight,
        limits=profile.limits if profile.on_demand_limits is None else profile.on_demand_limits,
        labels={LIFECYCLE_LABEL: "on-demand"},
        taints=workload_taints(profile.name),
        requirements=[
            _req(CAPACITY_TYPE_KEY, ["on-demand"]),
            _req(INSTANCE_TYPE_KEY, _types(pools)),
            _pools_zone_requirement(pools, region_zones),
            _req(ARCH_KEY, _arches(pools)),
        ],
        ranking=on_demand,
        provenance=provenance or Provenance.of(on_demand),
    )


def critical_addons_nodepool(
    profile: OutputProfile, *, provenance: Provenance | None = None
) -> dict[str, Any]:
    """Small on-demand general-purpose nodes reserved for critical add-ons."""
    return _nodepool(
        profile,
        name=profile.critical_pool_name,
        weight=CRITICAL_WEIGHT,
        limits=CRITICAL_LIMITS,
        labels={LIFECYCLE_LABEL: "on-demand", CRITICAL_LABEL: "true"},
        taints=[dict(CRITICAL_TAINT)],
        requirements=[
            _req(CAPACITY_TYPE_KEY, ["on-demand"]),
            _req("karpenter.k8s.aws/instance-category", list(CRITICAL_CATEGORIES)),
            _req("karpenter.k8s.aws/instance-size", list(CRITICAL_SIZES)),
            _req(ARCH_KEY, ["amd64"]),
        ],
        ranking=None,
        provenance=provenance or Provenance(),
    )


def node_overlays(
    profile: OutputProfile,
    spot: Ranking,
    *,
    on_demand: Ranking | None = None,
    provenance: Provenance | None = None,
) -> list[dict[str, Any]]:
    """NodeOverlays covering every offering of the spot NodePool (see the module docstring):
    one zone-less catch-all per ranked type, then one per ranked pool (higher weight); with
    `on_demand` (the fallback's ranking), one discount overlay per discounted fallback type."""
    pools = _spot_pools(spot)
    label = (provenance or Provenance.of(spot, on_demand)).annotations()
    out = []
    for itype in _types(pools):
        worst = max((p for p in pools if p.key.instance_type == itype), key=_adjustment)
        out.append(
            _overlay(
                profile,
                name=f"{profile.spot_pool_name}-{itype}",
                pool=worst,
                weight=OVERLAY_TYPE_WEIGHT,
                zone=None,
                annotations=label,
            )
        )
    # A regional pool has no zone of its own: its type's zone-less catch-all covers it.
    for pool in (p for p in pools if p.key.zone_id):
        out.append(
            _overlay(
                profile,
                name=f"{profile.spot_pool_name}-{pool.key.instance_type}-{pool.key.zone_id}",
                pool=pool,
                weight=OVERLAY_POOL_WEIGHT,
                zone=zone_requirement([pool.key.zone_id]),
                annotations=label,
            )
        )
    if on_demand is not None:
        od_pools = [p for p in on_demand.pools if p.capacity_type == "on-demand"]
        for itype in _types(od_pools):
            # A discount is per cloud / region / family, so every zone of a type shares it.
            pool = next(p for p in od_pools if p.key.instance_type == itype)
            adjustment = discount_adjustment(pool.on_demand_discount)
            if adjustment is not None:
                out.append(_discount_overlay(profile, pool, adjustment, annotations=label))
    return out


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
    has_spot = bool(_spot_pools(spot))
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


# --- helpers ----------------------------------------------------------------------------------


def _req(key: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def _spot_pools(ranking: Ranking) -> list[RankedPool]:
    return [p for p in ranking.pools if p.capacity_type == "spot"]


def _types(pools: Sequence[RankedPool]) -> list[str]:
    return list(dict.fromkeys(p.key.instance_type for p in pools))  # rank order, best first


def _arches(pools: Sequence[RankedPool]) -> list[str]:
    return sorted({K8S_ARCH.get(p.arch, p.arch) for p in pools})


def _adjustment(pool: RankedPool) -> float:
    """What the overlay adds in $/h: the risk (effective cost - price, never negative) plus the
    ICE adjustment."""
    return max(pool.effective_cost - pool.price, 0.0) + ice_adjustment(pool)


def ice_adjustment(pool: RankedPool) -> float:
    """$/h for the pool's remembered insufficient-capacity errors: price × (1/f − 1), f the
    capacity factor they still apply; 0 without errors or once they are past the TTL."""
    if pool.fleet is None or pool.fleet.capacity_error_weight <= 0:
        return 0.0
    factor: float = ICE_PENALTY_PER_EVENT**pool.fleet.capacity_error_weight
    return pool.price * (1.0 / factor - 1.0)


def _fleet_annotations(pool: RankedPool) -> dict[str, str]:
    """What the pool's own fleet evidence moved; nothing when it has none."""
    if pool.fleet is None:
        return {}
    out = {"spotsel.io/fleet-evidence": "; ".join(pool.fleet.notes) or "none in effect"}
    if pool.hazard_prior is not None:
        out["spotsel.io/hazard-prior-per-hour"] = f"{pool.hazard_prior:.6g}"
    ice = ice_adjustment(pool)
    if ice > 0:
        out["spotsel.io/capacity-error-adjustment"] = f"{ice:.{PRICE_DECIMALS}f}"
    return out


def discount_adjustment(discount: float) -> str | None:
    """``"-20%"`` for a 0.2 discount; None when it rounds to no discount at all."""
    percent = min(round(discount * 100.0, PERCENT_DECIMALS), MAX_PERCENT_OFF)
    if percent <= 0:
        return None
    return f"-{percent:.{PERCENT_DECIMALS}f}".rstrip("0").rstrip(".") + "%"


def _discount_overlay(
    profile: OutputProfile, pool: RankedPool, adjustment: str, *, annotations: dict[str, str]
) -> dict[str, Any]:
    """The fallback's on-demand price of `pool`'s type lowered by `adjustment` (its discount)."""
    prices = {
        "spotsel.io/on-demand-discount": f"{pool.on_demand_discount:.6g}",
        "spotsel.io/on-demand-list-price": _money(pool.on_demand_list_price),
        "spotsel.io/on-demand-price": _money(pool.on_demand_price),
    }
    return {
        "apiVersion": OVERLAY_API_VERSION,
        "kind": "NodeOverlay",
        "metadata": {
            "name": f"{profile.on_demand_pool_name}-{pool.key.instance_type}",
            "labels": {**MANAGED_BY, PROFILE_LABEL: profile.name},
            "annotations": {**annotations, **prices},
        },
        "spec": {
            # Only the fallback's own offerings match, so no other overlay competes with it.
            "weight": OVERLAY_TYPE_WEIGHT,
            "priceAdjustment": adjustment,
            "requirements": [
                _req(NODEPOOL_KEY, [profile.on_demand_pool_name]),
                _req(CAPACITY_TYPE_KEY, ["on-demand"]),
                _req(INSTANCE_TYPE_KEY, [pool.key.instance_type]),
            ],
        },
    }


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.{PRICE_DECIMALS}f}"


def _overlay(
    profile: OutputProfile,
    *,
    name: str,
    pool: RankedPool,
    weight: int,
    zone: dict[str, Any] | None,
    annotations: dict[str, str],
) -> dict[str, Any]:
    requirements = [
        _req(NODEPOOL_KEY, [profile.spot_pool_name]),
        _req(CAPACITY_TYPE_KEY, ["spot"]),
        _req(INSTANCE_TYPE_KEY, [pool.key.instance_type]),
    ]
    if zone is not None:
        requirements.append(zone)
    return {
        "apiVersion": OVERLAY_API_VERSION,
        "kind": "NodeOverlay",
        "metadata": {
            "name": name,
            "labels": {**MANAGED_BY, PROFILE_LABEL: profile.name},
            "annotations": {
                **annotations,
                "spotsel.io/effective-cost": f"{pool.effective_cost:.{PRICE_DECIMALS}f}",
                "spotsel.io/spot-price": f"{pool.price:.{PRICE_DECIMALS}f}",
                "spotsel.io/hazard-per-hour": f"{pool.hazard.rate:.6g}",
                **_fleet_annotations(pool),
            },
        },
        "spec": {
            "weight": weight,
            "priceAdjustment": f"+{_adjustment(pool):.{PRICE_DECIMALS}f}",
            "requirements": requirements,
        },
    }


def _nodepool(
    profile: OutputProfile,
    *,
    name: str,
    weight: int,
    limits: tuple[tuple[str, str], ...],
    labels: dict[str, str],
    taints: list[dict[str, str]],
    requirements: list[dict[str, Any] | None],
    ranking: Ranking | None,
    provenance: Provenance,
) -> dict[str, Any]:
    annotations = {**provenance.annotations(), "spotsel.io/profile": profile.name}
    if ranking is not None:
        annotations["spotsel.io/strategy"] = ranking.strategy
        annotations["spotsel.io/snapshot-built-at"] = ranking.snapshot_built_at.isoformat()
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": {**labels, PROFILE_LABEL: profile.name}},
            "spec": {
                "nodeClassRef": {
                    "group": NODECLASS_GROUP,
                    "kind": NODECLASS_KIND,
                    "name": profile.ec2nodeclass,
                },
                "requirements": [r for r in requirements if r is not None],
                "taints": taints,
            },
        },
        "disruption": _disruption(profile),
        "weight": weight,
    }
    if limits:
        spec["limits"] = dict(limits)
    return {
        "apiVersion": API_VERSION,
        "kind": "NodePool",
        "metadata": {
            "name": name,
            "labels": {**MANAGED_BY, PROFILE_LABEL: profile.name},
            "annotations": annotations,
        },
        "spec": spec,
    }


def _disruption(profile: OutputProfile) -> dict[str, Any]:
    d = profile.disruption
    budgets = []
    for b in d.budgets:
        budget: dict[str, Any] = {"nodes": b.nodes}
        if b.schedule is not None:
            budget["schedule"] = b.schedule
        if b.duration is not None:
            budget["duration"] = b.duration
        if b.reasons:
            budget["reasons"] = list(b.reasons)
        budgets.append(budget)
    return {
        "consolidationPolicy": d.consolidation_policy,
        "consolidateAfter": d.consolidate_after,
        "budgets": budgets,
    }
