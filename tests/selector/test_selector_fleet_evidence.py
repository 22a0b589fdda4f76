"""Fleet evidence made visible: the prior λ beside the posterior, the ICE memory and its TTL,
and the before → after notes every ranked pool carries."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from selector import PoolIndex, PoolRecord, RankedPool, parse_requirements, rank
from selector.capacity import (
    ICE_HALF_LIFE_HOURS,
    ICE_PENALTY_PER_EVENT,
    ICE_TTL_HOURS,
    ice_weight,
)
from selector.evidence import format_hours, format_rate
from selector.hazard import PRIOR_SHAPE, estimate_hazard
from tests.selector.factories import NOW, make_pool

REQ = parse_requirements({"gpus": 1, "regions": ["us-east-1"], "top": 5, "min_instance_types": 1})
T0 = NOW  # the clock of the ICE TTL test: errors happen at T0
SCORE = 0.8  # a fresh zonal score: capacity before errors is exactly this


def _only(records: list[PoolRecord], *, now: datetime = NOW) -> RankedPool:
    snapshot = PoolIndex.build(records, built_at=NOW)
    [pool] = [p for p in rank(snapshot, REQ, now=now).pools if p.capacity_type == "spot"]
    return pool


@pytest.mark.parametrize(
    ("label", "k", "hours"),
    [
        pytest.param(">20%", 3, 41.0, id="the issue's example: more interruptions than the bucket"),
        pytest.param("<5%", 0, 500.0, id="a quiet fleet lowers λ"),
        pytest.param("10-15%", 1, 2.5, id="little exposure: the prior still dominates"),
    ],
)
def test_fleet_interruptions_explained_with_prior_and_posterior(
    label: str, k: int, hours: float
) -> None:
    pool = _only(
        [make_pool(interruption_label=label, fleet_interruptions=k, fleet_instance_hours=hours)]
    )
    prior = estimate_hazard("aws-advisor", label).rate  # the bucket alone
    alpha = PRIOR_SHAPE
    posterior = (alpha + k) / (alpha / prior + hours)  # Gamma-Poisson, by hand
    assert pool.hazard_prior == pytest.approx(prior)
    assert pool.hazard.rate == pytest.approx(posterior)
    assert pool.fleet is not None
    assert (pool.fleet.prior_rate, pool.fleet.rate) == (pool.hazard_prior, pool.hazard.rate)
    assert "fleet-evidence" in pool.flags
    noun = "interruption" if k == 1 else "interruptions"
    expected = (
        f"{k} {noun} in {format_hours(hours)} instance-hours: "
        f"λ {format_rate(prior)} → {format_rate(posterior)}/h"
    )
    assert pool.fleet.notes == (expected,)
    assert (posterior > prior) == (k / hours > prior), "evidence pulls λ toward k / T"
    body = pool.to_dict()
    assert body["hazard_prior"] == pytest.approx(prior)
    assert body["fleet"]["notes"] == [expected]


def test_issue_example_numbers() -> None:
    """The issue's "3 interruptions in 41 instance-hours" reads as it should."""
    pool = _only(
        [make_pool(interruption_label=">20%", fleet_interruptions=3, fleet_instance_hours=41.0)]
    )
    assert pool.fleet is not None
    assert pool.fleet.notes[0].startswith("3 interruptions in 41 instance-hours: λ ")


def test_no_fleet_evidence_no_notes_but_the_prior_is_the_rate() -> None:
    pool = _only([make_pool()])
    assert pool.fleet is None
    assert pool.hazard_prior == pytest.approx(pool.hazard.rate)
    assert pool.to_dict()["fleet"] is None


def test_on_demand_offering_has_no_prior() -> None:
    req = parse_requirements({"gpus": 1, "regions": ["us-east-1"], "capacity_types": ["on-demand"]})
    snapshot = PoolIndex.build([make_pool(fleet_capacity_errors=2, fleet_at=NOW)], built_at=NOW)
    [pool] = rank(snapshot, req, now=NOW).pools
    assert pool.hazard_prior is None
    assert pool.fleet is not None
    assert pool.fleet.rate is None
    assert all("λ" not in note for note in pool.fleet.notes)


# --- the ICE memory ------------------------------------------------------------------------


def _ice_pool(errors: int, *, at: datetime) -> RankedPool:
    """A pool with `errors` ICE, the newest at T0, ranked at `at` (its price refreshed then,
    as the collectors do)."""
    record = make_pool(
        spot_price_at=at,
        capacity_score=SCORE,
        capacity_raw="8",
        capacity_at=T0,
        fleet_capacity_errors=errors,
        fleet_at=T0,
        fleet_capacity_error_at=T0,
    )
    return _only([record], now=at)


def test_ice_lowers_capacity_less_at_half_the_ttl_and_not_after_it() -> None:
    """Why: an ICE says the pool is dry now, less so hours later, and nothing past the TTL
    (the reader stops counting it then too)."""
    errors = 5
    at_t = _ice_pool(errors, at=T0)
    half = _ice_pool(errors, at=T0 + timedelta(hours=ICE_TTL_HOURS / 2))
    after = _ice_pool(errors, at=T0 + timedelta(hours=ICE_TTL_HOURS, minutes=1))
    fade = 0.5 ** (ICE_TTL_HOURS / 2 / ICE_HALF_LIFE_HOURS)
    assert at_t.capacity == pytest.approx(SCORE * ICE_PENALTY_PER_EVENT**errors)
    assert half.capacity == pytest.approx(SCORE * ICE_PENALTY_PER_EVENT ** (errors * fade))
    assert after.capacity == pytest.approx(SCORE)
    assert at_t.capacity < half.capacity < after.capacity
    assert "recent-capacity-errors" in at_t.flags
    assert "recent-capacity-errors" not in after.flags
    for pool in (at_t, half, after):
        assert pool.fleet is not None
        assert pool.fleet.capacity_before_errors == pytest.approx(SCORE)
    assert at_t.fleet is not None
    assert after.fleet is not None
    assert at_t.fleet.notes == (
        f"{errors} capacity errors in the last {ICE_TTL_HOURS:g} h (newest 0 h ago): "
        f"capacity {SCORE:.2f} → {SCORE * ICE_PENALTY_PER_EVENT**errors:.2f}",
    )
    assert "capacity unchanged" in after.fleet.notes[0]


def test_issue_capacity_example() -> None:
    """Two errors take a 0.80 pool to 0.39 while fresh: 0.8 × 0.7²."""
    pool = _ice_pool(2, at=T0)
    assert pool.fleet is not None
    assert pool.fleet.notes[0].endswith(
        f"capacity {SCORE:.2f} → {SCORE * ICE_PENALTY_PER_EVENT**2:.2f}"
    )


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(0.0, 4.0, id="fresh: full strength"),
        pytest.param(ICE_HALF_LIFE_HOURS, 2.0, id="one half-life: half"),
        pytest.param(
            ICE_TTL_HOURS, 4.0 * 0.5 ** (ICE_TTL_HOURS / ICE_HALF_LIFE_HOURS), id="at TTL"
        ),
        pytest.param(ICE_TTL_HOURS + 1e-6, 0.0, id="past the TTL: forgotten"),
        pytest.param(math.nan, 4.0, id="undated: still a warning"),
    ],
)
def test_ice_weight(age: float, expected: float) -> None:
    assert ice_weight(np.array([4.0]), np.array([age]))[0] == pytest.approx(expected)
