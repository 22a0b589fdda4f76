"""A hint for the answer that is empty only because every matching price is too old.

Public feeds loaded from saved copies are dated by their content (``--as-of`` at collection),
so a store can hold nothing younger than ``max_price_age_hours``. Rather than "no pool
matches", the answer then names the newest matching price and the two ways forward: rank the
store as it stood then (``--as-of``) or accept older prices (``--max-price-age-hours``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from selector import PoolIndex, Ranking, Requirements
from selector.filters import apply_filters
from selector.requirements import MAX_SIGNAL_AGE_HOURS

__all__ = ["stale_price_hint"]

# Exclusions that mean something other than age kept a priced pool out.
_OTHER_OFFER_REASONS = frozenset({"capacity_type", "price", "max_price"})
STALE_PRICE = "stale_price"


def stale_price_hint(index: PoolIndex, requirements: Requirements, ranking: Ranking) -> str | None:
    """One line when the ranking is empty only because matching prices are too old, else None."""
    codes = {e.code for e in ranking.exclusions}
    if ranking.pools or STALE_PRICE not in codes or codes & _OTHER_OFFER_REASONS:
        return None
    matching = apply_filters(index, requirements, now_ts=ranking.now.timestamp()).spec_rows
    # The spot price when spot is asked for (an on-demand price alone ranks no spot pool).
    dated = index.spot_at if "spot" in requirements.capacity_types else index.on_demand_at
    stamps = dated[matching]
    stamps = stamps[~np.isnan(stamps)]
    if stamps.size == 0:
        return None
    newest = datetime.fromtimestamp(float(stamps.max()), tz=UTC)
    hint = (
        f"every matching price is older than {requirements.max_price_age_hours:g} h; the newest "
        f"is from {newest:%Y-%m-%dT%H:%M:%S}+00:00: rank the store as it stood then with "
        f"--as-of {newest:%Y-%m-%dT%H:%M:%S}"
    )
    age_hours = math.ceil((ranking.now - newest).total_seconds() / 3600.0)
    if age_hours <= MAX_SIGNAL_AGE_HOURS:
        hint += f", or accept older prices with --max-price-age-hours {age_hours}"
    return hint
