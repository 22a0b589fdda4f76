"""GKE spot node pools as plain data: one pool per ranked GCP machine type.

GKE allows one machine type per node pool, so a diversified ranking becomes several pools, each
with its ranked zones as `locations`, `config.spot`, the profile's labels and taints and, for GPU
types, `config.accelerators`. Per pool the builder returns the REST body of
`projects.locations.clusters.nodePools.create` (container v1: `{"nodePool": {...}}`) and the
same request as a `gcloud container node-pools create` argument list (a list, so no shell
quoting is ever involved).

Taints: `cloud.google.com/gke-spot=true:NoSchedule` (GKE labels spot nodes
`cloud.google.com/gke-spot=true` itself; the taint keeps other pods off) and the profile's own
`spotsel.io/profile=<profile>:NoSchedule`, the same guard the Karpenter pools carry
(`selector.outputs.labels`). Autoscaling may scale every pool from zero to the profile's node
count: any one pool must be able to carry the workload when the others run dry.

Built from simulated data, the document says so (`simulated`, `sources`) and every node carries
the label `spotsel.io/simulated=true` (label values cannot hold the comma-joined sources).
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
    "GKE_SPOT_TAINT",
    "MAX_NODE_POOL_NAME",
    "GkeNodePool",
    "GkeNodePools",
    "accelerator_type",
    "check_cluster",
    "check_project",
    "check_target",
    "gke_node_pools",
]

GKE_SPOT_TAINT: Final = {
    "key": "cloud.google.com/gke-spot",
    "value": "true",
    "effect": "NoSchedule",
}
# Kubernetes taint effects as the GKE REST API spells them (NodeTaint.Effect).
REST_EFFECTS: Final = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
# GKE node pool names: lowercase letters, digits and '-', at most 40 characters (GKE API).
MAX_NODE_POOL_NAME: Final = 40
# Hex digits of the hash that keeps a shortened pool name unique.
NAME_HASH_CHARS: Final = 6
# Scale-up picks the zones with capacity (`ANY`), which is what spot pools want; `BALANCED`
# would keep asking a zone that ran dry (NodePoolAutoscaling.LocationPolicy).
LOCATION_POLICY: Final = "ANY"
# Placeholders for what a profile does not know; the user substitutes their own.
PROJECT_PLACEHOLDER: Final = "PROJECT"
CLUSTER_PLACEHOLDER: Final = "CLUSTER"
# GPUs bundled with a machine series (GCE "GPU machine types"): the accelerator type GKE expects.
SERIES_ACCELERATORS: Final = {
    "a2-highgpu": "nvidia-tesla-a100",
    "a2-megagpu": "nvidia-tesla-a100",
    "a2-ultragpu": "nvidia-a100-80gb",
    "a3-edgegpu": "nvidia-h100-80gb",
    "a3-highgpu": "nvidia-h100-80gb",
    "a3-megagpu": "nvidia-h100-mega-80gb",
    "a3-ultragpu": "nvidia-h200-141gb",
    "g2-standard": "nvidia-l4",
}
# N1 VMs take attached GPUs; the catalog names such a pairing "<machine-type>+<accelerator>".
ATTACHED_SEPARATOR: Final = "+"
# GCP project IDs: 6-30 lowercase letters, digits or '-', starting with a letter, not ending
# in '-'. GKE cluster names: 1-40 lowercase letters, digits or '-', starting with a letter and
# ending with a letter or digit.
PROJECT_RE: Final = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
CLUSTER_RE: Final = re.compile(r"^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class GkeNodePool:
    """One node pool: its REST body and the equivalent gcloud arguments."""

    name: str
    machine_type: str
    locations: tuple[str, ...]  # () = the cluster's own node locations (regional pool)
    body: dict[str, Any]  # projects.locations.clusters.nodePools.create request body
    gcloud: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "machineType": self.machine_type,
            "locations": list(self.locations),
            "request": self.body,
            "gcloud": list(self.gcloud),
        }


@dataclass(frozen=True, slots=True)
class GkeNodePools:
    """Every GKE spot node pool of one profile, best ranked type first."""

    profile: str
    region: str
    parent: str  # projects/<project>/locations/<region>/clusters/<cluster>
    pools: tuple[GkeNodePool, ...]
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def simulated(self) -> bool:
        return self.provenance.simulated

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"profile": self.profile, "region": self.region}
        if self.simulated:
            out["simulated"] = True
            out["sources"] = list(self.provenance.sources)
        out["parent"] = self.parent
        out["nodePools"] = [p.to_dict() for p in self.pools]
        return out


def accelerator_type(pool: RankedPool) -> tuple[str, str | None]:
    """(machine type, GKE accelerator type or None) of a ranked GCP type."""
    itype = pool.key.instance_type
    if ATTACHED_SEPARATOR in itype:
        machine, accelerator = itype.split(ATTACHED_SEPARATOR, 1)
        return machine, accelerator
    if pool.gpu_count <= 0:
        return itype, None
    bundled = SERIES_ACCELERATORS.get(itype.rsplit("-", 1)[0])
    if bundled is None:
        raise OutputError(
            f"machine type {itype}",
            f"no GKE accelerator type known for its {pool.gpu_model or 'GPU'} GPUs",
        )
    return itype, bundled


def gke_node_pools(
    profile: OutputProfile,
    spot: Ranking,
    *,
    project: str = PROJECT_PLACEHOLDER,
    cluster: str = CLUSTER_PLACEHOLDER,
) -> GkeNodePools:
    """The GKE spot node pools of a profile's spot ranking (its GCP pools, one per type)."""
    check_target(project, cluster)
    pools = [p for p in spot.pools if p.capacity_type == "spot" and p.key.cloud == "gcp"]
    if not pools:
        raise OutputError(f"profile {profile.name}", "no GCP spot pool matches the requirements")
    [region] = profile.requirements.regions  # the profile loader requires exactly one
    provenance = Provenance.of(spot)
    by_type: dict[str, list[RankedPool]] = {}
    for p in pools:  # rank order: the first pool of a type is its best
        by_type.setdefault(p.key.instance_type, []).append(p)
    return GkeNodePools(
        profile=profile.name,
        region=region,
        parent=f"projects/{project}/locations/{region}/clusters/{cluster}",
        pools=tuple(
            _pool(profile, typed, region=region, cluster=cluster, provenance=provenance)
            for typed in by_type.values()
        ),
        provenance=provenance,
    )


