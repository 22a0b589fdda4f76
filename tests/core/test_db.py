"""Engines: UTC timestamps on both engines, SQLite pragmas, clear connection errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from core.db import check_connection, make_engine, require_schema
from core.errors import ConfigError, DatabaseUnavailableError, SchemaNotReadyError
from core.tables import SpotPrice
from tests.factories import make_spot_price


def test_timestamps_come_back_aware_utc(engine: Engine) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 11, 28, 14, 30, tzinfo=plus_two)
    with Session(engine) as s, s.begin():
        s.add(SpotPrice(**make_spot_price(ts=local)))
    with Session(engine) as s:
        stored = s.scalars(select(SpotPrice.ts)).one()
    assert stored.utcoffset() == timedelta(0)
    assert stored == local


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with Session(engine) as s:
        s.add(SpotPrice(**make_spot_price(ts=datetime(2026, 1, 1))))
        with pytest.raises(StatementError, match="naive datetime"):
            s.flush()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db", sqlite_busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234


def test_unreachable_postgres_is_one_clear_line() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailableError) as info:
        check_connection(engine)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_password_is_never_printed() -> None:
    engine = make_engine("postgresql+psycopg://u:s3cret@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailableError) as info:
        check_connection(engine)
    assert "s3cret" not in str(info.value)


def test_unknown_driver_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database URL"):
        make_engine("postgresql+nosuchdriver://u@h/db")


def test_missing_schema_says_what_to_run(bare_engine: Engine) -> None:
    with pytest.raises(SchemaNotReadyError, match="spotsel db upgrade"):
        require_schema(bare_engine)


def test_temporary_schema_is_dropped_even_when_the_body_fails(postgres_admin: Engine) -> None:
    """The one helper tests and benchmarks use: a private search_path, gone afterwards."""
    from core.db import temporary_schema
    from tests.conftest import POSTGRES_URL

    def schemas() -> set[str]:
        with postgres_admin.connect() as conn:
            return set(conn.execute(text("SELECT nspname FROM pg_namespace")).scalars())

    before = schemas()
    seen: list[str] = []

    def use_then_fail() -> None:
        with temporary_schema(POSTGRES_URL, prefix="probe") as url:
            engine = make_engine(url)
            with engine.connect() as conn:
                seen.append(str(conn.execute(text("SELECT current_schema()")).scalar()))
            engine.dispose()
            assert set(seen) <= schemas() - before
            raise RuntimeError("the body failed")

    with pytest.raises(RuntimeError):
        use_then_fail()
    [schema] = seen
    assert schema.startswith("probe_")
    # Its own schema only: other test workers create and drop theirs meanwhile.
    assert schema not in schemas()
