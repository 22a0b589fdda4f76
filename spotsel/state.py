"""Per-invocation CLI state shared by every command module: settings, engine, the pool index.

A command loads the pool index once (`load_pools`) and passes the `LoadedPools` down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from core.errors import SpotselError

if TYPE_CHECKING:  # SQLAlchemy, the settings and the selector load when a command needs them
    from sqlalchemy import Engine

    from core.settings import Settings
    from selector import PoolIndex

__all__ = ["AppState", "LoadedPools", "app_state", "load_pools"]


@dataclass
class AppState:
    """Settings (injected by tests) and a lazily built engine."""

    settings: Settings | None = None
    database_url: str | None = None
    _engine: Engine | None = field(default=None, repr=False)

    def get_settings(self) -> Settings:
        if self.settings is None:
            from core.settings import load_settings

            overrides = {"database_url": self.database_url} if self.database_url else {}
            self.settings = load_settings(**overrides)
        return self.settings

    def engine(self) -> Engine:
        if self._engine is None:
            from core.db import make_engine

            settings = self.get_settings()
            self._engine = make_engine(
                settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
            )
        return self._engine


def app_state(ctx: typer.Context) -> AppState:
    """The root command's state (created on first use)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


@dataclass(frozen=True)
class LoadedPools:
    """The pool index a command works on, and the time it was loaded for."""

    index: PoolIndex
    now: datetime


# What to run when the store holds nothing rankable: real data first, the demo market last.
_FILL_ALL = (
    "load public AWS data without credentials (`spotsel collect aws-advisor` and `spotsel "
    "collect aws-public`), AWS's APIs with credentials (`spotsel collect aws`), or the "
    "simulated market for a demo (`spotsel collect sim`)"
)


def _what_is_missing(engine: Engine, now: datetime) -> str:
    """Why the store yields no pool at ``now``, and the command that fills the gap."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from core.clock import parse_utc
    from core.tables import InstanceType, InterruptionRate, Offering

    with Session(engine) as session:
        specs = int(session.scalar(select(func.count()).select_from(InstanceType)) or 0)
        offerings = int(session.scalar(select(func.count()).select_from(Offering)) or 0)
        signals = int(session.scalar(select(func.count()).select_from(InterruptionRate)) or 0)
        first = parse_utc(session.scalar(select(func.min(Offering.first_seen))))
    if not (specs or offerings or signals):
        return f"the store holds no pools yet: {_FILL_ALL}"
    if not offerings:
        return (
            f"the store holds {specs:,} instance specs and {signals:,} interruption signals "
            "but no offerings or prices: run `spotsel collect aws-public` (public spot prices, "
            "no credentials) or `spotsel collect aws`"
        )
    if not specs:
        return (
            f"the store holds {offerings:,} offerings but no instance specs to match them: "
            "run `spotsel collect aws-advisor` (public, no credentials) or `spotsel collect aws`"
        )
    if first is not None and first > now:
        return (
            f"no pool was offered yet at {now:%Y-%m-%dT%H:%M:%S}+00:00: the oldest offering "
            f"was first seen {first:%Y-%m-%dT%H:%M:%S}+00:00"
        )
    return (
        f"none of the store's {offerings:,} offerings has instance specs: run `spotsel collect "
        "aws-advisor` (specs of public types, no credentials) or `spotsel collect aws`"
    )


def load_pool_index(engine: Engine, *, now: datetime) -> PoolIndex:
    """`core.pool_reader.load_pool_index`, imported when a command first loads pools."""
    from core import pool_reader

    return pool_reader.load_pool_index(engine, now=now)


def load_pools(state: AppState, *, as_of: datetime | None = None) -> LoadedPools:
    """Every pool's signals in force now (or at ``as_of``: the store as it stood then),
    loaded from the store; a store with nothing rankable is an error that says what it lacks.
    """
    from core.clock import utcnow
    from core.db import require_schema

    engine = state.engine()
    require_schema(engine)
    now = as_of or utcnow()
    index = load_pool_index(engine, now=now)
    if index.size == 0:
        raise SpotselError(_what_is_missing(engine, now))
    return LoadedPools(index=index, now=now)
