"""Read-side summaries of what the store holds, for `spotsel status`, the demo and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Integer, distinct, func, select, table

from core.clock import parse_utc
from core.summary_tables import (
    COLLECTION_RUN_REGIONS,
    COLLECTION_RUNS,
    FLEET_EVENTS,
    INSTANCE_TYPES,
    OFFERINGS,
)
from selector.ice import ICE_TTL_HOURS

if TYPE_CHECKING:
    from sqlalchemy import Connection, Select
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.expression import TableClause

    # The API reads in its session; `spotsel status` on a plain connection, without the ORM.
    Reader = Session | Connection

__all__ = [
    "FLEET_EVENT_KINDS",
    "CloudSummary",
    "FleetEventSummary",
    "SourceStatus",
    "cloud_summaries",
    "fleet_event_summary",
    "source_statuses",
    "store_totals",
]

# The kinds a fleet event can be (core/tables.FleetEvent), reported even when none is stored.
FLEET_EVENT_KINDS: Final = ("interruption", "rebalance", "insufficient-capacity", "usage")
ICE_KIND: Final = "insufficient-capacity"

# Totals reported by `spotsel status`, in display order: label -> table.
TOTAL_TABLES: tuple[tuple[str, str], ...] = (
    ("instance_types", "instance_types"),
    ("pools", "offerings"),
    ("spot_price_changes", "spot_prices"),
    ("on_demand_prices", "on_demand_prices"),
    ("placement_scores", "placement_scores"),
    ("interruption_rates", "interruption_rates"),
    ("fleet_events", "fleet_events"),
    ("zones", "zones"),
)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What `spotsel status` and `/v1/collectors` report per source."""

    source: str
    runs: int
    last_started_at: datetime
    last_finished_at: datetime
    last_status: str
    last_rows_written: int
    last_rows_new: int
    last_error: str | None
    data_as_of: datetime | None
    failed_regions: tuple[str, ...]


def source_statuses(session: Reader) -> list[SourceStatus]:
    """The latest run of every source plus the newest data it has ever landed."""
    runs_table, regions = COLLECTION_RUNS.c, COLLECTION_RUN_REGIONS.c
    latest_id = (
        select(runs_table.source, func.max(runs_table.id).label("id"))
        .group_by(runs_table.source)
        .subquery()
    )
    newest = (
        select(
            runs_table.source,
            func.max(runs_table.data_as_of).label("as_of"),
            func.count().label("runs"),
        )
        .group_by(runs_table.source)
        .subquery()
    )
    query = (
        select(COLLECTION_RUNS, newest.c.as_of, newest.c.runs)
        .join(latest_id, latest_id.c.id == runs_table.id)
        .join(newest, newest.c.source == runs_table.source)
        .order_by(runs_table.source)
    )
    statuses = []
    rows: list[Any] = list(session.execute(query).all())
    for run in rows:
        as_of, runs = run.as_of, run.runs
        failed: Sequence[str] = session.scalars(
            select(regions.region)
            .where(regions.run_id == run.id, regions.status == "failed")
            .order_by(regions.region)
        ).all()
        statuses.append(
            SourceStatus(
                source=run.source,
                runs=int(runs),
                last_started_at=run.started_at,
                last_finished_at=run.finished_at,
                last_status=run.status,
                last_rows_written=run.rows_written,
                last_rows_new=run.rows_new,
                last_error=run.error_message,
                data_as_of=parse_utc(as_of),
                failed_regions=tuple(failed),
            )
        )
    return statuses


def store_totals(session: Reader) -> dict[str, int]:
    """Row counts of what the store holds (``pools`` = offered type × zone)."""
    totals = {label: _count(session, table(name)) for label, name in TOTAL_TABLES}
    gpu_types = select(func.count()).select_from(INSTANCE_TYPES)
    totals["gpu_instance_types"] = _count_of(
        session, gpu_types.where(INSTANCE_TYPES.c.gpu_count > 0)
    )
    spot_pools = select(func.count()).select_from(OFFERINGS).where(OFFERINGS.c.spot)
    totals["spot_pools"] = _count_of(session, spot_pools)
    return totals


