"""The snapshot follows collection runs without blocking requests; the answer cache follows."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.pool_cache import PoolIndexCache
from api.services import PoolIndexRefresher
from core.settings import Settings
from tests.api.conftest import build_app, load_sim
from tests.conftest import FIXED_NOW


def test_a_new_run_swaps_the_snapshot_and_invalidates_answers(
    engine: Engine, settings: Settings
) -> None:
    load_sim(engine, settings)
    app = build_app(engine, settings, api_auth=False, api_snapshot_poll_seconds=3600)
    request = {"gpus": 1, "regions": ["us-west-2"]}
    with TestClient(app) as c:
        first = c.post("/v1/recommendations", json=request)
        assert c.post("/v1/recommendations", json=request).headers["X-Spotsel-Cache"] == "hit"
        load_sim(engine, settings, now=FIXED_NOW + timedelta(hours=1))
        stale = c.post("/v1/recommendations", json=request)
        assert stale.headers["X-Spotsel-Snapshot-Generation"] == "1", "old one until refreshed"
        app.state.services.refresher.refresh_once()
        fresh = c.post("/v1/recommendations", json=request)
    assert first.headers["X-Spotsel-Snapshot-Generation"] == "1"
    assert fresh.headers["X-Spotsel-Snapshot-Generation"] == "2"
    assert fresh.headers["X-Spotsel-Cache"] == "miss", "a new generation invalidates answers"


def test_refresher_thread_picks_up_runs(engine: Engine, settings: Settings) -> None:
    load_sim(engine, settings)
    cache = PoolIndexCache(engine, clock=lambda: FIXED_NOW)
    cache.refresh(force=True)
    refresher = PoolIndexRefresher(cache, interval=0.05)
    refresher.start()
    try:
        load_sim(engine, settings, now=FIXED_NOW + timedelta(hours=1))
        for _ in range(200):
            if cache.generation == 2:
                break
            time.sleep(0.05)
    finally:
        refresher.stop()
    assert cache.generation == 2


def test_refresh_failure_keeps_the_current_snapshot(engine: Engine, settings: Settings) -> None:
    load_sim(engine, settings)
    cache = PoolIndexCache(engine, clock=lambda: FIXED_NOW)
    before = cache.refresh(force=True)
    # The store loses its tables (a botched migration): the refresh fails, the old one serves.
    cache._engine = engine.execution_options(schema_translate_map={None: "missing"})
    PoolIndexRefresher(cache, interval=1).refresh_once()
    assert cache.get() is before
