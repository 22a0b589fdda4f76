"""Five insufficient-capacity events over HTTP lower a pool's capacity until the TTL passes.

A fixed, movable clock: the app ranks at the time the test sets, so the same store is asked
right after the errors, half a TTL later and just past the TTL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from core.settings import Settings
from selector.capacity import ICE_PENALTY_PER_EVENT, ICE_TTL_HOURS
from tests.api.conftest import API_NOW, KEYS, WRITE_KEY, auth, load_sim

ERRORS = 5
# Prices must stay usable past the TTL: the question is capacity, not price age.
REQUEST = {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "capacity_types": ["spot"],
           "max_price_age_hours": 2 * ICE_TTL_HOURS + 1}  # fmt: skip


def _pool_key(pool: dict[str, Any]) -> tuple[str, str, str, str]:
    return (pool["cloud"], pool["region"], pool["zone_id"], pool["instance_type"])


def _find(client: TestClient, key: tuple[str, str, str, str]) -> dict[str, Any]:
    body = {**REQUEST, "top": 200, "min_instance_types": 1}
    response = client.post("/v1/recommendations", json=body, headers=auth())
    assert response.status_code == 200, response.text
    [pool] = [p for p in response.json()["pools"] if _pool_key(p) == key]
    return pool


def test_five_capacity_errors_lower_capacity_until_the_ttl(engine: Engine, tmp_path: Path) -> None:
    # No answer cache: the same request is asked again at later clock times.
    settings = Settings(
        database_url=str(engine.url), data_dir=tmp_path / "data", api_keys=KEYS,
        api_response_cache_size=0,
    )  # fmt: skip
    load_sim(engine, settings)
    clock = [API_NOW]

    def at(hours: float) -> datetime:
        return API_NOW + timedelta(hours=hours)

    with TestClient(create_app(settings, engine=engine, clock=lambda: clock[0])) as client:
        top = client.post("/v1/recommendations", json=REQUEST, headers=auth()).json()["pools"][0]
        key = _pool_key(top)
        before = _find(client, key)["capacity"]
        cloud, region, zone_id, instance_type = key
        events = [
            {"cloud": cloud, "region": region, "zone_id": zone_id, "instance_type": instance_type,
             "kind": "insufficient-capacity", "occurred_at": API_NOW.isoformat(),
             "external_id": f"ice-{i}"}
            for i in range(ERRORS)
        ]  # fmt: skip
        posted = client.post("/v1/events", json=events, headers=auth(WRITE_KEY))
        assert posted.status_code == 200, posted.text
        assert posted.json()["accepted"] == ERRORS

        fresh = _find(client, key)
        assert fresh["capacity"] == pytest.approx(before * ICE_PENALTY_PER_EVENT**ERRORS)
        assert "recent-capacity-errors" in fresh["flags"]
        assert any(n.startswith(f"{ERRORS} capacity errors") for n in fresh["fleet"]["notes"])

        clock[0] = at(ICE_TTL_HOURS / 2)
        half = _find(client, key)
        assert fresh["capacity"] < half["capacity"] < before

        clock[0] = at(ICE_TTL_HOURS + 0.1)
        after = _find(client, key)
        assert after["capacity"] == pytest.approx(before)
        assert "recent-capacity-errors" not in after["flags"]
