"""From the store's snapshot to validated outputs: rank each profile, build, validate.

The one path the CLI (`spotsel nodepools generate`, `spotsel fleet`) and the REST routes share.
Nothing is returned that did not pass validation; builder refusals (no pool matches, a launch
template for a missing architecture) become `OutputUnavailableError`, validation failures
`InvalidOutputError`.

A profile serves one cloud (`OutputProfile.cloud`): AWS profiles become Karpenter NodePools and
EC2 Fleet / ASG requests, GCP profiles GKE spot node pools (`generate_gke`), Azure profiles AKS
spot node pools (`generate_aks`); asking for another cloud's output is refused with
`OutputUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from outputs.aws_validate import validate_asg_request, validate_fleet_request
from outputs.crds import CrdSchemas, validate_manifests
from outputs.errors import OutputUnavailableError, SimulatedDataError
from outputs.kube import validate_workload
from selector import PoolIndex, Ranking, rank
from selector.discounts import NO_DISCOUNTS, OnDemandDiscounts
from selector.outputs import (
    AksNodePools,
    FleetOptions,
    GkeNodePools,
    KarpenterDocuments,
    OutputError,
    OutputProfile,
    Provenance,
    aks_node_pools,
    asg_request,
    check_one_cluster,
    create_fleet_request,
    gke_node_pools,
    karpenter_documents,
    wants_fallback,
)
from selector.requirements import with_default_discounts

__all__ = [
    "FleetFormat",
    "FleetOutput",
    "build_fleet_output",
    "check_apply_allowed",
    "generate_aks",
    "generate_gke",
    "generate_karpenter",
    "rank_profile",
    "region_zones",
]

FleetFormat = Literal["fleet", "asg"]


@dataclass(frozen=True, slots=True)
class FleetOutput:
    """A validated CreateFleet / CreateAutoScalingGroup input and what it was built from."""

    format: FleetFormat
    request: dict[str, Any]
    provenance: Provenance


def rank_profile(
    snapshot: PoolIndex,
    profile: OutputProfile,
    *,
    capacity_type: str,
    now: datetime,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
) -> Ranking:
    """Rank the profile's requirements for one capacity type ("spot" or "on-demand"), its own
    on-demand discounts laid over the deployment's `discounts` (SPOTSEL_ON_DEMAND_DISCOUNTS)."""
    requirements = replace(
        with_default_discounts(profile.requirements, discounts), capacity_types=(capacity_type,)
    )
    return rank(snapshot, requirements, now=now)


def region_zones(snapshot: PoolIndex, region: str) -> frozenset[str]:
    """Every AWS zone ID the snapshot knows in REGION: offerings are collected for every type
    in every zone, so this is the region's zone list as far as the data goes."""
    return frozenset(
        r.key.zone_id
        for r in snapshot.records
        if r.key.cloud == "aws" and r.key.region == region and r.key.zone_id
    )


def _unavailable(exc: OutputError) -> OutputUnavailableError:
    return OutputUnavailableError(str(exc))


def _require_cloud(profile: OutputProfile, cloud: str, what: str) -> None:
    if profile.cloud != cloud:
        raise OutputUnavailableError(
            f"profile {profile.name}: {what} are {cloud.upper()} outputs; the profile ranks "
            f"{profile.cloud}"
        )


def generate_karpenter(
    snapshot: PoolIndex,
    profiles: Sequence[OutputProfile],
    *,
    now: datetime,
    crds: CrdSchemas,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
) -> list[KarpenterDocuments]:
    """Documents of every profile, all validated (CRD schemas + CEL rules, workload models)."""
    out = []
    zones_of: dict[str, frozenset[str]] = {}
    for profile in profiles:
        _require_cloud(profile, "aws", "Karpenter NodePools")
        [region] = profile.requirements.regions  # the profile loader requires exactly one
        if region not in zones_of:
            zones_of[region] = region_zones(snapshot, region)
        spot = rank_profile(snapshot, profile, capacity_type="spot", now=now, discounts=discounts)
        on_demand = (
            rank_profile(snapshot, profile, capacity_type="on-demand", now=now, discounts=discounts)
            if wants_fallback(profile, spot)
            else None
        )
        try:
            docs = karpenter_documents(
                profile, spot=spot, on_demand=on_demand, region_zones=zones_of[region]
            )
        except OutputError as exc:
            raise _unavailable(exc) from exc
        validate_manifests(docs.manifests, crds)
        validate_workload(docs.workload, profile=profile.name)
        out.append(docs)
    return out


