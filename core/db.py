"""Engines and sessions for the embedded default (SQLite) and production (PostgreSQL)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from core.clock import as_utc
from core.errors import ConfigError, DatabaseUnavailableError, SchemaNotReadyError

if TYPE_CHECKING:  # the ORM loads with the first session: `spotsel status` reads without one
    from sqlalchemy.orm import Session

__all__ = [
    "UTCDateTime",
    "check_connection",
    "make_engine",
    "redact_url",
    "require_schema",
    "session_scope",
    "temporary_schema",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite stores naive values; we normalise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass timezone-aware UTC values")
        value = as_utc(value)
        # SQLite compares timestamps as text: store them naive-UTC so ordering is correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def redact_url(url: str) -> str:
    """The URL with any password hidden, safe to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL mode, a busy timeout and foreign keys."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database URL is not valid: {redact_url(url)}") from exc
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create the directory for {database}: {exc}") from exc
        kwargs["connect_args"] = {"timeout": sqlite_busy_timeout_ms / 1000}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise ConfigError(f"unsupported database URL {redact_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_conn.cursor()
        # WAL lets the API read while a collector writes; the busy timeout makes a second
        # writer wait instead of failing at once.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def check_connection(engine: Engine) -> None:
    """Fail with one clear line when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        detail = reason[0] if reason else type(exc).__name__
        raise DatabaseUnavailableError(
            f"cannot connect to {redact_url(engine.url.render_as_string(hide_password=False))}: "
            f"{detail}"
        ) from exc


def require_schema(engine: Engine) -> None:
    """Fail clearly when migrations have not been applied."""
    check_connection(engine)
    if not inspect(engine).has_table("collection_runs"):
        raise SchemaNotReadyError(
            "the database has no spotsel schema yet: run `spotsel db upgrade` first"
        )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


@contextmanager
def temporary_schema(admin_url: str, *, prefix: str = "t", options: str = "") -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL schema for tests and benchmarks.

    Yields a URL whose connections use it as ``search_path`` (plus any extra ``-c`` server
    ``options``); the schema is dropped afterwards, also when the body raised.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(admin_url).update_query_dict(
                {"options": f"-csearch_path={schema} {options}".strip()}
            )
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
