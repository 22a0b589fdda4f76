"""The CLI's guards: downgrades say what they drop and ask first, typos are refused before a
run is recorded, hostile profile files are refused fast. Database cases run on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, table
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core import migrate
from core.clock import utcnow
from core.errors import ConfigError
from core.settings import Settings
from core.store import persist_run
from core.tables import Base, CollectionRun
from spotsel.cli import app
from spotsel.commands import db
from spotsel.state import AppState
from tests.factories import make_offering, make_result, make_spot_price, make_type
from tests.outputs.test_profiles import billion_laughs

runner = CliRunner()
# Interpreter start-up included; the unbounded loader took minutes and ran out of memory.
HOSTILE_FILE_SECONDS = 30
MAX_MESSAGE_CHARS = 300


def _spotsel(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("spotsel")
    env = {
        **os.environ,
        "SPOTSEL_CONFIG": "",
        "SPOTSEL_DATA_DIR": str(tmp_path / "data"),
        "SPOTSEL_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: nobody can answer a prompt
        timeout=120,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert expected in message, message
    return message


def _counts(engine: Engine) -> dict[str, int]:
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in Base.metadata.tables
            if name in present
        }


@pytest.fixture
def filled(bare_engine: Engine) -> Engine:
    """A migrated database holding one run's rows."""
    migrate.upgrade(bare_engine)
    rows = {
        "instance_types": [make_type()],
        "offerings": [make_offering(zone_id=z) for z in ("use1-az1", "use1-az2")],
        "spot_prices": [make_spot_price(zone_id=z) for z in ("use1-az1", "use1-az2")],
    }
    persist_run(bare_engine, make_result(rows))
    return bare_engine


def _invoke(settings: Settings, *args: str, **kwargs: Any) -> Any:
    return runner.invoke(
        app, list(args), obj=AppState(settings=settings), catch_exceptions=False, **kwargs
    )


# --- db downgrade -------------------------------------------------------------------------


def test_downgrade_without_yes_refuses_and_keeps_every_row(
    filled: Engine, db_url: str, tmp_path: Path
) -> None:
    before = _counts(filled)
    assert len(before) == len(Base.metadata.tables)
    result = _spotsel("--database-url", db_url, "db", "downgrade", "base", tmp_path=tmp_path)
    message = _one_line_error(result, "pass --yes to confirm")
    assert "offerings (2 rows)" in message, "it says what it would drop"
    assert "spot_prices (2 rows)" in message
    assert _counts(filled) == before, "every row left in place"
    assert migrate.current_revision(filled) == migrate.head_revision()


def test_downgrade_with_yes_drops_and_says_what_it_dropped(
    filled: Engine, settings: Settings
) -> None:
    result = _invoke(settings, "db", "downgrade", "base", "--yes")
    assert result.exit_code == 0, result.output
    assert "dropped" in result.stdout
    assert "offerings (2 rows)" in result.stdout
    assert "at revision base" in result.stdout
    assert _counts(filled) == {}, "base drops every table"


def test_downgrade_asks_at_a_terminal(
    filled: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "_can_ask", lambda: True)
    before = _counts(filled)
    with pytest.raises(ConfigError, match="not confirmed; nothing done"):
        _invoke(settings, "db", "downgrade", "base", input="n\n")
    assert _counts(filled) == before
    result = _invoke(settings, "db", "downgrade", "base", input="y\n")
    assert result.exit_code == 0, result.output
    assert _counts(filled) == {}


def test_a_downgrade_that_undoes_nothing_needs_no_confirmation(
    filled: Engine, settings: Settings
) -> None:
    before = _counts(filled)
    result = _invoke(settings, "db", "downgrade", str(migrate.head_revision()))
    assert result.exit_code == 0, result.output
    assert _counts(filled) == before


# --- collect: typos are the user's, not failed runs of a source ---------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["collect", "sim", "--as-of", "FUTURE"], "is in the future",
                     id="future --as-of"),
        pytest.param(["collect", "aws-advisor", "--source-url", "file:///missing.json"],
                     "advisor file /missing.json does not exist", id="missing file"),
        pytest.param(["collect", "aws-advisor", "--source-url", "ftp://example.com/a.json"],
                     "advisor URL must be https://, http:// or file://", id="ftp URL"),
    ],
)  # fmt: skip
def test_typos_are_refused_before_a_run_is_recorded(
    engine: Engine, db_url: str, tmp_path: Path, args: list[str], expected: str
) -> None:
    assert not Path("/missing.json").exists()
    future = (utcnow() + timedelta(days=1)).isoformat()
    args = [future if a == "FUTURE" else a for a in args]
    result = _spotsel("--database-url", db_url, *args, tmp_path=tmp_path)
    _one_line_error(result, expected)
    with Session(engine) as session:
        assert session.scalars(select(CollectionRun)).all() == [], "no run recorded"


# --- profile files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["nodepools", "generate", "--out", "OUT"], id="nodepools generate"),
        pytest.param(["fleet", "--profile", "lol", "--target-capacity", "1",
                      "--launch-template", "lt-1", "--subnets", "subnet-1"], id="fleet"),
    ],
)  # fmt: skip
def test_a_billion_laughs_profile_file_is_refused_fast(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    started = time.monotonic()
    result = _spotsel(*args, "--profiles", str(path), tmp_path=tmp_path)
    assert time.monotonic() - started < HOSTILE_FILE_SECONDS
    message = _one_line_error(result, "YAML aliases (*name) are not allowed")
    assert len(message) < MAX_MESSAGE_CHARS
    assert not (tmp_path / "out").exists()
