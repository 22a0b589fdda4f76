"""From the store's snapshot to validated outputs: rank each profile, build, validate.

The one path the CLI (`spotsel nodepools generate`, `spotsel fleet`) and the REST routes share.
Nothing is returned that did not pass validation; builder refusals (no pool matches) become
`OutputUnavailableError`, validation failures `InvalidOutputError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from outputs.aws_validate import validate_asg_request, validate_fleet_request
from outputs.crds import CrdSchemas, validate_manifests
from outputs.errors import OutputUnavailableError
from outputs.kube import validate_workload
from selector import PoolIndex, Ranking, rank
from selector.outputs import (
    FleetOptions,
    KarpenterDocuments,
    OutputError,
    OutputProfile,
    asg_request,
    create_fleet_request,
    karpenter_documents,
    wants_fallback,
    workload_snippet,
)

__all__ = [
    "FleetFormat",
    "build_fleet_output",
    "generate_karpenter",
    "rank_profile",
]

FleetFormat = Literal["fleet", "asg"]


def rank_profile(
    snapshot: PoolIndex, profile: OutputProfile, *, capacity_type: str, now: datetime
) -> Ranking:
    """Rank the profile's requirements for one capacity type ("spot" or "on-demand")."""
    requirements = replace(profile.requirements, capacity_types=(capacity_type,))
    return rank(snapshot, requirements, now=now)


def _unavailable(exc: OutputError) -> OutputUnavailableError:
    return OutputUnavailableError(str(exc))


def generate_karpenter(
    snapshot: PoolIndex,
    profiles: Sequence[OutputProfile],
    *,
    now: datetime,
    zone_names: dict[str, str],
    crds: CrdSchemas,
) -> list[KarpenterDocuments]:
    """Documents of every profile, all validated (CRD schemas + CEL rules, workload models)."""
    out = []
    for profile in profiles:
        spot = rank_profile(snapshot, profile, capacity_type="spot", now=now)
        on_demand = (
            rank_profile(snapshot, profile, capacity_type="on-demand", now=now)
            if wants_fallback(profile, spot)
            else None
        )
        try:
            docs = karpenter_documents(
                profile,
                spot=spot,
                on_demand=on_demand,
                zone_names=zone_names,
                workload=workload_snippet(profile),
            )
        except OutputError as exc:
            raise _unavailable(exc) from exc
        validate_manifests(docs.manifests, crds)
        validate_workload(docs.workload, profile=profile.name)
        out.append(docs)
    return out


def build_fleet_output(
    snapshot: PoolIndex,
    profile: OutputProfile,
    options: FleetOptions,
    *,
    now: datetime,
    fmt: FleetFormat = "fleet",
    on_demand_percentage_above_base: int = 0,
) -> dict[str, Any]:
    """A validated CreateFleet input (`fleet`) or CreateAutoScalingGroup input (`asg`)."""
    spot = rank_profile(snapshot, profile, capacity_type="spot", now=now)
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
    return request
