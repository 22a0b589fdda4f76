"""/openapi.json says what the server does: its answers, its bounds, its security (or none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import make_engine
from core.settings import Settings
from selector import RequirementsError, parse_requirements
from selector.pools import CLOUDS
from selector.requirements import ARCHES, CAPACITY_TYPES, MAX_GPUS, STRATEGIES
from tests.api.conftest import KEYS

METHODS = ("get", "post", "put", "patch", "delete")
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
WRITE_OPERATIONS = {("post", "/v1/snapshot/refresh"), ("post", "/v1/events")}
OPEN_OPERATIONS = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")}


def _document(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path / 'doc.db'}")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'doc.db'}", api_keys=KEYS)
    with TestClient(create_app(settings.model_copy(update=overrides), engine=engine)) as client:
        document: dict[str, Any] = client.get("/openapi.json").json()
    engine.dispose()
    return document


@pytest.fixture(scope="module")
def with_auth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _document(tmp_path_factory.mktemp("doc"))


@pytest.fixture(scope="module")
def without_auth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _document(tmp_path_factory.mktemp("doc"), api_auth=False)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def test_no_security_scheme_without_auth(without_auth: dict[str, Any]) -> None:
    assert "securitySchemes" not in without_auth.get("components", {})
    for method, path, operation in _operations(without_auth):
        assert "security" not in operation, (method, path)
        assert not {"401", "403"} & set(operation["responses"]), (method, path)


def test_with_auth_every_protected_operation_names_the_scheme_and_its_answers(
    with_auth: dict[str, Any],
) -> None:
    assert with_auth["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for method, path, operation in _operations(with_auth):
        responses = operation["responses"]
        if (method, path) in OPEN_OPERATIONS:
            assert "security" not in operation
            assert "401" not in responses
            continue
        assert operation["security"] == [{"HTTPBearer": []}], (method, path)
        assert "WWW-Authenticate" in responses["401"]["headers"]
        # A read key is the least a key can be: only write operations can answer 403.
        assert ("403" in responses) == ((method, path) in WRITE_OPERATIONS), (method, path)


def test_every_error_answer_is_documented_with_its_body(with_auth: dict[str, Any]) -> None:
    for method, path, operation in _operations(with_auth):
        responses = operation["responses"]
        if "requestBody" in operation:
            assert {"400", "408", "413", "422"} <= set(responses), (method, path)
        assert "503" in responses, "any process can be at its connection limit"
        for status, answer in responses.items():
            if not status.startswith(("4", "5")):
                continue
            content = answer["content"]
            if status == "503":
                assert content["text/plain"], "the server's own answer at the connection limit"
            if (method, path, status) == ("get", "/readyz", "503"):
                expected = {"$ref": "#/components/schemas/ReadinessResponse"}
                assert content["application/json"]["schema"] == expected
            elif status != "503" or "application/json" in content:
                assert content["application/json"]["schema"] == ERROR_BODY, (method, path, status)
    schemas = with_auth["components"]["schemas"]
    assert "HTTPValidationError" not in schemas, "FastAPI's 422 shape is not what we answer"
    assert schemas["ErrorBody"]["required"] == ["error", "detail"]


def _request_schema(document: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = document["components"]["schemas"]["RecommendationRequest"][
        "properties"
    ]
    return properties


def _branch(field: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional field."""
    branches: list[dict[str, Any]] = [b for b in field["anyOf"] if b.get("type") != "null"]
    [branch] = branches
    return branch


def test_request_choices_are_published(with_auth: dict[str, Any]) -> None:
    fields = _request_schema(with_auth)
    assert _branch(fields["strategy"])["enum"] == list(STRATEGIES)
    assert _branch(fields["arch"])["enum"] == list(ARCHES)
    assert _branch(fields["clouds"])["items"]["enum"] == list(CLOUDS)
    assert _branch(fields["capacity_types"])["items"]["enum"] == list(CAPACITY_TYPES)
    assert _branch(fields["gpus"])["maximum"] == MAX_GPUS
    fleet = with_auth["components"]["schemas"]["FleetRequestBody"]["properties"]
    assert fleet["type"]["enum"] == ["instant", "request", "maintain"]


def _bounded_fields(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, field in _request_schema(document).items():
        for branch in field.get("anyOf", [field]):
            if branch.get("type") in ("integer", "number") and (
                "minimum" in branch or "exclusiveMinimum" in branch
            ):
                yield name, branch


def _accepts(name: str, value: object) -> bool:
    try:
        parse_requirements({name: value})
    except RequirementsError:
        return False
    return True


def test_published_bounds_are_the_validators_bounds(with_auth: dict[str, Any]) -> None:
    """Every documented bound is accepted at the edge and refused just past it."""
    checked = set()
    for name, branch in _bounded_fields(with_auth):
        step = 1 if branch["type"] == "integer" else 1e-6
        high = branch["maximum"]
        assert _accepts(name, high), (name, high)
        assert not _accepts(name, high + max(step, abs(high) * 1e-6)), (name, high)
        if "minimum" in branch:
            assert _accepts(name, branch["minimum"]), name
            assert not _accepts(name, branch["minimum"] - step), name
        else:
            assert not _accepts(name, branch["exclusiveMinimum"]), name
            assert _accepts(name, branch["exclusiveMinimum"] + step), name
        checked.add(name)
    assert {"gpus", "nodes", "top", "max_share_per_zone", "max_price_age_hours", "vcpus"} <= checked


def test_published_choices_are_the_validators_choices(with_auth: dict[str, Any]) -> None:
    fields = _request_schema(with_auth)
    for name in ("strategy", "arch"):
        for value in _branch(fields[name])["enum"]:
            assert _accepts(name, value)
        assert not _accepts(name, "none-of-these")
    for name in ("clouds", "capacity_types"):
        for value in _branch(fields[name])["items"]["enum"]:
            assert _accepts(name, [value])
        assert not _accepts(name, ["none-of-these"])
