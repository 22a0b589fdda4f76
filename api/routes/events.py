"""`POST /v1/events`: the user's own fleet events (write scope).

The body is one document or a list (EventBridge events, Karpenter events or NodeClaims as
kubectl prints them, spotsel's normalised form). A body with no usable document is 400
`invalid_event` naming the field and writes nothing; otherwise 200 with the report, refused
documents listed by index. Landed events record a collection run, and the snapshot is rebuilt
at once so the next recommendation uses them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from api.deps import NowDep, ServicesDep, WriteAuth
from api.routes import answers
from api.schemas import EventsReport
from core.fleet_events import (
    DEFAULT_SOURCE,
    MAX_EVENTS_PER_CALL,
    ingest_events,
    refuse_unusable,
)
from core.tables import SOURCE_CHARS

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["events"])

EventsBody = Annotated[
    dict[str, Any] | list[Any],
    Body(description=f"one event document or a list (at most {MAX_EVENTS_PER_CALL})"),
]
SourceParam = Annotated[
    str,
    Query(min_length=1, max_length=SOURCE_CHARS, description="dedup scope with the event id"),
]


@router.post("/events", response_model=EventsReport, responses=answers(400, 422, 503))
def post_events(
    body: EventsBody, services: ServicesDep, now: NowDep, _: WriteAuth,
    source: SourceParam = DEFAULT_SOURCE,
) -> EventsReport:  # fmt: skip
    """Ingest fleet events; a replay of the same events changes nothing."""
    refuse_unusable(body, received_at=now)
    report = ingest_events(services.engine, body, source=source, received_at=now)
    if report.run_id is not None:
        services.snapshots.refresh()
    return EventsReport.model_validate(report.to_dict())
