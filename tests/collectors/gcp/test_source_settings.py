"""The ``gcp`` source without options: project and regions come from the settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.base import CollectContext
from collectors.gcp import GcpSource, gcp_clients
from collectors.gcp.source import default_retry
from collectors.runner import run_source
from core.settings import Settings
from core.tables import Offering
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

CONFIGURED = "configured-project"
# n2 in two regions: the catalog prices only Americas (us-central1), so europe-west1 would fail.
TYPES = [
    machine_type("n2-standard-8", "us-central1-a", 8, 32.0),
    machine_type("n2-standard-8", "europe-west1-b", 8, 32.0),
]


def _serve(fake: FakeGoogle, project: str) -> None:
    fake.serve(MACHINE_TYPES.format(project=project), aggregated("machineTypes", TYPES))
    fake.serve(
        ACCELERATOR_TYPES.format(project=project),
        aggregated("acceleratorTypes", [accelerator_type("nvidia-tesla-t4", "us-central1-a")]),
    )
    fake.serve(SKUS, {"skus": catalog()})


def _source(fake: FakeGoogle, asked: list[str | None]) -> GcpSource:
    def factory(project: str | None) -> Any:
        asked.append(project)
        return gcp_clients(
            project=project,
            credentials=AnonymousCredentials(),
            endpoint=fake.endpoint,
            retry=default_retry(initial=0.01),
        )

    return GcpSource(client_factory=factory)


def _regions(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Offering.region).where(Offering.cloud == "gcp")))


def test_no_options_means_the_configured_project_and_regions(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    _serve(fake_google, CONFIGURED)
    configured = settings.model_copy(
        update={"gcp_project": CONFIGURED, "gcp_regions": ["us-central1"]}
    )
    asked: list[str | None] = []
    run = run_source(engine, _source(fake_google, asked), CollectContext(configured, now))
    assert run.status == "ok", run.error_message
    assert asked == [CONFIGURED]
    assert _regions(engine) == {"us-central1"}  # europe-west1 is seen but not configured


def test_options_win_over_the_settings(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    _serve(fake_google, "option-project")
    configured = settings.model_copy(
        update={"gcp_project": CONFIGURED, "gcp_regions": ["europe-west1"]}
    )
    asked: list[str | None] = []
    options = {"project": "option-project", "regions": ["us-central1"]}
    run = run_source(
        engine, _source(fake_google, asked), CollectContext(configured, now, options=options)
    )
    assert run.status == "ok", run.error_message
    assert asked == ["option-project"]
    assert _regions(engine) == {"us-central1"}
