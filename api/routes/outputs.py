"""`POST /v1/karpenter/nodepools` and `POST /v1/fleet-requests`: validated outputs over HTTP.

Its one dependency, `outputs_inputs`, builds an `OutputsInputs` (pool index, clock, zone-name
map, CRD schemas) from the app's services through the same `ServicesDep` as every other route.
Authentication is added where the router is included.

Errors are the project's: an invalid profile body is `ProfileError` (400, names the field), no
matching pool `OutputUnavailableError` (400), generated output failing validation
`InvalidOutputError` (a bug: the app should answer 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.routes import answers
from core.pool_reader import load_zone_names
from outputs.crds import CrdSchemas
from outputs.errors import ProfileError
from outputs.generate import build_fleet_output, generate_karpenter
from outputs.profiles import parse_profile
from selector import PoolIndex
from selector.outputs import FLEET_STRATEGIES, FLEET_TYPES, FleetOptions, OutputProfile

__all__ = [
    "FleetRequestBody",
    "KarpenterRequestBody",
    "OutputsInputs",
    "outputs_inputs",
    "router",
]

router = APIRouter(prefix="/v1", tags=["outputs"])


@dataclass(frozen=True, slots=True)
class OutputsInputs:
    """Everything a generation needs besides the request body."""

    pools: PoolIndex
    now: datetime
    zone_names: dict[str, str]
    crds: CrdSchemas


def outputs_inputs(services: ServicesDep) -> OutputsInputs:
    """The app's pool index, clock, the account's zone names and the CRDs loaded at start."""
    return OutputsInputs(
        pools=services.snapshots.get(),
        now=services.clock(),
        zone_names=load_zone_names(services.engine, account=services.settings.outputs_aws_account),
        crds=services.crds,
    )


InputsDep = Annotated[OutputsInputs, Depends(outputs_inputs)]


class KarpenterRequestBody(BaseModel):
    """A profile object in the profiles-file format (see examples/profiles.yaml)."""

    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any]


class KarpenterResponse(BaseModel):
    profile: str
    nodepools: list[dict[str, Any]]
    nodeoverlays: list[dict[str, Any]]
    workload: dict[str, Any]
    validated_against: str


class FleetRequestBody(BaseModel):
    """Either a `profile` object or bare `requirements` (ranking vocabulary), plus options."""

    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any] | None = None
    requirements: dict[str, Any] | None = None
    launch_template_id: str = Field(min_length=1)
    launch_template_version: str = "$Latest"
    subnets: list[str] = Field(min_length=1)
    target_capacity: int = Field(ge=1)
    # Checked by the fleet builder (400 `output_unavailable`); the enums document the values.
    type: str = Field("instant", json_schema_extra={"enum": list(FLEET_TYPES)})
    strategy: str = Field(
        "price-capacity-optimized", json_schema_extra={"enum": list(FLEET_STRATEGIES)}
    )
    on_demand_base: int = Field(0, ge=0)
    on_demand_percentage_above_base: int = Field(0, ge=0, le=100)
    format: Literal["fleet", "asg"] = "fleet"
    name: str = Field("spotsel-fleet", description="profile name when `requirements` is given")


class FleetResponse(BaseModel):
    format: str
    request: dict[str, Any]


def _fleet_profile(body: FleetRequestBody) -> OutputProfile:
    if (body.profile is None) == (body.requirements is None):
        raise ProfileError("request body: give exactly one of `profile` or `requirements`")
    if body.profile is not None:
        return parse_profile(body.profile, source="request body profile")
    return parse_profile(
        {"name": body.name, "requirements": body.requirements}, source="request body"
    )


@router.post(
    "/karpenter/nodepools",
    response_model=KarpenterResponse,
    responses=answers(400, 422, 500, 503),
    summary="Validated Karpenter NodePools (+ NodeOverlays, workload snippet) for a profile",
)
def karpenter_nodepools(body: KarpenterRequestBody, inputs: InputsDep) -> KarpenterResponse:
    profile = parse_profile(body.profile, source="request body profile")
    [docs] = generate_karpenter(
        inputs.pools, [profile], now=inputs.now, zone_names=inputs.zone_names, crds=inputs.crds
    )
    return KarpenterResponse(
        profile=docs.profile,
        nodepools=list(docs.nodepools),
        nodeoverlays=list(docs.overlays),
        workload=docs.workload,
        validated_against=inputs.crds.source,
    )


@router.post(
    "/fleet-requests",
    response_model=FleetResponse,
    responses=answers(400, 422, 500, 503),
    summary="A validated EC2 CreateFleet (or ASG CreateAutoScalingGroup) input",
)
def fleet_requests(body: FleetRequestBody, inputs: InputsDep) -> FleetResponse:
    options = FleetOptions(
        launch_template_id=body.launch_template_id,
        launch_template_version=body.launch_template_version,
        subnets=tuple(body.subnets),
        target_capacity=body.target_capacity,
        fleet_type=body.type,
        strategy=body.strategy,
        on_demand_base=body.on_demand_base,
    )
    request = build_fleet_output(
        inputs.pools,
        _fleet_profile(body),
        options,
        now=inputs.now,
        fmt=body.format,
        on_demand_percentage_above_base=body.on_demand_percentage_above_base,
    )
    return FleetResponse(format=body.format, request=request)
