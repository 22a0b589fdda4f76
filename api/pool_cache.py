"""The server's current pool index, patched off to the side when a collection run lands."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from core.pool_reader import newest_run_id
from core.pool_snapshot import LoadStats, PoolSnapshot, load_snapshot, settle
from selector import PoolIndex, prepare

__all__ = ["PoolIndexCache"]


class PoolIndexCache:
    """The current snapshot, rebuilt when a newer collection run exists.

    Readers always get a complete snapshot: a rebuild happens off to the side and is swapped
    in with one assignment, so requests never wait on SQL or see a half-built index. A rebuild
    patches the previous snapshot with what the new runs wrote (``core.pool_snapshot``); a
    forced refresh reloads everything.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        # (generation, snapshot) swapped as one value so readers never see a mixed pair.
        self._current: tuple[int, PoolIndex] | None = None
        self._snapshot: PoolSnapshot | None = None

    @property
    def generation(self) -> int:
        """The newest collection run id the current snapshot includes (-1 before a build)."""
        current = self._current
        return -1 if current is None else current[0]

    @property
    def loaded(self) -> bool:
        return self._current is not None

    @property
    def last_load(self) -> LoadStats | None:
        """How the current snapshot was loaded (kind, seconds, the newest full load's time)."""
        snapshot = self._snapshot
        return None if snapshot is None else snapshot.stats

    def get(self) -> PoolIndex:
        return self.current()[1]

    def current(self) -> tuple[int, PoolIndex]:
        """(generation, snapshot), consistent with each other; builds on first use."""
        current = self._current
        if current is None:
            self.refresh(force=True)
            current = self._current
            assert current is not None
        return current

    def refresh(self, *, force: bool = False) -> PoolIndex:
        """Rebuild if a collection run landed since the last build (or reload when forced)."""
        with self._lock:
            newest = newest_run_id(self._engine)
            current = self._current
            if current is not None and newest == current[0] and not force:
                return current[1]
            previous = None if force else self._snapshot
            snapshot = load_snapshot(self._engine, now=self._clock(), previous=previous)
            prepare(snapshot.index)  # off to the side too: no request pays for it
            self._snapshot = snapshot
            self._current = (snapshot.generation, snapshot.index)
            settle()  # the new snapshot out of the garbage collector's walks
            return snapshot.index
