"""Programmatic Alembic: upgrade, downgrade and drift checks against the ORM models.

A downgrade drops what the undone revisions created, rows included; :func:`downgrade_plan`
says what that is (tables and columns, with their row counts) before anything runs, so the
CLI can ask first.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, column, create_engine, func, inspect, select, table, text

from core.errors import ConfigError
from core.limits import shorten
from core.tables import Base

__all__ = [
    "DowngradePlan",
    "alembic_config",
    "current_revision",
    "downgrade",
    "downgrade_plan",
    "head_revision",
    "schema_diff",
    "upgrade",
]

# Alembic's relative targets for a downgrade: "-2" (from the current revision) or "0003-1".
_RELATIVE = re.compile(r"^(?P<start>\w+)?-(?P<steps>\d+)$")
# Alembic's own bookkeeping table: never "dropped" data.
_VERSION_TABLE = "alembic_version"
# Advisory lock key serialising concurrent upgrades of one database and schema (PostgreSQL).
_MIGRATE_LOCK_KEY = "hashtextextended('spotsel-migrate' || current_schema(), 0)"


def _migrations_dir() -> Path:
    # Located, not imported: the migrations import core, so core must not import them.
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the migrations package is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


MIGRATIONS_DIR = _migrations_dir()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision``; an unknown one is a :class:`ConfigError` and changes nothing.

    On PostgreSQL concurrent upgrades (several pods starting at once) take turns on an advisory
    lock held for the transaction: the first migrates, the others then find nothing to do.
    """
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATE_LOCK_KEY})"))
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, revision)
        except CommandError as exc:
            raise ConfigError(
                f"cannot upgrade to {shorten(revision)}: {exc} (see `spotsel db current`)"
            ) from None


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.downgrade(cfg, revision)
        except CommandError as exc:
            raise ConfigError(f"cannot downgrade to {shorten(revision)}: {exc}") from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@dataclass(frozen=True)
class DowngradePlan:
    """What a downgrade would undo and drop, counted before it runs."""

    current: str | None
    target: str | None  # the revision after the downgrade; None = base (no schema)
    undone: tuple[str, ...]  # revisions whose downgrade runs, newest first
    dropped_tables: tuple[tuple[str, int], ...]  # (table, rows)
    dropped_columns: tuple[tuple[str, int], ...]  # ("table.column", rows holding a value)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.dropped_tables) + sum(n for _, n in self.dropped_columns)

    def describe(self, *, done: bool = False) -> str:
        """One line: the revisions undone and what goes with them."""
        head = (
            f"downgrade {self.current or 'base'} -> {self.target or 'base'} "
            f"{'undid' if done else 'undoes'} {', '.join(self.undone) or 'nothing'}"
        )
        if not self.dropped_tables and not self.dropped_columns:
            return f"{head} and drops no tables or columns"
        parts = [f"{name} ({_rows(n)})" for name, n in self.dropped_tables]
        parts += [f"column {name} ({_rows(n)})" for name, n in self.dropped_columns]
        verb = "dropped" if done else "drops"
        return f"{head} and {verb} {_rows(self.rows)}: {', '.join(parts)}"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _resolve(script: ScriptDirectory, current: str | None, revision: str) -> str | None:
    """The absolute revision ``revision`` names (None = base); relative ones walk down."""
    match = _RELATIVE.match(revision)
    try:
        if match is None:
            found = script.get_revision(revision)
            return None if found is None else found.revision
        rev: str | None = current
        if match["start"]:  # counted from a named revision ("base" is below every one)
            start = script.get_revision(match["start"])
            rev = None if start is None else start.revision
        for _ in range(int(match["steps"])):
            if rev is None:
                raise ConfigError(f"{shorten(revision)} goes below base")
            down = script.get_revision(rev).down_revision
            if isinstance(down, tuple | list):
                raise ConfigError(f"{shorten(revision)} crosses a merge: name the revision")
            rev = down
        return rev
    except CommandError as exc:
        raise ConfigError(f"unknown revision {shorten(revision)}: {exc}") from None


@cache
def _schema_at(revision: str | None) -> dict[str, frozenset[str]]:
    """Tables and their columns at ``revision``, read off an in-memory SQLite database migrated
    to it: the migrations run alike on both engines (batch mode), so either has this schema."""
    if revision is None:
        return {}
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            found = inspect(conn)
            return {
                name: frozenset(c["name"] for c in found.get_columns(name))
                for name in found.get_table_names()
                if name != _VERSION_TABLE
            }
    finally:
        scratch.dispose()


def downgrade_plan(engine: Engine, revision: str) -> DowngradePlan:
    """What ``downgrade(engine, revision)`` would undo and drop, with live row counts."""
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(engine)
    target = _resolve(script, current, revision)
    if current is None:
        return DowngradePlan(current, None, (), (), ())
    try:
        undone = tuple(s.revision for s in script.iterate_revisions(current, target or "base"))
    except CommandError as exc:
        raise ConfigError(
            f"cannot downgrade from {current} to {shorten(revision)}: {exc}"
        ) from None
    before, after = _schema_at(current), _schema_at(target)
    live = set(inspect(engine).get_table_names())
    tables = sorted(t for t in before.keys() - after.keys() if t in live)
    columns = sorted(
        (t, c) for t in before.keys() & after.keys() if t in live for c in before[t] - after[t]
    )
    with engine.connect() as conn:
        dropped_tables = tuple(
            (t, int(conn.scalar(select(func.count()).select_from(table(t))) or 0)) for t in tables
        )
        dropped_columns = tuple(
            (f"{t}.{c}", int(conn.scalar(select(func.count(column(c))).select_from(table(t))) or 0))
            for t, c in columns
        )
    return DowngradePlan(current, target, undone, dropped_tables, dropped_columns)


def schema_diff(engine: Engine) -> list[Any]:
    """Differences between the models and the migrated database (empty when in sync)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return list(compare_metadata(ctx, Base.metadata))
