"""Read-side summaries of what the store holds, for `spotsel status`, the demo and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Integer, distinct, func, select
from sqlalchemy.orm import Session

from core.clock import parse_utc
from core.store import count_rows
from core.tables import CollectionRun, CollectionRunRegion, FleetEvent, InstanceType, Offering
from selector.ice import ICE_TTL_HOURS

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


def source_statuses(session: Session) -> list[SourceStatus]:
    """The latest run of every source plus the newest data it has ever landed."""
    latest_id = (
        select(CollectionRun.source, func.max(CollectionRun.id).label("id"))
        .group_by(CollectionRun.source)
        .subquery()
    )
    newest = (
        select(
            CollectionRun.source,
            func.max(CollectionRun.data_as_of).label("as_of"),
            func.count().label("runs"),
        )
        .group_by(CollectionRun.source)
        .subquery()
    )
    query = (
        select(CollectionRun, newest.c.as_of, newest.c.runs)
        .join(latest_id, latest_id.c.id == CollectionRun.id)
        .join(newest, newest.c.source == CollectionRun.source)
        .order_by(CollectionRun.source)
    )
    statuses = []
    rows: list[Any] = list(session.execute(query).all())
    for run, as_of, runs in rows:
        failed = session.scalars(
            select(CollectionRunRegion.region)
            .where(CollectionRunRegion.run_id == run.id, CollectionRunRegion.status == "failed")
            .order_by(CollectionRunRegion.region)
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


def store_totals(session: Session) -> dict[str, int]:
    """Row counts of what the store holds (``pools`` = offered type × zone)."""
    totals = {label: count_rows(session, table) for label, table in TOTAL_TABLES}
    totals["gpu_instance_types"] = int(
        session.scalar(
            select(func.count()).select_from(InstanceType).where(InstanceType.gpu_count > 0)
        )
        or 0
    )
    totals["spot_pools"] = int(
        session.scalar(select(func.count()).select_from(Offering).where(Offering.spot)) or 0
    )
    return totals


@dataclass(frozen=True, slots=True)
class CloudSummary:
    cloud: str
    instance_types: int
    gpu_instance_types: int
    regions: int
    zones: int
    pools: int
    spot_pools: int


def cloud_summaries(session: Session) -> list[CloudSummary]:
    """Per-cloud breakdown of types and pools."""
    types = dict(
        session.execute(select(InstanceType.cloud, func.count()).group_by(InstanceType.cloud)).all()
    )
    gpu_types = dict(
        session.execute(
            select(InstanceType.cloud, func.count())
            .where(InstanceType.gpu_count > 0)
            .group_by(InstanceType.cloud)
        ).all()
    )
    pools = session.execute(
        select(
            Offering.cloud,
            func.count(distinct(Offering.region)),
            func.count(distinct(Offering.zone_id)),
            func.count(),
            func.sum(func.cast(Offering.spot, Integer)),
        ).group_by(Offering.cloud)
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


def fleet_event_summary(session: Session, *, now: datetime) -> FleetEventSummary:
    """Counts per kind of the events at or before ``now``, the newest one and its age."""
    at = FleetEvent.occurred_at
    counts = dict.fromkeys(FLEET_EVENT_KINDS, 0)
    newest: datetime | None = None
    rows: list[Any] = list(
        session.execute(
            select(FleetEvent.kind, func.count(), func.max(at))
            .where(at <= now)
            .group_by(FleetEvent.kind)
        ).all()
    )
    for kind, n, latest in rows:
        counts[str(kind)] = int(n)
        seen = parse_utc(latest)
        if seen is not None and (newest is None or seen > newest):
            newest = seen
    remembered = session.scalar(
        select(func.count())
        .select_from(FleetEvent)
        .where(FleetEvent.kind == ICE_KIND, at <= now, at >= now - timedelta(hours=ICE_TTL_HOURS))
    )
    pools = session.scalar(
        select(func.count()).select_from(
            select(
                FleetEvent.cloud, FleetEvent.region, FleetEvent.zone_id, FleetEvent.instance_type
            )
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
