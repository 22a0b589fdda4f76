"""Hazard: bucket conversions, uncertainty, and the Gamma-Poisson fleet update."""

from __future__ import annotations

import math

import pytest

from selector import SignalError, estimate_hazard, parse_requirements
from selector.cost import lost_hours
from selector.hazard import (
    AWS_ADVISOR_BUCKETS,
    AZURE_EVICTION_BUCKETS,
    AZURE_EXPOSURE_HOURS,
    BUCKET_EXPOSURE_HOURS,
    FINAL_CHECKPOINT_WINDOW_SECONDS,
    NOTICE_SECONDS,
    PRIOR_SHAPE,
)
from selector.outputs.profile import checkpoint_deadline, max_grace_seconds


def test_advisor_bucket_uses_midpoint_over_named_exposure() -> None:
    h = estimate_hazard("aws-advisor", "10-15%")
    assert h.rate == pytest.approx(-math.log(1 - 0.125) / BUCKET_EXPOSURE_HOURS)
    assert h.low == pytest.approx(-math.log(1 - 0.10) / BUCKET_EXPOSURE_HOURS)
    assert h.high == pytest.approx(-math.log(1 - 0.15) / BUCKET_EXPOSURE_HOURS)
    assert not h.fleet_updated


@pytest.mark.parametrize(
    ("source", "labels"),
    [
        pytest.param("aws-advisor", list(AWS_ADVISOR_BUCKETS), id="aws buckets ordered"),
        pytest.param("azure-eviction", list(AZURE_EVICTION_BUCKETS), id="azure buckets ordered"),
    ],
)
def test_worse_bucket_means_higher_hazard(source: str, labels: list[str]) -> None:
    rates = [estimate_hazard(source, label).rate for label in labels]
    assert rates == sorted(rates)
    assert len(set(rates)) == len(rates)


def test_azure_bucket_is_a_chance_within_one_hour() -> None:
    # Azure documents its eviction rate as the chance of eviction within the next hour
    # (AZURE_EXPOSURE_HOURS): the same range over that period, not over AWS's fitted exposure.
    h = estimate_hazard("azure-eviction", "5-10")
    assert AZURE_EXPOSURE_HOURS == 1.0
    assert h.rate == pytest.approx(-math.log(1 - 0.075))
    assert h.low == pytest.approx(-math.log(1 - 0.05))
    assert h.high == pytest.approx(-math.log(1 - 0.10))


def test_azure_hour_is_milder_than_the_same_aws_range() -> None:
    # An hourly 5-10 % accrues over longer than AWS's 0.61 h exposure, so it is a lower λ.
    azure = estimate_hazard("azure-eviction", "5-10").rate
    aws = estimate_hazard("aws-advisor", "5-10%").rate
    assert azure == pytest.approx(aws * BUCKET_EXPOSURE_HOURS / AZURE_EXPOSURE_HOURS)
    assert azure < aws


def test_gcp_fraction_is_converted_with_relative_uncertainty() -> None:
    h = estimate_hazard("gcp-capacity-history", None, 0.1)
    assert h.rate == pytest.approx(-math.log(0.9) / BUCKET_EXPOSURE_HOURS)
    assert h.low < h.rate < h.high


def test_unknown_signal_is_conservative_and_wide() -> None:
    unknown = estimate_hazard(None, None)
    worst = estimate_hazard("aws-advisor", ">20%")
    assert unknown.source == "default"
    assert unknown.rate >= worst.rate
    assert unknown.low == 0.0
    assert unknown.high >= worst.high


@pytest.mark.parametrize(
    ("source", "label", "value"),
    [
        pytest.param("aws-advisor", "25%", None, id="unknown aws label"),
        pytest.param("azure-eviction", "<5%", None, id="aws label given to azure"),
        pytest.param("gcp-capacity-history", None, 1.5, id="gcp fraction above 1"),
        pytest.param("gcp-capacity-history", None, None, id="gcp without value"),
        pytest.param("oracle-advisor", "x", None, id="unknown source"),
    ],
)
def test_uninterpretable_signals_raise(source: str, label: str | None, value: float | None) -> None:
    with pytest.raises(SignalError):
        estimate_hazard(source, label, value)


def test_fleet_update_is_the_gamma_poisson_posterior_mean() -> None:
    prior = estimate_hazard("aws-advisor", "<5%")
    post = estimate_hazard("aws-advisor", "<5%", interruptions=5, instance_hours=100.0)
    beta = PRIOR_SHAPE / prior.rate
    assert post.rate == pytest.approx((PRIOR_SHAPE + 5) / (beta + 100.0))
    assert post.fleet_updated
    assert post.low <= post.rate <= post.high


@pytest.mark.parametrize(
    ("multiple", "hours", "direction"),
    [
        pytest.param(0.0, 2000.0, -1, id="long quiet fleet history lowers the hazard"),
        pytest.param(3.0, 200.0, +1, id="interruptions at 3x the prior's rate raise it"),
    ],
)
def test_evidence_moves_the_estimate(multiple: float, hours: float, direction: int) -> None:
    prior = estimate_hazard("aws-advisor", "10-15%").rate
    k = math.ceil(multiple * prior * hours)
    post = estimate_hazard("aws-advisor", "10-15%", interruptions=k, instance_hours=hours).rate
    assert (post - prior) * direction > 0


def test_evidence_eventually_outweighs_the_bucket() -> None:
    # 10 interruptions in 1000 h is 0.01/h whatever the bucket said.
    a = estimate_hazard("aws-advisor", "<5%", interruptions=100, instance_hours=10_000.0)
    b = estimate_hazard("aws-advisor", ">20%", interruptions=100, instance_hours=10_000.0)
    assert a.rate == pytest.approx(0.01, rel=0.05)
    assert b.rate == pytest.approx(0.01, rel=0.05)
    assert b.high - b.low < estimate_hazard("aws-advisor", ">20%").high


def test_negative_evidence_is_rejected() -> None:
    with pytest.raises(SignalError):
        estimate_hazard("aws-advisor", "<5%", interruptions=-1, instance_hours=1.0)


@pytest.mark.parametrize("cloud", sorted(NOTICE_SECONDS))
def test_cost_and_outputs_share_one_final_checkpoint_window(cloud: str) -> None:
    # The preStop hook's deadline is the window the cost model assumes a checkpoint can use.
    window = FINAL_CHECKPOINT_WINDOW_SECONDS[cloud]
    assert checkpoint_deadline(max_grace_seconds(cloud)) == window
    assert window < NOTICE_SECONDS[cloud]


def test_a_checkpoint_longer_than_the_window_but_inside_the_notice_loses_work() -> None:
    # Fits the bare 120 s notice but not what is left after the drain and exit margin.
    seconds = (FINAL_CHECKPOINT_WINDOW_SECONDS["aws"] + NOTICE_SECONDS["aws"]) / 2
    fits = parse_requirements({"final_checkpoint_seconds": FINAL_CHECKPOINT_WINDOW_SECONDS["aws"]})
    misses = parse_requirements({"final_checkpoint_seconds": seconds})
    assert lost_hours("aws", fits) == pytest.approx(fits.restart_overhead_minutes / 60)
    assert lost_hours("aws", misses) == pytest.approx(
        (misses.restart_overhead_minutes + misses.checkpoint_interval_minutes / 2) / 60
    )
