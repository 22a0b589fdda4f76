"""Shared fixtures: a fixed clock and a database on every engine the run targets.

Database tests run on SQLite and PostgreSQL. PostgreSQL is required unless ``--db sqlite`` is
given explicitly: an unreachable server is an error, never a silent skip.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from core.db import make_engine, temporary_schema
from core.settings import Settings
from core.tables import Base

POSTGRES_URL = os.environ.get(
    "SPOTSEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("all", "sqlite", "postgresql"),
        default="all",
        help="database engines to run the database tests on (default: all)",
    )


def _backends(config: pytest.Config) -> list[str]:
    choice = config.getoption("--db")
    return ["sqlite", "postgresql"] if choice == "all" else [choice]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "one_engine(name): run a database test on this engine only; the test says why nothing "
        "it checks depends on the engine",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = _backends(metafunc.config)
        if (only := metafunc.definition.get_closest_marker("one_engine")) is not None:
            backends = [b for b in backends if b == only.args[0]]  # none left: skipped
        metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # a clear failure, not a skip
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}); start it "
            "or run `pytest --db sqlite` to leave PostgreSQL out explicitly",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of ``backend``: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'spotsel.db'}"
        return
    request.getfixturevalue("postgres_admin")  # reachable, or a clear failure
    with temporary_schema(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database (no tables)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """An engine on a database with the full schema."""
    Base.metadata.create_all(bare_engine)
    return bare_engine


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "data")


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}", pytrace=False)
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """The API's cache freezes what is alive once a snapshot is loaded (core.pool_snapshot.
    settle): a long-lived server wants that, a test process would keep every test's garbage."""
    yield
    gc.unfreeze()