def generate_gke(
    snapshot: PoolIndex,
    profiles: Sequence[OutputProfile],
    *,
    now: datetime,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
    project: str | None = None,
    cluster: str | None = None,
) -> list[GkeNodePools]:
    """GKE spot node pools of every profile (all GCP profiles: `_require_cloud`); None = the
    builder's placeholders."""
    target = _given(project=project, cluster=cluster)
    out = []
    for profile in profiles:
        _require_cloud(profile, "gcp", "GKE node pools")
        spot = rank_profile(snapshot, profile, capacity_type="spot", now=now, discounts=discounts)
        try:
            out.append(gke_node_pools(profile, spot, **target))
        except OutputError as exc:
            raise _unavailable(exc) from exc
    return out


def generate_aks(
    snapshot: PoolIndex,
    profiles: Sequence[OutputProfile],
    *,
    now: datetime,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
    resource_group: str | None = None,
    cluster: str | None = None,
) -> list[AksNodePools]:
    """AKS spot node pools of every profile (all Azure profiles: `_require_cloud`), checked to
    fit one cluster together (`check_one_cluster`); None = the builder's placeholders."""
    target = _given(resource_group=resource_group, cluster=cluster)
    out = []
    for profile in profiles:
        _require_cloud(profile, "azure", "AKS node pools")
        spot = rank_profile(snapshot, profile, capacity_type="spot", now=now, discounts=discounts)
        try:
            out.append(aks_node_pools(profile, spot, **target))
        except OutputError as exc:
            raise _unavailable(exc) from exc
    try:
        check_one_cluster(out)
    except OutputError as exc:
        raise _unavailable(exc) from exc
    return out


def _given(**names: str | None) -> dict[str, str]:
    """The names given (a None leaves the builder's placeholder)."""
    return {key: value for key, value in names.items() if value is not None}


def check_apply_allowed(generated: Sequence[KarpenterDocuments], *, allow_simulated: bool) -> None:
    """Refuse to hand NodePools built from simulated data to a cluster unless asked to."""
    simulated = [g for g in generated if g.simulated]
    if not simulated or allow_simulated:
        return
    names = ", ".join(g.profile for g in simulated)
    sources = ", ".join(sorted({s for g in simulated for s in g.provenance.sources})) or "?"
    raise SimulatedDataError(
        f"refusing to apply NodePools built from simulated data (profiles {names}; sources "
        f"{sources}): collect real data, or pass --allow-simulated to apply them anyway"
    )


def build_fleet_output(
    snapshot: PoolIndex,
    profile: OutputProfile,
    options: FleetOptions,
    *,
    now: datetime,
    fmt: FleetFormat = "fleet",
    on_demand_percentage_above_base: int = 0,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
) -> FleetOutput:
    """A validated CreateFleet input (`fleet`) or CreateAutoScalingGroup input (`asg`)."""
    _require_cloud(profile, "aws", "EC2 Fleet and ASG requests")
    spot = rank_profile(snapshot, profile, capacity_type="spot", now=now, discounts=discounts)
    try:
        if fmt == "asg":
            request = asg_request(
                spot,
                options,
                name=profile.nodepool,
                on_demand_percentage_above_base=on_demand_percentage_above_base,
            )
        else:
            request = create_fleet_request(spot, options)
    except OutputError as exc:
        raise _unavailable(exc) from exc
    if fmt == "asg":
        validate_asg_request(request)
    else:
        validate_fleet_request(request)
    return FleetOutput(format=fmt, request=request, provenance=Provenance.of(spot))
