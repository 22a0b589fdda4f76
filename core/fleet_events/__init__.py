"""The user's own fleet events: parse EventBridge, IMDS, Karpenter and NodeClaim documents, map
each instance to its pool, and ingest them into ``fleet_events`` (see :mod:`.ingest`).

It lives in ``core`` because every interface writes through it: the REST API (which never
imports ``collectors``), ``spotsel events import`` and the ``aws-events`` queue collector.
"""

from __future__ import annotations

from core.fleet_events.ingest import (
    DEFAULT_SOURCE,
    MAX_EVENTS_PER_CALL,
    EventBatchTooLargeError,
    IngestReport,
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
    "ingest_events",
    "refuse_unusable",
]
