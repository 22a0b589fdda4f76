"""API fixtures: a simulated market loaded once per module and backend, and app builders.

Loading the sim market takes ~1.5 s, so read-only API tests share one loaded database per
module (`market`); tests that write build their own app on the function-scoped `engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.auth import hash_key
from collectors import CollectContext, get_source
from collectors.runner import run_source
from core.db import make_engine, temporary_schema
from core.settings import Settings
from core.tables import Base
from tests.conftest import FIXED_NOW, POSTGRES_URL, _backends

READ_KEY = "spk_test-read-key"
WRITE_KEY = "spk_test-write-key"
KEYS = [f"reader:read:{hash_key(READ_KEY)}", f"writer:write:{hash_key(WRITE_KEY)}"]
# The market is collected at FIXED_NOW; the API's clock runs a few minutes later.
API_NOW = FIXED_NOW + timedelta(minutes=5)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "market_backend" in metafunc.fixturenames:
        metafunc.parametrize("market_backend", _backends(metafunc.config), scope="module")


@dataclass(frozen=True)
class Market:
    engine: Engine
    settings: Settings


def load_sim(engine: Engine, settings: Settings, *, now: datetime = FIXED_NOW) -> None:
    ctx = CollectContext(settings=settings, now=now, options={"seed": 1})
    run_source(engine, get_source("sim"), ctx)


@pytest.fixture(scope="module")
def market(
    market_backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Market]:
    """A database holding one sim collection (seed 1) at FIXED_NOW, per backend."""
    tmp = tmp_path_factory.mktemp("market")
    with ExitStack() as stack:
        if market_backend == "sqlite":
            url = f"sqlite:///{tmp / 'market.db'}"
        else:
            request.getfixturevalue("postgres_admin")  # reachable, or a clear failure
            url = stack.enter_context(temporary_schema(POSTGRES_URL, prefix="m"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        Base.metadata.create_all(engine)
        settings = Settings(database_url=url, data_dir=Path(tmp) / "data", api_keys=KEYS)
        load_sim(engine, settings)
        yield Market(engine, settings)


def build_app(
    engine: Engine, settings: Settings, *, now: datetime = API_NOW, **overrides: object
) -> FastAPI:
    return create_app(settings.model_copy(update=overrides), engine=engine, clock=lambda: now)


@pytest.fixture(scope="module")
def client(market: Market) -> Iterator[TestClient]:
    """Auth on (read and write keys configured); send `auth(READ_KEY)` headers."""
    with TestClient(build_app(market.engine, market.settings)) as c:
        yield c


@pytest.fixture(scope="module")
def open_client(market: Market) -> Iterator[TestClient]:
    """The same market with auth off (`spotsel serve --no-auth`)."""
    with TestClient(build_app(market.engine, market.settings, api_auth=False)) as c:
        yield c


def auth(key: str = READ_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


AppFactory = Callable[..., FastAPI]
