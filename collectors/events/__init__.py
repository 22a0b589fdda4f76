"""Fleet event sources (CLI import, queue consumers) on top of one ingest function.

The parsing, pool mapping and transactional ingest live in :mod:`core.fleet_events`, because
the REST API writes through them too and never imports ``collectors``.
"""

from __future__ import annotations

from collectors.events.ingest import (
    DEFAULT_SOURCE,
    MAX_EVENTS_PER_CALL,
    EventBatchTooLargeError,
    EventDataError,
    IngestReport,
    ingest_events,
    refuse_unusable,
)

__all__ = [
    "DEFAULT_SOURCE",
    "MAX_EVENTS_PER_CALL",
    "EventBatchTooLargeError",
    "EventDataError",
    "IngestReport",
    "ingest_events",
    "refuse_unusable",
]
