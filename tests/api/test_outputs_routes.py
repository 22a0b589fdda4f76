"""The outputs router over HTTP, with its dependency overridden by the fixed market."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from api.routes.outputs import OutputsInputs, outputs_inputs, router
from core.errors import SpotselError
from outputs.aws_validate import fleet_request_errors
from outputs.crds import BUILTIN, load_crds
from tests.outputs.helpers import CRDS
from tests.selector.factories import NOW
from tests.selector.outputs.fixtures import ZONE_NAMES, market

PROFILE = {
    "name": "gpu",
    "requirements": {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "nodes": 4},
    "critical_addons": True,
}


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)

    async def _error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SpotselError)
        return JSONResponse(status_code=400, content={"error": exc.code, "detail": str(exc)})

    app.add_exception_handler(SpotselError, _error)
    inputs = OutputsInputs(pools=market(), now=NOW, zone_names=ZONE_NAMES, crds=load_crds(CRDS))
    app.dependency_overrides[outputs_inputs] = lambda: inputs
    return TestClient(app)


def test_nodepools(client: TestClient) -> None:
    answer = client.post("/v1/karpenter/nodepools", json={"profile": PROFILE})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [p["metadata"]["name"] for p in body["nodepools"]] == [
        "gpu-spot", "gpu-on-demand", "gpu-critical-addons"
    ]  # fmt: skip
    assert body["validated_against"] == str(CRDS)
    assert body["nodeoverlays"] == []
    assert body["workload"]["template"]["spec"]["terminationGracePeriodSeconds"] == 120


@pytest.mark.parametrize("key", ["profile", "requirements"])
def test_fleet_requests(client: TestClient, key: str) -> None:
    source: dict[str, Any] = PROFILE if key == "profile" else PROFILE["requirements"]
    body = {key: source, "launch_template_id": "lt-1", "subnets": ["subnet-a"],
            "target_capacity": 3, "strategy": "capacity-optimized-prioritized"}  # fmt: skip
    answer = client.post("/v1/fleet-requests", json=body)
    assert answer.status_code == 200, answer.text
    request = answer.json()["request"]
    assert fleet_request_errors(request) == []
    assert request["SpotOptions"]["AllocationStrategy"] == "capacity-optimized-prioritized"


def test_fleet_asg_format(client: TestClient) -> None:
    body = {"requirements": PROFILE["requirements"], "launch_template_id": "lt-1",
            "subnets": ["subnet-a", "subnet-b"], "target_capacity": 3, "format": "asg"}  # fmt: skip
    answer = client.post("/v1/fleet-requests", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["request"]["VPCZoneIdentifier"] == "subnet-a,subnet-b"


@pytest.mark.parametrize(
    ("path", "body", "code", "text"),
    [
        ("/v1/karpenter/nodepools", {"profile": {**PROFILE, "weights": {"spot": 0}}},
         "invalid_profile", "weights.spot"),
        ("/v1/fleet-requests", {"launch_template_id": "lt-1", "subnets": ["s"],
                                "target_capacity": 1}, "invalid_profile", "exactly one"),
        ("/v1/fleet-requests", {"requirements": PROFILE["requirements"], "launch_template_id": "l",
                                "subnets": ["s"], "target_capacity": 1, "strategy": "lowest-price"},
         "output_unavailable", "strategy"),
    ],
)  # fmt: skip
def test_errors_are_the_projects(
    client: TestClient, path: str, body: dict[str, Any], code: str, text: str
) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == code
    assert text in answer.json()["detail"]


def test_the_app_wires_the_router_through_its_services(open_client: TestClient) -> None:
    """Through create_app: the pool index, clock and CRDs come from the app's services."""
    answer = open_client.post("/v1/karpenter/nodepools", json={"profile": PROFILE})
    assert answer.status_code == 200, answer.text
    assert answer.json()["validated_against"] == BUILTIN
    assert answer.json()["nodepools"][0]["metadata"]["name"] == "gpu-spot"
