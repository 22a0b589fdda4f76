"""`spotsel scheduler` as an operator runs it: signals end it cleanly; SPOTSEL_LOG_LEVEL applies."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings
from spotsel.cli import OWN_LOGGERS, app
from spotsel.state import AppState

runner = CliRunner()
SPOTSEL = Path(sys.executable).with_name("spotsel")
# Generous: a loaded CI machine starts Python, imports and simulates the market slowly.
PROCESS_TIMEOUT_SECONDS = 120


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPOTSEL_DATABASE_URL": f"sqlite:///{tmp_path / 'spotsel.db'}",
        "SPOTSEL_CONFIG": "",
        "SPOTSEL_SCHEDULE": '{"sim": 60}',
        "SPOTSEL_LOG_LEVEL": "DEBUG",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_scheduler_after_the_running_collection(
    signum: signal.Signals, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    subprocess.run(
        [str(SPOTSEL), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=PROCESS_TIMEOUT_SECONDS,
    )
    proc = subprocess.Popen(
        [str(SPOTSEL), "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "run sim: starting" in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(PROCESS_TIMEOUT_SECONDS), "".join(lines)
        proc.send_signal(signum)  # in the middle of the collection
        code = proc.wait(timeout=PROCESS_TIMEOUT_SECONDS)
    finally:
        proc.kill()
        reader.join(timeout=10)
    stderr = "".join(lines)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "scheduler: leader: scheduling sim" in stderr
    assert "collectors.scheduler: run sim: ok" in stderr, "the running collection finished"
    assert stderr.rstrip().endswith("scheduler: stopped")
    with sqlite3.connect(tmp_path / "spotsel.db") as db:
        runs = db.execute("SELECT source, status FROM collection_runs").fetchall()
    assert runs == [("sim", "ok")], "recorded before the process exited"


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        pytest.param("DEBUG", True, id="DEBUG shows the runner's debug line"),
        pytest.param("WARNING", False, id="the default WARNING hides it"),
    ],
)
def test_log_level_is_applied_for_the_command(level: str, shown: bool, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'spotsel.db'}",
        data_dir=tmp_path / "data",
        log_level=level,
    )
    state = AppState(settings=settings)
    before = [logging.getLogger(name).level for name in OWN_LOGGERS]
    assert runner.invoke(app, ["db", "upgrade"], obj=state).exit_code == 0
    result = runner.invoke(app, ["collect", "sim"], obj=state, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ("collectors.runner: collection finished" in result.stderr) is shown, result.stderr
    assert [logging.getLogger(name).level for name in OWN_LOGGERS] == before, "undone after"


def test_an_unknown_log_level_is_refused_but_help_still_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="invalid setting SPOTSEL_LOG_LEVEL"):
        runner.invoke(app, ["status"], obj=AppState(), catch_exceptions=False)
    result = runner.invoke(app, ["scheduler", "--help"], obj=AppState())
    assert result.exit_code == 0
    assert "SIGTERM" in result.stdout
