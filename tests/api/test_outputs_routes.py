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
from tests.selector.outputs.fixtures import market

LT = "lt-0123456789abcdef0"

PROFILE: dict[str, Any] = {
    "name": "gpu",
    "requirements": {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "nodes": 4},
    "critical_addons": True,
}


def _client(**market_options: bool) -> TestClient:
    app = FastAPI()
    app.include_router(router)

    async def _error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SpotselError)
        return JSONResponse(status_code=400, content={"error": exc.code, "detail": str(exc)})

    app.add_exception_handler(SpotselError, _error)
    inputs = OutputsInputs(pools=market(**market_options), now=NOW, crds=load_crds(CRDS))
    app.dependency_overrides[outputs_inputs] = lambda: inputs
    return TestClient(app)


@pytest.fixture
def client() -> TestClient:
    return _client()


def test_nodepools(client: TestClient) -> None:
    answer = client.post("/v1/karpenter/nodepools", json={"profile": PROFILE})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [p["metadata"]["name"] for p in body["nodepools"]] == [
        "gpu-spot", "gpu-on-demand", "gpu-critical-addons"
    ]  # fmt: skip
    assert body["validated_against"] == str(CRDS)
    assert body["nodeoverlays"] == []
    assert body["workload"]["template"]["spec"]["terminationGracePeriodSeconds"] == 100
    assert body["simulated"] is False
    assert all(
        "spotsel.io/simulated" not in p["metadata"]["annotations"] for p in body["nodepools"]
    )


def test_nodepools_from_simulated_data_say_so() -> None:
    answer = _client(simulated=True).post("/v1/karpenter/nodepools", json={"profile": PROFILE})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["simulated"] is True
    assert body["sources"] == ["sim"]
    for pool in body["nodepools"]:
        assert pool["metadata"]["annotations"]["spotsel.io/simulated"] == "true"


@pytest.mark.parametrize("key", ["profile", "requirements"])
def test_fleet_requests(client: TestClient, key: str) -> None:
    source: dict[str, Any] = PROFILE if key == "profile" else PROFILE["requirements"]
    body = {key: source, "launch_template": LT, "subnets": ["subnet-a"],
            "target_capacity": 3, "strategy": "capacity-optimized-prioritized"}  # fmt: skip
    answer = client.post("/v1/fleet-requests", json=body)
    assert answer.status_code == 200, answer.text
    request = answer.json()["request"]
    assert fleet_request_errors(request) == []
    assert request["SpotOptions"]["AllocationStrategy"] == "capacity-optimized-prioritized"
    assert answer.json()["simulated"] is False
    assert "TagSpecifications" not in request


CPU = {"vcpus": "4:8", "gpus": 0, "regions": ["us-east-1"], "nodes": 6, "top": 15}


def test_fleet_requests_split_by_architecture() -> None:
    """The REST path: one launch template config per architecture, each its own template."""
    client = _client(arm=True, simulated=True)
    arch_of = {r.key.instance_type: r.arch for r in market(arm=True).records}
    body = {"requirements": CPU, "subnets": ["subnet-a"], "target_capacity": 3,
            "launch_templates": {"x86_64": LT, "arm64": "graviton-al2023"}}  # fmt: skip
    answer = client.post("/v1/fleet-requests", json=body)
    assert answer.status_code == 200, answer.text
    request = answer.json()["request"]
    assert fleet_request_errors(request) == []
    seen = set()
    for config in request["LaunchTemplateConfigs"]:
        [arch] = {arch_of[o["InstanceType"]] for o in config["Overrides"]}
        seen.add(arch)
        key = "LaunchTemplateId" if arch == "x86_64" else "LaunchTemplateName"
        assert key in config["LaunchTemplateSpecification"]
    assert seen == {"x86_64", "arm64"}
    assert answer.json()["simulated"] is True
    assert request["TagSpecifications"][0]["Tags"][0] == {
        "Key": "spotsel.io/simulated", "Value": "true"
    }  # fmt: skip
    one = client.post("/v1/fleet-requests", json={**body, "launch_templates": None,
                                                  "launch_template": LT})  # fmt: skip
    assert one.status_code == 400
    assert one.json()["error"] == "output_unavailable"
    assert "cannot boot both" in one.json()["detail"]


@pytest.mark.parametrize(
    ("templates", "field", "text"),
    [
        ({"launch_template": "lt-1"}, "body.launch_template", "17 hex"),
        ({"launch_template": "a b"}, "body.launch_template", "neither"),
        ({"launch_templates": {"sparc": LT}}, "body.launch_templates", "unknown architecture"),
        ({"launch_template": LT, "launch_template_version": "latest"},
         "body.launch_template_version", "version"),
        ({}, "body", "exactly one"),
        ({"launch_template": LT, "launch_templates": {"x86_64": LT}}, "body", "exactly one"),
    ],
)  # fmt: skip
def test_launch_templates_are_validated(templates: dict[str, Any], field: str, text: str) -> None:
    from api.errors import install_error_handlers

    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    inputs = OutputsInputs(pools=market(), now=NOW, crds=load_crds(CRDS))
    app.dependency_overrides[outputs_inputs] = lambda: inputs
    body = {"requirements": CPU, "subnets": ["subnet-a"], "target_capacity": 3, **templates}
    answer = TestClient(app).post("/v1/fleet-requests", json=body)
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["field"] == field
    assert text in problem["message"]


def test_fleet_asg_format(client: TestClient) -> None:
    body = {"requirements": PROFILE["requirements"], "launch_template": "gpu-nodes",
            "subnets": ["subnet-a", "subnet-b"], "target_capacity": 3, "format": "asg"}  # fmt: skip
    answer = client.post("/v1/fleet-requests", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["request"]["VPCZoneIdentifier"] == "subnet-a,subnet-b"


@pytest.mark.parametrize(
    ("path", "body", "code", "text"),
    [
        ("/v1/karpenter/nodepools", {"profile": {**PROFILE, "weights": {"spot": 0}}},
         "invalid_profile", "weights.spot"),
        ("/v1/fleet-requests", {"launch_template": LT, "subnets": ["s"],
                                "target_capacity": 1}, "invalid_profile", "exactly one"),
        ("/v1/fleet-requests", {"requirements": PROFILE["requirements"], "launch_template": LT,
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
