"""``GET /v1/instance-types``: the catalog, filtered and paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.catalog import TypeFilters, list_instance_types
from api.deps import ReadAuth, SessionDep
from api.routes import answers
from api.schemas import InstanceTypeItem, Page, TypeQuery

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get(
    "/instance-types",
    response_model=Page[InstanceTypeItem],
    responses=answers(400, 422, 503),
)
def instance_types(
    request: Request, query: Annotated[TypeQuery, Query()], session: SessionDep, _: ReadAuth
) -> Page[InstanceTypeItem]:
    """Instance types by (cloud, name), with specs and provenance."""
    filters = TypeFilters(**query.model_dump(exclude={"limit", "cursor"}))
    page = list_instance_types(session, filters, limit=query.limit, cursor=query.cursor)
    return Page[InstanceTypeItem].of(page, limit=query.limit, url=request.url)
