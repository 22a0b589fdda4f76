"""Capacity c in [0, 1]: how likely a launch in this pool succeeds now.

Placement-like signals from the three clouds are normalised at ingest
(`normalise_placement`), then adjusted at ranking time: regional scores are discounted
(a good regional score can hide one weak zone), stale scores decay toward a neutral prior,
and recent insufficient-capacity errors in the user's own fleet lower the score.

Where no zonal score exists, zones of one type are told apart by what the prices say: a zone
priced well above its type's other zones is under more demand, so its capacity is lowered
(calibrated on SpotLake's real zonal scores, bench/zone_signals.py). A zonal score beats it.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.errors import SignalError
from selector.ice import ICE_HALF_LIFE_HOURS, ICE_PENALTY_PER_EVENT, ICE_TTL_HOURS

__all__ = [
    "AZURE_PLACEMENT",
    "CAPACITY_TTL_HOURS",
    "ICE_HALF_LIFE_HOURS",
    "ICE_PENALTY_PER_EVENT",
    "ICE_TTL_HOURS",
    "NEUTRAL_CAPACITY",
    "REGIONAL_DISCOUNT",
    "VOLATILITY_PENALTY",
    "ZONE_PREMIUM_PENALTY",
    "ZONE_PREMIUM_THRESHOLD",
    "capacity_arrays",
    "ice_weight",
    "normalise_placement",
    "zone_signal_penalty",
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
    # The size is restricted for this subscription there: a launch cannot succeed, so this is a
    # signal of no capacity, not a missing one (it decays to neutral past the TTL like any score,
    # and the size catalogue drops restricted offerings on its own).
    "restrictedskunotavailable": 0.0,
}
# A missing or fully decayed signal: no better and no worse than a coin flip.
NEUTRAL_CAPACITY: Final = 0.5
# Regional scores can hide a weak zone (cloud-facts.md): worth 85 % of a zonal score.
REGIONAL_DISCOUNT: Final = 0.85
# AWS allows about 10 new placement-score configurations per 24 h, so scores refresh daily.
CAPACITY_TTL_HOURS: Final = 24.0
# Past the TTL a score's weight halves every day, sliding toward NEUTRAL_CAPACITY.
STALE_HALF_LIFE_HOURS: Final = 24.0

# The zone price signal, fitted on SpotLake's 18,133 single-type zonal scores (2022-07-12) within
# each (region, type), c = score / 3 (`python bench/zone_signals.py`, sections 1 and 3):
# - premiums up to 25 % over the type's median zone carry nothing (mean score within ±0.04 of the
#   type's in every ratio bin from 0.8 to 1.25, and cheaper zones are no better), so the hinge
#   starts at 1.25, the threshold with the best within-type fit (R² 0.052 vs 0.044 at 1.0);
# - above it, c falls by 0.370 per unit of ln(ratio / 1.25) (95 % cluster-bootstrap interval
#   0.314-0.427); zones at >= 2x their type's median score 0.66 lower (of 3) than its other zones.
#   Out of sample (SpotLake 2023-10, 3 regions, 72 zones above 1.25x) the slope is 0.108 with
#   interval -0.092-0.354: it does not reproduce clearly. The weight is the low end of the range
#   both intervals hold (0.314-0.354).
# The signal is weak: it explains ~5 % of the within-type variance and only ~3 % of zones sit above
# the threshold; a 2x zone loses 0.15 of capacity, a 1.5x zone 0.06.
ZONE_PREMIUM_THRESHOLD: Final = 1.25
ZONE_PREMIUM_PENALTY: Final = 0.314
# Price volatility (7-day coefficient of variation) lowers capacity by this much per unit CV: zero,
# because the data cannot tell the effect from none. Zones whose price moved in the 2022-05-31
# DescribeSpotPriceHistory dump (177 of 8,969) score the same 6 weeks later (mean 2.77 vs 2.76;
# within-type slope 7.1, 95 % interval -3.6-19.1; bench/zone_signals.py section 4). Volatility
# still breaks ties between zones (selector/strategies.py).
VOLATILITY_PENALTY: Final = 0.0

FLAG_MISSING: Final = 1
FLAG_STALE: Final = 2
FLAG_REGIONAL: Final = 4
FLAG_ICE: Final = 8
FLAG_ZONE_PREMIUM: Final = 16  # the derived zone signal lowered c


def normalise_placement(
    cloud: str, raw: str | float | int, *, types_in_query: int | None = None
) -> float | None:
    """Normalise a cloud's raw placement score to [0, 1]; None means "no signal".

    AWS 1-10 -> /10 (or /3 when the query held fewer than 3 instance types); Azure
    High/Medium/Low -> named levels (DataNotFoundOrStale -> None, RestrictedSkuNotAvailable ->
    0); GCP obtainability 0-1 as is. Raises `SignalError` on anything else.
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


