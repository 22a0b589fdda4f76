"""The columns the store summaries read, as SQLAlchemy Core's lightweight ``table()``s.

`core.summary` runs behind `spotsel status`, which starts in under a second: these
descriptions cost nothing to import, where the ORM mapping of `core.tables` costs a tenth of a
second. They name only what the summaries read; a test checks each column against
`core.tables` (same name, same type), so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text, column, table
from sqlalchemy.sql.expression import TableClause

from core.db import UTCDateTime

__all__ = [
    "COLLECTION_RUNS",
    "COLLECTION_RUN_REGIONS",
    "FLEET_EVENTS",
    "INSTANCE_TYPES",
    "OFFERINGS",
    "SUMMARY_TABLES",
]

COLLECTION_RUNS = table(
    "collection_runs",
    column("id", Integer()),
    column("source", String()),
    column("started_at", UTCDateTime()),
    column("finished_at", UTCDateTime()),
    column("status", String()),
    column("rows_written", Integer()),
    column("rows_new", Integer()),
    column("data_as_of", UTCDateTime()),
    column("error_message", Text()),
)
COLLECTION_RUN_REGIONS = table(
    "collection_run_regions",
    column("run_id", Integer()),
    column("region", String()),
    column("status", String()),
)
INSTANCE_TYPES = table(
    "instance_types",
    column("cloud", String()),
    column("gpu_count", Integer()),
)
OFFERINGS = table(
    "offerings",
    column("cloud", String()),
    column("region", String()),
    column("zone_id", String()),
    column("spot", Boolean()),
)
FLEET_EVENTS = table(
    "fleet_events",
    column("cloud", String()),
    column("region", String()),
    column("zone_id", String()),
    column("instance_type", String()),
    column("kind", String()),
    column("occurred_at", UTCDateTime()),
)

SUMMARY_TABLES: tuple[TableClause, ...] = (
    COLLECTION_RUNS,
    COLLECTION_RUN_REGIONS,
    INSTANCE_TYPES,
    OFFERINGS,
    FLEET_EVENTS,
)
