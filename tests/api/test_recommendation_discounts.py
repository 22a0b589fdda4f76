"""`POST /v1/recommendations` with on-demand discounts: the body's rules over the server's
SPOTSEL_ON_DEMAND_DISCOUNTS, list and discounted prices in the answer, a bad rule is a 422."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Market, build_app

REQUEST = {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "top": 10}


@pytest.fixture(scope="module")
def discounted(market: Market) -> Iterator[TestClient]:
    """The market behind a server whose deployment default is 10 % off AWS on-demand."""
    app = build_app(
        market.engine, market.settings, api_auth=False, on_demand_discounts={"aws": 0.1}
    )
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    "rules", [{"aws/g5": 0.4}, "aws/g5=0.4"], ids=["JSON object", "the CLI's text form"]
)
def test_body_rules_are_laid_over_the_server_default(discounted: TestClient, rules: object) -> None:
    response = discounted.post(
        "/v1/recommendations", json={**REQUEST, "on_demand_discounts": rules}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requirements"]["on_demand_discounts"] == {"aws": 0.1, "aws/g5": 0.4}
    priced = [p for p in body["pools"] if p["on_demand_list_price"] is not None]
    assert priced
    for pool in priced:
        discount = 0.4 if pool["family"] == "g5" else 0.1
        assert pool["on_demand_discount"] == discount
        assert pool["on_demand_price"] == pytest.approx(
            pool["on_demand_list_price"] * (1 - discount)
        )
    verdict = body["verdict"]
    assert verdict["best_on_demand_list_price"] >= verdict["best_on_demand_price"]
    assert verdict["on_demand_discount"] in {0.1, 0.4}


def test_without_body_rules_the_server_default_applies(discounted: TestClient) -> None:
    body = discounted.post("/v1/recommendations", json=REQUEST).json()
    assert body["requirements"]["on_demand_discounts"] == {"aws": 0.1}
    assert {p["on_demand_discount"] for p in body["pools"] if p["on_demand_list_price"]} == {0.1}


@pytest.mark.parametrize(
    ("rules", "status"),
    [({"aws": 1.5}, 422), ("aws/us-east-1=0.2", 422), ({"aws": "0.2"}, 422), ([0.2], 422)],
)
def test_a_bad_rule_is_a_422_naming_the_field(
    discounted: TestClient, rules: object, status: int
) -> None:
    response = discounted.post(
        "/v1/recommendations", json={**REQUEST, "on_demand_discounts": rules}
    )
    assert response.status_code == status, response.text
    assert "on_demand_discounts" in response.text
