"""What one app instance owns: settings, engine, snapshot cache, recommender, keys, metrics.

Built by `create_app` and kept on ``app.state.services``; routes reach it through the
dependency aliases in `api.deps`. The refresher thread polls the newest collection run id
and swaps in a rebuilt snapshot while requests keep using the old one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.auth import Keyring
from api.metrics import Metrics
from api.pool_cache import PoolIndexCache
from api.recommend import Recommender
from core.errors import SpotselError
from core.settings import Settings
from outputs.crds import CrdSchemas

__all__ = ["PoolIndexRefresher", "Services"]

log = logging.getLogger(__name__)


class PoolIndexRefresher:
    """A daemon thread: every `interval` s, rebuild the snapshot if a new run landed."""

    def __init__(self, cache: PoolIndexCache, *, interval: float) -> None:
        self._cache = cache
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh_once(self) -> None:
        """One check; failures are logged and the current snapshot stays in service."""
        try:
            before = self._cache.generation
            self._cache.refresh()
            if self._cache.generation != before:
                log.info(
                    "snapshot rebuilt",
                    extra={"generation": self._cache.generation, "pools": self._cache.get().size},
                )
        except (SQLAlchemyError, SpotselError, OSError) as exc:
            log.warning("snapshot refresh failed, keeping the current one: %s", exc)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.refresh_once()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="spotsel-snapshot-refresh", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    snapshots: PoolIndexCache
    recommender: Recommender
    keyring: Keyring
    metrics: Metrics
    refresher: PoolIndexRefresher
    # Loaded once per process: CRD files do not change under a running server.
    crds: CrdSchemas
    owns_engine: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def auth_enabled(self) -> bool:
        return self.settings.api_auth
