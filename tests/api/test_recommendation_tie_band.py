"""POST /v1/recommendations: the cost tie band reaches the ranking, the zone signals come back."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.schemas import RecommendationResponse
from selector.requirements import DEFAULT_COST_TIE_BAND
from tests.api.conftest import auth

REQUEST = {"gpus": 0, "vcpus": "2:8", "regions": ["us-east-1"], "capacity_types": ["spot"],
           "top": 40, "min_instance_types": 1, "max_share_per_type": 1.0,
           "max_share_per_zone": 1.0}  # fmt: skip


def _post(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/recommendations", json=REQUEST | extra, headers=auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    RecommendationResponse.model_validate(body)
    return body


def test_the_tie_band_reaches_the_ranking(client: TestClient) -> None:
    default, wide = _post(client), _post(client, cost_tie_band=1.0)
    assert default["requirements"]["cost_tie_band"] == DEFAULT_COST_TIE_BAND
    assert wide["requirements"]["cost_tie_band"] == 1.0
    assert [p["rank"] for p in wide["pools"]] == list(range(1, len(wide["pools"]) + 1))
    order = [(p["zone_id"], p["instance_type"]) for p in default["pools"]]
    assert order != [(p["zone_id"], p["instance_type"]) for p in wide["pools"]]


def test_pools_carry_their_zone_price_ratio(client: TestClient) -> None:
    pools = _post(client)["pools"]
    assert all("zone_price_ratio" in p for p in pools)
    assert any(p["zone_price_ratio"] is not None for p in pools)


def test_a_bad_tie_band_is_a_422_naming_the_field(open_client: TestClient) -> None:
    response = open_client.post("/v1/recommendations", json=REQUEST | {"cost_tie_band": 2})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_requirements"
    assert body["field"] == "cost_tie_band"
