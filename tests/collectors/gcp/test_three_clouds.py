"""Acceptance: one `spotsel rank --clouds aws,gcp` over real AWS data and GCP through its clients.

AWS: the real store (tests/real_store.py: DescribeInstanceTypes specs, the 2022-05
DescribeSpotPriceHistory dump, the 2025-06-28 Spot Advisor) plus the dump's single-GPU pools
(g4dn / g5 / p3 in us-east-1; their specs come from the advisor source). GCP: the ``gcp``
source's real REST clients against the local fake API, GPU machine types with Billing Catalog
prices and capacity advice (obtainability, preemption history). Everything is confirmed at
one time, and the ranking runs at that time, so both clouds' prices are fresh and neither is
ranked out for age.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine
from typer.testing import CliRunner

from collectors.aws.inventory import parse_offerings
from collectors.aws.spot_prices import parse_spot_prices
from collectors.base import CollectContext
from collectors.gcp import GcpSource, gcp_clients
from collectors.gcp.source import default_retry
from collectors.runner import run_source
from core.runs import CollectionResult, TableRows
from core.settings import Settings
from core.store import persist_run
from spotsel.cli import app
from spotsel.state import AppState
from tests.collectors.gcp.fakes import (
    ACCELERATOR_TYPES,
    ADVICE_CAPACITY,
    ADVICE_HISTORY,
    MACHINE_TYPES,
    SKUS,
    FakeGoogle,
    accelerator_type,
    aggregated,
    machine_type,
    sku,
)
from tests.collectors.gcp.test_pricing import catalog
from tests.real_store import ADVISOR_AS_OF, REGION, ZONE_PREFIX, dump_records, load_real_store

runner = CliRunner()
PROJECT = "spotsel-test"
# An hour after the advisor file's date: its buckets, the AWS prices (confirmed here) and the
# GCP run are all at most an hour old when the ranking runs.
NOW = ADVISOR_AS_OF + timedelta(hours=1)
# Single-GPU AWS sizes whose GPU has at least 16 GiB (T4, A10G, V100).
AWS_GPU_TYPES = frozenset(
    {"g4dn.xlarge", "g4dn.2xlarge", "g4dn.4xlarge", "g5.xlarge", "g5.2xlarge", "p3.2xlarge"}
)
GCP_ZONES = ("us-central1-a", "us-central1-b")
# Capacity advice: Spot obtainability per zone, and the 30-day preempted fraction of every type.
OBTAINABILITY = {"us-central1-a": 0.8, "us-central1-b": 0.4}
PREEMPTED_FRACTION = 0.15
# GPU machine types as the aggregated list returns them, plus an 8-GPU type the request excludes.
GCP_TYPES = (
    ("g2-standard-4", 4, 16.0, ("nvidia-l4", 1)),
    ("a2-highgpu-1g", 12, 85.0, ("nvidia-tesla-a100", 1)),
    ("a3-highgpu-1g", 26, 234.0, ("nvidia-h100-80gb", 1)),
    ("a3-highgpu-8g", 208, 1872.0, ("nvidia-h100-80gb", 8)),
    ("n1-standard-4", 4, 15.0, None),  # + an attached T4: n1-standard-4+nvidia-tesla-t4
)
# Billing Catalog rates for the G2 / A3 series and their GPUs ($/vCPU-h, $/GiB-h, $/GPU-h),
# on top of the N1 / A2 / T4 / A100 ones of the pricing tests.
EXTRA_RATES = {
    ("G2 Instance Core", "on-demand"): 0.024988,
    ("G2 Instance Ram", "on-demand"): 0.002927,
    ("G2 Instance Core", "spot"): 0.00999,
    ("G2 Instance Ram", "spot"): 0.00117,
    ("A3 Instance Core", "on-demand"): 0.0339,
    ("A3 Instance Ram", "on-demand"): 0.00454,
    ("A3 Instance Core", "spot"): 0.0146,
    ("A3 Instance Ram", "spot"): 0.00196,
    ("Nvidia L4 GPU", "on-demand"): 0.56,
    ("Nvidia L4 GPU", "spot"): 0.224,
    ("Nvidia H100 80GB GPU", "on-demand"): 11.06,
    ("Nvidia H100 80GB GPU", "spot"): 2.25,
}


def _gcp_catalog() -> list[dict[str, Any]]:
    skus = catalog()
    for (what, capacity), usd in EXTRA_RATES.items():
        gpu = what.endswith(" GPU")
        if capacity == "spot":
            name = f"{what} attached to Spot Preemptible VMs" if gpu else f"Spot Preemptible {what}"
        else:
            name = what
        skus.append(sku(f"{name} running in Americas", usd, group="GPU" if gpu else "G2"))
    return skus


def _serve_gcp(fake: FakeGoogle) -> None:
    records = [
        machine_type(name, zone, vcpus, gib, gpus=gpus)
        for zone in GCP_ZONES
        for name, vcpus, gib, gpus in GCP_TYPES
    ]
    fake.serve(MACHINE_TYPES.format(project=PROJECT), aggregated("machineTypes", records))
    fake.serve(
        ACCELERATOR_TYPES.format(project=PROJECT),
        aggregated("acceleratorTypes", [accelerator_type("nvidia-tesla-t4", GCP_ZONES[0])]),
    )
    skus = _gcp_catalog()
    fake.serve(SKUS, {"skus": skus[:10]}, {"skus": skus[10:]})
    region = "us-central1"
    fake.routes[ADVICE_CAPACITY.format(project=PROJECT, region=region)] = _capacity_answer
    fake.routes[ADVICE_HISTORY.format(project=PROJECT, region=region)] = lambda body: {
        "location": f"regions/{region}",
        "machineType": body["instanceProperties"]["machineType"],
        "preemptionHistory": [
            {
                "interval": {
                    "startTime": (NOW - timedelta(days=30)).isoformat(),
                    "endTime": NOW.isoformat(),
                },
                "preemptionRate": PREEMPTED_FRACTION,
            }
        ],
    }


def _capacity_answer(body: dict[str, Any]) -> dict[str, Any]:
    """One recommendation per zone asked, best first (advice.capacity's REST shape)."""
    machine = body["instanceFlexibilityPolicy"]["instanceSelections"]["spot"]["machineTypes"][0]
    zones = [z["zone"].rsplit("/", 1)[-1] for z in body["distributionPolicy"]["zones"]]
    recs = [
        {
            "scores": {"obtainability": OBTAINABILITY[z], "estimatedUptime": "3600s"},
            "shards": [{"zone": f"zones/{z}", "machineType": machine, "instanceCount": 1}],
        }
        for z in zones
    ]
    return {"recommendations": sorted(recs, key=lambda r: -r["scores"]["obtainability"])}


def _gcp_source(fake: FakeGoogle) -> GcpSource:
    def factory(project: str | None) -> Any:
        return gcp_clients(
            project=project or PROJECT,
            credentials=AnonymousCredentials(),
            endpoint=fake.endpoint,
            retry=default_retry(initial=0.01),
        )

    return GcpSource(client_factory=factory)


def _aws_gpu_pools(engine: Engine, shared_data: Path, *, now: datetime) -> int:
    """The dump's single-GPU pools in us-east-1 as one `aws` run; returns the pools written."""
    records = [
        r
        for r in dump_records(shared_data)
        if r["AvailabilityZoneId"].startswith(ZONE_PREFIX) and r["InstanceType"] in AWS_GPU_TYPES
    ]
    prices = parse_spot_prices(records, region=REGION, zone_ids={}, observed_at=now)
    pools = sorted({(p["zone_id"], p["instance_type"]) for p in prices})
    offerings = parse_offerings(
        [
            {"InstanceType": t, "Location": z, "LocationType": "availability-zone-id"}
            for z, t in pools
        ],
        region=REGION,
        usage={t: ("spot", "on-demand") for _, t in pools},
        observed_at=now,
    )
    rows = TableRows()
    rows.add("offerings", offerings)
    rows.add("spot_prices", prices)
    persist_run(engine, CollectionResult("aws", now, now, (REGION,), rows))
    return len(pools)


@pytest.fixture
def three_clouds(
    engine: Engine, settings: Settings, shared_data: Path, fake_google: FakeGoogle
) -> Settings:
    """AWS real data and a GCP run through the real clients, all as of ``NOW``."""
    assert load_real_store(engine, settings, shared_data, now=NOW) > 50
    assert _aws_gpu_pools(engine, shared_data, now=NOW) > 10
    _serve_gcp(fake_google)
    # No regions option: the source collects SPOTSEL_GCP_REGIONS.
    settings = settings.model_copy(update={"gcp_regions": ["us-central1"]})
    run = run_source(engine, _gcp_source(fake_google), CollectContext(settings, NOW))
    assert run.status == "ok", run.error_message
    return settings


def _cli(settings: Settings, *args: str) -> Any:
    result = runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _rank(settings: Settings, *extra: str) -> dict[str, Any]:
    return _cli(  # type: ignore[no-any-return]
        settings,
        "rank", "--clouds", "aws,gcp", "--gpus", "1", "--gpu-memory", "16",
        "--capacity-types", "spot", "--top", "40", "--min-instance-types", "1",
        "--as-of", NOW.isoformat(), "--output", "json", *extra,
    )  # fmt: skip


def test_one_ranking_holds_pools_of_both_clouds_in_one_unit(three_clouds: Settings) -> None:
    answer = _rank(three_clouds)
    pools = answer["pools"]
    clouds = {p["cloud"] for p in pools}
    assert clouds == {"aws", "gcp"}, json.dumps(answer)[:2000]
    for pool in pools:
        assert pool["gpu_count"] == 1, pool
        assert pool["gpu_memory_gib"] >= 16, pool
        # Interruptions per instance-hour on both clouds, with its interval around it.
        hazard = pool["hazard"]
        assert math.isfinite(hazard["rate_per_hour"]), pool
        assert hazard["rate_per_hour"] > 0, pool
        assert hazard["low"] <= hazard["rate_per_hour"] <= hazard["high"], pool
        assert 0.0 <= pool["capacity"] <= 1.0, pool
        ages = pool["ages_seconds"]
        assert set(ages) >= {"spot_price", "interruption", "capacity"}, pool
        # Every Spot price was confirmed at NOW, the time the ranking runs.
        assert ages["spot_price"] == 0.0, pool
        assert "stale" not in " ".join(pool["flags"]), pool
    gcp = {p["instance_type"] for p in pools if p["cloud"] == "gcp"}
    assert {"g2-standard-4", "n1-standard-4+nvidia-tesla-t4", "a3-highgpu-1g"} <= gcp
    assert "a3-highgpu-8g" not in gcp  # 8 GPUs: the request wants 1
    # GCP's hazard from the capacity history, its capacity the zone's obtainability.
    for pool in (p for p in pools if p["cloud"] == "gcp"):
        assert pool["hazard"]["kind"] == "gcp-capacity-history", pool
        assert pool["capacity"] == pytest.approx(OBTAINABILITY[pool["zone_id"]]), pool
        assert pool["ages_seconds"]["interruption"] == 0.0, pool
    aws = [p for p in pools if p["cloud"] == "aws"]
    assert {p["instance_type"] for p in aws} <= AWS_GPU_TYPES
    # The advisor's bucket is the AWS hazard, an hour old (its file's date is an hour back).
    assert all(p["hazard"]["kind"] == "aws-advisor" for p in aws)
    assert all(p["ages_seconds"]["interruption"] == 3_600.0 for p in aws)


def test_spot_only_machine_types_get_no_on_demand_pool(three_clouds: Settings) -> None:
    answer = _cli(
        three_clouds,
        "rank", "--clouds", "gcp", "--gpus", "1", "--gpu-memory", "40",
        "--capacity-types", "spot,on-demand", "--top", "40", "--min-instance-types", "1",
        "--as-of", NOW.isoformat(), "--output", "json",
    )  # fmt: skip
    a3 = [p for p in answer["pools"] if p["instance_type"] == "a3-highgpu-1g"]
    assert a3
    assert {p["capacity_type"] for p in a3} == {"spot"}
    # Still priced against the catalog's on-demand rates: its savings are known.
    assert all(p["on_demand_price"] > p["spot_price"] for p in a3)
    # The A2 beside it (40 GiB A100) is sold both ways: the request did ask for on-demand.
    a2 = {p["capacity_type"] for p in answer["pools"] if p["instance_type"] == "a2-highgpu-1g"}
    assert a2 == {"spot", "on-demand"}


def test_status_lists_the_gcp_source(three_clouds: Settings) -> None:
    status = _cli(three_clouds, "status", "--output", "json")
    sources = {s["source"]: s for s in status["sources"]}
    assert {"aws", "aws-advisor", "gcp"} <= set(sources)
    gcp = sources["gcp"]
    assert gcp["last_run"]["status"] == "ok"
    assert gcp["last_run"]["failed_regions"] == []
    assert gcp["data_as_of"] == NOW.isoformat()
    assert not gcp["simulated"]
