"""Pool history, collectors, readiness and metrics, on both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.runs import RegionError
from core.settings import Settings
from core.store import persist_run
from tests.api.conftest import API_NOW, Market, auth, build_app, load_sim
from tests.conftest import FIXED_NOW
from tests.factories import T0, make_offering, make_result, make_spot_price, make_type

POOL = "/v1/pools/aws/us-east-1/use1-az1/g5.xlarge/history"


def _score(zone: str, types: str, at: Any, score: float) -> dict[str, Any]:
    return {
        "cloud": "aws", "region": "us-east-1", "zone_id": zone, "instance_types": types,
        "target_capacity": 1, "observed_at": at, "score": score, "raw": str(score * 10),
        "source": "test",
    }  # fmt: skip


def _history_app(engine: Engine, settings: Settings) -> TestClient:
    persist_run(
        engine,
        make_result({
            "instance_types": [make_type()],
            "offerings": [make_offering()],
            "spot_prices": [
                make_spot_price(ts=T0 - timedelta(days=3), price_usd_per_hour=0.30),  # in force
                make_spot_price(ts=T0 - timedelta(hours=5), price_usd_per_hour=0.35),
                make_spot_price(ts=T0 - timedelta(hours=1), price_usd_per_hour=0.40),
                make_spot_price(zone_id="use1-az2", ts=T0 - timedelta(hours=2)),  # other pool
            ],
            "placement_scores": [
                _score("use1-az1", "g4dn.xlarge,g5.xlarge,g6.xlarge", T0 - timedelta(hours=2), 0.9),
                _score("", "g5.xlarge", T0 - timedelta(hours=2), 0.5),  # regional: included
                _score("use1-az1", "g5.xlarge2,g6.xlarge", T0 - timedelta(hours=2), 0.1),
                _score("use1-az2", "g5.xlarge", T0 - timedelta(hours=2), 0.2),  # other zone
            ],
        }),
    )  # fmt: skip
    return TestClient(build_app(engine, settings, now=T0, api_auth=False))


def test_history_over_a_range(engine: Engine, settings: Settings) -> None:
    with _history_app(engine, settings) as c:
        start = (T0 - timedelta(hours=6)).isoformat()
        body = c.get(POOL, params={"start": start}).json()
    prices = [p["price_usd_per_hour"] for p in body["spot_prices"]]
    assert prices == [0.30, 0.35, 0.40], "the change in force at start, then the changes inside"
    sets = {(s["zone_id"], tuple(s["instance_types"])) for s in body["placement_scores"]}
    assert sets == {
        ("use1-az1", ("g4dn.xlarge", "g5.xlarge", "g6.xlarge")),
        ("", ("g5.xlarge",)),
    }, "sets holding the type in its zone or region; not look-alike names, not other zones"
    assert body["truncated"] is False


def test_history_default_range_is_the_last_week(engine: Engine, settings: Settings) -> None:
    with _history_app(engine, settings) as c:
        body = c.get(POOL).json()
    assert body["end"].startswith(T0.strftime("%Y-%m-%dT%H:%M"))
    assert body["start"].startswith((T0 - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/pools/aws/us-east-1/use1-az9/g5.xlarge/history", {}, 404, "not_found"),
        (POOL, {"start": "2026-11-28T10:00:00Z", "end": "2026-11-27T10:00:00Z"}, 422,
         "invalid_range"),
        (POOL, {"start": "2020-01-01T00:00:00Z"}, 422, "invalid_range"),
        (POOL, {"start": "yesterday"}, 422, "invalid_request"),
        (POOL, {"end": "0001-01-01T00:00:00"}, 422, "invalid_range"),
    ],
    ids=["unknown pool", "start after end", "over a year", "not a time", "end at year 1"],
)  # fmt: skip
def test_history_errors(
    engine: Engine, settings: Settings, path: str, params: dict[str, str], status: int, code: str
) -> None:
    with _history_app(engine, settings) as c:
        response = c.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code


def test_history_of_a_sim_pool(client: TestClient) -> None:
    pool = client.get(
        "/v1/pools", params={"instance_type": "g5.xlarge", "limit": 1}, headers=auth()
    ).json()["items"][0]
    path = f"/v1/pools/{pool['cloud']}/{pool['region']}/{pool['zone_id']}/g5.xlarge/history"
    body = client.get(path, headers=auth()).json()
    assert len(body["spot_prices"]) > 1
    assert body["spot_prices"][-1]["price_usd_per_hour"] == pool["spot_price"]
    assert body["interruption_rates"], "the sim records advisor buckets"


def test_collectors_report_runs_regions_and_age(engine: Engine, settings: Settings) -> None:
    load_sim(engine, settings)
    persist_run(
        engine,
        make_result(
            {"instance_types": [make_type()], "offerings": [make_offering()]},
            source="aws-test",
            regions=("us-east-1", "eu-west-1"),
            errors=(RegionError("eu-west-1", "Throttling", "rate exceeded"),),
        ),
    )
    with TestClient(build_app(engine, settings, api_auth=False)) as c:
        body = c.get("/v1/collectors", params={"runs": 3}).json()
    by_source = {s["source"]: s for s in body["sources"]}
    sim = by_source["sim"]
    assert sim["last_status"] == "ok"
    assert sim["data_age_seconds"] == (API_NOW - FIXED_NOW).total_seconds()
    assert len(sim["recent_runs"]) == 1
    assert len(sim["recent_runs"][0]["regions"]) > 5
    failed = by_source["aws-test"]
    assert failed["failed_regions"] == ["eu-west-1"]
    region = next(r for r in failed["recent_runs"][0]["regions"] if r["region"] == "eu-west-1")
    assert (region["status"], region["error_class"]) == ("failed", "Throttling")


def test_readiness_fresh_then_stale(market: Market) -> None:
    with TestClient(build_app(market.engine, market.settings)) as c:
        fresh = c.get("/readyz")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["ready"] is True
    assert fresh.json()["stale"] == []
    threshold = market.settings.api_ready_max_data_age_seconds
    later = FIXED_NOW + timedelta(seconds=threshold + 60)
    with TestClient(build_app(market.engine, market.settings, now=later)) as c:
        stale = c.get("/readyz")
    # Stale data is the store's state, the same on every replica: failing readiness for it
    # would take them all out of service at once. It is reported, with the threshold.
    assert stale.status_code == 200, stale.text
    body = stale.json()
    assert body["ready"] is True
    [entry] = body["stale"]
    assert entry["source"] == "sim"
    assert entry["max_age_seconds"] == threshold
    assert entry["data_age_seconds"] > threshold
    assert {c["name"] for c in body["checks"]} == {"database", "snapshot"}
    assert all(c["ok"] for c in body["checks"])


def test_readiness_fails_when_this_process_has_no_snapshot(market: Market) -> None:
    app = build_app(market.engine, market.settings)
    with TestClient(app) as c:
        app.state.services.snapshots._current = None  # as after a failed initial load
        response = c.get("/readyz")
    assert response.status_code == 503
    snapshot = next(check for check in response.json()["checks"] if check["name"] == "snapshot")
    assert snapshot == {"name": "snapshot", "ok": False, "detail": "ranking snapshot not loaded"}


def test_readiness_without_data_or_schema(bare_engine: Engine, settings: Settings) -> None:
    app = build_app(bare_engine, settings, api_auth=False)
    with TestClient(app) as c:
        no_schema = c.get("/readyz")
        alive = c.get("/healthz")
    assert alive.status_code == 200
    assert no_schema.status_code == 503
    assert "spotsel db upgrade" in no_schema.json()["checks"][0]["detail"]


def test_readiness_before_any_collection(engine: Engine, settings: Settings) -> None:
    with TestClient(build_app(engine, settings, api_auth=False)) as c:
        response = c.get("/readyz")
    body = response.json()
    assert response.status_code == 200, "an empty store is the same on every replica"
    assert body["ready"] is True
    snapshot = next(check for check in body["checks"] if check["name"] == "snapshot")
    assert "no collection run yet" in snapshot["detail"]


def test_metrics_exposition(client: TestClient) -> None:
    client.post("/v1/recommendations", json={"gpus": 1}, headers=auth())
    client.get("/v1/pools/aws/x/y/z/history", headers=auth())
    client.get("/no/such/route")
    text = client.get("/metrics").text
    assert (
        'spotsel_http_request_duration_seconds_count{method="POST",'
        'route="/v1/recommendations",status="200"}'
    ) in text
    assert 'route="/v1/pools/{cloud}/{region}/{zone_id}/{instance_type}/history",status="404"' in (
        text
    ), "labelled by route template, not the raw path"
    assert 'route="<unmatched>",status="404"' in text
    for series in (
        'spotsel_collector_last_run_duration_seconds{source="sim"}',
        'spotsel_collector_last_run_rows{source="sim"}',
        'spotsel_collector_failures_total{source="sim"} 0.0',
        'spotsel_collector_runs_total{source="sim",status="ok"} 1.0',
        f'spotsel_collector_data_age_seconds{{source="sim"}} {(API_NOW - FIXED_NOW).seconds}.0',
        "spotsel_snapshot_generation 1.0",
        "spotsel_database_up 1.0",
    ):
        assert series in text, series
