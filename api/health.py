"""Collector status and readiness: what each source last did and whether data is fresh.

`/readyz` is for load balancers and orchestrators, and it is about this process: ready means
the database answers with the schema in place and the ranking snapshot is loaded. How fresh the
data is, is the store's state, shared by every replica: a stale source is reported (``stale``,
each with its age and the threshold `Settings.api_ready_max_data_age_seconds`) but never fails
readiness, since failing it would take every replica out of service at once and turn answers
that say how old their data is into no answers at all. When not ready it says which check
failed, so an operator knows what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.pool_cache import PoolIndexCache
from core.db import require_schema
from core.errors import SpotselError
from core.summary import SourceStatus, fleet_event_summary, source_statuses
from core.tables import CollectionRun, CollectionRunRegion

__all__ = ["Readiness", "collector_report", "readiness"]


def _run(run: CollectionRun, regions: list[CollectionRunRegion]) -> dict[str, Any]:
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": max(0.0, (run.finished_at - run.started_at).total_seconds()),
        "status": run.status,
        "rows_written": run.rows_written,
        "rows_new": run.rows_new,
        "data_as_of": run.data_as_of,
        "error_class": run.error_class,
        "error_message": run.error_message,
        "regions": [
            {
                "region": r.region,
                "status": r.status,
                "rows": r.rows,
                "error_class": r.error_class,
                "error_message": r.error_message,
            }
            for r in regions
        ],
    }


def _age(status: SourceStatus, now: datetime) -> float | None:
    return None if status.data_as_of is None else (now - status.data_as_of).total_seconds()


def collector_report(session: Session, *, now: datetime, runs: int) -> dict[str, Any]:
    """Per source: the latest status, data age and the `runs` most recent runs with regions."""
    sources = []
    for status in source_statuses(session):
        recent = list(
            session.scalars(
                select(CollectionRun)
                .where(CollectionRun.source == status.source)
                .order_by(CollectionRun.id.desc())
                .limit(runs)
            ).all()
        )
        regions: dict[int, list[CollectionRunRegion]] = {r.id: [] for r in recent}
        for region in session.scalars(
            select(CollectionRunRegion)
            .where(CollectionRunRegion.run_id.in_(list(regions)))
            .order_by(CollectionRunRegion.run_id, CollectionRunRegion.region)
        ):
            regions[region.run_id].append(region)
        sources.append(
            {
                "source": status.source,
                "runs": status.runs,
                "last_status": status.last_status,
                "last_error": status.last_error,
                "failed_regions": list(status.failed_regions),
                "data_as_of": status.data_as_of,
                "data_age_seconds": _age(status, now),
                "recent_runs": [_run(r, regions[r.id]) for r in recent],
            }
        )
    return {"now": now, "sources": sources}


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: list[dict[str, Any]]
    stale: list[dict[str, Any]]
    # The user's own fleet events (counts per kind, the newest one's age): reported, never a check.
    fleet_events: dict[str, Any] | None = None


def readiness(
    engine: Engine, snapshots: PoolIndexCache, *, now: datetime, max_age_seconds: float
) -> Readiness:
    """Run the readiness checks and list stale sources; never raises for an unavailable store.

    ``ready`` follows ``checks`` only (database, snapshot); ``stale`` is reported beside them.
    """
    checks: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    try:
        require_schema(engine)
    except SpotselError as exc:
        checks.append({"name": "database", "ok": False, "detail": str(exc)})
        return Readiness(False, checks, stale)
    checks.append({"name": "database", "ok": True, "detail": "reachable, schema present"})
    with Session(engine) as session:
        statuses = source_statuses(session)
        fleet = fleet_event_summary(session, now=now).to_dict()
    for status in statuses:
        age = _age(status, now)
        if age is None or age > max_age_seconds:
            stale.append(
                {"source": status.source, "data_as_of": status.data_as_of,
                 "data_age_seconds": age, "max_age_seconds": max_age_seconds}
            )  # fmt: skip
    checks.append(_snapshot_check(snapshots, collected=bool(statuses)))
    return Readiness(all(c["ok"] for c in checks), checks, stale, fleet)


def _snapshot_check(snapshots: PoolIndexCache, *, collected: bool) -> dict[str, Any]:
    if not snapshots.loaded:
        return {"name": "snapshot", "ok": False, "detail": "ranking snapshot not loaded"}
    generation, index = snapshots.current()
    detail = f"generation {generation}, {index.size:,} pools"
    if not collected:
        detail += "; no collection run yet (recommendations answer 503 no_data until one lands)"
    return {"name": "snapshot", "ok": True, "detail": detail}
