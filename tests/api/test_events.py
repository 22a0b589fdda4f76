"""`POST /v1/events`: the fleet-events acceptance, auth and bad bodies (both engines)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.settings import Settings
from core.tables import CollectionRun, FleetEvent
from selector.evidence import format_hours, format_rate
from tests.api.conftest import API_NOW, KEYS, READ_KEY, WRITE_KEY, auth, build_app, load_sim
from tests.outputs.helpers import REPO

SEED_REQUEST = {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"]}
# Exposure per interrupted instance: 20 interruptions in 5 instance-hours is a pool that
# interrupts far more often than its worst-bucket prior (0.58/h) says.
HOURS_PER_INSTANCE = 0.25
JSON_HEADERS = {"Content-Type": "application/json"}
WARNING = (
    REPO.parent / "shared" / "data" / "interruption-events" / "aws-docs-examples"
    / "eventbridge_ec2-spot-instance-interruption-warning.json"
)  # fmt: skip


def _client(engine: Engine, tmp_path: Path) -> TestClient:
    settings = Settings(database_url=str(engine.url), data_dir=tmp_path / "data", api_keys=KEYS)
    load_sim(engine, settings)
    return TestClient(build_app(engine, settings))


def _rank(client: TestClient) -> list[dict[str, Any]]:
    response = client.post("/v1/recommendations", json=SEED_REQUEST, headers=auth())
    assert response.status_code == 200, response.text
    pools: list[dict[str, Any]] = response.json()["pools"]
    return pools


def _pool(pool: dict[str, Any]) -> tuple[str, str, str, str]:
    return (pool["cloud"], pool["region"], pool["zone_id"], pool["instance_type"])


def _key(pool: dict[str, Any]) -> tuple[str, ...]:
    return (*_pool(pool), pool["capacity_type"])


def _interruptions(pool: dict[str, Any], n: int) -> list[dict[str, Any]]:
    cloud, region, zone_id, instance_type = _pool(pool)
    return [
        {"cloud": cloud, "region": region, "zone_id": zone_id, "instance_type": instance_type,
         "kind": "interruption", "occurred_at": (API_NOW - timedelta(hours=i + 1)).isoformat(),
         "instance_hours": HOURS_PER_INSTANCE, "external_id": f"acceptance-{i}"}
        for i in range(n)
    ]  # fmt: skip


def _count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_twenty_interruptions_raise_the_top_pools_hazard_and_move_it_down(
    engine: Engine, tmp_path: Path
) -> None:
    with _client(engine, tmp_path) as client:
        before = _rank(client)
        top = before[0]
        events = _interruptions(top, 20)
        posted = client.post("/v1/events", json=events, headers=auth(WRITE_KEY))
        assert posted.status_code == 200, posted.text
        report = posted.json()
        assert (report["accepted"], report["duplicates"], report["unmapped"]) == (20, 0, 0)
        after = _rank(client)
        keys = [_key(p) for p in after]
        assert _key(top) in keys, "diversity keeps the pool listed"
        assert keys.index(_key(top)) > 0, "the interrupted pool is no longer first"
        moved = after[keys.index(_key(top))]
        assert moved["hazard"]["fleet_updated"] is True
        # The answer says why: the evidence and what it did to λ, prior to posterior.
        assert moved["hazard_prior"] == pytest.approx(top["hazard"]["rate_per_hour"])
        [why] = [n for n in moved["fleet"]["notes"] if "λ" in n]
        hours = format_hours(20 * HOURS_PER_INSTANCE)
        assert why.startswith(f"20 interruptions in {hours} instance-hours: λ ")
        assert format_rate(moved["hazard"]["rate_per_hour"]) in why
        assert moved["hazard"]["rate_per_hour"] > top["hazard"]["rate_per_hour"]
        assert moved["effective_cost"] > top["effective_cost"]
        with Session(engine) as session:
            stored = session.scalars(select(FleetEvent)).all()
        assert {(e.cloud, e.region, e.zone_id, e.instance_type) for e in stored} == {_pool(top)}
        runs = _count(engine, CollectionRun)
        again = client.post("/v1/events", json=events, headers=auth(WRITE_KEY))
        assert again.status_code == 200, again.text
        assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 20)
        assert _count(engine, CollectionRun) == runs, "a replay records no run"
        assert _rank(client) == after, "posting the same events again changes nothing"


def test_events_need_the_write_scope(engine: Engine, tmp_path: Path) -> None:
    with _client(engine, tmp_path) as client:
        body = _interruptions({"cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
                               "instance_type": "g4dn.xlarge"}, 1)  # fmt: skip
        assert client.post("/v1/events", json=body).status_code == 401
        read = client.post("/v1/events", json=body, headers=auth(READ_KEY))
        assert read.status_code == 403
        assert _count(engine, FleetEvent) == 0


def test_a_documentation_template_is_a_4xx_naming_the_field(engine: Engine, tmp_path: Path) -> None:
    with _client(engine, tmp_path) as client:
        runs = _count(engine, CollectionRun)
        headers = {**auth(WRITE_KEY), **JSON_HEADERS}
        response = client.post("/v1/events", content=WARNING.read_bytes(), headers=headers)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "invalid_event"
        assert "time" in body["detail"]
        assert "placeholder" in body["detail"]
        for bad in ("[]", '"text"', "{"):
            answer = client.post("/v1/events", content=bad, headers=headers)
            assert 400 <= answer.status_code < 500, (bad, answer.text)
            assert set(answer.json()) == {"error", "detail"}
        assert _count(engine, FleetEvent) == 0
        assert _count(engine, CollectionRun) == runs
