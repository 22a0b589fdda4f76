"""Karpenter `karpenter.sh/v1` NodePools and `karpenter.sh/v1alpha1` NodeOverlays as plain dicts.

Per profile: a spot NodePool (ranked spot types and zones, `spot=true:NoSchedule`, label
`lifecycle=spot`), an on-demand fallback NodePool with a lower weight (types ranked for
on-demand), optionally a critical-addons on-demand NodePool (`CriticalAddonsOnly=true:NoSchedule`)
and, opt-in, one NodeOverlay per ranked spot pool whose `priceAdjustment` adds the pool's risk
(effective cost − price) so Karpenter's own cheapest-first choice follows effective cost.

Zones: AWS pools are keyed by zone ID; NodePools name zones with `topology.kubernetes.io/zone`
(account-specific names) when the account map names every zone of the pool, and otherwise fall
back to `topology.k8s.aws/zone-id` (a well-known label Karpenter also schedules on) for the whole
NodePool — never a mix, and never a guessed name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from selector.outputs.errors import OutputError
from selector.outputs.profile import OutputProfile
from selector.results import RankedPool, Ranking

__all__ = [
    "API_VERSION",
    "LIFECYCLE_LABEL",
    "OVERLAY_API_VERSION",
    "SPOT_TAINT",
    "ZONE_ID_KEY",
    "ZONE_NAME_KEY",
    "KarpenterDocuments",
    "critical_addons_nodepool",
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
ZONE_NAME_KEY: Final = "topology.kubernetes.io/zone"
ZONE_ID_KEY: Final = "topology.k8s.aws/zone-id"
ARCH_KEY: Final = "kubernetes.io/arch"
NODEPOOL_KEY: Final = "karpenter.sh/nodepool"
# The seed scenario's mixed cluster (design §1): spot nodes tainted and labelled, critical
# services on on-demand nodes tainted CriticalAddonsOnly.
SPOT_TAINT: Final = {"key": "spot", "value": "true", "effect": "NoSchedule"}
CRITICAL_TAINT: Final = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}
LIFECYCLE_LABEL: Final = "lifecycle"
CRITICAL_LABEL: Final = "spotsel.io/critical-addons-only"
PROFILE_LABEL: Final = "spotsel.io/profile"
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
# Overlays only ever match their own pool's offerings, so one weight for all is enough.
OVERLAY_WEIGHT: Final = 10
# $/h precision of priceAdjustment: a hundredth of a cent per hour is below any real price step.
PRICE_DECIMALS: Final = 6


@dataclass(frozen=True, slots=True)
class KarpenterDocuments:
    """Everything generated for one profile (plain dicts, serialised at the edge)."""

    profile: str
    nodepools: tuple[dict[str, Any], ...]
    overlays: tuple[dict[str, Any], ...]
    workload: dict[str, Any]

    @property
    def manifests(self) -> tuple[dict[str, Any], ...]:
        """The Kubernetes objects (NodePools then NodeOverlays); the workload is a snippet."""
        return (*self.nodepools, *self.overlays)


def zone_requirement(zone_ids: Iterable[str], zone_names: Mapping[str, str]) -> dict[str, Any]:
    """`topology.kubernetes.io/zone In [names]`, or `topology.k8s.aws/zone-id In [ids]` when the
    account map does not name every zone (regional pools carry no zone and are skipped)."""
    ids = sorted({z for z in zone_ids if z})
    if not ids:
        raise OutputError("zones", "the ranked pools carry no zone")
    if all(z in zone_names for z in ids):
        return _req(ZONE_NAME_KEY, sorted({zone_names[z] for z in ids}))
    return _req(ZONE_ID_KEY, ids)


def wants_fallback(profile: OutputProfile, spot: Ranking) -> bool:
    """Whether the on-demand fallback NodePool is emitted for this spot ranking."""
    if profile.on_demand_fallback == "always":
        return True
    if profile.on_demand_fallback == "never":
        return False
    return not _spot_pools(spot) or bool(spot.unmet) or spot.verdict.spot_pays_off is False


def spot_nodepool(
    profile: OutputProfile, spot: Ranking, *, zone_names: Mapping[str, str]
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
        taints=[dict(SPOT_TAINT)],
        requirements=[
            _req(CAPACITY_TYPE_KEY, ["spot"]),
            type_req,
            zone_requirement((p.key.zone_id for p in pools), zone_names),
            _req(ARCH_KEY, _arches(pools)),
        ],
        ranking=spot,
    )


def on_demand_nodepool(
    profile: OutputProfile, on_demand: Ranking, *, zone_names: Mapping[str, str]
) -> dict[str, Any]:
    """The on-demand fallback: types ranked for on-demand, untainted, lower weight."""
    pools = [p for p in on_demand.pools if p.capacity_type == "on-demand"]
    if not pools:
        raise OutputError(f"profile {profile.name}", "no on-demand pool matches the requirements")
    return _nodepool(
        profile,
        name=profile.on_demand_pool_name,
        weight=profile.on_demand_weight,
        limits=profile.limits if profile.on_demand_limits is None else profile.on_demand_limits,
        labels={LIFECYCLE_LABEL: "on-demand"},
        taints=[],
        requirements=[
            _req(CAPACITY_TYPE_KEY, ["on-demand"]),
            _req(INSTANCE_TYPE_KEY, _types(pools)),
            zone_requirement((p.key.zone_id for p in pools), zone_names),
            _req(ARCH_KEY, _arches(pools)),
        ],
        ranking=on_demand,
    )


def critical_addons_nodepool(profile: OutputProfile) -> dict[str, Any]:
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
    )


def node_overlays(
    profile: OutputProfile, spot: Ranking, *, zone_names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One NodeOverlay per ranked spot pool: priceAdjustment = effective cost − price ($/h)."""
    out = []
    for pool in _spot_pools(spot):
        zone = zone_requirement([pool.key.zone_id], zone_names)
        zone_label = zone["values"][0]
        adjustment = max(pool.effective_cost - pool.price, 0.0)
        out.append(
            {
                "apiVersion": OVERLAY_API_VERSION,
                "kind": "NodeOverlay",
                "metadata": {
                    "name": f"{profile.spot_pool_name}-{pool.key.instance_type}-{zone_label}",
                    "labels": {**MANAGED_BY, PROFILE_LABEL: profile.name},
                    "annotations": {
                        "spotsel.io/effective-cost": f"{pool.effective_cost:.{PRICE_DECIMALS}f}",
                        "spotsel.io/spot-price": f"{pool.price:.{PRICE_DECIMALS}f}",
                        "spotsel.io/hazard-per-hour": f"{pool.hazard.rate:.6g}",
                    },
                },
                "spec": {
                    "weight": OVERLAY_WEIGHT,
                    "priceAdjustment": f"+{adjustment:.{PRICE_DECIMALS}f}",
                    "requirements": [
                        _req(NODEPOOL_KEY, [profile.spot_pool_name]),
                        _req(CAPACITY_TYPE_KEY, ["spot"]),
                        _req(INSTANCE_TYPE_KEY, [pool.key.instance_type]),
                        zone,
                    ],
                },
            }
        )
    return out


