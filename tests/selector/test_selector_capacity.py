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
