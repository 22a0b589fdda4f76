"""POST /v1/recommendations says what it rests on: simulated answers are labelled at the top,
real answers never are, and simulated pools join real ones only on request (both engines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.clock import utcnow
from core.settings import Settings
from selector.requirements import DATA_CHOICES
from tests.api.conftest import auth, build_app, load_sim
from tests.api.test_openapi import _document
from tests.real_store import REAL_SOURCES, load_real_store

SIM_REQUEST = {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"]}
# A CPU request the real data (us-east-1 a1 / c-family specs, 2022 prices) can answer.
REAL_REQUEST = {"vcpus": "2:8", "regions": ["us-east-1"]}


def _post(client: TestClient, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    response = client.post("/v1/recommendations", json=body, headers=auth())
    assert response.status_code == 200, response.text
    return response.json(), response.text


def test_a_simulated_answer_says_so_first(client: TestClient) -> None:
    body, raw = _post(client, SIM_REQUEST)
    assert next(iter(json.loads(raw))) == "simulated", "the first key of the answer"
    assert body["simulated"] is True
    assert body["sources"] == ["sim"]
    assert body["pools"]
    for pool in body["pools"]:
        assert pool["simulated"] is True
        assert pool["sources"] == ["sim"]
        if pool["capacity_type"] == "spot":
            assert pool["hazard"]["source"] == "sim", "never aws-advisor for a simulated row"
            assert pool["hazard"]["kind"] == "aws-advisor"


def test_listed_pools_carry_their_sources(client: TestClient) -> None:
    response = client.get("/v1/pools", params={"limit": 3}, headers=auth())
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items
    for item in items:
        assert (item["simulated"], item["sources"]) == (True, ["sim"])


@pytest.fixture
def real_app(engine: Engine, settings: Settings, shared_data: Path) -> tuple[Engine, Settings]:
    load_real_store(engine, settings, shared_data, now=utcnow())
    return engine, settings


def test_a_real_answer_carries_no_simulated_label(real_app: tuple[Engine, Settings]) -> None:
    engine, settings = real_app
    with TestClient(build_app(engine, settings, now=utcnow(), api_auth=False)) as client:
        body, raw = _post(client, REAL_REQUEST)
    assert body["pools"], "the real data answers the request"
    assert body["simulated"] is False
    assert set(body["sources"]) <= REAL_SOURCES
    assert body["simulated_excluded"] == 0
    assert '"sim"' not in raw
    assert all(not p["simulated"] for p in body["pools"])


def test_simulated_pools_join_real_ones_only_on_request(
    real_app: tuple[Engine, Settings],
) -> None:
    engine, settings = real_app
    now = utcnow()
    load_sim(engine, settings, now=now)
    with TestClient(build_app(engine, settings, now=now, api_auth=False)) as client:
        default, raw = _post(client, REAL_REQUEST)
        mixed, _ = _post(client, REAL_REQUEST | {"data": "any"})
        only_sim, _ = _post(client, REAL_REQUEST | {"data": "simulated"})
    assert default["simulated"] is False
    assert default["simulated_excluded"] > 0
    assert '"sources":["sim"' not in raw
    assert mixed["simulated"] is True
    assert set(mixed["sources"]) == REAL_SOURCES | {"sim"}
    assert only_sim["sources"] == ["sim"]


def test_the_contract_documents_the_labels(tmp_path: Path) -> None:
    schemas = _document(tmp_path)["components"]["schemas"]
    answer = schemas["RecommendationResponse"]
    assert list(answer["properties"])[:3] == ["simulated", "sources", "simulated_excluded"]
    assert {"simulated", "sources", "simulated_excluded"} <= set(answer["required"])
    assert {"sources", "simulated"} <= set(schemas["RankedPoolModel"]["properties"])
    assert "kind" in schemas["HazardModel"]["properties"]
    data = schemas["RecommendationRequest"]["properties"]["data"]
    assert data["anyOf"][0]["enum"] == list(DATA_CHOICES)
