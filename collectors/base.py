"""What every source shares: the context it runs in and the surface it exposes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from core.progress import NullProgress, Progress
from core.runs import CollectionResult
from core.settings import Settings

__all__ = ["CollectContext", "Source"]


@dataclass(frozen=True)
class CollectContext:
    """Inputs of one run. Clients are built from factories here, never at import time."""

    settings: Settings
    now: datetime
    progress: Progress = field(default_factory=NullProgress)
    # Source-specific options from the CLI or the scheduler (e.g. seed, scale).
    options: dict[str, Any] = field(default_factory=dict)
    # Cloud SDK clients: ``factory(service, region) -> client`` (boto3 for AWS). None = the
    # source builds production clients itself; tests inject moto / Stubber-wrapped clients.
    aws_client_factory: Callable[[str, str], Any] | None = None
    # HTTP clients for public feeds: ``factory() -> httpx.Client``; tests inject a MockTransport.
    http_client_factory: Callable[[], Any] | None = None
    # The store, for sources that read their own state (watermarks, spent quotas, ETags).
    # ``run_source`` fills it in; collectors only read through it, the runner writes.
    engine: Engine | None = None

    def with_progress(self, progress: Progress) -> CollectContext:
        return replace(self, progress=progress)


class Source(Protocol):
    """A data source: a name, a one-line description and a collect function."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def simulated(self) -> bool: ...

    @property
    def option_names(self) -> frozenset[str]:
        """The ``CollectContext.options`` keys this source understands."""

    def collect(self, ctx: CollectContext) -> CollectionResult: ...
