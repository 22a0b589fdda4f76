"""`spotsel rank` over the real us-east-1 store: the zone signals in --wide and JSON, the
no-zone-signal explanation under the table, and --cost-tie-band reaching the answer."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine
from typer.testing import CliRunner

from core.clock import utcnow
from core.settings import Settings
from selector import RequirementsError
from spotsel.cli import app
from spotsel.commands import rank as rank_command
from spotsel.state import AppState
from tests.real_store import load_real_store

runner = CliRunner()
# Just after the price dump ends: its changes are the trailing week's volatility.
AS_OF = datetime(2022, 6, 1, tzinfo=UTC)
FLAGS = (
    "--regions", "us-east-1", "--capacity-types", "spot", "--top", "60",
    "--min-instance-types", "1", "--max-share-per-type", "1", "--max-share-per-zone", "1",
    "--max-price-age-hours", "48", "--as-of", AS_OF.isoformat(),
)  # fmt: skip


@pytest.fixture
def real_store(engine: Engine, settings: Settings, shared_data: Path) -> Settings:
    assert load_real_store(engine, settings, shared_data, now=AS_OF) > 50
    return settings


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def _json(settings: Settings, *args: str) -> dict[str, Any]:
    result = _invoke(settings, "rank", *FLAGS, *args, "--output", "json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def _lines(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    screen = io.StringIO()
    console = Console(file=screen, width=400, color_system=None, highlight=False)
    monkeypatch.setattr(rank_command, "out", console)
    result = _invoke(settings, "rank", *FLAGS, *args)
    assert result.exit_code == 0, result.output
    return screen.getvalue().splitlines()


def test_json_carries_the_zone_signals_and_the_tie_band(real_store: Settings) -> None:
    body = _json(real_store, "--cost-tie-band", "0.2")
    assert body["requirements"]["cost_tie_band"] == 0.2
    pools = body["pools"]
    assert all("zone_price_ratio" in p for p in pools)
    compared = [p for p in pools if p["zone_price_ratio"] is not None]
    assert compared, "types priced in several zones"
    assert any("no-zone-signal" in p["flags"] for p in pools)
    assert all("no-zone-signal" in p["flags"] for p in pools if p["zone_price_ratio"] is None)


@pytest.fixture
def advised_store(engine: Engine, settings: Settings, shared_data: Path) -> Settings:
    """The same store confirmed now, when the 2025 advisor buckets are in force: λ differs."""
    assert load_real_store(engine, settings, shared_data, now=utcnow()) > 50
    return settings


def test_widening_the_tie_band_reorders_the_answer(advised_store: Settings) -> None:
    def order(*args: str) -> list[tuple[str, str]]:
        result = _invoke(
            advised_store, "rank", *FLAGS[:-2], "--top", "200", *args, "--output", "json"
        )
        assert result.exit_code == 0, result.output
        pools = json.loads(result.stdout)["pools"]
        assert len({p["hazard"]["rate_per_hour"] for p in pools}) > 1, "buckets differ"
        return [(p["zone_id"], p["instance_type"]) for p in pools]

    narrow, wide = order(), order("--cost-tie-band", "1")
    assert sorted(narrow) == sorted(wide)
    assert narrow != wide


def test_wide_shows_the_zone_signals(real_store: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(real_store, monkeypatch, "--wide")
    header = " ".join(lines[:12])
    assert "zone $ vs type" in header
    assert "7d price CV" in header
    rows = [line for line in lines if "use1-" in line]
    assert any("×" in row for row in rows), "a zone price ratio such as 0.992×"


def test_the_table_explains_no_zone_signal(
    real_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _lines(real_store, monkeypatch)
    [line] = [line for line in lines if line.startswith("Flag no-zone-signal")]
    assert "zone ID" in line


def test_a_bad_tie_band_is_refused_before_anything_is_ranked(real_store: Settings) -> None:
    """The entry point prints a RequirementsError as one line (tests/spotsel/test_bad_input.py)."""
    result = runner.invoke(
        app, ["rank", *FLAGS, "--cost-tie-band", "1.5"], obj=AppState(settings=real_store)
    )
    assert isinstance(result.exception, RequirementsError)
    message = str(result.exception)
    assert message.startswith("cost_tie_band")
    assert "<= 1" in message
    assert "\n" not in message
    assert result.stdout == ""
