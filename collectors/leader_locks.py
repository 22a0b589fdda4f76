"""The scheduler's locks: the leader lock (its holder schedules) and the runs lock (held shared
by every run, exclusively by a new leader waiting out its predecessor's runs).

On PostgreSQL each is a session-level advisory lock on a dedicated connection; beside a SQLite
database, an ``flock`` on a file. Either way the lock goes away with its holder's connection or
process, which is what lets a standby take over.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from collectors.runner import error_summary
from core.errors import ConfigError

__all__ = [
    "ADVISORY_LOCK_NAME",
    "RUNS_LOCK_NAME",
    "FileLock",
    "LeaderLock",
    "PostgresAdvisoryLock",
    "leader_lock",
    "runs_lock",
]

# Lines keep the scheduler's logger name (shown in every log line): operators read and filter
# the scheduler's log as one.
log = logging.getLogger("collectors.scheduler")

# Advisory locks are per database; the key also names the schema, so two deployments (or two
# test runs) in separate schemas of one database do not block each other.
ADVISORY_LOCK_NAME = "spotsel-scheduler"
# Held shared by every run, exclusively by a new leader waiting out its predecessor's runs.
RUNS_LOCK_NAME = "spotsel-scheduler-runs"

_LOCK_KEY = "hashtextextended(:name || current_schema(), 0)"
# pg_locks shows a bigint advisory key as classid (high half) and objid (low half), objsubid 1.
_HELD_SQL = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    f" AND ((classid::bigint << 32) | objid::bigint) = {_LOCK_KEY})"
)


class LeaderLock(Protocol):
    """Held by at most one scheduler per database (or, shared, by many runs)."""

    def acquire(self, *, shared: bool = False) -> bool: ...

    def still_held(self) -> bool:
        """Whether the lock is held right now; an error while checking means it is not."""

    def release(self) -> None: ...


class PostgresAdvisoryLock:
    """Session-level advisory lock on a dedicated connection: released when it closes."""

    def __init__(self, engine: Engine, name: str = ADVISORY_LOCK_NAME) -> None:
        self._engine = engine
        self._name = name
        self._conn: Connection | None = None
        self._held = False
        self._shared = False
        # The heartbeat and the jobs share the connection, which is not thread-safe.
        self._mutex = threading.Lock()

    def acquire(self, *, shared: bool = False) -> bool:
        try_lock = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        with self._mutex:
            try:
                if self._conn is None:
                    self._conn = self._engine.connect()
                held = self._conn.execute(
                    text(f"SELECT {try_lock}({_LOCK_KEY})"), {"name": self._name}
                ).scalar()
                self._conn.commit()
            except DBAPIError as exc:  # the database is away: stand by and retry later
                log.warning("cannot take lock %s: %s", self._name, error_summary(exc)[1])
                self._drop()
                return False
            self._held, self._shared = bool(held), shared
            return self._held

    def still_held(self) -> bool:
        """Ask the server whether this connection's backend holds the lock."""
        with self._mutex:
            if self._conn is None or not self._held:
                return False
            try:
                held = bool(self._conn.execute(_HELD_SQL, {"name": self._name}).scalar())
                self._conn.commit()
            except Exception as exc:  # the connection is gone, and the lock with it
                log.warning("lock %s lost: %s", self._name, error_summary(exc)[1])
                self._drop()
                return False
            return held

    def release(self) -> None:
        with self._mutex:
            conn, held = self._conn, self._held
            self._conn, self._held = None, False
            if conn is None:
                return
            unlock = "pg_advisory_unlock_shared" if self._shared else "pg_advisory_unlock"
            try:
                if held:
                    conn.execute(text(f"SELECT {unlock}({_LOCK_KEY})"), {"name": self._name})
                    conn.commit()
            except Exception:  # a dead connection has dropped the lock already
                conn.invalidate()
            conn.close()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
        self._conn, self._held = None, False


class FileLock:
    """An ``flock`` on a file beside the SQLite database; the kernel drops it if we die.

    Removing or replacing the file loses the lock (another process would lock the new file).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[str] | None = None
        self._mutex = threading.Lock()

    def acquire(self, *, shared: bool = False) -> bool:
        with self._mutex:
            handle = self._path.open("a", encoding="utf-8")
            try:
                fcntl.flock(
                    handle.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
                )
            except BlockingIOError:
                handle.close()
                return False
            if not _same_file(handle, self._path):  # replaced between open and flock
                handle.close()
                return False
            self._handle = handle
            return True

    def still_held(self) -> bool:
        with self._mutex:
            return self._handle is not None and _same_file(self._handle, self._path)

    def release(self) -> None:
        with self._mutex:
            if self._handle is not None:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
                self._handle.close()
                self._handle = None


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        mine, there = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def _lock(engine: Engine, name: str) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine, name)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigError("the scheduler needs a database file or PostgreSQL, not :memory:")
    path = Path(database)
    return FileLock(path.with_name(f"{path.name}.{name.removeprefix('spotsel-')}.lock"))


def leader_lock(engine: Engine) -> LeaderLock:
    """The lock whose holder schedules, for ``engine``'s database."""
    return _lock(engine, ADVISORY_LOCK_NAME)


def runs_lock(engine: Engine) -> LeaderLock:
    """A handle on the runs lock (one per run: each holds it shared)."""
    return _lock(engine, RUNS_LOCK_NAME)
