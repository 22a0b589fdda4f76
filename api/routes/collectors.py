"""``GET /v1/collectors``: each source's recent runs, status, per-region errors, data age."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import NowDep, ReadAuth, SessionDep
from api.health import collector_report
from api.routes import answers
from api.schemas import CollectorsResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["operations"])

# Enough history to see a flapping source; more belongs in the metrics.
MAX_RUNS = 50


@router.get("/collectors", response_model=CollectorsResponse, responses=answers(422, 503))
def collectors(
    session: SessionDep,
    now: NowDep,
    _: ReadAuth,
    runs: Annotated[int, Query(ge=1, le=MAX_RUNS, description="recent runs per source")] = 5,
) -> CollectorsResponse:
    """Latest status per source, its data age and its most recent runs with regions."""
    return CollectorsResponse.model_validate(collector_report(session, now=now, runs=runs))
