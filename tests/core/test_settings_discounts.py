"""SPOTSEL_ON_DEMAND_DISCOUNTS: the deployment's default on-demand discounts, in both forms the
flag takes; a bad rule is one ConfigError naming the variable."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import load_settings


def test_the_setting_takes_both_forms_and_refuses_a_bad_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for text in ('{"aws": 0.2, "aws/p5": 0.45}', "aws=0.2,aws/*/P5=0.45"):
        monkeypatch.setenv("SPOTSEL_ON_DEMAND_DISCOUNTS", text)
        settings = load_settings()
        assert settings.on_demand_discounts == {"aws": 0.2, "aws/p5": 0.45}
        assert settings.discounts.discount_for("aws", "us-east-1", "p5") == 0.45
    monkeypatch.setenv("SPOTSEL_ON_DEMAND_DISCOUNTS", "aws=1")
    with pytest.raises(ConfigError, match=r"SPOTSEL_ON_DEMAND_DISCOUNTS: aws: 1 is not a fraction"):
        load_settings()
    monkeypatch.delenv("SPOTSEL_ON_DEMAND_DISCOUNTS")
    assert not load_settings().discounts, "default: list prices"
