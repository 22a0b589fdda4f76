"""`spotsel rank --on-demand-discounts` end to end, over SPOTSEL_ON_DEMAND_DISCOUNTS: the flag
and the setting meet rule by rule, every pool shows list and discounted prices, the table says
so in 100 columns, a bad rule is one line naming the field."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from sqlalchemy import Engine
from typer.testing import CliRunner

from core.settings import Settings
from selector import RequirementsError
from spotsel.cli import app
from spotsel.commands import rank as rank_command
from spotsel.commands.demo import DEMO_REQUEST
from spotsel.state import AppState

runner = CliRunner()
FLAGS = [
    "--gpus", str(DEMO_REQUEST["gpus"]), "--gpu-memory", str(DEMO_REQUEST["gpu_memory_gib"]),
    "--regions", ",".join(DEMO_REQUEST["regions"]), "--top", "12",
]  # fmt: skip


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings))


@pytest.fixture
def sim_store(engine: Engine, settings: Settings) -> Settings:
    """The simulated market collected this hour, and a deployment default of 10 % off AWS."""
    result = runner.invoke(app, ["collect", "sim", "--seed", "3"], obj=AppState(settings=settings))
    assert result.exit_code == 0, result.output
    return settings.model_copy(update={"on_demand_discounts": {"aws": 0.1}})


def test_the_flag_is_laid_over_the_setting_rule_by_rule(sim_store: Settings) -> None:
    result = _invoke(
        sim_store, "rank", *FLAGS, "--on-demand-discounts", "aws/g5=0.4", "--output", "json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["requirements"]["on_demand_discounts"] == {"aws": 0.1, "aws/g5": 0.4}
    priced = [p for p in doc["pools"] if p["on_demand_list_price"] is not None]
    assert priced, "the sim market has on-demand prices"
    for pool in priced:
        expected = 0.4 if pool["family"] == "g5" else 0.1
        assert pool["on_demand_discount"] == expected, pool["instance_type"]
        assert pool["on_demand_price"] == pytest.approx(
            pool["on_demand_list_price"] * (1 - expected)
        )
        assert pool["savings"] == pytest.approx(1 - pool["price"] / pool["on_demand_price"])
    verdict = doc["verdict"]
    assert verdict["best_on_demand_price"] == pytest.approx(
        verdict["best_on_demand_list_price"] * (1 - verdict["on_demand_discount"])
    )
    assert f"{verdict['on_demand_discount']:.0%} discount" in verdict["message"]


def test_without_the_flag_the_setting_applies(sim_store: Settings) -> None:
    result = _invoke(sim_store, "rank", *FLAGS, "--output", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["requirements"]["on_demand_discounts"] == {"aws": 0.1}
    assert {p["on_demand_discount"] for p in doc["pools"] if p["on_demand_list_price"]} == {0.1}


def test_the_table_shows_list_and_your_price_in_100_columns(
    sim_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        rank_command, "out", Console(file=screen, width=100, color_system=None, highlight=False)
    )
    result = _invoke(sim_store, "rank", *FLAGS, "--on-demand-discounts", "aws/g5=0.4")
    assert result.exit_code == 0, result.output
    lines = screen.getvalue().splitlines()
    assert not [line for line in lines if cell_len(line) > 100]
    text = " ".join(lines)
    assert "On-demand at your price, list × (1 − discount): aws 10% off, aws/g5 40% off" in text
    assert "→" in text, "list → discounted price of a shown type"


def test_wide_shows_the_list_price_beside_the_discounted_one(
    sim_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        rank_command, "out", Console(file=screen, width=100, color_system=None, highlight=False)
    )
    result = _invoke(sim_store, "rank", *FLAGS, "--wide")
    assert result.exit_code == 0, result.output
    assert "(list " in screen.getvalue()
    assert "−10%)" in screen.getvalue()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("aws=1.2", "0 <= x < 1"),
        ("aws/us-east-1=0.2", "aws/us-east-1/*"),
        ("azur=0.2", "is not one of"),
    ],
)
def test_a_bad_rule_is_one_line_naming_the_field(
    sim_store: Settings, value: str, says: str
) -> None:
    result = _invoke(sim_store, "rank", *FLAGS, "--on-demand-discounts", value)
    # The CLI's entry point prints a SpotselError as one line and exits 1
    # (tests/spotsel/test_bad_input.py runs the installed command on such a rule).
    assert isinstance(result.exception, RequirementsError)
    assert result.exception.field == "on_demand_discounts"
    assert says in str(result.exception)
    assert "\n" not in str(result.exception)
    assert result.stdout == "", "nothing ranked, nothing printed"
