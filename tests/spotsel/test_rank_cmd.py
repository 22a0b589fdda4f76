"""`spotsel rank` as a person and a script meet it: labels, the 100-column table, --wide,
--help, --version; real data never labelled simulated, simulated data always."""

from __future__ import annotations

import io
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from sqlalchemy import Engine
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from core.clock import utcnow
from core.settings import Settings
from spotsel.cli import app
from spotsel.commands import rank as rank_command
from spotsel.commands.demo import DEMO_REQUEST
from spotsel.state import AppState
from tests.real_store import REAL_SOURCES, load_real_store

runner = CliRunner()
WIDTH = 100
# The demo's request (spotsel demo ranks it) as rank flags.
DEMO_FLAGS = [
    "--gpus", str(DEMO_REQUEST["gpus"]), "--gpu-memory", str(DEMO_REQUEST["gpu_memory_gib"]),
    "--arch", DEMO_REQUEST["arch"], "--regions", ",".join(DEMO_REQUEST["regions"]),
    "--nodes", str(DEMO_REQUEST["nodes"]), "--top", str(DEMO_REQUEST["top"]),
]  # fmt: skip
# A CPU request the real data (us-east-1 a1 / c-family specs, 2022 prices) can answer.
REAL_FLAGS = ["--vcpus", "2:8", "--regions", "us-east-1"]


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def _table(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str, width: int = WIDTH
) -> list[str]:
    """`spotsel rank ARGS` printed on a terminal `width` columns wide, as plain lines."""
    screen = io.StringIO()
    console = Console(file=screen, width=width, color_system=None, highlight=False)
    monkeypatch.setattr(rank_command, "out", console)
    result = _invoke(settings, "rank", *args)
    assert result.exit_code == 0, result.output
    return screen.getvalue().splitlines()


def _json(settings: Settings, *args: str) -> tuple[dict[str, Any], str]:
    result = _invoke(settings, "rank", *args, "--output", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stdout


@pytest.fixture
def sim_store(engine: Engine, settings: Settings) -> Settings:
    """The simulated market, collected this hour (so rank's real clock finds fresh prices)."""
    assert _invoke(settings, "collect", "sim", "--seed", "3").exit_code == 0
    return settings


@pytest.fixture
def real_store(engine: Engine, settings: Settings, shared_data: Path) -> Settings:
    assert load_real_store(engine, settings, shared_data, now=utcnow()) > 50
    return settings


# --- the table a person reads ------------------------------------------------------------------


def test_the_demo_request_reads_at_100_columns(
    sim_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _table(sim_store, monkeypatch, *DEMO_FLAGS)
    too_wide = [line for line in lines if cell_len(line) > WIDTH]
    assert not too_wide, too_wide
    assert lines[0].startswith("SIMULATED DATA: "), "the label is the first line"
    text = "\n".join(lines)
    assert "x86_64" in text, "arch is shown (shared by every row: in the caption)"
    assert "cap." not in text, "capacity type and capacity score are not both 'cap'"
    header = next(line for line in lines if line.lstrip().startswith("#"))
    assert "capacity" in header
    assert "…" not in text, "no cell is cut short"
    rows = [line for line in lines if line.strip()[:2].strip().isdigit() and "use1-" in line]
    assert len(rows) == DEMO_REQUEST["top"]
    assert any(line.startswith("Order: ") for line in lines), "the ordering rule is stated"
    assert any(line.startswith("Signal ages") for line in lines), "signal ages are explained"
    assert any(line.startswith("Columns: ") for line in lines)


def test_wide_shows_every_field(sim_store: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _table(sim_store, monkeypatch, *DEMO_FLAGS, "--wide")
    header = " ".join(lines[:12])
    for column in ("region", "arch", "market", "saves", "λ 90% interval", "flags", "sources"):
        assert column in header, column
    assert lines[0].startswith("SIMULATED DATA: ")
    assert any("sim as aws-advisor" in line for line in lines), "hazard source and kind"


def test_rank_json_of_simulated_data_says_so_at_the_top(sim_store: Settings) -> None:
    doc, _ = _json(sim_store, *DEMO_FLAGS)
    assert list(doc)[:2] == ["simulated", "sources"]
    assert doc["simulated"] is True
    assert doc["sources"] == ["sim"]
    assert doc["pools"]
    for pool in doc["pools"]:
        assert pool["simulated"] is True
        assert pool["hazard"]["source"] in {"sim", "default"}, "never aws-advisor for sim data"


# --- real data: no simulated label anywhere -----------------------------------------------------


def test_real_data_carries_no_simulated_label(
    real_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, raw = _json(real_store, *REAL_FLAGS)
    assert doc["pools"], "the real data answers the request"
    assert doc["simulated"] is False
    assert set(doc["sources"]) <= REAL_SOURCES
    assert '"sim"' not in raw
    assert all(not p["simulated"] for p in doc["pools"])
    assert {p["hazard"]["source"] for p in doc["pools"] if p["capacity_type"] == "spot"} == {
        "aws-advisor"
    }
    lines = _table(real_store, monkeypatch, *REAL_FLAGS)
    assert not any("SIMULATED" in line for line in lines)
    assert not any(cell_len(line) > WIDTH for line in lines)


def test_simulated_data_joins_real_data_only_on_request(
    real_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _invoke(real_store, "collect", "sim", "--seed", "3").exit_code == 0
    doc, raw = _json(real_store, *REAL_FLAGS)
    assert doc["simulated"] is False, "by default, real pools only"
    assert '"sim"' not in raw.replace('"simulated"', "")
    assert doc["simulated_excluded"] > 0
    assert "simulated" in {e["code"] for e in doc["exclusions"]}
    lines = _table(real_store, monkeypatch, *REAL_FLAGS)
    assert lines[0].startswith("Real data only: "), "says so at the top"
    mixed, _ = _json(real_store, *REAL_FLAGS, "--data", "any")
    assert mixed["simulated"] is True
    assert "sim" in mixed["sources"]


# --- flags ---------------------------------------------------------------------------------------


def test_every_rank_flag_documents_its_default() -> None:
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    undocumented = [
        param.opts[0]
        for param in group.commands["rank"].params
        if "(default" not in (getattr(param, "help", None) or "")
    ]
    assert not undocumented, undocumented


def test_version_comes_from_the_package_metadata() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"spotsel {version('spotsel')}"
