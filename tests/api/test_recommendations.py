"""POST /v1/recommendations over the simulated market, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.schemas import RecommendationRequest, RecommendationResponse
from core.settings import Settings
from selector import Requirements
from tests.api.conftest import API_NOW, auth, build_app

SEED_REQUEST = {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"]}


def test_one_gpu_request_returns_diversified_pools_with_breakdowns(client: TestClient) -> None:
    response = client.post("/v1/recommendations", json=SEED_REQUEST, headers=auth())
    assert response.status_code == 200, response.text
    body = response.json()
    RecommendationResponse.model_validate(body)
    types = {p["instance_type"] for p in body["pools"]}
    assert len(types) >= 3, types
    for pool in body["pools"]:
        assert pool["region"] == "us-east-1"
        assert pool["gpu_count"] == 1
        assert pool["gpu_memory_gib"] >= 16
        assert pool["effective_cost"] >= pool["price"] > 0
        assert set(pool["hazard"]) >= {"rate_per_hour", "low", "high", "source"}
        assert set(pool["ages_seconds"]) == {
            "spot_price", "on_demand_price", "interruption", "capacity", "fleet",
        }  # fmt: skip
    assert body["verdict"]["spot_pays_off"] is True
    assert sum(p["nodes"] for p in body["pools"]) == 1, "the default single node is placed"
    assert (
        sum(e["count"] for e in body["exclusions"]) + body["candidates"] == (body["snapshot_size"])
    )
    assert body["now"].startswith(API_NOW.strftime("%Y-%m-%dT%H:%M"))
    assert body["snapshot_generation"] == 1


def test_node_split_and_strategy_are_honoured(client: TestClient) -> None:
    request = SEED_REQUEST | {"nodes": 8, "strategy": "price", "capacity_types": ["spot"]}
    body = client.post("/v1/recommendations", json=request, headers=auth()).json()
    assert body["strategy"] == "price"
    assert sum(p["nodes"] for p in body["pools"]) == 8
    assert {p["capacity_type"] for p in body["pools"]} == {"spot"}
    prices = [p["price"] for p in body["pools"]]
    assert prices[0] == min(prices), "price strategy ranks the cheapest first"


def test_identical_requests_share_an_answer_within_a_generation(client: TestClient) -> None:
    request = {"gpus": 0, "vcpus": "4:8", "regions": ["eu-west-1"], "top": 7}
    first = client.post("/v1/recommendations", json=request, headers=auth())
    # Same requirements, spelled differently (order, aliases): one canonical key.
    second = client.post(
        "/v1/recommendations",
        json={"top": 7, "regions": ["eu-west-1"], "vcpus": {"min": 4, "max": 8}, "gpus": 0},
        headers=auth(),
    )
    assert first.headers["X-Spotsel-Cache"] == "miss"
    assert second.headers["X-Spotsel-Cache"] == "hit"
    assert first.content == second.content


BAD_BODIES: list[tuple[str, str, int, str, str]] = [
    # (why, raw body, status, error code, field named)
    ("negative GPU count", '{"gpus": -1}', 422, "invalid_requirements", "gpus"),
    ("negative memory", '{"memory_gib": {"min": -4}}', 422, "invalid_requirements", "memory_gib"),
    ("unknown field", '{"gpus": 1, "gpu": 2}', 422, "invalid_request", "body.gpu"),
    ("huge integer", '{"nodes": 1' + "0" * 40 + "}", 422, "invalid_request", "body.nodes"),
    ("overflowing float", '{"max_price": 1e400}', 422, "invalid_request", "body.max_price"),
    ("NaN literal", '{"gpu_memory_gib": NaN}', 422, "invalid_request", "body.gpu_memory_gib"),
    ("top above the cap", '{"top": 100000}', 422, "invalid_requirements", "top"),
    ("bool for a count", '{"gpus": true}', 422, "invalid_request", "body.gpus"),
    ("string for a count", '{"gpus": "1"}', 422, "invalid_request", "body.gpus"),
    ("unknown strategy", '{"strategy": "fastest"}', 422, "invalid_requirements", "strategy"),
    ("empty GPU model", '{"gpu_models": [""]}', 422, "invalid_requirements", "gpu_models"),
    ("contradiction", '{"gpus": 0, "gpu_memory_gib": 16}', 422, "invalid_requirements",
     "gpu_memory_gib"),
    ("bad range text", '{"vcpus": "8:4"}', 422, "invalid_requirements", "vcpus"),
    ("list instead of object", "[1, 2]", 422, "invalid_request", "body"),
    ("malformed JSON", '{"gpus": 1', 422, "invalid_request", "body"),
    ("nested junk", '{"regions": [[[{"a": [1]}]]]}', 422, "invalid_request", "body.regions.0"),
    # Unknown names used to filter everything out and answer 200 with an empty list.
    ("unknown region", '{"regions": ["us-east-7"]}', 422, "invalid_requirements", "regions"),
    ("unknown GPU model", '{"gpu_models": ["A10GG"]}', 422, "invalid_requirements",
     "gpu_models"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "raw", "status", "code", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
def test_bad_bodies_get_a_stable_4xx_naming_the_field(
    open_client: TestClient, why: str, raw: str, status: int, code: str, field: str
) -> None:
    response = open_client.post(
        "/v1/recommendations", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, (why, response.text)
    body = response.json()
    assert body["error"] == code, why
    if code == "invalid_requirements":
        assert body["field"] == field
        assert field in body["detail"]
    else:
        assert field in [d["field"] for d in body["detail"]], body


@pytest.mark.parametrize(
    "raw",
    ["[" * 50_000 + "]" * 50_000, '{"gpus": 1' + "0" * 5_000 + "}", "\xff\xfe", ""],
    ids=["deeply nested", "5000-digit integer", "not UTF-8 JSON", "empty body"],
)
def test_unparseable_bodies_are_4xx_not_500(open_client: TestClient, raw: str) -> None:
    response = open_client.post(
        "/v1/recommendations",
        content=raw.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


def test_request_model_mirrors_the_ranking_vocabulary() -> None:
    """A field added to `Requirements` must be accepted by the REST body too."""
    assert set(RecommendationRequest.model_fields) == {f.name for f in fields(Requirements)}


def test_empty_store_answers_503_no_data(engine: Engine, settings: Settings) -> None:
    app = build_app(engine, settings, api_auth=False)
    with TestClient(app) as c:
        response = c.post("/v1/recommendations", json=SEED_REQUEST)
    assert response.status_code == 503
    assert response.json()["error"] == "no_data"


def test_answer_is_plain_json_with_the_documented_shape(client: TestClient) -> None:
    response = client.post("/v1/recommendations", json={"gpus": 8}, headers=auth())
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) == set(RecommendationResponse.model_fields)
