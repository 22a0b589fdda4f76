"""bench/zone_signals.py: the fit functions on arrays with known answers, then on the real data.

The real-data tests rerun the fit on ../shared/data and check selector/capacity.py's zone
constants against it, so a constant that drifts from the data fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import zone_signals as zs
from selector import capacity

needs_data = pytest.mark.skipif(not zs.SPOTLAKE.exists(), reason="no ../shared/data")


def _f(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# --- known answers --------------------------------------------------------------------------


def test_group_codes_number_keys_in_order_of_first_appearance() -> None:
    assert zs.group_codes(["b", "a", "b", "c", "a"]).tolist() == [0, 1, 0, 2, 1]


@pytest.mark.parametrize(
    ("prices", "groups", "expected"),
    [
        pytest.param([1, 2, 3], [0, 0, 0], [0.5, 1.0, 1.5], id="odd group: the middle price"),
        pytest.param([1, 3], [0, 0], [0.5, 1.5], id="even group: mean of the two middle"),
        pytest.param([4, 2, 8], [0, 1, 1], [math.nan, 0.4, 1.6], id="one member: no ratio"),
        pytest.param([3, 9, 1, 5], [1, 0, 1, 0], [1.5, 1.2857142857, 0.5, 0.7142857143],
                     id="interleaved groups"),
    ],
)  # fmt: skip
def test_ratio_to_group_median(
    prices: list[float], groups: list[int], expected: list[float]
) -> None:
    got = zs.ratio_to_group_median(_f(prices), np.array(groups))
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_demean_within_removes_each_groups_mean() -> None:
    got = zs.demean_within(_f([1, 3, 10, 20, 30]), np.array([0, 0, 1, 1, 1]))
    np.testing.assert_allclose(got, [-1, 1, -10, 0, 10])


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        pytest.param([1, 2, 3, 4], [10, 20, 30, 40], 1.0, id="monotone up"),
        pytest.param([1, 2, 3, 4], [9, 7, 5, 1], -1.0, id="monotone down"),
        pytest.param([1, 2, 3, 4], [1, 4, 9, 16], 1.0, id="ranks, not values"),
        # ranks x 0,1,2,3; y ties at 1 -> ranks 0.5,0.5,2,3: Pearson of the ranks = 0.9486833
        pytest.param([1, 2, 3, 4], [5, 5, 6, 7], 0.9486832981, id="ties share their rank"),
    ],
)
def test_spearman(x: list[float], y: list[float], expected: float) -> None:
    assert zs.spearman(_f(x), _f(y)) == pytest.approx(expected)


def test_spearman_of_a_constant_is_undefined() -> None:
    assert math.isnan(zs.spearman(_f([1, 2, 3]), _f([2, 2, 2])))


def test_hinge_is_the_log_premium_above_the_threshold() -> None:
    got = zs.hinge(_f([0.5, 1.0, 1.25, 2.5]), 1.25)
    np.testing.assert_allclose(got, [0.0, 0.0, 0.0, math.log(2.0)])


def test_within_slope_ignores_each_groups_level() -> None:
    # y = level(group) - 0.3 x: the levels differ wildly, the slope within groups is -0.3.
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    x = _f([0, 1, 2, 0, 5, 1, 1, 3])
    levels = _f([10, -40, 7])[groups]
    y = levels - 0.3 * x
    assert zs.within_slope(x, y, groups) == pytest.approx(-0.3)
    assert zs.within_r2(x, y, groups) == pytest.approx(1.0)
    # A pooled fit would be fooled by the levels; the within fit is not.
    assert np.polyfit(x, y, 1)[0] != pytest.approx(-0.3, abs=0.05)


def test_within_slope_without_spread_in_x_is_undefined() -> None:
    groups = np.array([0, 0, 1, 1])
    assert math.isnan(zs.within_slope(_f([1, 1, 2, 2]), _f([1, 2, 3, 4]), groups))


def test_bootstrap_interval_holds_the_true_slope_and_shrinks_without_noise() -> None:
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(300), 3)
    x = rng.uniform(0, 1, groups.size)
    y = rng.normal(0, 5, 300)[groups] - 0.5 * x
    exact = zs.bootstrap_slope(x, y, groups, reps=300)
    assert exact == pytest.approx((-0.5, -0.5))
    noisy = y + rng.normal(0, 0.2, y.size)
    lo, hi = zs.bootstrap_slope(x, noisy, groups, reps=500)
    assert lo < -0.5 < hi
    assert hi - lo < 0.2


def test_binned_means_skip_empty_bins() -> None:
    got = zs.binned_means(_f([0.5, 0.7, 1.5, 3.0]), _f([1, 3, 5, 7]), (0.0, 1.0, 2.0, 2.5, 4.0))
    assert got == [(0.0, 1.0, 2, 2.0), (1.0, 2.0, 1, 5.0), (2.5, 4.0, 1, 7.0)]


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        pytest.param([0.2], 0.0, id="one price: still"),
        pytest.param([1.0, 3.0], 0.5, id="std 1 over mean 2"),
        pytest.param([2.0, 2.0, 2.0], 0.0, id="no move"),
    ],
)
def test_coefficient_of_variation(prices: list[float], expected: float) -> None:
    assert zs.coefficient_of_variation(prices) == pytest.approx(expected)


def test_relative_steps() -> None:
    np.testing.assert_allclose(zs.relative_steps([1.0, 1.1, 0.99]), [0.1, 0.1])


# --- the real data --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spotlake() -> zs.Zones:
    return zs.load_spotlake_2022()


@needs_data
def test_the_premium_constants_are_the_fit(
    spotlake: zs.Zones, capsys: pytest.CaptureFixture[str]
) -> None:
    threshold, beta, interval = zs.report_price_ratio(spotlake, reps=2000)
    chosen = zs.report_out_of_sample(zs.load_spotlake_2023(), threshold, beta, interval, 2000)
    assert threshold == capacity.ZONE_PREMIUM_THRESHOLD
    assert chosen == pytest.approx(capacity.ZONE_PREMIUM_PENALTY, abs=0.005)
    assert interval[0] <= capacity.ZONE_PREMIUM_PENALTY <= interval[1]
    assert "chosen: threshold 1.25" in capsys.readouterr().out


@needs_data
def test_the_volatility_weight_is_the_fit(spotlake: zs.Zones) -> None:
    weight = zs.report_volatility(spotlake, zs.load_dump_series(), reps=2000)
    assert weight == pytest.approx(capacity.VOLATILITY_PENALTY, abs=1e-9)


@needs_data
def test_the_interruption_bucket_is_the_same_in_every_zone_of_a_type(spotlake: zs.Zones) -> None:
    """Why the zone signals come from prices: the advisor bucket never differs within a type."""
    ratio = spotlake.ratio
    ok = ~np.isnan(ratio)
    groups = zs.group_codes(spotlake.group[ok].tolist())
    spread = zs.demean_within(spotlake.interruption[ok], groups)
    assert groups.max() > 5000
    assert np.abs(spread).max() == 0.0
