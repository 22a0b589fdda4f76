"""Ingest fleet events into the store: parse, map to pools, dedupe, write in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

__all__ = ["MAX_EVENTS_PER_CALL", "IngestReport", "ingest_events"]

# Most events one call takes: bounds the transaction (an SQS batch is 10, a kubectl dump of a
# busy cluster a few hundred); a larger import is split by the caller.
MAX_EVENTS_PER_CALL = 1_000


@dataclass(frozen=True)
class IngestReport:
    """What one call did: new events, replays, events kept unmapped, and refusals by index."""

    accepted: int
    duplicates: int
    unmapped: int
    rejected: tuple[tuple[int, str], ...] = ()
    # Earlier unmapped events this call's instances made mappable.
    resolved: int = 0
    unmapped_reasons: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None


def ingest_events(
    engine: Engine, documents: Any, *, source: str, received_at: datetime
) -> IngestReport:
    """Ingest ``documents`` (one parsed JSON event, a list of them, or a Kubernetes ``List``)."""
    raise NotImplementedError
