"""Database failures under a running API answer 503 with the true reason, on both engines."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from api.errors import database_failure
from core.db import make_engine
from core.errors import DatabaseUnavailableError, SchemaNotReadyError
from core.settings import Settings
from core.tables import Base
from tests.api.conftest import build_app

ROUTES = [
    ("POST", "/v1/recommendations"),
    ("GET", "/v1/pools"),
    ("GET", "/v1/instance-types"),
    ("GET", "/v1/collectors"),
    ("GET", "/v1/snapshot"),
    ("GET", "/v1/pools/aws/us-east-1/use1-az1/g5.xlarge/history"),
]


def _call(client: TestClient, method: str, path: str) -> tuple[int, dict[str, str]]:
    response = client.request(method, path, json={"gpus": 1} if method == "POST" else None)
    body: dict[str, str] = response.json()
    return response.status_code, body


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_schema_is_503_schema_not_ready(
    bare_engine: Engine, settings: Settings, method: str, path: str
) -> None:
    with TestClient(build_app(bare_engine, settings, api_auth=False)) as client:
        status, body = _call(client, method, path)
    assert status == 503, body
    assert body["error"] == "schema_not_ready"
    assert "spotsel db upgrade" in body["detail"]


def test_schema_dropped_under_a_running_api_is_503_schema_not_ready(
    engine: Engine, settings: Settings
) -> None:
    with TestClient(build_app(engine, settings, api_auth=False)) as client:
        assert client.get("/v1/collectors").status_code == 200
        Base.metadata.drop_all(engine)
        status, body = _call(client, "GET", "/v1/collectors")
    assert (status, body["error"]) == (503, "schema_not_ready")


def _unreachable_sqlite(tmp_path: Path) -> str:
    folder = tmp_path / "a-directory"
    folder.mkdir()
    return f"sqlite:///{folder}"  # a directory cannot be opened as a database


UNREACHABLE: list[tuple[str, Callable[[Path], str]]] = [
    # (why, URL factory)
    ("sqlite: the path is a directory", _unreachable_sqlite),
    ("postgresql: nothing listens there", lambda _: "postgresql+psycopg://postgres@127.0.0.1:1/x"),
]


@pytest.mark.parametrize(("why", "url"), UNREACHABLE, ids=[u[0] for u in UNREACHABLE])
def test_an_unreachable_database_is_503_database_unavailable(
    tmp_path: Path, why: str, url: Callable[[Path], str]
) -> None:
    database_url = url(tmp_path)
    engine = make_engine(database_url)
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    with TestClient(build_app(engine, settings, api_auth=False)) as client:
        status, body = _call(client, "GET", "/v1/collectors")
    engine.dispose()
    assert (status, body["error"]) == (503, "database_unavailable"), why


class _PgError(Exception):
    """Stands in for a psycopg error: what matters is its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


CLASSIFIED: list[tuple[str, SQLAlchemyError, type[Exception] | None]] = [
    # (why, error, what it means; None = a bug of ours, answered 500)
    ("postgresql undefined_table", ProgrammingError("q", {}, _PgError("42P01")),
     SchemaNotReadyError),
    ("postgresql undefined_column", ProgrammingError("q", {}, _PgError("42703")),
     SchemaNotReadyError),
    ("sqlite no such table", OperationalError("q", {}, sqlite3.OperationalError(
        "no such table: collection_runs")), SchemaNotReadyError),
    ("sqlite no such column", OperationalError("q", {}, sqlite3.OperationalError(
        "no such column: offerings.x")), SchemaNotReadyError),
    ("connection refused", OperationalError("q", {}, _PgError("08001")),
     DatabaseUnavailableError),
    ("sqlite locked", OperationalError("q", {}, sqlite3.OperationalError("database is locked")),
     DatabaseUnavailableError),
    ("postgresql syntax error: our bug", ProgrammingError("q", {}, _PgError("42601")), None),
    ("constraint violated: our bug", IntegrityError("q", {}, _PgError("23505")), None),
]  # fmt: skip


@pytest.mark.parametrize(("why", "error", "meaning"), CLASSIFIED, ids=[c[0] for c in CLASSIFIED])
def test_database_failures_are_told_apart(
    why: str, error: SQLAlchemyError, meaning: type[Exception] | None
) -> None:
    failure = database_failure(error)
    if meaning is None:
        assert failure is None, why
    else:
        assert type(failure) is meaning, why
