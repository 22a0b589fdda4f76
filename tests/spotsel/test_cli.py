"""The command line as a user meets it: collect, status, db, and one-line errors (the demo:
test_demo.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core import migrate
from core.errors import SchemaNotReadyError, SpotselError
from core.settings import Settings
from spotsel.cli import app
from spotsel.state import AppState

runner = CliRunner()
AS_OF = "2026-11-28T12:00:00+00:00"


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def _status(settings: Settings) -> dict[str, Any]:
    result = _invoke(settings, "status", "--output", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_json_lists_every_source(settings: Settings) -> None:
    _invoke(settings, "db", "upgrade")
    result = _invoke(settings, "collect", "sim", "--seed", "5", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    doc = _status(settings)
    assert doc["totals"]["pools"] > 2_000
    [sim] = doc["sources"]
    assert sim["source"] == "sim"
    assert sim["simulated"] is True
    assert sim["last_run"]["status"] == "ok"
    assert sim["data_as_of"] == AS_OF
    assert sim["last_run"]["rows_written"] == sum(
        v for k, v in doc["totals"].items() if k not in {"gpu_instance_types", "spot_pools"}
    )


def test_collect_needs_the_schema_first(settings: Settings) -> None:
    with pytest.raises(SchemaNotReadyError, match="spotsel db upgrade"):
        _invoke(settings, "collect", "sim")


def test_db_commands_round_trip(settings: Settings) -> None:
    head = migrate.head_revision()
    assert f"at revision {head}" in _invoke(settings, "db", "upgrade").stdout
    assert f"database: {head}; code: {head}" in _invoke(settings, "db", "current").stdout
    assert "at revision base" in _invoke(settings, "db", "downgrade", "base", "--yes").stdout


def _spotsel(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("spotsel")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        pytest.param(["status"], {"SPOTSEL_DATABASE_URL": "oracle://scott@db/x"},
                     "invalid setting SPOTSEL_DATABASE_URL", id="unsupported URL scheme"),
        pytest.param(["status"],
                     {"SPOTSEL_DATABASE_URL": "postgresql+psycopg://u:pw@127.0.0.1:1/x"},
                     "cannot connect to postgresql+psycopg://u:***@127.0.0.1:1/x",
                     id="unreachable database, password hidden"),
        pytest.param(["collect", "nosuch"], {}, "unknown source 'nosuch' (known sources: aws, ",
                     id="unknown source"),
        pytest.param(["collect", "sim", "--as-of", "yesterday"], {}, "--as-of must be",
                     id="bad timestamp"),
        pytest.param(["rank", "--vcpus", "16:4"], {}, "invalid requirements: vcpus",
                     id="inverted range"),
        pytest.param(["rank", "--gpus", "0", "--gpu-memory", "16"], {},
                     "invalid requirements: gpu_memory_gib", id="contradictory GPU request"),
    ],
)  # fmt: skip
def test_user_errors_are_one_line_without_traceback(
    args: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    env = {"SPOTSEL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SPOTSEL_CONFIG": ""} | env
    result = _spotsel(*args, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("collect", "status", "demo", "db"):
        assert command in result.stdout


def test_rank_prints_a_diversified_explained_answer(settings: Settings) -> None:
    _invoke(settings, "db", "upgrade")
    _invoke(settings, "collect", "sim")
    args = ["rank", "--gpus", "1", "--gpu-memory", "16", "--regions", "us-east-1,us-west-2"]
    result = _invoke(settings, *args, "--nodes", "6", "-o", "json")
    assert result.exit_code == 0, result.output
    ranking = json.loads(result.stdout)
    pools = ranking["pools"]
    assert len({p["instance_type"] for p in pools}) >= 3
    assert {p["region"] for p in pools} <= {"us-east-1", "us-west-2"}
    assert sum(p["nodes"] for p in pools) == 6
    assert all(p["effective_cost"] >= p["price"] for p in pools)
    assert ranking["verdict"]["message"]
    assert ranking["exclusions"]
    table = _invoke(settings, *args)
    assert table.exit_code == 0
    assert "spot pays off" in table.stdout


def test_rank_on_an_empty_store_says_what_to_do(settings: Settings) -> None:
    _invoke(settings, "db", "upgrade")
    with pytest.raises(SpotselError, match="spotsel collect sim"):
        _invoke(settings, "rank", "--gpus", "1")


# Loaded by the commands that need them, not by `spotsel --help` or the quick commands.
DEFERRED_MODULES = (
    "api.app", "api.server", "fastapi", "uvicorn",  # only `serve` and the demo's serving
    "alembic", "core.migrate",  # `db` and the demo
    "apscheduler", "collectors.scheduler", "collectors.runner",  # `scheduler`, `collect`
    "outputs", "jsonschema", "kubernetes",  # `nodepools`, `fleet`, the demo
)  # fmt: skip


def test_starting_the_cli_defers_the_heavy_modules() -> None:
    code = (
        "import sys, spotsel.cli; "
        f"print(' '.join(m for m in {DEFERRED_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == []
