"""`spotsel status` shows the user's fleet events: per kind, the newest one's age, both outputs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from core.db import make_engine
from core.settings import Settings
from core.summary import FLEET_EVENT_KINDS
from selector.capacity import ICE_TTL_HOURS
from spotsel.cli import app
from spotsel.commands import status as status_cmd
from spotsel.state import AppState
from tests.core.test_fleet_summary import NOW, fleet_event, store_fleet_events

runner = CliRunner()
LATER = NOW + timedelta(hours=2)


@pytest.fixture
def store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A migrated store holding four fleet events; the command's clock at LATER."""
    upgrade = runner.invoke(app, ["db", "upgrade"], obj=AppState(settings=settings))
    assert upgrade.exit_code == 0, upgrade.output
    engine = make_engine(settings.database_url)
    try:
        store_fleet_events(
            engine,
            [
                fleet_event("interruption", 3.0, 1),
                fleet_event("rebalance", 3.5, 2),
                fleet_event("insufficient-capacity", 0.5, 3),
                fleet_event("usage", 1.0, 4, instance_hours=8.0),
            ],
        )
    finally:
        engine.dispose()
    monkeypatch.setattr(status_cmd, "utcnow", lambda: LATER)
    return settings


def _invoke(settings: Settings, *args: str) -> str:
    result = runner.invoke(app, ["status", *args], obj=AppState(settings=settings))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_status_json_has_fleet_events(store: Settings) -> None:
    fleet = json.loads(_invoke(store, "--output", "json"))["fleet_events"]
    assert fleet["by_kind"] == dict.fromkeys(FLEET_EVENT_KINDS, 1)
    newest: datetime = NOW - timedelta(hours=0.5)
    assert fleet["newest_at"] == newest.isoformat()
    assert fleet["newest_age_seconds"] == (LATER - newest).total_seconds()
    assert fleet["capacity_errors_remembered"] == 1


def test_status_table_has_a_fleet_line(store: Settings) -> None:
    text = " ".join(_invoke(store).split())
    assert "fleet events: 4 in 1 pools" in text
    for kind in FLEET_EVENT_KINDS:
        assert f"{kind} 1" in text
    assert "newest 2.5 h ago" in text
    assert f"capacity errors in the last {ICE_TTL_HOURS:g} h (lowering capacity): 1" in text
