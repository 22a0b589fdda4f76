"""`POST /v1/gke/nodepools` and `POST /v1/aks/nodepools`: a profile's spot node pools on GKE
and AKS over HTTP, the documents `spotsel nodepools generate` writes to files.

A GCP profile gets one GKE node pool per ranked machine type (the `nodePools.create` request
body and the equivalent `gcloud` arguments); an Azure profile one AKS agent pool per VM size
(the ARM PUT body and the `az aks nodepool add` arguments), with notes the user must read
first. The project, resource group and cluster default to placeholders and are checked
against the clouds' naming rules when given (422 naming the field). A profile on another
cloud, or no matching spot pool, is 400 `output_unavailable`; both answers say whether they
were built from simulated data.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.routes import answers
from api.routes.outputs import InputsDep, field_check
from outputs.generate import generate_aks, generate_gke
from outputs.profiles import parse_profile
from selector.outputs import aks, gke

__all__ = ["AksRequestBody", "GkeRequestBody", "router"]

router = APIRouter(prefix="/v1", tags=["outputs"])

_PROFILE = Field(description="a profile object in the profiles-file format, on the cloud asked")


class GkeRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any] = _PROFILE
    project: str = Field(gke.PROJECT_PLACEHOLDER, description="GCP project ID")
    cluster: str = Field(gke.CLUSTER_PLACEHOLDER, description="GKE cluster name")

    _project = field_validator("project")(partial(field_check, gke.check_project))
    _cluster = field_validator("cluster")(partial(field_check, gke.check_cluster))


class AksRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any] = _PROFILE
    resource_group: str = Field(aks.RESOURCE_GROUP_PLACEHOLDER, description="Azure resource group")
    cluster: str = Field(aks.CLUSTER_PLACEHOLDER, description="AKS cluster name")

    _resource_group = field_validator("resource_group")(
        partial(field_check, aks.check_resource_group)
    )
    _cluster = field_validator("cluster")(partial(field_check, aks.check_cluster))


class _Provenance(BaseModel):
    simulated: bool = Field(description="built from simulated data (the pools' labels say so)")
    sources: list[str]


# Keys below as the generated files and the clouds' APIs spell them (camelCase).
class GkeResponse(_Provenance):
    profile: str
    region: str
    parent: str = Field(description="projects/<project>/locations/<region>/clusters/<cluster>")
    nodePools: list[dict[str, Any]] = Field(
        description="per machine type: name, machineType, locations, request (the "
        "nodePools.create body), gcloud (the equivalent arguments)"
    )


class AksResponse(_Provenance):
    profile: str
    region: str
    resourceGroup: str
    cluster: str
    apiVersion: str
    agentPools: list[dict[str, Any]] = Field(
        description="per VM size: name, the ARM PUT path and body, az (the equivalent "
        "`az aks nodepool add` arguments)"
    )
    omitted: list[str] = Field(default_factory=list, description="sizes past the AKS limit")
    notes: list[str] = Field(description="what to know before creating the pools")


@router.post(
    "/gke/nodepools",
    response_model=GkeResponse,
    responses=answers(400, 422, 503),
    summary="GKE spot node pools (REST bodies and gcloud arguments) for a GCP profile",
)
def gke_nodepools(body: GkeRequestBody, inputs: InputsDep) -> GkeResponse:
    profile = parse_profile(body.profile, source="request body profile")
    [pools] = generate_gke(
        inputs.pools, [profile], now=inputs.now, discounts=inputs.discounts,
        project=body.project, cluster=body.cluster,
    )  # fmt: skip
    return GkeResponse(**pools.to_dict() | _provenance(pools.simulated, pools.provenance.sources))


@router.post(
    "/aks/nodepools",
    response_model=AksResponse,
    responses=answers(400, 422, 503),
    summary="AKS spot node pools (ARM bodies and az arguments) for an Azure profile",
)
def aks_nodepools(body: AksRequestBody, inputs: InputsDep) -> AksResponse:
    profile = parse_profile(body.profile, source="request body profile")
    [pools] = generate_aks(
        inputs.pools, [profile], now=inputs.now, discounts=inputs.discounts,
        resource_group=body.resource_group, cluster=body.cluster,
    )  # fmt: skip
    return AksResponse(
        **pools.to_dict()
        | _provenance(pools.simulated, pools.provenance.sources)
        | {"notes": pools.notes()}
    )


def _provenance(simulated: bool, sources: tuple[str, ...]) -> dict[str, Any]:
    return {"simulated": simulated, "sources": list(sources)}
