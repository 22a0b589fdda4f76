"""When each (region, instance-type set) was last scored: what capacity planners ask first.

GCP capacity advice and Azure spot placement scores both spend a small call budget, least
recently scored first; both read that order from the stored ``placement_scores`` rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.clock import parse_utc
from core.tables import PlacementScore

__all__ = ["last_scored"]


def last_scored(
    engine: Engine | None, *, cloud: str, source: str, since: datetime
) -> dict[tuple[str, str], datetime]:
    """(region, instance_types) → the newest ``observed_at`` after ``since`` (any zone)."""
    if engine is None:
        return {}
    stmt = (
        select(
            PlacementScore.region,
            PlacementScore.instance_types,
            func.max(PlacementScore.observed_at),
        )
        .where(
            PlacementScore.cloud == cloud,
            PlacementScore.source == source,
            PlacementScore.observed_at > since,
        )
        .group_by(PlacementScore.region, PlacementScore.instance_types)
    )
    with Session(engine) as session:
        rows = list(session.execute(stmt))
    # SQLite hands max() back as text: parse_utc reads both.
    return {(r, t): seen for r, t, at in rows if (seen := parse_utc(at)) is not None}
