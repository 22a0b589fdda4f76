"""Prometheus metrics on an app-owned registry (no global state: two apps, two registries).

Request latency is observed by a pure ASGI middleware, labelled by the route *template*
(``/v1/pools/{cloud}/...``) so label cardinality stays bounded. Collector health (last run
duration, rows, failures, data age per source) is read from ``collection_runs`` at scrape
time, so every API worker reports the same numbers without shared memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pool_cache import PoolIndexCache
from api.recommend import Recommender
from core.summary import source_statuses
from core.tables import CollectionRun

__all__ = ["METRICS_CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Buckets around the 50 ms recommendation target, out to slow history queries.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# Requests that matched no route share one label value instead of one per probed path.
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

log = logging.getLogger(__name__)


class _StoreCollector(Collector):
    """Collector and snapshot gauges, computed when Prometheus scrapes."""

    def __init__(
        self,
        engine: Engine,
        snapshots: PoolIndexCache,
        recommender: Recommender,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._snapshots = snapshots
        self._recommender = recommender
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        yield from self._snapshot_metrics(now)
        up = GaugeMetricFamily("spotsel_database_up", "1 when the last scrape could read the store")
        try:
            families = self._collector_metrics(now)
        except SQLAlchemyError as exc:
            log.warning("metrics: cannot read collection runs: %s", type(exc).__name__)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _snapshot_metrics(self, now: datetime) -> Iterator[Metric]:
        loaded = self._snapshots.loaded
        generation = GaugeMetricFamily(
            "spotsel_snapshot_generation", "newest collection run id in the ranking snapshot"
        )
        pools = GaugeMetricFamily("spotsel_snapshot_pools", "pools in the ranking snapshot")
        age = GaugeMetricFamily("spotsel_snapshot_age_seconds", "seconds since the snapshot build")
        if loaded:
            gen, snap = self._snapshots.current()
            generation.add_metric([], float(gen))
            pools.add_metric([], float(snap.size))
            age.add_metric([], (now - snap.built_at).total_seconds())
        cache = CounterMetricFamily(
            "spotsel_recommendation_cache_lookups",
            "recommendation answer-cache lookups",
            labels=["result"],
        )
        cache.add_metric(["hit"], float(self._recommender.hits))
        cache.add_metric(["miss"], float(self._recommender.misses))
        yield from (generation, pools, age, cache)

    def _collector_metrics(self, now: datetime) -> list[Metric]:
        duration = GaugeMetricFamily(
            "spotsel_collector_last_run_duration_seconds",
            "duration of the latest run per source",
            labels=["source"],
        )
        rows = GaugeMetricFamily(
            "spotsel_collector_last_run_rows", "rows written by the latest run", labels=["source"]
        )
        ok = GaugeMetricFamily(
            "spotsel_collector_last_run_ok", "1 when the latest run ended ok", labels=["source"]
        )
        age = GaugeMetricFamily(
            "spotsel_collector_data_age_seconds",
            "seconds since the newest data a source landed",
            labels=["source"],
        )
        runs = CounterMetricFamily(
            "spotsel_collector_runs", "collection runs by status", labels=["source", "status"]
        )
        failures = CounterMetricFamily(
            "spotsel_collector_failures", "failed collection runs", labels=["source"]
        )
        with Session(self._engine) as session:
            statuses = source_statuses(session)
            counts: list[Any] = list(
                session.execute(
                    select(CollectionRun.source, CollectionRun.status, func.count()).group_by(
                        CollectionRun.source, CollectionRun.status
                    )
                ).all()
            )
        for s in statuses:
            seconds = (s.last_finished_at - s.last_started_at).total_seconds()
            duration.add_metric([s.source], max(0.0, seconds))
            rows.add_metric([s.source], float(s.last_rows_written))
            ok.add_metric([s.source], 1.0 if s.last_status == "ok" else 0.0)
            if s.data_as_of is not None:
                age.add_metric([s.source], (now - s.data_as_of).total_seconds())
        failed: dict[str, int] = {s.source: 0 for s in statuses}
        for source, status, n in counts:
            runs.add_metric([source, status], float(n))
            if status == "failed":
                failed[source] = int(n)
        for source, n in sorted(failed.items()):
            failures.add_metric([source], float(n))
        return [duration, rows, ok, age, runs, failures]


class Metrics:
    """The registry of one app and the instruments the middleware feeds."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.request_seconds = Histogram(
            "spotsel_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def watch_store(
        self,
        engine: Engine,
        snapshots: PoolIndexCache,
        recommender: Recommender,
        clock: Callable[[], datetime],
    ) -> None:
        self.registry.register(_StoreCollector(engine, snapshots, recommender, clock))


class MetricsMiddleware:
    """Times every HTTP request; labels come from the matched route after routing."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes everything is answered 500 by the server

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self._metrics.request_seconds.labels(template, method, str(status)).observe(
                time.perf_counter() - started
            )
