"""Health, readiness, metrics and the ranking snapshot."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest

from api.deps import NowDep, ReadAuth, ServicesDep, WriteAuth
from api.health import readiness
from api.metrics import METRICS_CONTENT_TYPE
from api.routes import answers
from api.schemas import HealthResponse, ReadinessResponse, SnapshotInfo

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is alive (no database access)."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    responses={503: {"model": ReadinessResponse, "description": "not ready; says why"}},
)
def readyz(services: ServicesDep, now: NowDep) -> JSONResponse:
    """Ready: database reachable, schema present, snapshot loaded. Stale sources are listed in
    `stale` (older than `SPOTSEL_API_READY_MAX_DATA_AGE_SECONDS`) without failing readiness."""
    result = readiness(
        services.engine,
        services.snapshots,
        now=now,
        max_age_seconds=services.settings.api_ready_max_data_age_seconds,
    )
    body = ReadinessResponse.model_validate(result, from_attributes=True)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if result.ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition: request latency, collector health, snapshot state."""
    return Response(generate_latest(services.metrics.registry), media_type=METRICS_CONTENT_TYPE)


@router.get("/v1/snapshot", response_model=SnapshotInfo, responses=answers(503))
def snapshot(services: ServicesDep, _: ReadAuth) -> SnapshotInfo:
    """The ranking snapshot in service: generation (newest run id), pools, build time."""
    generation, snap = services.snapshots.current()
    return SnapshotInfo(generation=generation, pools=snap.size, built_at=snap.built_at)


@router.post("/v1/snapshot/refresh", response_model=SnapshotInfo, responses=answers(503))
def refresh_snapshot(services: ServicesDep, _: WriteAuth) -> SnapshotInfo:
    """Rebuild the snapshot now if a new collection run landed (write scope)."""
    services.snapshots.refresh()
    generation, snap = services.snapshots.current()
    return SnapshotInfo(generation=generation, pools=snap.size, built_at=snap.built_at)