def _count(session: Reader, rows: TableClause) -> int:
    return _count_of(session, select(func.count()).select_from(rows))


def _count_of(session: Reader, query: Select[int]) -> int:
    return int(session.scalar(query) or 0)


@dataclass(frozen=True, slots=True)
class CloudSummary:
    cloud: str
    instance_types: int
    gpu_instance_types: int
    regions: int
    zones: int
    pools: int
    spot_pools: int


def cloud_summaries(session: Reader) -> list[CloudSummary]:
    """Per-cloud breakdown of types and pools."""
    types_table, offerings = INSTANCE_TYPES.c, OFFERINGS.c
    types: dict[str, int] = dict(
        session.execute(select(types_table.cloud, func.count()).group_by(types_table.cloud)).all()
    )
    gpu_types: dict[str, int] = dict(
        session.execute(
            select(types_table.cloud, func.count())
            .where(types_table.gpu_count > 0)
            .group_by(types_table.cloud)
        ).all()
    )
    pools = session.execute(
        select(
            offerings.cloud,
            func.count(distinct(offerings.region)),
            func.count(distinct(offerings.zone_id)),
            func.count(),
            func.sum(func.cast(offerings.spot, Integer)),
        ).group_by(offerings.cloud)
    ).all()
    by_cloud = {row[0]: row for row in pools}
    clouds = sorted(set(types) | set(by_cloud))
    return [
        CloudSummary(
            cloud=cloud,
            instance_types=int(types.get(cloud, 0)),
            gpu_instance_types=int(gpu_types.get(cloud, 0)),
            regions=int(by_cloud[cloud][1]) if cloud in by_cloud else 0,
            zones=int(by_cloud[cloud][2]) if cloud in by_cloud else 0,
            pools=int(by_cloud[cloud][3]) if cloud in by_cloud else 0,
            spot_pools=int(by_cloud[cloud][4] or 0) if cloud in by_cloud else 0,
        )
        for cloud in clouds
    ]


@dataclass(frozen=True, slots=True)
class FleetEventSummary:
    """What the user's own fleet has reported, for `spotsel status` and `/readyz`."""

    by_kind: dict[str, int]  # every FLEET_EVENT_KINDS key, plus any other kind stored
    newest_at: datetime | None  # the newest event's occurred_at (None: no events)
    newest_age_seconds: float | None
    # Insufficient-capacity errors still lowering capacity (within ICE_TTL_HOURS of now).
    capacity_errors_remembered: int
    pools: int  # pools with at least one event

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_kind": dict(self.by_kind),
            "pools": self.pools,
            "newest_at": self.newest_at.isoformat() if self.newest_at else None,
            "newest_age_seconds": self.newest_age_seconds,
            "capacity_errors_remembered": self.capacity_errors_remembered,
            "capacity_error_memory_hours": ICE_TTL_HOURS,
        }


def fleet_event_summary(session: Reader, *, now: datetime) -> FleetEventSummary:
    """Counts per kind of the events at or before ``now``, the newest one and its age."""
    events = FLEET_EVENTS.c
    at = events.occurred_at
    counts = dict.fromkeys(FLEET_EVENT_KINDS, 0)
    newest: datetime | None = None
    rows: list[Any] = list(
        session.execute(
            select(events.kind, func.count(), func.max(at)).where(at <= now).group_by(events.kind)
        ).all()
    )
    for kind, n, latest in rows:
        counts[str(kind)] = int(n)
        seen = parse_utc(latest)
        if seen is not None and (newest is None or seen > newest):
            newest = seen
    remembered = session.scalar(
        select(func.count())
        .select_from(FLEET_EVENTS)
        .where(events.kind == ICE_KIND, at <= now, at >= now - timedelta(hours=ICE_TTL_HOURS))
    )
    pools = session.scalar(
        select(func.count()).select_from(
            select(events.cloud, events.region, events.zone_id, events.instance_type)
            .where(at <= now)
            .distinct()
            .subquery()
        )
    )
    return FleetEventSummary(
        by_kind=counts,
        newest_at=newest,
        newest_age_seconds=None if newest is None else max((now - newest).total_seconds(), 0.0),
        capacity_errors_remembered=int(remembered or 0),
        pools=int(pools or 0),
    )
