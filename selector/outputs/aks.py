"""AKS spot node pools as plain data: one agent pool per ranked Azure VM size.

An AKS node pool has one VM size, so a diversified ranking becomes several pools, each a spot
Virtual Machine Scale Set (`scaleSetPriority: Spot`, eviction policy `Delete`, max price `-1`:
pay up to the on-demand price and never be evicted for price) in the zones its size was ranked
in, autoscaling from zero to the profile's node count: any one pool must be able to carry the
workload when the others run dry. Per pool the builder returns the body of the ARM
`managedClusters/agentPools` PUT (`{"properties": {...}}`) and the same request as an
`az aks nodepool add` argument list (a list: quoting is the writer's business).

Taints: `kubernetes.azure.com/scalesetpriority=spot:NoSchedule` (AKS puts it on spot nodes and
labels them `kubernetes.azure.com/scalesetpriority=spot` itself; stating the taint keeps the
request equal to what the cluster will hold) and the profile's own
`spotsel.io/profile=<profile>:NoSchedule`, the guard the Karpenter and GKE pools carry. Labels:
`lifecycle=spot` and `spotsel.io/profile`; built from simulated data, the nodes also carry
`spotsel.io/simulated=true` and the document says so (`simulated`, `sources`; label values
cannot hold the comma-joined sources).

Zones: AKS takes the subscription's logical zone numbers ("1", "2", "3"). The store keeps Azure
zones as `<region>-<n>` (`collectors.azure.skus.zone_id` and the simulated market alike: the
subscription's own logical zones, AKS's `topology.kubernetes.io/zone` label), so the number is
the part after the region; a bare number is taken as it is, anything else refused, not guessed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from selector.outputs.errors import OutputError
from selector.outputs.labels import LIFECYCLE_LABEL, PROFILE_LABEL, profile_taint
from selector.outputs.profile import OutputProfile
from selector.outputs.provenance import SIMULATED_KEY, Provenance
from selector.results import RankedPool, Ranking

__all__ = [
    "AKS_API_VERSION",
    "AKS_SPOT_TAINT",
    "MAX_NODE_POOLS_PER_CLUSTER",
    "MAX_SPOT_POOLS",
    "AksNodePool",
    "AksNodePools",
    "aks_node_pools",
    "check_cluster",
    "check_one_cluster",
    "check_pool_name",
    "check_resource_group",
    "check_target",
    "logical_zone",
    "pool_name",
]

AKS_SPOT_TAINT: Final = {
    "key": "kubernetes.azure.com/scalesetpriority",
    "value": "spot",
    "effect": "NoSchedule",
}
# "Maximum node pools per cluster: 100" (learn.microsoft.com/azure/aks/quotas-skus-regions).
MAX_NODE_POOLS_PER_CLUSTER: Final = 100
# Every AKS cluster keeps at least one System pool at all times (agentPools `mode`, REST docs);
# a spot pool can never be it (spot pools are user pools only).
RESERVED_SYSTEM_POOLS: Final = 1
MAX_SPOT_POOLS: Final = MAX_NODE_POOLS_PER_CLUSTER - RESERVED_SYSTEM_POOLS
# "Maximum nodes per node pool (Virtual Machine Scale Sets node pools): 1000" (same page).
MAX_NODES_PER_POOL: Final = 1000
# agentPoolName in the REST spec: ^[a-z][a-z0-9]{0,11}$ (Linux pools; Windows pools: 6).
POOL_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9]{0,11}$")
MAX_POOL_NAME: Final = 12
# Hex digits of the (profile, size) hash every name ends with: two profiles in one cluster
# ranking the same size get different pools, and a size keeps its name across runs.
NAME_HASH_CHARS: Final = 4
# Size names carry their tier first ("Standard_NC24ads_A100_v4"); it says nothing in a name.
SIZE_TIERS: Final = ("Standard_", "Basic_")
# -1: pay up to the on-demand price, never evicted for price (AKS spot node pool docs).
SPOT_MAX_PRICE: Final = -1
# Delete, not Deallocate: deallocated spot VMs keep their disks and count against the core
# quota, and the autoscaler cannot scale a pool back up while they sit there.
EVICTION_POLICY: Final = "Delete"
# The stable agentPools API version whose documented fields the body uses.
AKS_API_VERSION: Final = "2025-10-01"
# Placeholders for what a profile does not know; the user substitutes their own.
SUBSCRIPTION_PLACEHOLDER: Final = "SUBSCRIPTION"
RESOURCE_GROUP_PLACEHOLDER: Final = "RESOURCE_GROUP"
CLUSTER_PLACEHOLDER: Final = "CLUSTER"
# Azure naming rules: resource groups 1-90 of letters, digits, _ - . ( ), not ending in '.';
# managed clusters as the REST spec's resourceName pattern (1-63 characters).
RESOURCE_GROUP_RE: Final = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
CLUSTER_RE: Final = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
_LOGICAL_ZONE_RE: Final = re.compile(r"^[1-9][0-9]?$")


@dataclass(frozen=True, slots=True)
class AksNodePool:
    """One agent pool: its ARM PUT body and the equivalent `az aks nodepool add` arguments."""

    name: str
    vm_size: str
    zones: tuple[str, ...]  # logical zones; () = regional (Azure places the nodes)
    path: str  # the ARM resource path the body is PUT to
    body: dict[str, Any]  # {"properties": ManagedClusterAgentPoolProfileProperties}
    az: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vmSize": self.vm_size,
            "zones": list(self.zones),
            "path": self.path,
            "request": self.body,
            "az": list(self.az),
        }


@dataclass(frozen=True, slots=True)
class AksNodePools:
    """Every AKS spot node pool of one profile, best ranked size first."""

    profile: str
    region: str
    resource_group: str
    cluster: str
    pools: tuple[AksNodePool, ...]
    omitted: tuple[str, ...] = ()  # ranked sizes past MAX_SPOT_POOLS, best first
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def simulated(self) -> bool:
        return self.provenance.simulated

    def notes(self) -> list[str]:
        """What the user must know before running the requests (one line each)."""
        out = []
        if self.simulated:
            out.append(
                f"built from SIMULATED data (sources: {', '.join(self.provenance.sources)}); "
                "not for a real cluster"
            )
        if self.omitted:
            out.append(
                f"{len(self.omitted)} ranked VM sizes left out: AKS allows "
                f"{MAX_NODE_POOLS_PER_CLUSTER} node pools per cluster and one stays the system "
                f"pool ({', '.join(self.omitted)})"
            )
        placeholders = [
            p
            for p, value in (
                (RESOURCE_GROUP_PLACEHOLDER, self.resource_group),
                (CLUSTER_PLACEHOLDER, self.cluster),
            )
            if p == value
        ]
        if placeholders:
            out.append(f"substitute {' and '.join(placeholders)} with your own")
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"profile": self.profile, "region": self.region}
        if self.simulated:
            out["simulated"] = True
            out["sources"] = list(self.provenance.sources)
        out["resourceGroup"] = self.resource_group
        out["cluster"] = self.cluster
        out["apiVersion"] = AKS_API_VERSION
        out["agentPools"] = [p.to_dict() for p in self.pools]
        if self.omitted:
            out["omitted"] = list(self.omitted)
        return out


def logical_zone(zone_id: str, region: str) -> str:
    """The AKS zone ("1", "2", …) of a stored Azure zone id (`<region>-<n>` or `<n>`)."""
    number = zone_id.removeprefix(f"{region}-")
    if not _LOGICAL_ZONE_RE.fullmatch(number):
        raise OutputError(
            f"zone {zone_id}", f"not an Azure logical zone of {region} (<region>-<n> or <n>)"
        )
    return number


def pool_name(nodepool: str, vm_size: str) -> str:
    """`<size, lowercase alphanumeric, ≤ 8>` + a 4-hex hash of (nodepool, size): ≤ 12 characters,
    starting with a letter, stable across runs and distinct between profiles."""
    size = vm_size
    for tier in SIZE_TIERS:
        size = size.removeprefix(tier)
    head = re.sub(r"[^a-z0-9]", "", size.lower())
    if not head[:1].isalpha():
        head = f"p{head}"
    digest = hashlib.sha256(f"{nodepool}/{vm_size}".encode()).hexdigest()[:NAME_HASH_CHARS]
    return head[: MAX_POOL_NAME - NAME_HASH_CHARS] + digest


def check_pool_name(name: str) -> str:
    """NAME if AKS accepts it as a Linux agent pool name, else an `OutputError`."""
    if not POOL_NAME_RE.fullmatch(name):
        raise OutputError(
            f"AKS node pool name {name!r}",
            f"must be 1-{MAX_POOL_NAME} lowercase letters and digits, starting with a letter",
        )
    return name


def check_one_cluster(generated: Sequence[AksNodePools]) -> None:
    """Refuse profiles whose pools cannot share their cluster: a pool name twice (profiles may
    share a cluster, so names must differ in any case), or, for a cluster named rather than a
    placeholder, more pools than AKS allows beside the system pool."""
    seen: dict[str, str] = {}
    for g in generated:
        for p in g.pools:
            if (other := seen.setdefault(p.name, g.profile)) != g.profile:
                raise OutputError(
                    f"AKS node pool {p.name}", f"named alike in profiles {other} and {g.profile}"
                )
    clusters: dict[tuple[str, str], list[AksNodePools]] = {}
    for g in generated:
        if g.cluster != CLUSTER_PLACEHOLDER:  # a placeholder may stand for several clusters
            clusters.setdefault((g.resource_group, g.cluster), []).append(g)
    for (_, cluster), members in sorted(clusters.items()):
        total = sum(len(g.pools) for g in members)
        if total > MAX_SPOT_POOLS:
            raise OutputError(
                f"AKS cluster {cluster}",
                f"{total} spot node pools for profiles {', '.join(g.profile for g in members)}; "
                f"AKS allows {MAX_SPOT_POOLS} beside the system pool: lower their `top`",
            )


def check_target(resource_group: str, cluster: str) -> None:
    """Raise `OutputError` for a resource group or cluster name Azure would refuse."""
    check_resource_group(resource_group)
    check_cluster(cluster)


def check_resource_group(resource_group: str) -> None:
    """Raise `OutputError` for a resource group name Azure would refuse."""
    if not RESOURCE_GROUP_RE.fullmatch(resource_group):
        raise OutputError(
            f"resource group {resource_group!r}",
            "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
        )


def check_cluster(cluster: str) -> None:
    """Raise `OutputError` for an AKS cluster name Azure would refuse."""
    if not CLUSTER_RE.fullmatch(cluster):
        raise OutputError(
            f"AKS cluster {cluster!r}",
            "1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
        )


def aks_node_pools(
    profile: OutputProfile,
    spot: Ranking,
    *,
    resource_group: str = RESOURCE_GROUP_PLACEHOLDER,
    cluster: str = CLUSTER_PLACEHOLDER,
) -> AksNodePools:
    """The AKS spot node pools of a profile's spot ranking (its Azure pools, one per VM size)."""
    check_target(resource_group, cluster)
    pools = [p for p in spot.pools if p.capacity_type == "spot" and p.key.cloud == "azure"]
    if not pools:
        raise OutputError(f"profile {profile.name}", "no Azure spot pool matches the requirements")
    [region] = profile.requirements.regions  # the profile loader requires exactly one
    provenance = Provenance.of(spot)
    by_size: dict[str, list[RankedPool]] = {}
    for p in pools:  # rank order: the first pool of a size is its best
        by_size.setdefault(p.key.instance_type, []).append(p)
    sizes = list(by_size)
    kept, omitted = sizes[:MAX_SPOT_POOLS], tuple(sizes[MAX_SPOT_POOLS:])
    max_count = min(profile.requirements.nodes, MAX_NODES_PER_POOL)
    built = tuple(
        _pool(
            profile,
            by_size[size],
            region=region,
            resource_group=resource_group,
            cluster=cluster,
            max_count=max_count,
            provenance=provenance,
        )
        for size in kept
    )
    names = [p.name for p in built]
    if len(set(names)) != len(names):
        clashes = sorted({n for n in names if names.count(n) > 1})
        raise OutputError(f"profile {profile.name}", f"AKS pool names clash: {', '.join(clashes)}")
    return AksNodePools(
        profile=profile.name,
        region=region,
        resource_group=resource_group,
        cluster=cluster,
        pools=built,
        omitted=omitted,
        provenance=provenance,
    )


