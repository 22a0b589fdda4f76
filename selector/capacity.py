"""Capacity c in [0, 1]: how likely a launch in this pool succeeds now.

Placement-like signals from the three clouds are normalised at ingest
(`normalise_placement`), then adjusted at ranking time: regional scores are discounted
(a good regional score can hide one weak zone), stale scores decay toward a neutral prior,
and recent insufficient-capacity errors in the user's own fleet lower the score.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.errors import SignalError

__all__ = [
    "AZURE_PLACEMENT",
    "CAPACITY_TTL_HOURS",
    "NEUTRAL_CAPACITY",
    "REGIONAL_DISCOUNT",
    "capacity_arrays",
    "normalise_placement",
]

FloatArray = npt.NDArray[np.float64]

AWS_SCORE_MAX: Final = 10  # GetSpotPlacementScores returns 1-10
# AWS scores a *set* of types; a set of fewer than 3 types is always scored low: SpotLake's
# 18k single-type zonal scores (../shared/data/spotlake) hold only 1, 2 and 3. For such
# queries 3 is the best achievable, so the scale tops out there.
AWS_SMALL_SET_TYPES: Final = 3
AWS_SMALL_SET_SCORE_MAX: Final = 3
# Azure Spot Placement Score levels; even spacing on the AWS scale (High ≈ 9/10, Low ≈ 3/10).
AZURE_PLACEMENT: Final[dict[str, float | None]] = {
    "high": 0.9,
    "medium": 0.6,
    "low": 0.3,
    "datanotfoundorstale": None,  # Azure has no current estimate: treat as missing
    "restrictedskunotavailable": None,  # not offered to this subscription: no capacity signal
}
# A missing or fully decayed signal: no better and no worse than a coin flip.
NEUTRAL_CAPACITY: Final = 0.5
# Regional scores can hide a weak zone (cloud-facts.md): worth 85 % of a zonal score.
REGIONAL_DISCOUNT: Final = 0.85
# AWS allows about 10 new placement-score configurations per 24 h, so scores refresh daily.
CAPACITY_TTL_HOURS: Final = 24.0
# Past the TTL a score's weight halves every day, sliding toward NEUTRAL_CAPACITY.
STALE_HALF_LIFE_HOURS: Final = 24.0
# Each recent insufficient-capacity error multiplies c by this (three errors ≈ c / 3).
ICE_PENALTY_PER_EVENT: Final = 0.7
# Errors fade with a 1 h half-life: Karpenter hard-excludes an offering for 3 minutes after an
# ICE; a soft penalty that lasts longer keeps us from steering back into a dry pool at once.
ICE_HALF_LIFE_HOURS: Final = 1.0

FLAG_MISSING: Final = 1
FLAG_STALE: Final = 2
FLAG_REGIONAL: Final = 4
FLAG_ICE: Final = 8


def normalise_placement(
    cloud: str, raw: str | float | int, *, types_in_query: int | None = None
) -> float | None:
    """Normalise a cloud's raw placement score to [0, 1]; None means "no signal".

    AWS 1-10 -> /10 (or /3 when the query held fewer than 3 instance types); Azure
    High/Medium/Low -> named levels (DataNotFoundOrStale and RestrictedSkuNotAvailable ->
    None); GCP obtainability 0-1 as is. Raises `SignalError` on anything else.
    """
    if cloud == "aws":
        score = _as_number(cloud, raw)
        small = types_in_query is not None and types_in_query < AWS_SMALL_SET_TYPES
        top = AWS_SMALL_SET_SCORE_MAX if small else AWS_SCORE_MAX
        if not score.is_integer() or not 1 <= score <= top:
            raise SignalError(cloud, raw, f"placement score must be an integer 1-{top}")
        return score / top
    if cloud == "azure":
        if not isinstance(raw, str) or raw.strip().lower() not in AZURE_PLACEMENT:
            raise SignalError(cloud, raw, "expected High, Medium, Low or a no-data marker")
        return AZURE_PLACEMENT[raw.strip().lower()]
    if cloud == "gcp":
        score = _as_number(cloud, raw)
        if not 0.0 <= score <= 1.0:
            raise SignalError(cloud, raw, "obtainability must be in [0, 1]")
        return score
    raise SignalError(cloud, raw, "unknown cloud")


def _as_number(cloud: str, raw: str | float | int) -> float:
    if isinstance(raw, bool):
        raise SignalError(cloud, raw, "expected a number")
    try:
        score = float(raw)
    except (TypeError, ValueError):
        raise SignalError(cloud, raw, "expected a number") from None
    if not math.isfinite(score):
        raise SignalError(cloud, raw, "must be finite")
    return score


def capacity_arrays(
    score: FloatArray,
    zonal: npt.NDArray[np.bool_],
    age_hours: FloatArray,
    ice_errors: FloatArray,
    ice_age_hours: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Vectorised adjusted capacity and flag bits (FLAG_*) for candidate pools.

    `age_hours` / `ice_age_hours` are NaN where the timestamp is unknown.
    """
    missing = np.isnan(score)
    base = np.where(missing, NEUTRAL_CAPACITY, score)
    base = np.where(~zonal & ~missing, base * REGIONAL_DISCOUNT, base)
    overdue = np.nan_to_num(age_hours - CAPACITY_TTL_HOURS, nan=np.inf)
    # Unknown age counts as fully stale: an undated score is not trusted.
    weight = np.where(overdue <= 0, 1.0, 0.5 ** (np.maximum(overdue, 0) / STALE_HALF_LIFE_HOURS))
    stale = ~missing & (overdue > 0)
    c = weight * base + (1.0 - weight) * NEUTRAL_CAPACITY
    # Undated errors are treated as current: an ICE we cannot date is still a warning.
    fade = 0.5 ** (np.nan_to_num(ice_age_hours, nan=0.0).clip(min=0) / ICE_HALF_LIFE_HOURS)
    effective_errors = ice_errors * fade
    c = c * ICE_PENALTY_PER_EVENT**effective_errors
    flags = (
        missing * FLAG_MISSING
        + stale * FLAG_STALE
        + (~zonal & ~missing) * FLAG_REGIONAL
        + (effective_errors >= 0.5) * FLAG_ICE
    ).astype(np.int64)
    return np.clip(c, 0.0, 1.0), flags