def zone_signal_penalty(zone_price_ratio: FloatArray, volatility: FloatArray) -> FloatArray:
    """Capacity lost to the derived zone signal: the log-premium over ZONE_PREMIUM_THRESHOLD × the
    type's median zone price, and volatility; 0 where either is unknown (NaN)."""
    premium = np.log(np.nan_to_num(zone_price_ratio, nan=1.0) / ZONE_PREMIUM_THRESHOLD)
    return ZONE_PREMIUM_PENALTY * np.maximum(premium, 0.0) + VOLATILITY_PENALTY * np.nan_to_num(
        volatility, nan=0.0
    ).clip(min=0.0)


def ice_weight(ice_errors: FloatArray, ice_age_hours: FloatArray) -> FloatArray:
    """How many full-strength errors `ice_errors` still count as at `ice_age_hours` (NaN = undated):
    halving every ICE_HALF_LIFE_HOURS, none past ICE_TTL_HOURS. c is multiplied by
    ICE_PENALTY_PER_EVENT to this power."""
    # Undated errors are treated as current: an ICE we cannot date is still a warning.
    # (np.fmax and np.where over np.nan_to_num: a few µs less per call on the few rows a
    # ranking explains.)
    age = np.fmax(ice_age_hours, 0.0)  # fmax drops the NaN
    fade = np.where(age <= ICE_TTL_HOURS, 0.5 ** (age / ICE_HALF_LIFE_HOURS), 0.0)
    weight: FloatArray = np.where(np.isnan(ice_errors), 0.0, ice_errors) * fade
    return weight


def capacity_arrays(
    score: FloatArray,
    zonal: npt.NDArray[np.bool_],
    age_hours: FloatArray,
    ice_errors: FloatArray,
    ice_age_hours: FloatArray,
    *,
    zone_penalty: FloatArray | None = None,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Vectorised adjusted capacity and flag bits (FLAG_*) for candidate pools.

    `age_hours` / `ice_age_hours` are NaN where the timestamp is unknown. `zone_penalty`
    (`zone_signal_penalty` per pool, precomputed by PoolIndex) lowers c where no zonal score exists.
    """
    missing = np.isnan(score)
    base = np.where(missing, NEUTRAL_CAPACITY, score)
    base = np.where(~zonal & ~missing, base * REGIONAL_DISCOUNT, base)
    overdue = age_hours - CAPACITY_TTL_HOURS
    overdue = np.where(np.isnan(overdue), np.inf, overdue)
    # Unknown age counts as fully stale: an undated score is not trusted.
    weight = np.where(overdue <= 0, 1.0, 0.5 ** (np.maximum(overdue, 0) / STALE_HALF_LIFE_HOURS))
    stale = ~missing & (overdue > 0)
    c = weight * base + (1.0 - weight) * NEUTRAL_CAPACITY
    # A zonal score already measures the zone; otherwise its price tells it from its siblings.
    penalty = np.zeros(score.size) if zone_penalty is None else zone_penalty
    penalty = np.where(zonal & ~missing, 0.0, penalty)
    c = c - penalty
    effective_errors = ice_weight(ice_errors, ice_age_hours)
    c = c * ICE_PENALTY_PER_EVENT**effective_errors
    flags = (
        missing * FLAG_MISSING
        + stale * FLAG_STALE
        + (~zonal & ~missing) * FLAG_REGIONAL
        + (effective_errors >= 0.5) * FLAG_ICE
        + (penalty > 0) * FLAG_ZONE_PREMIUM
    ).astype(np.int64)
    return np.clip(c, 0.0, 1.0), flags
