"""The collection scheduler: one process runs every source on its interval.

APScheduler 3.x is not multi-process safe (two schedulers on one job store run every job
twice), so only the holder of a leader lock schedules: a PostgreSQL advisory lock on a
dedicated connection, or an exclusive file lock beside a SQLite database. Other replicas
stand by and take over when the leader's connection (and so its lock) goes away.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, Engine, func, select, text

from collectors.base import CollectContext, Source
from collectors.runner import run_source
from core.clock import parse_utc
from core.errors import ConfigError, SpotselError
from core.settings import Settings
from core.tables import CollectionRun

__all__ = ["CollectionScheduler", "LeaderLock", "due_sources", "leader_lock"]

log = logging.getLogger(__name__)

# Advisory locks are per database; the key also names the schema, so two deployments (or two
# test runs) in separate schemas of one database do not block each other.
ADVISORY_LOCK_NAME = "spotsel-scheduler"
# A job that could not start on time still runs if it is at most this late (then coalesces).
MISFIRE_GRACE_SECONDS = 300


class LeaderLock(Protocol):
    """Held by at most one scheduler per database."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class PostgresAdvisoryLock:
    """Session-level advisory lock: released when this connection closes, even on a crash."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect()
        held = self._conn.execute(
            text("SELECT pg_try_advisory_lock(hashtextextended(:name || current_schema(), 0))"),
            {"name": ADVISORY_LOCK_NAME},
        ).scalar()
        self._conn.commit()
        return bool(held)

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:name || current_schema(), 0))"),
                {"name": ADVISORY_LOCK_NAME},
            )
            self._conn.commit()
            self._conn.close()
            self._conn = None


class FileLock:
    """An exclusive ``flock`` beside the SQLite file; the kernel drops it if we die."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = self._path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def leader_lock(engine: Engine) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigError("the scheduler needs a database file or PostgreSQL, not :memory:")
    return FileLock(Path(database).with_name(Path(database).name + ".scheduler.lock"))


def due_sources(engine: Engine, schedule: Mapping[str, float], *, now: datetime) -> list[str]:
    """Sources whose last run started longer ago than their interval (or never ran)."""
    with engine.connect() as conn:
        last = dict(
            conn.execute(
                select(CollectionRun.source, func.max(CollectionRun.started_at)).group_by(
                    CollectionRun.source
                )
            ).all()
        )
    due = []
    for name, minutes in sorted(schedule.items()):
        started = parse_utc(last.get(name))
        if started is None or now - started >= timedelta(minutes=minutes):
            due.append(name)
    return due


@dataclass
class CollectionScheduler:
    """Runs each scheduled source on its interval while holding the leader lock."""

    engine: Engine
    settings: Settings
    sources: Mapping[str, Source]
    clock: Callable[[], datetime]
    lock: LeaderLock
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.settings.schedule) - set(self.sources))
        if unknown:
            raise ConfigError(
                f"SPOTSEL_SCHEDULE names unknown source(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(self.sources))})"
            )
        if not self.settings.schedule:
            raise ConfigError("SPOTSEL_SCHEDULE is empty: nothing to schedule")

    def run_job(self, name: str) -> str:
        """Run one source now; failures are recorded as failed runs, never raised."""
        ctx = CollectContext(settings=self.settings, now=self.clock())
        try:
            run = run_source(self.engine, self.sources[name], ctx)
        except SpotselError as exc:
            log.warning("scheduled run failed", extra={"source": name, "error": str(exc)})
            return "failed"
        log.info("scheduled run", extra={"source": name, "status": run.status})
        return run.status

    def run_due(self) -> dict[str, str]:
        """Catch up: run every source whose data is older than its interval."""
        due = due_sources(self.engine, self.settings.schedule, now=self.clock())
        return {name: self.run_job(name) for name in due}

    def serve(self, *, on_state: Callable[[str], Any] = log.info) -> None:
        """Block: stand by until leader, then schedule until :meth:`stop`."""
        while not self._stop.is_set():
            if self.lock.acquire():
                on_state("leader: scheduling " + ", ".join(sorted(self.settings.schedule)))
                try:
                    self._lead()
                finally:
                    self.lock.release()
                return
            on_state("standby: another scheduler holds the lock")
            self._stop.wait(self.settings.scheduler_standby_seconds)

    def stop(self) -> None:
        self._stop.set()

    def _lead(self) -> None:
        self.run_due()
        scheduler = BackgroundScheduler(timezone="UTC")
        for name, minutes in self.settings.schedule.items():
            scheduler.add_job(
                self.run_job,
                "interval",
                minutes=minutes,
                args=[name],
                id=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )
        scheduler.start()
        try:
            self._stop.wait()
        finally:
            scheduler.shutdown(wait=True)
