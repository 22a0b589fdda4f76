"""`POST /v1/karpenter/nodepools` and `POST /v1/fleet-requests`: validated outputs over HTTP.

Its one dependency, `outputs_inputs`, builds an `OutputsInputs` (pool index, clock, CRD
schemas) from the app's services through the same `ServicesDep` as every other route.
Authentication is added where the router is included.

Errors are the project's: an invalid profile body is `ProfileError` (400, names the field), no
matching pool or a launch template missing for a ranked architecture `OutputUnavailableError`
(400), a malformed launch template reference 422 naming the field, generated output failing
validation `InvalidOutputError` (a bug: the app should answer 500). Both answers say whether
they were built from simulated data (`simulated`, `sources`), and the documents carry the label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.deps import ServicesDep
from api.routes import answers
from outputs.crds import CrdSchemas
from outputs.errors import ProfileError
from outputs.generate import build_fleet_output, generate_karpenter
from outputs.profiles import parse_profile
from selector import PoolIndex
from selector.discounts import NO_DISCOUNTS, OnDemandDiscounts
from selector.outputs import (
    ARCHES,
    FLEET_STRATEGIES,
    FLEET_TYPES,
    FleetOptions,
    LaunchTemplates,
    OutputError,
    OutputProfile,
    check_template_ref,
    check_template_version,
    launch_templates,
)

__all__ = [
    "FleetRequestBody",
    "InputsDep",
    "KarpenterRequestBody",
    "OutputsInputs",
    "field_check",
    "outputs_inputs",
    "router",
]

router = APIRouter(prefix="/v1", tags=["outputs"])
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OutputsInputs:
    """Everything a generation needs besides the request body."""

    pools: PoolIndex
    now: datetime
    crds: CrdSchemas
    discounts: OnDemandDiscounts = NO_DISCOUNTS  # SPOTSEL_ON_DEMAND_DISCOUNTS, under a profile's


def outputs_inputs(services: ServicesDep) -> OutputsInputs:
    """The app's pool index, clock, the CRDs loaded at start and the default discounts."""
    return OutputsInputs(
        pools=services.snapshots.get(),
        now=services.clock(),
        crds=services.crds,
        discounts=services.settings.discounts,
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
    simulated: bool = Field(description="built from simulated data (the documents say so too)")
    sources: list[str]


class FleetRequestBody(BaseModel):
    """Either a `profile` object or bare `requirements` (ranking vocabulary), plus options."""

    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any] | None = None
    requirements: dict[str, Any] | None = None
    launch_template: str | None = Field(
        None, description="one launch template ID (lt-…) or name, for a single-arch ranking"
    )
    launch_templates: dict[str, str] | None = Field(
        None,
        description=f"one launch template ID or name per architecture ({', '.join(ARCHES)})",
    )
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

    @field_validator("launch_template")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return None if value is None else field_check(check_template_ref, value)

    @field_validator("launch_templates")
    @classmethod
    def _refs(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            field_check(lambda v: launch_templates(per_arch=v.items()), value)
        return value

    @field_validator("launch_template_version")
    @classmethod
    def _version(cls, value: str) -> str:
        return field_check(check_template_version, value)

    @model_validator(mode="after")
    def _exactly_one(self) -> FleetRequestBody:
        if (self.launch_template is None) == (self.launch_templates is None):
            raise ValueError("give exactly one of `launch_template` or `launch_templates`")
        return self

    def templates(self) -> LaunchTemplates:
        return launch_templates(
            self.launch_template,
            (self.launch_templates or {}).items(),
            version=self.launch_template_version,
        )


def field_check(check: Callable[[T], object], value: T) -> T:
    """Run a builder's check as a pydantic validator: its reason becomes a 422 naming the field."""
    try:
        check(value)
    except OutputError as exc:
        raise ValueError(exc.reason) from None
    return value


class FleetResponse(BaseModel):
    format: str
    request: dict[str, Any]
    simulated: bool = Field(description="built from simulated data (the request is tagged too)")
    sources: list[str]


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
        inputs.pools, [profile], now=inputs.now, crds=inputs.crds, discounts=inputs.discounts
    )
    return KarpenterResponse(
        profile=docs.profile,
        nodepools=list(docs.nodepools),
        nodeoverlays=list(docs.overlays),
        workload=docs.workload,
        validated_against=inputs.crds.source,
        simulated=docs.simulated,
        sources=list(docs.provenance.sources),
    )


@router.post(
    "/fleet-requests",
    response_model=FleetResponse,
    responses=answers(400, 422, 500, 503),
    summary="A validated EC2 CreateFleet (or ASG CreateAutoScalingGroup) input",
)
def fleet_requests(body: FleetRequestBody, inputs: InputsDep) -> FleetResponse:
    options = FleetOptions(
        launch_templates=body.templates(),
        subnets=tuple(body.subnets),
        target_capacity=body.target_capacity,
        fleet_type=body.type,
        strategy=body.strategy,
        on_demand_base=body.on_demand_base,
    )
    built = build_fleet_output(
        inputs.pools,
        _fleet_profile(body),
        options,
        now=inputs.now,
        fmt=body.format,
        on_demand_percentage_above_base=body.on_demand_percentage_above_base,
        discounts=inputs.discounts,
    )
    return FleetResponse(
        format=built.format,
        request=built.request,
        simulated=built.provenance.simulated,
        sources=list(built.provenance.sources),
    )
