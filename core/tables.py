"""ORM tables for the data model (design §3).

Every pool-level table is keyed by the canonical pool key ``(cloud, region, zone_id,
instance_type)`` with AWS zone *IDs*. Regional data (no zone) uses ``REGIONAL_ZONE`` rather than
NULL, because NULLs never conflict in a unique key and idempotent upserts would then duplicate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db import UTCDateTime

__all__ = [
    "CLOUD_CHARS",
    "REGIONAL_ZONE",
    "REGION_CHARS",
    "SOURCE_CHARS",
    "TYPE_NAME_CHARS",
    "ZONE_CHARS",
    "Base",
    "CollectionRun",
    "CollectionRunRegion",
    "FleetEvent",
    "FleetEventRejected",
    "FleetEventUnmapped",
    "FleetInstance",
    "InstanceType",
    "InterruptionRate",
    "Offering",
    "OnDemandPrice",
    "PlacementScore",
    "SpotPrice",
    "WeeklyReport",
    "Zone",
]

# Zone column value for data that applies to a whole region (regional scores, advisor buckets).
REGIONAL_ZONE = ""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths of the key columns, named once: the columns below are declared with them and
# core.limits reads every column's length back from this schema, so a value is refused at parse
# time on SQLite exactly as PostgreSQL would refuse it at insert time.
CLOUD_CHARS = 16
REGION_CHARS = 64  # AWS region names are < 20 characters; 64 leaves room for any cloud's
ZONE_CHARS = 64
TYPE_NAME_CHARS = 128
SOURCE_CHARS = 64

CLOUD = String(CLOUD_CHARS)
REGION = String(REGION_CHARS)
ZONE = String(ZONE_CHARS)
TYPE_NAME = String(TYPE_NAME_CHARS)
SOURCE = String(SOURCE_CHARS)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class InstanceType(Base):
    """Specs of one instance / machine type / VM size."""

    __tablename__ = "instance_types"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    name: Mapped[str] = mapped_column(TYPE_NAME, primary_key=True)
    family: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[str] = mapped_column(String(64))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_gib: Mapped[float] = mapped_column(Float)
    arch: Mapped[str] = mapped_column(String(16))
    gpu_count: Mapped[int] = mapped_column(Integer, default=0)
    gpu_model: Mapped[str | None] = mapped_column(String(64))
    gpu_memory_gib: Mapped[float | None] = mapped_column(Float)  # per GPU
    accelerator_kind: Mapped[str] = mapped_column(String(16), default="none")
    network_gbps: Mapped[float | None] = mapped_column(Float)
    local_storage_gib: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(SOURCE)
    observed_at: Mapped[datetime]


class Zone(Base):
    """Zone ID ↔ zone name, per account: AWS maps names to IDs differently in every account."""

    __tablename__ = "zones"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str] = mapped_column(ZONE, primary_key=True)
    region: Mapped[str] = mapped_column(REGION)
    zone_name: Mapped[str] = mapped_column(ZONE)
    source: Mapped[str] = mapped_column(SOURCE)
    observed_at: Mapped[datetime]


class Offering(Base):
    """A pool: an instance type offered in one zone, with the capacity types it is sold as."""

    __tablename__ = "offerings"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    region: Mapped[str] = mapped_column(REGION, primary_key=True)
    zone_id: Mapped[str] = mapped_column(ZONE, primary_key=True)
    instance_type: Mapped[str] = mapped_column(TYPE_NAME, primary_key=True)
    spot: Mapped[bool] = mapped_column(Boolean)
    on_demand: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(SOURCE)
    # Indexed by time, as every table a snapshot patch reads: it reads only the rows a run wrote
    # or the clock moved (core.pool_snapshot), which is a range of one of these columns.
    first_seen: Mapped[datetime] = mapped_column(index=True)
    last_seen: Mapped[datetime] = mapped_column(index=True)


class SpotPrice(Base):
    """Spot price *changes*: the price in force at t is the last change at or before t."""

    __tablename__ = "spot_prices"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    region: Mapped[str] = mapped_column(REGION, primary_key=True)
    zone_id: Mapped[str] = mapped_column(ZONE, primary_key=True)
    instance_type: Mapped[str] = mapped_column(TYPE_NAME, primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    price_usd_per_hour: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(SOURCE)
    # When a collection last confirmed this change (AWS re-sends the change in force).
    observed_at: Mapped[datetime] = mapped_column(index=True)


class OnDemandPrice(Base):
    """Current on-demand list price per region and type (last known good)."""

    __tablename__ = "on_demand_prices"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    region: Mapped[str] = mapped_column(REGION, primary_key=True)
    instance_type: Mapped[str] = mapped_column(TYPE_NAME, primary_key=True)
    os: Mapped[str] = mapped_column(String(32), primary_key=True, default="linux")
    price_usd_per_hour: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(SOURCE)
    observed_at: Mapped[datetime] = mapped_column(index=True)


class PlacementScore(Base):
    """A capacity score for a *set* of types (AWS scores sets) in a zone or a whole region."""

    __tablename__ = "placement_scores"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    region: Mapped[str] = mapped_column(REGION, primary_key=True)
    zone_id: Mapped[str] = mapped_column(ZONE, primary_key=True)  # REGIONAL_ZONE = regional
    # Sorted, comma-joined instance types of the queried set.
    instance_types: Mapped[str] = mapped_column(Text, primary_key=True)
    target_capacity: Mapped[int] = mapped_column(Integer, primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    score: Mapped[float | None] = mapped_column(Float)  # normalised to [0, 1]
    raw: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(SOURCE)


class InterruptionRate(Base):
    """Interruption frequency as the source states it (bucket, label or rate), over time."""

    __tablename__ = "interruption_rates"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    region: Mapped[str] = mapped_column(REGION, primary_key=True)
    zone_id: Mapped[str] = mapped_column(ZONE, primary_key=True)  # REGIONAL_ZONE = regional
    instance_type: Mapped[str] = mapped_column(TYPE_NAME, primary_key=True)
    source: Mapped[str] = mapped_column(SOURCE, primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    bucket: Mapped[int | None] = mapped_column(Integer)  # e.g. AWS advisor r index
    label: Mapped[str | None] = mapped_column(String(32))  # "<5%", "0-5", …
    rate: Mapped[float | None] = mapped_column(Float)  # e.g. GCP preemption fraction
    savings_pct: Mapped[float | None] = mapped_column(Float)  # AWS advisor "s"


class FleetEvent(Base):
    """What the user's own fleet saw: interruptions, rebalances, capacity errors, usage."""

    __tablename__ = "fleet_events"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_fleet_events_pool", "cloud", "region", "zone_id", "instance_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cloud: Mapped[str] = mapped_column(CLOUD)
    region: Mapped[str] = mapped_column(REGION)
    zone_id: Mapped[str] = mapped_column(ZONE)
    instance_type: Mapped[str] = mapped_column(TYPE_NAME)
    # interruption | rebalance | insufficient-capacity | usage
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    instance_hours: Mapped[float | None] = mapped_column(Float)  # exposure, for kind=usage
    source: Mapped[str] = mapped_column(SOURCE)
    external_id: Mapped[str] = mapped_column(String(128))  # dedup key from the emitter
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    observed_at: Mapped[datetime] = mapped_column(index=True)


