"""``GET /v1/pools`` (the snapshot's pools, filtered, paginated) and a pool's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import NowDep, PoolIndexDep, ReadAuth, SessionDep
from api.history import pool_history, resolve_range
from api.pools import PoolFilters, list_pools
from api.routes import answers
from api.schemas import HistoryQuery, Page, PoolHistory, PoolItem, PoolQuery
from selector import PoolKey

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["pools"])

Segment = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/pools", response_model=Page[PoolItem], responses=answers(400, 422, 503))
def pools(
    request: Request, query: Annotated[PoolQuery, Query()], snapshot: PoolIndexDep, _: ReadAuth
) -> Page[PoolItem]:
    """Pools of the current ranking snapshot in pool-key order, with the signals in force."""
    filters = PoolFilters(**query.model_dump(exclude={"limit", "cursor"}))
    page = list_pools(snapshot, filters, limit=query.limit, cursor=query.cursor)
    return Page[PoolItem].of(page, limit=query.limit, url=request.url)


@router.get(
    "/pools/{cloud}/{region}/{zone_id}/{instance_type}/history",
    response_model=PoolHistory,
    responses=answers(404, 422, 503),
)
def history(
    cloud: Segment,
    region: Segment,
    zone_id: Segment,
    instance_type: Segment,
    query: Annotated[HistoryQuery, Query()],
    session: SessionDep,
    now: NowDep,
    _: ReadAuth,
) -> PoolHistory:
    """Price changes, placement scores and interruption rates of one pool over a range."""
    start, end = resolve_range(query.start, query.end, now=now)
    data = pool_history(
        session, PoolKey(cloud, region, zone_id, instance_type), start=start, end=end
    )
    return PoolHistory.model_validate(data, from_attributes=True)
