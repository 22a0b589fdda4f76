"""Per-invocation CLI state shared by every command module: settings, engine, snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import typer
from sqlalchemy import Engine

from api.snapshot import load_snapshot
from core.clock import utcnow
from core.db import make_engine, require_schema
from core.errors import SpotselError
from core.settings import Settings, load_settings
from selector import Snapshot

__all__ = ["AppState", "StoreSnapshot", "app_state", "store_snapshot"]


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
class StoreSnapshot:
    snapshot: Snapshot
    now: datetime


def store_snapshot(state: AppState) -> StoreSnapshot:
    """Every pool's signals in force now, loaded from the store; an empty store is an error."""
    engine = state.engine()
    require_schema(engine)
    now = utcnow()
    snapshot = load_snapshot(engine, now=now)
    if snapshot.size == 0:
        raise SpotselError("the store holds no pools yet: run `spotsel collect sim` first")
    return StoreSnapshot(snapshot=snapshot, now=now)
