"""How long an insufficient-capacity error counts, and how much: constants without numpy, so
the operators' views (`spotsel status`, `/readyz`) can name them without loading the ranking."""

from __future__ import annotations

from typing import Final

__all__ = ["ICE_HALF_LIFE_HOURS", "ICE_PENALTY_PER_EVENT", "ICE_TTL_HOURS"]

# Each recent insufficient-capacity error multiplies c by this (three errors ≈ c / 3).
ICE_PENALTY_PER_EVENT: Final = 0.7
# How long an insufficient-capacity (ICE) error is remembered. Karpenter hard-excludes an offering
# for only 3 minutes after an ICE (its unavailable-offerings cache, `UnavailableOfferingsTTL =
# 3 * time.Minute`, karpenter-provider-aws pkg/cache/cache.go), then retries it. Real launch probes
# remember far longer: after a failed probe the next probe of that pool fails more often than its
# base rate, by +0.35 at 15 min, halving in ~5 h and back at the daily-cycle floor by 12 h (the 17
# SkyPilot 1-node probe traces, `python bench/ice_memory.py`). So errors fade with that half-life
# and are forgotten at the TTL: the store's reader counts errors within it
# (core/pool_reader.CAPACITY_ERROR_WINDOW) and `selector.capacity.ice_weight` drops them past it.
ICE_HALF_LIFE_HOURS: Final = 5.0
ICE_TTL_HOURS: Final = 12.0
