"""Schemathesis over /openapi.json: no server errors, and every answer is one the document names.

Checks: no 5xx; the status code is documented for the operation; the body matches the
documented schema of that status; the content type and documented headers match. Bounded
examples per operation keep this well under a minute; SQLite only (the routes' SQL is covered
on both engines by the other tests, and the fuzzing targets input handling and the contract).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.db import make_engine
from core.settings import Settings
from core.tables import Base
from tests.api.conftest import API_NOW, load_sim

# Schemathesis over every operation: about half a minute.
pytestmark = pytest.mark.slow

# Examples per operation: ~10 operations x 40 keeps the run around 20 s.
MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]


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
def test_answers_conform_to_the_contract(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text


def _drop_422(document: dict[str, Any]) -> None:
    del document["paths"]["/v1/recommendations"]["post"]["responses"]["422"]


def _require_more(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["ErrorBody"]["required"].append("hint")


BROKEN_CONTRACTS = [
    # (why, how the document is broken, what the checks must report)
    ("a 422 the document does not name", _drop_422, "Undocumented status code"),
    ("an error body the document does not describe", _require_more, "Response violates schema"),
]


@pytest.mark.parametrize(
    ("why", "breakage", "report"), BROKEN_CONTRACTS, ids=[b[0] for b in BROKEN_CONTRACTS]
)
def test_the_checks_catch_a_contract_the_server_breaks(
    tmp_path: Path, why: str, breakage: Callable[[dict[str, Any]], None], report: str
) -> None:
    """Guard: the same checks, fed a known violation, fail."""
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    app = create_app(Settings(database_url=url, data_dir=tmp_path, api_auth=False), engine=engine)
    breakage(app.openapi())  # the cached document /openapi.json serves
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)["/v1/recommendations"]["POST"]
    case = operation.Case(body={"gpus": -1}, media_type="application/json")
    response = case.call()
    assert response.status_code == 422
    with pytest.raises(BaseExceptionGroup, match="distinct failure") as failure:
        case.validate_response(response, checks=CHECKS)
    assert report in str(failure.value), why
    engine.dispose()
