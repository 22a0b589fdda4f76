"""Acceptance: one ``POST /v1/recommendations`` over three clouds, Azure through its real clients.

AWS: the real store (tests/real_store.py) plus the 2022-05 DescribeSpotPriceHistory dump's
single-GPU pools in us-east-1. GCP: the ``gcp`` source's REST clients against its local fake
(tests/collectors/gcp/test_three_clouds.py builds that market). Azure: the ``azure`` source with
the real ComputeManagementClient, ResourceGraphClient and RecommenderMgmtClient against the local
ARM fake and the Retail Prices API behind ``httpx.MockTransport``: GPU sizes in eastus with their
eviction buckets and zonal Spot placement scores. Everything is confirmed at one time and the
ranking runs at that time, so no cloud's prices are ranked out for age. Both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine

from collectors.base import CollectContext
from collectors.gcp import GcpSource, gcp_clients
from collectors.gcp.source import default_retry
from collectors.runner import run_source
from core.settings import Settings
from tests.api.conftest import build_app
from tests.collectors.azure.builders import FakeRetail, azure_source, prices_for, serve_skus
from tests.collectors.azure.builders import sku_record as sku
from tests.collectors.azure.fakes import (
    SUBSCRIPTION,
    FakeArm,
    eviction_row,
    graph_pages,
    placement_scores,
)
from tests.collectors.gcp.fakes import FakeGoogle, running
from tests.collectors.gcp.test_three_clouds import (
    AWS_GPU_TYPES,
    NOW,
    PROJECT,
    _aws_gpu_pools,
    _serve_gcp,
)
from tests.real_store import load_real_store

REGION = "eastus"
T4, A10, A100 = "Standard_NC4as_T4_v3", "Standard_NV36ads_A10_v5", "Standard_NC24ads_A100_v4"
A10_SIXTH, H100X8 = "Standard_NV6ads_A10_v5", "Standard_ND96isr_H100_v5"
# (on-demand, Spot) $/h, Retail Prices style; Spot effective a month before NOW.
PRICES = {
    T4: (0.526, 0.0789),
    A10: (3.2, 0.64),
    A100: (3.673, 0.7346),
    A10_SIXTH: (0.454, 0.0908),
    H100X8: (98.32, 29.5),
}
EFFECTIVE = "2025-05-28T00:00:00Z"
# Resource Graph eviction buckets per size (regional), and Spot placement levels per zone.
BUCKETS = {T4: "0-5", A10: "10-15", A100: "20+", A10_SIXTH: "0-5", H100X8: "5-10"}
LEVELS: dict[str, dict[str | None, str]] = {
    T4: {"1": "High", "2": "Medium"},
    A10: {"1": "Low", "2": "High"},
    A100: {"1": "Medium", "2": "Medium"},
}
CAPACITY = {"High": 0.9, "Medium": 0.6, "Low": 0.3}  # selector.capacity.AZURE_PLACEMENT


@pytest.fixture(autouse=True)
def _offline_adc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The GCP half of the market: no metadata server, no user gcloud config (gcp conftest).
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)


@pytest.fixture
def fake_google() -> Iterator[FakeGoogle]:
    yield from running(FakeGoogle())


def _serve_azure(fake: FakeArm) -> FakeRetail:
    zones = ["1", "2"]
    serve_skus(
        fake,
        {
            REGION: [
                sku(T4, REGION, 4, 28, gpus=1, zones=zones),
                sku(A10, REGION, 36, 440, gpus=1, zones=zones),
                sku(A100, REGION, 24, 220, gpus=1, zones=zones),
                sku(A10_SIXTH, REGION, 6, 55, gpus=1, zones=zones),
                sku(H100X8, REGION, 96, 1900, gpus=8, zones=zones),
            ]
        },
    )
    graph_pages(fake, [[eviction_row(s.lower(), REGION, b) for s, b in BUCKETS.items()]])
    placement_scores(fake, {(size, REGION): levels for size, levels in LEVELS.items()})
    items = prices_for(REGION, PRICES)
    for item in items:
        item["effectiveStartDate"] = EFFECTIVE
    return FakeRetail({REGION: items}, page_size=4)


@pytest.fixture
def three_clouds(
    engine: Engine,
    settings: Settings,
    shared_data: Path,
    fake_google: FakeGoogle,
    fake_arm: FakeArm,
) -> Settings:
    """AWS real data, a GCP run and an Azure run through their real clients, all as of NOW."""
    assert load_real_store(engine, settings, shared_data, now=NOW) > 50
    assert _aws_gpu_pools(engine, shared_data, now=NOW) > 10
    _serve_gcp(fake_google)

    def gcp_factory(project: str | None) -> Any:
        return gcp_clients(
            project=project or PROJECT,
            credentials=AnonymousCredentials(),
            endpoint=fake_google.endpoint,
            retry=default_retry(initial=0.01),
        )

    settings = settings.model_copy(
        update={
            "gcp_regions": ["us-central1"],
            "azure_regions": [REGION],
            "azure_subscription": SUBSCRIPTION,
        }
    )
    gcp = run_source(engine, GcpSource(client_factory=gcp_factory), CollectContext(settings, NOW))
    assert gcp.status == "ok", gcp.error_message
    # No options: the source collects SPOTSEL_AZURE_REGIONS for SPOTSEL_AZURE_SUBSCRIPTION.
    source = azure_source(fake_arm, _serve_azure(fake_arm), with_signals=True)
    azure = run_source(engine, source, CollectContext(settings, NOW))
    assert azure.status == "ok", azure.error_message
    return settings


def _recommend(engine: Engine, settings: Settings, **request: Any) -> dict[str, Any]:
    body = {
        "gpus": 1, "gpu_memory_gib": 16, "clouds": ["aws", "gcp", "azure"],
        "capacity_types": ["spot"], "top": 60, "min_instance_types": 1, **request,
    }  # fmt: skip
    with TestClient(build_app(engine, settings, now=NOW, api_auth=False)) as client:
        response = client.post("/v1/recommendations", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_one_answer_holds_azure_pools_with_eviction_hazard_and_placement_capacity(
    engine: Engine, three_clouds: Settings
) -> None:
    pools = _recommend(engine, three_clouds)["pools"]
    assert {p["cloud"] for p in pools} == {"aws", "gcp", "azure"}
    azure = [p for p in pools if p["cloud"] == "azure"]
    # Whole single GPUs with >= 16 GiB: not the sixth of an A10, not the 8-GPU H100 size.
    assert {p["instance_type"] for p in azure} == {T4, A10, A100}
    assert {p["zone_id"] for p in azure} == {"eastus-1", "eastus-2"}
    for pool in azure:
        size, zone = pool["instance_type"], pool["zone_id"].rsplit("-", 1)[1]
        assert pool["spot_price"] == PRICES[size][1], pool
        assert pool["on_demand_price"] == PRICES[size][0], pool
        hazard = pool["hazard"]
        assert hazard["kind"] == "azure-eviction", pool
        assert hazard["label"] == BUCKETS[size], pool
        assert hazard["low"] <= hazard["rate_per_hour"] <= hazard["high"], pool
        # Capacity is the zone's placement level, normalised.
        assert pool["capacity"] == pytest.approx(CAPACITY[LEVELS[size][zone]]), pool
        ages = pool["ages_seconds"]
        assert ages["spot_price"] == ages["interruption"] == ages["capacity"] == 0.0, pool
        assert not pool.get("simulated"), pool
    # A worse bucket is a higher hazard, in one unit with the other clouds.
    rate = {p["instance_type"]: p["hazard"]["rate_per_hour"] for p in azure}
    assert rate[T4] < rate[A10] < rate[A100]
    aws = [p for p in pools if p["cloud"] == "aws"]
    assert {p["instance_type"] for p in aws} <= AWS_GPU_TYPES
    assert all(p["hazard"]["kind"] == "aws-advisor" for p in aws)
    assert all(p["hazard"]["kind"] == "gcp-capacity-history" for p in pools if p["cloud"] == "gcp")


def test_azure_alone_and_the_operators_views_cover_the_source(
    engine: Engine, three_clouds: Settings
) -> None:
    only = _recommend(engine, three_clouds, clouds=["azure"], gpu_models=["A100"])["pools"]
    assert {(p["instance_type"], p["zone_id"]) for p in only} == {
        (A100, "eastus-1"),
        (A100, "eastus-2"),
    }
    with TestClient(build_app(engine, three_clouds, now=NOW, api_auth=False)) as client:
        ready = client.get("/readyz").json()
        collectors = client.get("/v1/collectors").json()
    assert ready["ready"] is True
    assert "azure" not in {s["source"] for s in ready["stale"]}
    by_source = {s["source"]: s for s in collectors["sources"]}
    assert by_source["azure"]["last_status"] == "ok"
    assert by_source["azure"]["failed_regions"] == []
    assert by_source["azure"]["data_age_seconds"] == 0.0
