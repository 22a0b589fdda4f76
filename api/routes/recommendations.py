"""``POST /v1/recommendations``: ranked, diversified pools for a workload."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ReadAuth, ServicesDep
from api.routes import answers
from api.schemas import RecommendationRequest, RecommendationResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["recommendations"])

ANSWER_HEADERS = {
    "X-Spotsel-Cache": {
        "description": "`hit` when an identical request was answered from this snapshot",
        "schema": {"type": "string", "enum": ["hit", "miss"]},
    },
    "X-Spotsel-Snapshot-Generation": {
        "description": "the snapshot generation (newest collection run id) ranked on",
        "schema": {"type": "string"},
    },
}


@router.post(
    "/recommendations",
    response_model=RecommendationResponse,
    responses={200: {"headers": ANSWER_HEADERS}, **answers(422, 503)},
    summary="Rank diversified instance-type × zone pools for a workload",
)
async def recommend(body: RecommendationRequest, services: ServicesDep, _: ReadAuth) -> Response:
    """Body: the ranking vocabulary. Answer: ranked pools with score breakdowns, the node
    split, exclusion counts, unmet constraints, signal ages and the spot-vs-on-demand verdict.
    """
    # Ranking is a few ms of in-memory numpy: run it on the loop, not in the threadpool,
    # where concurrent requests would only fight over the GIL. Only a first snapshot build
    # (SQL, seconds) goes to a thread.
    if not services.snapshots.loaded:
        await run_in_threadpool(services.snapshots.current)
    answer = services.recommender.recommend(body.model_dump(exclude_unset=True))
    return Response(
        content=answer.body,
        media_type="application/json",
        headers={
            "X-Spotsel-Cache": "hit" if answer.cached else "miss",
            "X-Spotsel-Snapshot-Generation": str(answer.generation),
        },
    )
