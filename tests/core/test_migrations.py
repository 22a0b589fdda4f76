"""Migrations: up, down, up again on both engines, and no drift from the models."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, inspect

from core import migrate
from core.db import make_engine, temporary_schema
from core.errors import ConfigError
from core.store import persist_run
from core.tables import Base
from tests.conftest import POSTGRES_URL
from tests.factories import make_offering, make_result, make_spot_price, make_type


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


def _fill(engine: Engine) -> None:
    rows = {
        "instance_types": [make_type()],
        "offerings": [make_offering(zone_id=z) for z in ("use1-az1", "use1-az2")],
        "spot_prices": [make_spot_price(zone_id=z) for z in ("use1-az1", "use1-az2")],
    }
    persist_run(engine, make_result(rows))


def test_downgrade_plan_counts_what_base_drops(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine)
    _fill(bare_engine)
    plan = migrate.downgrade_plan(bare_engine, "base")
    assert (plan.current, plan.target, plan.undone) == (
        "0005",
        None,
        ("0005", "0004", "0003", "0002", "0001"),
    )
    dropped = dict(plan.dropped_tables)
    assert set(dropped) == set(Base.metadata.tables), "base drops every table"
    assert dropped["offerings"] == 2
    assert dropped["spot_prices"] == 2
    assert dropped["instance_types"] == 1
    assert dropped["collection_runs"] == 1
    assert dropped["fleet_events"] == 0
    assert dropped["fleet_instances"] == 0
    assert dropped["fleet_events_unmapped"] == 0
    assert dropped["fleet_events_rejected"] == 0
    assert dropped["weekly_reports"] == 0
    assert plan.rows == sum(dropped.values())
    line = plan.describe()
    assert "\n" not in line
    assert "offerings (2 rows)" in line
    assert "instance_types (1 row)" in line
    assert migrate.current_revision(bare_engine) == "0005", "planning changes nothing"


@pytest.mark.parametrize(
    ("target", "undone"),
    [
        pytest.param("-1", ("0005",), id="relative to the current revision"),
        pytest.param("0005-1", ("0005",), id="relative to a named revision"),
        pytest.param("0004", ("0005",), id="the previous revision"),
        pytest.param("0005", (), id="the current revision"),
        pytest.param("head", (), id="a symbolic name"),
    ],
)
def test_downgrade_plan_targets(bare_engine: Engine, target: str, undone: tuple[str, ...]) -> None:
    migrate.upgrade(bare_engine)
    assert migrate.downgrade_plan(bare_engine, target).undone == undone


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("-99", "goes below base"),
        ("zzz", "unknown revision 'zzz'"),
        ("base-1", "goes below base"),  # once counted from the current revision instead
    ],
)
def test_downgrade_plan_refuses_targets_that_do_not_exist(
    bare_engine: Engine, target: str, message: str
) -> None:
    migrate.upgrade(bare_engine)
    with pytest.raises(ConfigError, match=message):
        migrate.downgrade_plan(bare_engine, target)


def test_downgrade_plan_of_an_empty_database_undoes_nothing(bare_engine: Engine) -> None:
    plan = migrate.downgrade_plan(bare_engine, "base")
    assert (plan.undone, plan.dropped_tables) == ((), ())


def test_downgrade_plan_counts_the_values_of_dropped_columns(
    bare_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later revision may add a column: undoing it loses that column's values."""
    migrate.upgrade(bare_engine)
    _fill(bare_engine)
    head = migrate.head_revision()
    schema = migrate._schema_at(head)
    without_gpu_model = {**schema, "instance_types": schema["instance_types"] - {"gpu_model"}}
    monkeypatch.setattr(
        migrate, "_schema_at", lambda rev: schema if rev == head else without_gpu_model
    )
    plan = migrate.downgrade_plan(bare_engine, "base")
    assert plan.dropped_tables == ()
    assert plan.dropped_columns == (("instance_types.gpu_model", 1),)
    assert "column instance_types.gpu_model (1 row)" in plan.describe()


@pytest.mark.parametrize(
    ("revision", "shown"),
    [
        pytest.param("9999", "Can't locate revision", id="a revision that does not exist"),
        pytest.param("+99", "Relative revision +99", id="past head"),
        pytest.param("-1", "Relative revision -1", id="a relative step down is no upgrade"),
    ],
)  # fmt: skip
def test_upgrade_to_a_bad_revision_is_one_line_and_changes_nothing(
    bare_engine: Engine, revision: str, shown: str
) -> None:
    with pytest.raises(ConfigError, match=f"^cannot upgrade to '{re.escape(revision)}': ") as info:
        migrate.upgrade(bare_engine, revision)
    assert shown in str(info.value)
    assert "\n" not in str(info.value)
    assert migrate.current_revision(bare_engine) is None
    assert not set(Base.metadata.tables) & set(inspect(bare_engine).get_table_names())


def test_concurrent_upgrades_take_turns(postgres_admin: Engine) -> None:
    """Pods starting together each run `db upgrade` (PostgreSQL): all succeed, one migrates."""
    # Without the lock concurrent DDL deadlocks: lock_timeout turns that into a failure.
    with temporary_schema(POSTGRES_URL, options="-clock_timeout=20s") as url:
        engine = make_engine(url)
        try:
            with ThreadPoolExecutor(max_workers=3) as pool:
                for future in [pool.submit(migrate.upgrade, engine) for _ in range(3)]:
                    future.result()
            assert migrate.current_revision(engine) == migrate.head_revision()
            assert migrate.schema_diff(engine) == []
        finally:
            engine.dispose()
