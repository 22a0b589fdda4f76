"""``collectors.events.ingest.ingest_events``: the entry point event sources call.

The implementation is :mod:`core.fleet_events.ingest` (shared with the REST API); this module
keeps the collectors' import path stable.
"""

from __future__ import annotations

from core.fleet_events.ingest import (
    DEFAULT_SOURCE,
    MAX_EVENTS_PER_CALL,
    EventBatchTooLargeError,
    IngestReport,
    flatten,
    ingest_events,
    refuse_unusable,
)
from core.fleet_events.parse import EventDataError

__all__ = [
    "DEFAULT_SOURCE",
    "MAX_EVENTS_PER_CALL",
    "EventBatchTooLargeError",
    "EventDataError",
    "IngestReport",
    "flatten",
    "ingest_events",
    "refuse_unusable",
]
