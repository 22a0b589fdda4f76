"""Start-up: the CLI loads what a command needs when the command runs, not to start.

`spotsel --help` and `spotsel status` start in under a second, and `spotsel serve --workers N`
workers (which import the CLI again) answer uvicorn's health check in time. The import checks
run in a fresh interpreter and read its ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from core import migrate
from core.db import make_engine
from core.fleet_events import DEFAULT_SOURCE
from spotsel.commands import events as events_command

# What starting the CLI must not load: cloud SDKs, the server, the scheduler, the ORM, the
# settings machinery, validators and the source modules (each costs 0.1 to 1 s to import).
HEAVY = (
    "boto3", "botocore", "google", "azure", "httpx",
    "fastapi", "starlette", "uvicorn", "api.app", "api.server",
    "apscheduler", "alembic", "sqlalchemy", "pydantic_settings",
    "jsonschema", "yaml", "kubernetes", "jinja2",
    "collectors.aws", "collectors.gcp", "collectors.azure", "collectors.sim", "collectors.runner",
    "core.db", "core.tables", "core.settings", "outputs", "numpy",
)  # fmt: skip
# What `spotsel status` must not load: it names the sources, it does not run them.
NOT_FOR_STATUS = (
    "boto3", "botocore", "google", "azure", "httpx", "fastapi", "uvicorn", "apscheduler",
    "collectors.aws", "collectors.gcp", "collectors.azure", "collectors.sim", "outputs",
    "numpy",  # the ranking's: status counts rows, it ranks nothing
    # It reads on a plain connection through core.summary_tables: no ORM mapping, no writer,
    # no migrations (0.15 to 0.2 s of CPU at start).
    "sqlalchemy.orm", "core.tables", "core.store", "core.limits", "alembic",
)  # fmt: skip


def loaded(program: str, watched: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
    """The modules of ``watched`` that ``program`` left imported, run in a fresh interpreter."""
    report = f"\nimport sys\nprint(' '.join(m for m in {tuple(watched)!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", program + report],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    lines = result.stdout.splitlines()
    return lines[-1].split() if lines else []


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert loaded("import spotsel.cli", HEAVY) == []


def test_the_check_sees_a_heavy_module_when_one_is_loaded() -> None:
    # The guard above can fail: the same check reports what a program did import.
    assert loaded("import spotsel.cli\nimport sqlalchemy.orm", HEAVY) == ["sqlalchemy"]
    assert loaded("import spotsel.cli\nimport botocore.config", HEAVY) == ["botocore"]


def test_help_builds_every_command_without_loading_them() -> None:
    program = (
        "from spotsel.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert loaded(program, HEAVY) == []


def test_every_command_help_starts_light() -> None:
    commands = ["collect", "rank", "status", "serve", "scheduler", "fleet", "demo"]
    groups = [["db", "upgrade"], ["nodepools", "generate"], ["events", "import"]]
    program = "from spotsel.cli import app\n" + "".join(
        f"try:\n    app({[*args, '--help']!r}, standalone_mode=False)\nexcept SystemExit:\n"
        "    pass\n"
        for args in [[c] for c in commands] + groups
    )
    # Declaring the options needs no server, no SDK, no ORM. (The root command reads the
    # settings, for the log level, before a command parses its --help.)
    settings = ("pydantic_settings", "core.settings")
    assert loaded(program, [m for m in HEAVY if m not in settings]) == []


def test_status_names_the_sources_without_loading_them(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    env = os.environ | {"SPOTSEL_DATABASE_URL": db_url, "SPOTSEL_DATA_DIR": str(tmp_path)}
    program = (
        "import contextlib, io, json\n"
        "from spotsel.cli import app\n"
        "buffer = io.StringIO()\n"
        "with contextlib.redirect_stdout(buffer):\n"
        "    app(['status', '--output', 'json'], standalone_mode=False)\n"
        "assert json.loads(buffer.getvalue())['sources'] == []\n"
    )
    assert loaded(program, NOT_FOR_STATUS, env=env) == []


def test_the_events_default_source_is_the_ingests() -> None:
    # Spelled in the command so that declaring --source does not load the ingest.
    assert events_command.DEFAULT_SOURCE == DEFAULT_SOURCE
