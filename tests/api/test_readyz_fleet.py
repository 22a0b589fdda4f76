"""`/readyz` reports the user's fleet events (per kind, the newest one's age), on every engine."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.settings import Settings
from core.summary import FLEET_EVENT_KINDS
from selector.capacity import ICE_TTL_HOURS
from tests.api.conftest import build_app
from tests.core.test_fleet_summary import NOW, fleet_event, store_fleet_events


def test_readyz_reports_fleet_events(engine: Engine, settings: Settings) -> None:
    store_fleet_events(
        engine,
        [
            fleet_event("interruption", 4.0, 1),
            fleet_event("insufficient-capacity", 1.0, 2),
            fleet_event("insufficient-capacity", ICE_TTL_HOURS + 2.0, 3),
            fleet_event("usage", 6.0, 4, instance_hours=12.0),
        ],
    )
    later = NOW + timedelta(minutes=30)
    with TestClient(build_app(engine, settings, now=later, api_auth=False)) as c:
        response = c.get("/readyz")
    assert response.status_code == 200, response.text
    fleet = response.json()["fleet_events"]
    assert fleet["by_kind"] == dict.fromkeys(FLEET_EVENT_KINDS, 0) | {
        "interruption": 1,
        "insufficient-capacity": 2,
        "usage": 1,
    }
    assert fleet["total"] == 4
    assert (
        fleet["newest_age_seconds"] == (timedelta(hours=1) + timedelta(minutes=30)).total_seconds()
    )
    assert fleet["capacity_errors_remembered"] == 1, "the old one is past the memory"
    assert fleet["capacity_error_memory_hours"] == ICE_TTL_HOURS


def test_readyz_without_fleet_events(engine: Engine, settings: Settings) -> None:
    with TestClient(build_app(engine, settings, api_auth=False)) as c:
        fleet = c.get("/readyz").json()["fleet_events"]
    assert fleet["total"] == 0
    assert fleet["newest_at"] is None
