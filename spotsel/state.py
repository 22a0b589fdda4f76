"""Per-invocation CLI state shared by every command module: settings, engine, the pool index.

A command loads the pool index once (`load_pools`) and passes the `LoadedPools` down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import typer
from sqlalchemy import Engine

from core.clock import utcnow
from core.db import make_engine, require_schema
from core.errors import SpotselError
from core.pool_reader import load_pool_index
from core.settings import Settings, load_settings
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
            overrides = {"database_url": self.database_url} if self.database_url else {}
            self.settings = load_settings(**overrides)
        return self.settings

    def engine(self) -> Engine:
        if self._engine is None:
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


def load_pools(state: AppState) -> LoadedPools:
    """Every pool's signals in force now, loaded from the store; an empty store is an error."""
    engine = state.engine()
    require_schema(engine)
    now = utcnow()
    index = load_pool_index(engine, now=now)
    if index.size == 0:
        raise SpotselError("the store holds no pools yet: run `spotsel collect sim` first")
    return LoadedPools(index=index, now=now)