def _pool(
    profile: OutputProfile,
    pools: Sequence[RankedPool],
    *,
    region: str,
    resource_group: str,
    cluster: str,
    max_count: int,
    provenance: Provenance,
) -> AksNodePool:
    size = pools[0].key.instance_type
    name = check_pool_name(pool_name(profile.nodepool, size))
    # A regional pool (zone "") may launch anywhere: leave zones to Azure. Sorted, so a reshuffle
    # of the ranking among the same zones changes nothing in the files.
    zones: tuple[str, ...] = (
        ()
        if any(not p.key.zone_id for p in pools)
        else tuple(sorted({logical_zone(p.key.zone_id, region) for p in pools}, key=int))
    )
    labels = {LIFECYCLE_LABEL: "spot", PROFILE_LABEL: profile.name}
    if provenance.simulated:
        labels[SIMULATED_KEY] = "true"
    taints = [
        f"{t['key']}={t['value']}:{t['effect']}"
        for t in (AKS_SPOT_TAINT, profile_taint(profile.name))
    ]
    properties: dict[str, Any] = {
        "vmSize": size,
        "osType": "Linux",
        "mode": "User",
        "scaleSetPriority": "Spot",
        "scaleSetEvictionPolicy": EVICTION_POLICY,
        "spotMaxPrice": SPOT_MAX_PRICE,
        "nodeTaints": taints,
        "nodeLabels": labels,
        "enableAutoScaling": True,
        "minCount": 0,
        "maxCount": max_count,
        "count": 0,  # spot pools start empty; the autoscaler adds nodes for pending pods
    }
    args = [
        "az", "aks", "nodepool", "add",
        "--resource-group", resource_group,
        "--cluster-name", cluster,
        "--name", name,
        "--node-vm-size", size,
        "--os-type", "Linux",
        "--mode", "User",
        "--priority", "Spot",
        "--eviction-policy", EVICTION_POLICY,
        "--spot-max-price", str(SPOT_MAX_PRICE),
        "--node-taints", ",".join(taints),
        "--labels", *(f"{k}={v}" for k, v in labels.items()),
    ]  # fmt: skip
    if zones:
        properties["availabilityZones"] = list(zones)
        args += ["--zones", *zones]
    args += [
        "--enable-cluster-autoscaler",
        "--min-count", "0",
        "--max-count", str(max_count),
        "--node-count", "0",
    ]  # fmt: skip
    path = (
        f"/subscriptions/{SUBSCRIPTION_PLACEHOLDER}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster}/agentPools/{name}"
        f"?api-version={AKS_API_VERSION}"
    )
    return AksNodePool(
        name=name,
        vm_size=size,
        zones=zones,
        path=path,
        body={"properties": properties},
        az=tuple(args),
    )
