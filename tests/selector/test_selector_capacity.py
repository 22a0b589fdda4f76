"""Capacity: normalising placement scores and adjusting them for basis, age and ICEs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from selector import SignalError, normalise_placement
from selector.capacity import (
    AZURE_PLACEMENT,
    CAPACITY_TTL_HOURS,
    FLAG_ICE,
    FLAG_MISSING,
    FLAG_REGIONAL,
    FLAG_STALE,
    NEUTRAL_CAPACITY,
    REGIONAL_DISCOUNT,
    capacity_arrays,
)


@pytest.mark.parametrize(
    ("cloud", "raw", "expected"),
    [
        pytest.param("aws", 7, 0.7, id="aws 1-10 scaled by 10"),
        pytest.param("aws", "10", 1.0, id="aws string from the API"),
        pytest.param("azure", "High", AZURE_PLACEMENT["high"], id="azure level"),
        pytest.param("azure", "low", AZURE_PLACEMENT["low"], id="azure case-insensitive"),
        pytest.param("azure", "DataNotFoundOrStale", None, id="azure no data is missing"),
        # Restricted for the subscription: no launch can succeed there, so no capacity.
        pytest.param("azure", "RestrictedSkuNotAvailable", 0.0, id="azure restricted is none"),
        pytest.param("gcp", 0.83, 0.83, id="gcp obtainability as is"),
        pytest.param("gcp", "0", 0.0, id="gcp zero is a real score"),
    ],
)
def test_normalise_placement(cloud: str, raw: str | float, expected: float | None) -> None:
    assert normalise_placement(cloud, raw) == expected


def test_small_aws_query_tops_out_at_three() -> None:
    # Fewer than 3 types in the query are always scored low: 3 is the best possible.
    assert normalise_placement("aws", 3, types_in_query=1) == 1.0
    assert normalise_placement("aws", 3, types_in_query=5) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("cloud", "raw"),
    [
        pytest.param("aws", 0, id="aws below range"),
        pytest.param("aws", 11, id="aws above range"),
        pytest.param("aws", 7.5, id="aws not an integer"),
        pytest.param("aws", "seven", id="aws not a number"),
        pytest.param("aws", True, id="bool is not a score"),
        pytest.param("azure", "Very High", id="azure unknown level"),
        pytest.param("azure", 3, id="azure number"),
        pytest.param("gcp", 1.2, id="gcp above 1"),
        pytest.param("gcp", math.nan, id="gcp NaN"),
        pytest.param("ibm", 1, id="unknown cloud"),
    ],
)
def test_normalise_placement_rejects(cloud: str, raw: str | float) -> None:
    with pytest.raises(SignalError):
        normalise_placement(cloud, raw)


def _one(
    score: float,
    *,
    zonal: bool = True,
    age: float = 1.0,
    ice: float = 0.0,
    ice_age: float = math.nan,
) -> tuple[float, int]:
    c, flags = capacity_arrays(
        np.array([score]), np.array([zonal]), np.array([age]), np.array([ice]), np.array([ice_age])
    )
    return float(c[0]), int(flags[0])


@pytest.mark.parametrize(
    ("kwargs", "expected", "flag"),
    [
        pytest.param({"score": 0.8}, 0.8, 0, id="fresh zonal score used as is"),
        pytest.param(
            {"score": 0.8, "zonal": False},
            0.8 * REGIONAL_DISCOUNT,
            FLAG_REGIONAL,
            id="regional discounted: it can hide a weak zone",
        ),
        pytest.param(
            {"score": math.nan}, NEUTRAL_CAPACITY, FLAG_MISSING, id="missing -> neutral prior"
        ),
        pytest.param(
            {"score": 0.9, "age": CAPACITY_TTL_HOURS + 24},
            (0.9 + 0.5) / 2,
            FLAG_STALE,
            id="one half-life past TTL -> halfway to neutral",
        ),
        pytest.param(
            {"score": 0.9, "age": math.nan},
            NEUTRAL_CAPACITY,
            FLAG_STALE,
            id="undated score not trusted",
        ),
        pytest.param(
            {"score": 1.0, "ice": 2, "ice_age": 0.0}, 0.49, FLAG_ICE, id="two fresh ICEs: 0.7^2"
        ),
    ],
)
def test_capacity_adjustments(kwargs: dict[str, float], expected: float, flag: int) -> None:
    score = kwargs.pop("score")
    c, flags = _one(score, **kwargs)  # type: ignore[arg-type]
    assert c == pytest.approx(expected)
    assert flags == flag


def test_capacity_errors_fade_with_time() -> None:
    fresh, _ = _one(1.0, ice=3, ice_age=0.0)
    old, _ = _one(1.0, ice=3, ice_age=10.0)
    assert fresh < old < 1.0


def test_capacity_from_the_snapshots_invariant_part_equals_the_formula_at_any_time() -> None:
    """The per-index cache of time-invariant capacity gives, at every `now` (before, at and past
    a score's TTL, with and without ICE errors, undated scores, missing ones), exactly the
    capacity and flags the formula gives."""
    import importlib
    from datetime import timedelta

    import numpy as np

    from selector import PoolIndex
    from tests.selector.factories import HOUR, NOW, make_pool

    rank_module = importlib.import_module("selector.rank")
    pools = []
    for i, (age_h, score, zonal, errors) in enumerate(
        [
            (2, 0.9, True, 0),
            (23.9997, 0.8, True, 0),  # one second before the TTL
            (24, 0.7, False, 0),
            (30, 0.6, True, 0),
            (None, 0.5, True, 0),  # undated score
            (3, None, False, 0),  # missing score
            (1, 0.9, True, 2),  # recent ICE errors
            (50, 0.4, False, 1),
        ]
    ):
        pools.append(
            make_pool(
                zone_id=f"use1-az{i}",
                capacity_score=score,
                capacity_raw=None if score is None else str(score),
                capacity_zonal=zonal,
                capacity_at=None if age_h is None or score is None else NOW - age_h * HOUR,
                fleet_capacity_errors=errors,
                fleet_capacity_error_at=NOW - HOUR if errors else None,
            )
        )
    snap = PoolIndex.build(pools, built_at=NOW)
    rows = np.arange(snap.size, dtype=np.int64)
    for shift_h in (-48, -1, 0, 0.5, 1, 6, 13, 22, 23.99, 24, 25, 100):
        now_ts = (NOW + timedelta(hours=shift_h)).timestamp()
        cached = rank_module._capacity_step(snap, rows, now_ts)
        fresh = rank_module._capacity_now(snap, rows, now_ts)
        assert cached[0].tolist() == fresh[0].tolist(), shift_h
        assert cached[1].tolist() == fresh[1].tolist(), shift_h
