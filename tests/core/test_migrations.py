"""Migrations: up, down, up again on both engines, and no drift from the models."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from core import migrate
from core.tables import Base


def test_upgrade_downgrade_upgrade_and_no_drift(bare_engine: Engine) -> None:
    expected = set(Base.metadata.tables)
    migrate.upgrade(bare_engine)
    assert expected <= set(inspect(bare_engine).get_table_names())
    assert migrate.current_revision(bare_engine) == migrate.head_revision()
    assert migrate.schema_diff(bare_engine) == []

    migrate.downgrade(bare_engine, "base")
    assert not expected & set(inspect(bare_engine).get_table_names())
    assert migrate.current_revision(bare_engine) is None

    migrate.upgrade(bare_engine)
    assert migrate.schema_diff(bare_engine) == []


def test_drift_is_detected(bare_engine: Engine) -> None:
    """The drift check must be able to fail: drop a column behind Alembic's back."""
    migrate.upgrade(bare_engine)
    with bare_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE zones DROP COLUMN zone_name")
    diff = migrate.schema_diff(bare_engine)
    assert any("zone_name" in repr(d) for d in diff)


def test_upgrade_is_idempotent(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine)
    migrate.upgrade(bare_engine)
    assert migrate.current_revision(bare_engine) == migrate.head_revision()