def check_target(project: str, cluster: str) -> None:
    """Raise `OutputError` for a project ID or cluster name GKE would refuse (the placeholders
    pass: the user substitutes them)."""
    check_project(project)
    check_cluster(cluster)


def check_project(project: str) -> None:
    """Raise `OutputError` for a GCP project ID GCP would refuse (the placeholder passes)."""
    if project != PROJECT_PLACEHOLDER and not PROJECT_RE.fullmatch(project):
        raise OutputError(
            f"GCP project {project!r}",
            "6-30 lowercase letters, digits or '-', starting with a letter, not ending in '-'",
        )


def check_cluster(cluster: str) -> None:
    """Raise `OutputError` for a cluster name GKE would refuse (the placeholder passes)."""
    if cluster != CLUSTER_PLACEHOLDER and not CLUSTER_RE.fullmatch(cluster):
        raise OutputError(
            f"GKE cluster {cluster!r}",
            "1-40 lowercase letters, digits or '-', starting with a letter, ending with a letter "
            "or digit",
        )


def pool_name(nodepool: str, instance_type: str) -> str:
    """`<nodepool>-<type>` ('+' as '-'), shortened with a hash suffix past the GKE limit."""
    name = f"{nodepool}-{instance_type.replace(ATTACHED_SEPARATOR, '-')}"
    if len(name) <= MAX_NODE_POOL_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:NAME_HASH_CHARS]
    head = name[: MAX_NODE_POOL_NAME - NAME_HASH_CHARS - 1].rstrip("-")
    return f"{head}-{digest}"


def _pool(
    profile: OutputProfile,
    pools: Sequence[RankedPool],
    *,
    region: str,
    cluster: str,
    provenance: Provenance,
) -> GkeNodePool:
    best = pools[0]
    machine, accelerator = accelerator_type(best)
    name = pool_name(profile.nodepool, best.key.instance_type)
    # A regional pool (zone "") may launch anywhere: leave the cluster's locations in force.
    zones: tuple[str, ...] = (
        () if any(not p.key.zone_id for p in pools) else tuple(p.key.zone_id for p in pools)
    )
    labels = {LIFECYCLE_LABEL: "spot", PROFILE_LABEL: profile.name}
    if provenance.simulated:
        labels[SIMULATED_KEY] = "true"
    taints = [dict(GKE_SPOT_TAINT), profile_taint(profile.name)]
    nodes = profile.requirements.nodes
    config: dict[str, Any] = {
        "machineType": machine,
        "spot": True,
        "labels": labels,
        "taints": [{**t, "effect": REST_EFFECTS[t["effect"]]} for t in taints],
    }
    args = [
        "gcloud", "container", "node-pools", "create", name,
        f"--cluster={cluster}",
        f"--location={region}",
        f"--machine-type={machine}",
        "--spot",
    ]  # fmt: skip
    if accelerator is not None:
        # int64 fields are JSON strings in the REST mapping (AcceleratorConfig.acceleratorCount).
        count = best.gpu_count
        config["accelerators"] = [{"acceleratorCount": str(count), "acceleratorType": accelerator}]
        args.append(f"--accelerator=type={accelerator},count={count}")
    node_pool: dict[str, Any] = {"name": name, "config": config, "initialNodeCount": 0}
    if zones:
        node_pool["locations"] = list(zones)
        args.append(f"--node-locations={','.join(zones)}")
    node_pool["autoscaling"] = {
        "enabled": True,
        "totalMinNodeCount": 0,
        "totalMaxNodeCount": nodes,
        "locationPolicy": LOCATION_POLICY,
    }
    args += [
        # gcloud starts 3 nodes per zone unless told otherwise; spot pools start empty.
        "--num-nodes=0",
        "--enable-autoscaling",
        "--total-min-nodes=0",
        f"--total-max-nodes={nodes}",
        f"--location-policy={LOCATION_POLICY}",
        "--node-labels=" + ",".join(f"{k}={v}" for k, v in labels.items()),
        "--node-taints=" + ",".join(f"{t['key']}={t['value']}:{t['effect']}" for t in taints),
    ]
    return GkeNodePool(
        name=name,
        machine_type=machine,
        locations=zones,
        body={"nodePool": node_pool},
        gcloud=tuple(args),
    )
