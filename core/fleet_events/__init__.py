"""The user's own fleet events: parse EventBridge, IMDS, Karpenter and NodeClaim documents, map
each instance to its pool, and ingest them into ``fleet_events`` (see :mod:`.ingest`).

It lives in ``core`` because two interfaces write through it: the REST API (which never imports
``collectors``) and the collectors (``collectors.events``: the CLI import and queue consumers).
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
