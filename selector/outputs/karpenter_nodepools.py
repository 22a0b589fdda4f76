"""Karpenter `karpenter.sh/v1` NodePools as plain dicts: spot, on-demand fallback, critical add-ons.

Zones are pinned by zone ID (`topology.k8s.aws/zone-id`, a well-known label Karpenter schedules
on), never by zone names, which map to different physical zones in every account. A zone
requirement listing every zone of the region is left out, and so is one over a regional pool
(zone ID "", priced per region): its zone is left open.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

from selector.outputs.errors import OutputError
from selector.outputs.labels import (
    CRITICAL_LABEL,
    CRITICAL_TAINT,
    LIFECYCLE_LABEL,
    PROFILE_LABEL,
    workload_taints,
)
from selector.outputs.profile import OutputProfile
from selector.outputs.provenance import Provenance
from selector.results import RankedPool, Ranking

__all__ = [
    "API_VERSION",
    "CAPACITY_TYPE_KEY",
    "INSTANCE_TYPE_KEY",
    "MANAGED_BY",
    "NODEPOOL_KEY",
    "ZONE_ID_KEY",
    "critical_addons_nodepool",
    "instance_types",
    "on_demand_nodepool",
    "requirement",
    "spot_nodepool",
    "spot_pools",
    "zone_requirement",
]

API_VERSION: Final = "karpenter.sh/v1"
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
    return requirement(ZONE_ID_KEY, ids)


def _pools_zone_requirement(
    pools: Sequence[RankedPool], region_zones: Collection[str]
) -> dict[str, Any] | None:
    """The zone requirement of a NodePool's pools: open (None) when any pool is regional, since
    a regional pool (priced per region, zone ID "") may launch in any zone of its region."""
    if any(not p.key.zone_id for p in pools):
        return None
    return zone_requirement((p.key.zone_id for p in pools), region_zones)


def spot_nodepool(
    profile: OutputProfile,
    spot: Ranking,
    *,
    region_zones: Collection[str] = (),
    provenance: Provenance | None = None,
) -> dict[str, Any]:
    """The spot NodePool: ranked types (best first) and zones, tainted and labelled spot."""
    pools = spot_pools(spot)
    if not pools:
        raise OutputError(f"profile {profile.name}", "no spot pool matches the requirements")
    types = instance_types(pools)
    type_req = requirement(INSTANCE_TYPE_KEY, types)
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
            requirement(CAPACITY_TYPE_KEY, ["spot"]),
            type_req,
            _pools_zone_requirement(pools, region_zones),
            requirement(ARCH_KEY, _arches(pools)),
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
            requirement(CAPACITY_TYPE_KEY, ["on-demand"]),
            requirement(INSTANCE_TYPE_KEY, instance_types(pools)),
            _pools_zone_requirement(pools, region_zones),
            requirement(ARCH_KEY, _arches(pools)),
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
            requirement(CAPACITY_TYPE_KEY, ["on-demand"]),
            requirement("karpenter.k8s.aws/instance-category", list(CRITICAL_CATEGORIES)),
            requirement("karpenter.k8s.aws/instance-size", list(CRITICAL_SIZES)),
            requirement(ARCH_KEY, ["amd64"]),
        ],
        ranking=None,
        provenance=provenance or Provenance(),
    )


# --- helpers ----------------------------------------------------------------------------------


def requirement(key: str, values: Sequence[str]) -> dict[str, Any]:
    """A Karpenter requirement: `key In values`."""
    return {"key": key, "operator": "In", "values": list(values)}


def spot_pools(ranking: Ranking) -> list[RankedPool]:
    """The ranking's spot pools, in rank order."""
    return [p for p in ranking.pools if p.capacity_type == "spot"]


def instance_types(pools: Sequence[RankedPool]) -> list[str]:
    """The pools' distinct instance types."""
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