class FleetInstance(Base):
    """An instance of the user's fleet as its events and NodeClaims describe it: what maps a
    later event that names only the instance to its pool."""

    __tablename__ = "fleet_instances"

    cloud: Mapped[str] = mapped_column(CLOUD, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str | None] = mapped_column(REGION)
    zone_id: Mapped[str | None] = mapped_column(ZONE)
    # Account-specific zone name and its account, kept until the zones table resolves them.
    zone_name: Mapped[str | None] = mapped_column(ZONE)
    account: Mapped[str | None] = mapped_column(String(64))
    instance_type: Mapped[str | None] = mapped_column(TYPE_NAME)
    capacity_type: Mapped[str | None] = mapped_column(String(16))
    launched_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # End of the exposure already stored as usage, so a later count never adds it twice.
    counted_until: Mapped[datetime | None]
    # Karpenter names: its events name the NodeClaim (or Node), not the instance.
    nodeclaim: Mapped[str | None] = mapped_column(String(253), index=True)
    node_name: Mapped[str | None] = mapped_column(String(253))
    source: Mapped[str] = mapped_column(SOURCE)
    observed_at: Mapped[datetime]


class FleetEventUnmapped(Base):
    """A fleet event not yet mapped to a pool, kept with the reason; each ingest retries it."""

    __tablename__ = "fleet_events_unmapped"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(SOURCE)
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    instance_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    # The event as parsed (spotsel's normalised fields plus what it still lacks).
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    observed_at: Mapped[datetime]


class FleetEventRejected(Base):
    """A queued message no parser could use (poison), kept with its reason so it can leave its
    queue without being lost; one row per message, so a redelivery is kept once."""

    __tablename__ = "fleet_events_rejected"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(SOURCE)
    external_id: Mapped[str] = mapped_column(String(128))  # the queue's message ID
    origin: Mapped[str] = mapped_column(Text)  # the queue it came from
    reason: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # as received
    received_at: Mapped[datetime]


class CollectionRun(Base):
    """One run of one source: what it wrote and how it ended."""

    __tablename__ = "collection_runs"
    __table_args__ = (Index("ix_collection_runs_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(SOURCE)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # ok | partial | failed
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_new: Mapped[int] = mapped_column(Integer, default=0)
    data_as_of: Mapped[datetime | None]  # newest observed_at among the rows written
    error_class: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(Text)


class CollectionRunRegion(Base):
    """Per-region outcome of a run, so one failing region is visible without failing all."""

    __tablename__ = "collection_run_regions"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("collection_runs.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(REGION, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    error_class: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(Text)


class WeeklyReport(Base):
    """One ISO week's report as it was generated: what next week's report compares against
    (``recommendations``) and the documents served at ``/v1/reports/{week}``."""

    __tablename__ = "weekly_reports"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # "YYYY-Www"
    generated_at: Mapped[datetime]
    simulated: Mapped[bool] = mapped_column(Boolean)
    recommendations: Mapped[dict[str, Any]] = mapped_column(JSON)
    html: Mapped[str] = mapped_column(Text)
    markdown: Mapped[str] = mapped_column(Text)
