"""GET /v1/pools and /v1/instance-types: filters and keyset pagination on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.pagination import encode_cursor
from tests.api.conftest import auth


def _walk(client: TestClient, path: str, params: dict[str, Any]) -> tuple[list[Any], int, int]:
    """Follow `next` links to the end: (items, total reported, pages)."""
    items: list[Any] = []
    response = client.get(path, params=params, headers=auth())
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        assert len(body["items"]) <= body["limit"]
        if body["next"] is None:
            assert body["next_cursor"] is None
            return items, body["total"], pages
        response = client.get(body["next"], headers=auth())


def _pool_key(item: dict[str, Any]) -> tuple[str, str, str, str]:
    return (item["cloud"], item["region"], item["zone_id"], item["instance_type"])


def test_pool_pages_cover_every_pool_once_in_key_order(client: TestClient) -> None:
    items, total, pages = _walk(client, "/v1/pools", {"region": "us-east-1", "limit": 97})
    keys = [_pool_key(i) for i in items]
    assert len(keys) == total > 97 * 2, "several pages"
    assert pages == -(-total // 97)
    assert len(set(keys)) == len(keys), "no duplicates across pages"
    assert keys == sorted(keys), "stable key order, so no gaps between pages"
    single, _, _ = _walk(client, "/v1/pools", {"region": "us-east-1", "limit": 500})
    assert [_pool_key(i) for i in single] == keys


POOL_FILTERS: list[tuple[str, dict[str, Any], Any]] = [
    # (why, query, predicate every item must satisfy)
    ("cloud", {"cloud": "gcp"}, lambda i: i["cloud"] == "gcp"),
    ("zone", {"zone": "use1-az1"}, lambda i: i["zone_id"] == "use1-az1"),
    ("type", {"instance_type": "g5.xlarge"}, lambda i: i["instance_type"] == "g5.xlarge"),
    ("GPU class", {"gpu_model": "inference-16-24gb"},
     lambda i: i["gpu_model"] in {"T4", "T4G", "A10G", "A10", "L4"}),
    ("GPU model, any case", {"gpu_model": "a10g"}, lambda i: i["gpu_model"] == "A10G"),
    ("GPU memory", {"min_gpu_memory": 40}, lambda i: (i["gpu_memory_gib"] or 0) >= 40),
    ("spot only", {"capacity_type": "spot"}, lambda i: i["spot_offered"]),
]  # fmt: skip


@pytest.mark.parametrize(("why", "query", "check"), POOL_FILTERS, ids=[f[0] for f in POOL_FILTERS])
def test_pool_filters(client: TestClient, why: str, query: dict[str, Any], check: Any) -> None:
    body = client.get("/v1/pools", params=query | {"limit": 500}, headers=auth()).json()
    assert body["items"], f"{why}: the sim market has matching pools"
    assert all(check(i) for i in body["items"]), why
    everything = client.get("/v1/pools", params={"limit": 1}, headers=auth()).json()["total"]
    assert body["total"] < everything, f"{why}: the filter removed something"


def test_unknown_filter_values_give_an_empty_page(client: TestClient) -> None:
    body = client.get("/v1/pools", params={"region": "mars-1"}, headers=auth()).json()
    assert (body["items"], body["total"], body["next"]) == ([], 0, None)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "query.limit"), ({"limit": 501}, "query.limit"),
     ({"min_gpu_memory": -1}, "query.min_gpu_memory"), ({"min_gpu_memory": "nan"},
     "query.min_gpu_memory"), ({"capacity_type": "reserved"}, "query.capacity_type"),
     ({"regoin": "us-east-1"}, "query.regoin")],
)  # fmt: skip
def test_bad_pool_queries_name_the_parameter(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/pools", params=params, headers=auth())
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert field in [d["field"] for d in response.json()["detail"]]


@pytest.mark.parametrize("path", ["/v1/pools", "/v1/instance-types"])
@pytest.mark.parametrize(
    "cursor", ["not-base64!", encode_cursor(("a",)) + "x", encode_cursor(("only-one",))]
)
def test_bad_cursor_is_400(client: TestClient, path: str, cursor: str) -> None:
    response = client.get(path, params={"cursor": cursor}, headers=auth())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor"


def test_instance_type_pages_and_filters(client: TestClient) -> None:
    items, total, pages = _walk(client, "/v1/instance-types", {"cloud": "aws", "limit": 13})
    names = [(i["cloud"], i["name"]) for i in items]
    assert len(names) == len(set(names)) == total
    assert pages > 2
    assert names == sorted(names)
    assert all(i["cloud"] == "aws" for i in items)


TYPE_FILTERS: list[tuple[str, dict[str, Any], Any]] = [
    ("arm64", {"arch": "arm64"}, lambda i: i["arch"] == "arm64"),
    ("family", {"family": "g5"}, lambda i: i["family"] == "g5"),
    ("vCPUs", {"min_vcpus": 64}, lambda i: i["vcpus"] >= 64),
    ("memory", {"min_memory_gib": 512}, lambda i: i["memory_gib"] >= 512),
    ("exact GPUs", {"gpus": 8}, lambda i: i["gpu_count"] == 8),
    ("CPU only", {"gpus": 0}, lambda i: i["gpu_count"] == 0),
    ("GPU model", {"gpu_model": "H100"}, lambda i: "H100" in (i["gpu_model"] or "").upper()),
    ("GPU memory", {"min_gpu_memory": 40}, lambda i: (i["gpu_memory_gib"] or 0) >= 40),
]


@pytest.mark.parametrize(("why", "query", "check"), TYPE_FILTERS, ids=[f[0] for f in TYPE_FILTERS])
def test_instance_type_filters(
    client: TestClient, why: str, query: dict[str, Any], check: Any
) -> None:
    body = client.get("/v1/instance-types", params=query | {"limit": 500}, headers=auth()).json()
    assert body["items"], why
    assert body["total"] == len(body["items"])
    assert all(check(i) for i in body["items"]), why
