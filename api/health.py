"""Collector status and readiness: what each source last did and whether data is fresh.

`/readyz` is for load balancers and orchestrators: ready means the database answers, the
schema exists, the ranking snapshot is loaded and no source's newest data is older than
`Settings.api_ready_max_data_age_seconds`. When not ready it says which check failed and
which sources are stale, so an operator knows what to fix.
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
from core.summary import SourceStatus, source_statuses
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


def readiness(
    engine: Engine, snapshots: PoolIndexCache, *, now: datetime, max_age_seconds: float
) -> Readiness:
    """Run every readiness check; never raises for an unavailable or empty store."""
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
    if not statuses:
        checks.append({"name": "data", "ok": False, "detail": "no collection run yet"})
    for status in statuses:
        age = _age(status, now)
        if age is None or age > max_age_seconds:
            stale.append(
                {"source": status.source, "data_as_of": status.data_as_of,
                 "data_age_seconds": age, "max_age_seconds": max_age_seconds}
            )  # fmt: skip
    if statuses:
        detail = (
            f"{len(statuses)} source(s) fresh (newest data within {max_age_seconds:g} s)"
            if not stale
            else "stale: "
            + ", ".join(
                f"{s['source']} ("
                + ("no data" if s["data_age_seconds"] is None else f"{s['data_age_seconds']:.0f} s")
                + ")"
                for s in stale
            )
        )
        checks.append({"name": "data", "ok": not stale, "detail": detail})
    loaded = snapshots.loaded
    checks.append(
        {
            "name": "snapshot",
            "ok": loaded,
            "detail": (
                f"generation {snapshots.generation}" if loaded else "ranking snapshot not loaded"
            ),
        }
    )
    return Readiness(all(c["ok"] for c in checks), checks, stale)
