"""The ``gcp`` source end to end: the real REST clients against a local fake API, both engines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors import get_source
from collectors.base import CollectContext
from collectors.gcp import GcpSource, gcp_clients
from collectors.gcp.source import default_retry
from collectors.runner import run_source
from core.errors import CredentialsError, SourceDataError
from core.settings import Settings
from core.tables import CollectionRun, InstanceType, Offering, OnDemandPrice, SpotPrice
from tests.collectors.gcp.fakes import (
    ACCELERATOR_TYPES,
    MACHINE_TYPES,
    SKUS,
    FakeGoogle,
    accelerator_type,
    aggregated,
    machine_type,
)
from tests.collectors.gcp.test_pricing import catalog

PROJECT = "spotsel-test"
RECORDED = "gcp-api-examples/libcloud_gce_aggregated_machineTypes.json"
# A second page after the recording: modern types the recording predates.
MODERN = [
    machine_type("n2-standard-8", "us-central1-a", 8, 32.0),
    machine_type("a2-highgpu-2g", "us-central1-b", 24, 170.0, gpus=("nvidia-tesla-a100", 2)),
    machine_type("z9-mega-4", "us-central1-a", 4, 16.0),  # a series nobody prices yet
]


def _source(fake: FakeGoogle) -> GcpSource:
    def factory(project: str | None) -> Any:
        return gcp_clients(
            project=project or PROJECT,
            credentials=AnonymousCredentials(),
            endpoint=fake.endpoint,
            retry=default_retry(initial=0.01),  # the client's own backoff, made quick
        )

    return GcpSource(client_factory=factory)


def _serve(fake: FakeGoogle, shared_data: Path, skus: list[dict[str, Any]] | None = None) -> None:
    recorded = json.loads((shared_data / RECORDED).read_text())
    fake.serve(MACHINE_TYPES.format(project=PROJECT), recorded, aggregated("machineTypes", MODERN))
    fake.serve(
        ACCELERATOR_TYPES.format(project=PROJECT),
        aggregated("acceleratorTypes", [accelerator_type("nvidia-tesla-t4", "us-central1-a")]),
    )
    skus = catalog() if skus is None else skus
    fake.serve(SKUS, {"skus": skus[:10]}, {"skus": skus[10:]})


def _ctx(settings: Settings, now: datetime, **options: Any) -> CollectContext:
    return CollectContext(settings=settings, now=now, options=options)


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def test_collect_follows_pages_and_lands_types_offerings_and_prices(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle, shared_data: Path
) -> None:
    _serve(fake_google, shared_data)
    run = run_source(
        engine, _source(fake_google), _ctx(settings, now, regions=["us-central1"], project=PROJECT)
    )
    assert run.status == "ok", run.error_message
    # Both machine-type pages and both SKU pages were read (nextPageToken followed).
    paths = fake_google.requests
    assert sum("pageToken=" in p and "machineTypes" in p for p in paths) == 1
    assert sum("pageToken=" in p and "skus" in p for p in paths) == 1
    # Recorded N1 types (page 1) and modern types (page 2) both landed, zone name = zone ID.
    assert _count(engine, InstanceType, InstanceType.name == "n1-standard-4") == 1
    assert _count(engine, InstanceType, InstanceType.name == "a2-highgpu-2g") == 1
    with Session(engine) as session:
        a2 = session.get(InstanceType, ("gcp", "a2-highgpu-2g"))
        assert a2 is not None
        assert (a2.gpu_count, a2.gpu_model) == (2, "A100")
        zones = set(session.scalars(select(Offering.zone_id).where(Offering.cloud == "gcp")))
        assert zones == {"us-central1-a", "us-central1-b"}
        od = dict(
            session.execute(
                select(OnDemandPrice.instance_type, OnDemandPrice.price_usd_per_hour)
            ).all()
        )
    assert od["n2-standard-8"] == pytest.approx(8 * 0.031611 + 32 * 0.004237)
    assert od["n1-standard-4+nvidia-tesla-t4"] == pytest.approx(od["n1-standard-4"] + 0.35)
    # The unknown series is offered but not priced; the run is still ok.
    assert "z9-mega-4" not in od
    assert _count(engine, Offering, Offering.instance_type == "z9-mega-4") == 1
    assert _count(engine, SpotPrice, SpotPrice.instance_type == "n2-standard-8") == 1


def test_a_second_run_stores_only_changed_spot_prices(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle, shared_data: Path
) -> None:
    _serve(fake_google, shared_data)
    source, options = _source(fake_google), {"regions": ["us-central1"], "project": PROJECT}
    run_source(engine, source, _ctx(settings, now, **options))
    first = _count(engine, SpotPrice)
    assert first > 0
    run_source(engine, source, _ctx(settings, now + timedelta(days=1), **options))
    assert _count(engine, SpotPrice) == first  # nothing changed, nothing added
    skus = catalog()
    for s in skus:
        if s["description"] == "Spot Preemptible N2 Instance Core running in Americas":
            s["pricingInfo"][0]["pricingExpression"]["tieredRates"][0]["unitPrice"]["nanos"] += 1000
    _serve(fake_google, shared_data, skus)
    run_source(engine, source, _ctx(settings, now + timedelta(days=2), **options))
    # n2-standard-8 in us-central1-a is the only N2 pool: one change.
    assert _count(engine, SpotPrice) == first + 1


def test_throttling_is_retried_by_the_client(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle, shared_data: Path
) -> None:
    _serve(fake_google, shared_data)
    fake_google.failures[SKUS] = [429, 503]
    fake_google.failures[MACHINE_TYPES.format(project=PROJECT)] = [429]
    run = run_source(
        engine, _source(fake_google), _ctx(settings, now, regions=["us-central1"], project=PROJECT)
    )
    assert run.status == "ok"
    assert not fake_google.failures[SKUS]
    assert not fake_google.failures[MACHINE_TYPES.format(project=PROJECT)]
    assert _count(engine, OnDemandPrice) > 0


def test_a_malformed_sku_refuses_the_run_and_writes_nothing(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle, shared_data: Path
) -> None:
    skus = catalog()
    del skus[15]["pricingInfo"][0]["pricingExpression"]["tieredRates"]
    _serve(fake_google, shared_data, skus)
    with pytest.raises(SourceDataError, match="malformed Cloud Billing Catalog SKU list"):
        run_source(
            engine,
            _source(fake_google),
            _ctx(settings, now, regions=["us-central1"], project=PROJECT),
        )
    for table in (InstanceType, Offering, OnDemandPrice, SpotPrice):
        assert _count(engine, table) == 0
    with Session(engine) as session:
        runs = list(session.scalars(select(CollectionRun)))
    assert [r.status for r in runs] == ["failed"]


def test_regions_without_prices_fail_alone(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle, shared_data: Path
) -> None:
    _serve(fake_google, shared_data)
    run = run_source(engine, _source(fake_google), _ctx(settings, now, project=PROJECT))
    # The catalog prices us-central1 only; the recording's other regions fail, each on its own.
    assert run.status == "partial"
    assert _count(engine, Offering, Offering.region == "europe-west1") == 0
    assert _count(engine, Offering, Offering.region == "us-central1") > 0


def test_refused_credentials_are_one_line(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    fake_google.failures[MACHINE_TYPES.format(project=PROJECT)] = [403]
    with pytest.raises(CredentialsError, match=r"machineTypes\.aggregatedList refused") as info:
        run_source(engine, _source(fake_google), _ctx(settings, now, project=PROJECT))
    assert "\n" not in str(info.value)


def test_missing_adc_is_one_line(engine: Engine, settings: Settings, now: datetime) -> None:
    with pytest.raises(CredentialsError, match="no GCP credentials") as info:
        run_source(engine, get_source("gcp"), _ctx(settings, now, project=PROJECT))
    assert "\n" not in str(info.value)
