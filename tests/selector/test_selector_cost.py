"""Effective cost per useful hour and the spot-versus-on-demand verdict."""

from __future__ import annotations

import numpy as np
import pytest

from selector import PoolKey, parse_requirements
from selector.cost import MIN_USEFUL_FRACTION, lost_hours, spot_verdict, useful_fraction
from selector.hazard import FINAL_CHECKPOINT_WINDOW_SECONDS, NOTICE_SECONDS

KEY = PoolKey("aws", "us-east-1", "use1-az1", "g5.xlarge")
OD_KEY = PoolKey("aws", "us-east-1", "use1-az1", "g4dn.xlarge")


WINDOW = FINAL_CHECKPOINT_WINDOW_SECONDS  # notice - drain delay - exit margin, per cloud


@pytest.mark.parametrize(
    ("cloud", "final_s", "expected_h"),
    [
        pytest.param("aws", 60, 10 / 60, id="60 s checkpoint fits AWS's window: restart only"),
        pytest.param("gcp", 60, 10 / 60 + 0.25, id="60 s misses GCP's window: + half an interval"),
        pytest.param("aws", WINDOW["aws"], 10 / 60, id="exactly AWS's window still fits"),
        pytest.param("aws", WINDOW["aws"] + 1, 10 / 60 + 0.25, id="one second over AWS window"),
        pytest.param(
            "aws", NOTICE_SECONDS["aws"], 10 / 60 + 0.25, id="the bare notice is not usable"
        ),
        pytest.param(
            "unknown",
            min(WINDOW.values()) + 1,
            10 / 60 + 0.25,
            id="unknown cloud: shortest window assumed",
        ),
    ],
)
def test_lost_hours_uses_the_clouds_notice_window(
    cloud: str, final_s: float, expected_h: float
) -> None:
    req = parse_requirements(
        {
            "restart_overhead_minutes": 10,
            "checkpoint_interval_minutes": 30,
            "final_checkpoint_seconds": final_s,
        }
    )
    assert lost_hours(cloud, req) == pytest.approx(expected_h)


def test_useful_fraction_is_floored() -> None:
    u = useful_fraction(np.array([0.0, 0.1, 100.0]), np.array([1.0, 1.0, 1.0]))
    assert u.tolist() == pytest.approx([1.0, 0.9, MIN_USEFUL_FRACTION])


def test_verdict_spot_pays_off_with_break_even_hazard() -> None:
    v = spot_verdict(spot=(KEY, 0.3, 0.33, 0.1, 0.5), on_demand=(OD_KEY, 1.0))
    assert v.spot_pays_off is True
    assert v.savings_fraction == pytest.approx(0.67)
    # price / (1 - λ*·L) = od  ->  λ* = (1 - 0.3) / 0.5
    assert v.break_even_hazard == pytest.approx(1.4)
    assert "pays off" in v.message


def test_verdict_spot_does_not_pay_off() -> None:
    v = spot_verdict(spot=(KEY, 0.9, 1.2, 1.0, 0.5), on_demand=(OD_KEY, 1.0))
    assert v.spot_pays_off is False
    assert v.savings_fraction is not None
    assert v.savings_fraction < 0
    assert "on-demand" in v.message


def test_verdict_unknown_without_on_demand_price() -> None:
    v = spot_verdict(spot=(KEY, 0.3, 0.33, 0.1, 0.5), on_demand=None)
    assert v.spot_pays_off is None
    assert "on-demand" in v.message
    assert v.to_dict()["best_spot_pool"] == KEY.to_dict()
