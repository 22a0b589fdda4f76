"""GKE and AKS node pools over HTTP: the documents the CLI writes, with the project's errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers
from api.routes.node_pools import router
from api.routes.outputs import OutputsInputs, outputs_inputs
from outputs.crds import load_crds
from outputs.generate import generate_aks, generate_gke
from outputs.profiles import parse_profile
from selector import PoolIndex
from tests.api.conftest import READ_KEY, auth
from tests.outputs.helpers import CRDS
from tests.outputs.test_aks import REGION as AZURE_REGION
from tests.outputs.test_aks import azure_market
from tests.outputs.test_gke import REGION as GCP_REGION
from tests.outputs.test_gke import gcp_market
from tests.selector.factories import NOW

GKE_PROFILE: dict[str, Any] = {
    "name": "gke-gpu",
    "requirements": {"gpus": 1, "gpu_memory_gib": 16, "clouds": ["gcp"],
                     "regions": [GCP_REGION], "nodes": 6},
}  # fmt: skip
AKS_PROFILE: dict[str, Any] = {
    "name": "aks-gpu",
    "requirements": {"gpus": 1, "gpu_memory_gib": 16, "clouds": ["azure"],
                     "regions": [AZURE_REGION], "nodes": 4},
}  # fmt: skip


def _client(pools: PoolIndex) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    inputs = OutputsInputs(pools=pools, now=NOW, crds=load_crds(CRDS))
    app.dependency_overrides[outputs_inputs] = lambda: inputs
    return TestClient(app)


def test_gke_node_pools_are_the_documents_the_cli_writes() -> None:
    market = gcp_market()
    body = {"profile": GKE_PROFILE, "project": "ml-platform-1", "cluster": "train"}
    answer = _client(market).post("/v1/gke/nodepools", json=body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    [expected] = generate_gke(
        market, [parse_profile(GKE_PROFILE)], now=NOW, project="ml-platform-1", cluster="train"
    )
    assert got == expected.to_dict() | {"simulated": False, "sources": ["gcp"]}
    assert got["parent"] == f"projects/ml-platform-1/locations/{GCP_REGION}/clusters/train"
    assert [p["machineType"] for p in got["nodePools"]][:2] == ["n1-standard-8", "g2-standard-4"]


def test_aks_node_pools_carry_their_notes_and_commands() -> None:
    market = azure_market(simulated=True)
    body = {"profile": AKS_PROFILE, "resource_group": "rg-ml", "cluster": "train"}
    answer = _client(market).post("/v1/aks/nodepools", json=body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    [expected] = generate_aks(
        market, [parse_profile(AKS_PROFILE)], now=NOW, resource_group="rg-ml", cluster="train"
    )
    assert got["agentPools"] == expected.to_dict()["agentPools"]
    assert (got["resourceGroup"], got["cluster"]) == ("rg-ml", "train")
    assert got["simulated"] is True
    assert got["sources"] == ["sim"]
    assert got["notes"] == expected.notes()
    assert any("SIMULATED" in note for note in got["notes"])
    assert all(pool["az"][:4] == ["az", "aks", "nodepool", "add"] for pool in got["agentPools"])


def test_placeholders_stand_in_for_names_not_given() -> None:
    answer = _client(gcp_market()).post("/v1/gke/nodepools", json={"profile": GKE_PROFILE})
    assert answer.status_code == 200, answer.text
    assert answer.json()["parent"] == f"projects/PROJECT/locations/{GCP_REGION}/clusters/CLUSTER"


@pytest.mark.parametrize(
    ("path", "profile", "extra", "field", "text"),
    [
        ("/v1/gke/nodepools", GKE_PROFILE, {"project": "My_Project"}, "project", "lowercase"),
        ("/v1/gke/nodepools", GKE_PROFILE, {"cluster": "-train"}, "cluster", "starting with"),
        ("/v1/aks/nodepools", AKS_PROFILE, {"resource_group": "rg."}, "resource_group", "not end"),
        ("/v1/aks/nodepools", AKS_PROFILE, {"cluster": "a" * 64}, "cluster", "1-63"),
        ("/v1/aks/nodepools", AKS_PROFILE, {"zones": ["1"]}, "zones", "Extra"),
    ],
)  # fmt: skip
def test_names_the_clouds_would_refuse_are_422_naming_the_field(
    path: str, profile: dict[str, Any], extra: dict[str, Any], field: str, text: str
) -> None:
    market = gcp_market() if "gke" in path else azure_market()
    answer = _client(market).post(path, json={"profile": profile, **extra})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "invalid_request"
    [problem] = body["detail"]
    assert problem["field"].endswith(field)
    assert text in problem["message"]


@pytest.mark.parametrize(
    ("path", "profile", "text"),
    [
        ("/v1/gke/nodepools", AKS_PROFILE, "GKE node pools are GCP outputs"),
        ("/v1/aks/nodepools", GKE_PROFILE, "AKS node pools are AZURE outputs"),
        ("/v1/gke/nodepools", GKE_PROFILE | {"requirements": GKE_PROFILE["requirements"]
                                             | {"gpu_memory_gib": 200}}, "no GCP spot pool"),
    ],
)  # fmt: skip
def test_a_profile_the_cloud_cannot_serve_is_400_output_unavailable(
    path: str, profile: dict[str, Any], text: str
) -> None:
    answer = _client(gcp_market() if "gke" in path else azure_market()).post(
        path, json={"profile": profile}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "output_unavailable"
    assert text in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "profile", "pools"),
    [("/v1/gke/nodepools", GKE_PROFILE, "nodePools"),
     ("/v1/aks/nodepools", AKS_PROFILE, "agentPools")],
)  # fmt: skip
def test_the_app_serves_both_to_the_read_scope(
    client: TestClient, path: str, profile: dict[str, Any], pools: str
) -> None:
    """Through create_app, over the simulated market: a read key is enough, none is 401, and
    the pools say they rest on simulated data."""
    assert client.post(path, json={"profile": profile}).status_code == 401
    answer = client.post(path, json={"profile": profile}, headers=auth(READ_KEY))
    assert answer.status_code == 200, answer.text
    assert answer.json()["simulated"] is True
    assert answer.json()[pools]
