"""The user's own fleet events: parse EventBridge, IMDS, Karpenter and NodeClaim documents,
map each instance to its pool, and ingest them into ``fleet_events`` (see :mod:`.ingest`)."""

from __future__ import annotations

from collectors.events.ingest import (
    DEFAULT_SOURCE,
    MAX_EVENTS_PER_CALL,
    IngestReport,
    ingest_events,
    refuse_unusable,
)
from collectors.events.parse import EventDataError

__all__ = [
    "DEFAULT_SOURCE",
    "MAX_EVENTS_PER_CALL",
    "EventDataError",
    "IngestReport",
    "ingest_events",
    "refuse_unusable",
]
