"""One vocabulary: every `Requirements` field is a `spotsel rank` flag and a REST body field, and
every flag reaches its field, so the CLI, the REST body and the profile YAML cannot drift apart.
(Profile YAML goes through `parse_requirements` as it is, so it speaks the fields by definition.)
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from api.schemas import RecommendationRequest
from core.settings import Settings
from selector import Requirements, parse_requirements
from spotsel.cli import app
from spotsel.commands import rank as rank_command
from spotsel.state import AppState

runner = CliRunner()
FIELDS = frozenset(f.name for f in fields(Requirements))
# Requirements fields deliberately without a `spotsel rank` flag: field -> why. None today.
NO_FLAG: dict[str, str] = {}

# A value for every field, unlike its default, in profile-YAML form (field -> why this value).
NON_DEFAULT: dict[str, tuple[Any, str]] = {
    "vcpus": ("4:16", "a range, as text"),
    "memory_gib": ("16:", "an open range"),
    "gpus": (2, "an int"),
    "gpu_memory_gib": (20.0, "--gpu-memory, the one flag spelled unlike its field"),
    "gpu_models": (["A10G", "L4"], "a comma list"),
    "arch": ("arm64", "a choice"),
    "clouds": (["aws", "gcp"], "a list of choices"),
    "regions": (["us-east-1", "us-west-2"], "a list"),
    "capacity_types": (["spot"], "default is both"),
    "nodes": (6, "default 1"),
    "max_price": (3.5, "default none"),
    "strategy": ("price-capacity", "default effective-cost"),
    "cost_tie_band": (0.1, "a fraction with default 0.05"),
    "top": (7, "an int with a default"),
    "checkpoint_interval_minutes": (45.0, "workload trait"),
    "final_checkpoint_seconds": (90.0, "workload trait"),
    "restart_overhead_minutes": (4.0, "workload trait"),
    "min_instance_types": (5, "diversification"),
    "max_share_per_type": (0.25, "a share"),
    "max_share_per_family": (0.75, "a share with default 1"),
    "max_share_per_zone": (0.4, "a share"),
    "min_zones": (2, "diversification"),
    "max_price_age_hours": (12.0, "was missing from the CLI"),
    "data": ("any", "simulated and real never mix unless asked"),
    "on_demand_discounts": ("aws=0.2,aws/p5=0.45", "rules as one text, as the flag takes them"),
}


def _rank_params() -> dict[str, Any]:
    """The parameters of the `rank` command as click parsed them from the typer declaration."""
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    command = group.commands["rank"]
    return {p.name: p for p in command.params if p.name is not None}


def _flags_by_field() -> dict[str, Any]:
    return {
        rank_command.FLAG_FIELDS.get(name, name): param
        for name, param in _rank_params().items()
        if name not in rank_command.NOT_REQUIREMENTS
    }


def test_every_requirements_field_has_a_rank_flag() -> None:
    missing = sorted(FIELDS - _flags_by_field().keys() - NO_FLAG.keys())
    assert not missing, f"Requirements fields without a `spotsel rank` flag: {missing}"


def test_every_rank_flag_sets_a_requirements_field() -> None:
    orphans = sorted(_flags_by_field().keys() - FIELDS)
    assert not orphans, f"`spotsel rank` flags that are no Requirements field: {orphans}"


def test_the_exceptions_are_fields_without_a_flag() -> None:
    assert NO_FLAG.keys() <= FIELDS
    assert not NO_FLAG.keys() & _flags_by_field().keys(), "an exception that has a flag after all"


def test_max_price_age_hours_is_a_flag() -> None:
    assert "--max-price-age-hours" in _flags_by_field()["max_price_age_hours"].opts


def test_every_requirements_field_is_in_the_rest_body() -> None:
    assert set(RecommendationRequest.model_fields) == FIELDS


def test_the_table_below_covers_every_field_with_a_non_default_value() -> None:
    assert NON_DEFAULT.keys() == FIELDS, "add the new field to NON_DEFAULT"
    default = Requirements()
    for field, (value, why) in NON_DEFAULT.items():
        parsed = getattr(parse_requirements({field: value}), field)
        assert parsed != getattr(default, field), (field, why)


class _Ranked(Exception):
    def __init__(self, requirements: Requirements) -> None:
        self.requirements = requirements


def test_every_flag_reaches_its_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def capture(_index: object, requirements: Requirements, *, now: object) -> None:
        raise _Ranked(requirements)

    monkeypatch.setattr(rank_command, "load_pools", lambda _state, **_kw: _Loaded())
    monkeypatch.setattr(rank_command, "rank", capture)
    flags = _flags_by_field()
    args = ["rank"]
    for field, (value, _) in NON_DEFAULT.items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        args += [flags[field].opts[0], text]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", data_dir=tmp_path)
    with pytest.raises(_Ranked) as ranked:
        runner.invoke(app, args, obj=AppState(settings=settings), catch_exceptions=False)
    expected = parse_requirements({field: value for field, (value, _) in NON_DEFAULT.items()})
    assert ranked.value.requirements == expected


class _Loaded:
    index = None
    now = None