def karpenter_documents(
    profile: OutputProfile,
    *,
    spot: Ranking,
    on_demand: Ranking | None,
    zone_names: Mapping[str, str],
    workload: dict[str, Any],
) -> KarpenterDocuments:
    """All NodePools (+ opt-in overlays) of one profile; `on_demand` is needed for the fallback."""
    pools: list[dict[str, Any]] = []
    has_spot = bool(_spot_pools(spot))
    fallback = wants_fallback(profile, spot)
    if has_spot:
        pools.append(spot_nodepool(profile, spot, zone_names=zone_names))
    elif not fallback:
        raise OutputError(
            f"profile {profile.name}",
            "no spot pool matches the requirements and on_demand_fallback is 'never'",
        )
    if fallback:
        if on_demand is None:
            raise OutputError(f"profile {profile.name}", "the fallback needs an on-demand ranking")
        pools.append(on_demand_nodepool(profile, on_demand, zone_names=zone_names))
    if profile.critical_addons:
        pools.append(critical_addons_nodepool(profile))
    overlays = node_overlays(profile, spot, zone_names=zone_names) if profile.node_overlays else []
    return KarpenterDocuments(
        profile=profile.name, nodepools=tuple(pools), overlays=tuple(overlays), workload=workload
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


def _nodepool(
    profile: OutputProfile,
    *,
    name: str,
    weight: int,
    limits: tuple[tuple[str, str], ...],
    labels: dict[str, str],
    taints: list[dict[str, str]],
    requirements: list[dict[str, Any]],
    ranking: Ranking | None,
) -> dict[str, Any]:
    annotations = {"spotsel.io/profile": profile.name}
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
                "requirements": requirements,
            },
        },
        "disruption": _disruption(profile),
        "weight": weight,
    }
    if taints:
        spec["template"]["spec"]["taints"] = taints
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
