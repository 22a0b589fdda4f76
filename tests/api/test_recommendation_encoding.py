"""The recommendation body is encoded straight from the ranking, and is the documented answer.

`api.recommend.encode_answer` replaced validating the ranking into `RecommendationResponse` and
dumping it again; these tests hold the new body equal to what that round trip wrote, for every
request shape the API benchmark sends and for answers with nothing to offer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.recommend import encode_answer
from api.schemas import RecommendationResponse
from core.pool_reader import load_pool_index
from selector import parse_requirements, rank
from tests.api.conftest import API_NOW, Market, auth

GENERATION = 7
SHAPES: list[dict[str, Any]] = [
    {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "nodes": 8},
    {"gpus": 8, "gpu_models": ["A100", "H100"], "strategy": "capacity", "top": 3},
    {"gpus": 4, "gpu_memory_gib": 24, "clouds": ["aws", "gcp"], "strategy": "price-capacity"},
    {"gpus": 0, "vcpus": "4:16", "memory_gib": "16:", "capacity_types": ["spot"]},
    {"gpus": 0, "arch": "arm64", "vcpus": "8:32", "strategy": "price", "max_price": 5.5},
    {"gpus": 0, "vcpus": "2:8", "regions": ["eu-west-1", "eu-central-1"], "nodes": 20,
     "min_zones": 3, "max_share_per_zone": 0.34},
    {"gpus": 1, "gpu_models": ["inference-16-24gb"], "nodes": 20, "min_instance_types": 5,
     "max_share_per_type": 0.25, "checkpoint_interval_minutes": 15},
    {"gpus": 1, "max_price": 0.0001},  # nothing that cheap: an empty answer with its reasons
    {"gpus": 0, "vcpus": "2:4", "nodes": 40, "min_zones": 9},  # a constraint left unmet
]  # fmt: skip


def _round_trip(payload: dict[str, Any]) -> Any:
    """The body as the API wrote it before: validated into the model, dumped again."""
    return json.loads(RecommendationResponse.model_validate(payload).model_dump_json())


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: ",".join(sorted(s)))
def test_the_encoded_answer_is_the_validated_one(market: Market, shape: dict[str, Any]) -> None:
    snapshot = load_pool_index(market.engine, now=API_NOW)
    ranking = rank(snapshot, parse_requirements(shape), now=API_NOW)
    payload = ranking.to_dict() | {"snapshot_generation": GENERATION}
    expected = _round_trip(dict(payload))
    body = encode_answer(dict(payload))
    assert json.loads(body) == expected
    # Every field documented, nothing undocumented: the model reads the body back unchanged.
    assert _round_trip(json.loads(body)) == json.loads(body)


def test_served_answers_are_documented_answers(client: TestClient) -> None:
    for shape in SHAPES:
        response = client.post("/v1/recommendations", json=shape, headers=auth())
        assert response.status_code == 200, response.text
        body = json.loads(response.content)
        assert _round_trip(body) == body
        assert body["now"].endswith("Z")
        assert body["snapshot_built_at"].endswith("Z")


def test_the_encoding_writes_utc_as_the_model_does() -> None:
    payload = {"now": "2026-11-28T12:05:00+00:00", "snapshot_built_at": "2026-11-28T12:00:00Z"}
    encoded = json.loads(encode_answer(payload))
    assert encoded == {"now": "2026-11-28T12:05:00Z", "snapshot_built_at": "2026-11-28T12:00:00Z"}
