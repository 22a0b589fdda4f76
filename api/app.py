"""The FastAPI application factory. No module-level settings or app: build one per process.

``create_app(settings)`` wires an engine, the snapshot cache (loaded at startup, refreshed by
a background thread), the recommender, the keyring, metrics, routes, error handlers, the request
guard (key, body size and read timeout checked before a body is read) and the OpenAPI document.
``create_app_from_env()`` is the factory uvicorn workers call
(``uvicorn.run("api.app:create_app_from_env", factory=True, workers=N)``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.auth import Keyring
from api.deps import require_read
from api.errors import install_error_handlers
from api.guard import RequestGuard
from api.metrics import Metrics, MetricsMiddleware
from api.openapi import install_openapi
from api.pool_cache import PoolIndexCache
from api.recommend import Recommender
from api.routes import (
    collectors,
    events,
    instance_types,
    node_pools,
    operations,
    outputs,
    pools,
    recommendations,
    reports,
)
from api.services import PoolIndexRefresher, Services
from core.clock import utcnow
from core.db import make_engine
from core.errors import ConfigError, SpotselError
from core.settings import Settings, load_settings
from outputs.crds import resolve_crds

__all__ = ["NO_AUTH_WARNING", "create_app", "create_app_from_env"]

log = logging.getLogger(__name__)

NO_AUTH_WARNING = (
    "API AUTHENTICATION IS DISABLED (--no-auth): every route is open to anyone who can "
    "reach this port"
)
NO_KEYS_ERROR = (
    "API auth is on but no API keys are configured: set SPOTSEL_API_KEYS or SPOTSEL_API_KEYS_FILE "
    "(create one with `spotsel api-key create NAME`) or pass --no-auth for local use"
)


def _services(settings: Settings, engine: Engine | None, clock: Callable[[], datetime]) -> Services:
    if settings.api_auth and not settings.api_keys:
        raise ConfigError(NO_KEYS_ERROR)
    owns_engine = engine is None
    if engine is None:
        engine = make_engine(
            settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    snapshots = PoolIndexCache(engine, clock=clock)
    recommender = Recommender(
        snapshots,
        clock=clock,
        cache_size=settings.api_response_cache_size,
        cache_ttl_seconds=settings.api_response_cache_ttl_seconds,
        default_discounts=settings.discounts,
    )
    metrics = Metrics()
    metrics.watch_store(engine, snapshots, recommender, clock)
    return Services(
        settings=settings,
        engine=engine,
        clock=clock,
        snapshots=snapshots,
        recommender=recommender,
        keyring=Keyring(settings.api_keys),
        metrics=metrics,
        crds=resolve_crds(settings.karpenter_crds_dir),
        refresher=PoolIndexRefresher(snapshots, interval=settings.api_snapshot_poll_seconds),
        owns_engine=owns_engine,
    )


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not services.auth_enabled:
            log.warning(NO_AUTH_WARNING)
        try:
            services.snapshots.refresh(force=True)
        except (SQLAlchemyError, SpotselError, OSError) as exc:
            # Serve anyway: /readyz says what is wrong and the refresher keeps trying.
            log.error("initial snapshot load failed: %s", exc)
        services.refresher.start()
        try:
            yield
        finally:
            services.refresher.stop()
            if services.owns_engine:
                services.engine.dispose()

    return lifespan


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """A ready-to-serve app. Raises `ConfigError` when auth is on but no keys are set."""
    services = _services(settings, engine, clock or utcnow)
    app = FastAPI(
        title="spotsel",
        summary="Capacity-aware spot instance selection",
        version="1",
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=_lifespan(services),
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (recommendations, pools, instance_types, collectors, operations, events, reports):
        app.include_router(module.router)
    # Generating manifests changes nothing on our side: the read scope is enough.
    for generating in (outputs, node_pools):
        app.include_router(generating.router, dependencies=[Depends(require_read)])
    install_openapi(
        app,
        auth=settings.api_auth,
        max_body_bytes=settings.api_max_body_bytes,
        timeout_seconds=settings.api_body_read_timeout_seconds,
    )
    # The middleware added last runs first: metrics time every answer, the guard's included.
    app.add_middleware(RequestGuard, services=services, router=app.router)
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: settings from ``SPOTSEL_*`` and the config file."""
    return create_app(load_settings())
