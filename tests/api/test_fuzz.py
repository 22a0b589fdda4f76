"""Schemathesis over /openapi.json: no input may produce a server error.

Bounded examples per operation keep this well under a minute; SQLite only (the routes' SQL is
covered on both engines by the other tests, and the fuzzing targets input handling).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from core.db import make_engine
from core.settings import Settings
from core.tables import Base
from tests.api.conftest import API_NOW, load_sim

# Examples per operation: ~10 operations x 40 keeps the run around 20 s.
MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    config = Settings(database_url=url, data_dir=Path(tmp), api_auth=False)
    load_sim(engine, config)
    app = create_app(config, engine=engine, clock=lambda: API_NOW)
    app.state.services.snapshots.refresh(force=True)
    yield app
    engine.dispose()


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: FastAPI) -> object:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text
