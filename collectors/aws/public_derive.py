"""On-demand prices derived from the two public feeds, where no real price list is stored.

The Spot Advisor states savings over on-demand (``s``, percent, per region and type); the spot
price feed states the spot price. So on-demand ≈ spot / (1 − s/100). Such a price is flagged
by its source (:data:`DERIVED_SOURCE`, ending in ``-derived``) and is written only where the
store holds no on-demand price from a real price list, so it never shadows one.

Both collections (``aws-advisor`` and ``aws-public``) derive, from the newest savings and the
newest regional spot price of each (region, type), whichever run stored them: the second of the
two runs derives, in either order, and both orders end in the same rows. A derived price is
dated by the newer of its two inputs (it could not have been known earlier).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.aws.advisor import SOURCE as ADVISOR_SOURCE
from collectors.aws.public import SOURCE as PUBLIC_SOURCE
from core.clock import as_utc
from core.tables import REGIONAL_ZONE, InterruptionRate, OnDemandPrice, SpotPrice

__all__ = [
    "DERIVED_SOURCE",
    "Signals",
    "derive_on_demand",
    "newest",
    "real_on_demand_keys",
    "stored_public_prices",
    "stored_savings",
]

# "-derived" is the suffix the ranking reads as "this on-demand price was derived".
DERIVED_SOURCE: Final = f"{PUBLIC_SOURCE}-derived"
# Prices are stored to the micro-dollar; more digits would be noise of the division.
PRICE_DECIMALS: Final = 6
# The operating system the advisor's Linux savings and the feed's linux column are for.
OS: Final = "linux"

Key = tuple[str, str]  # (region, instance_type)
Signals = dict[Key, tuple[float, datetime]]  # value and the time it was observed


def newest(*sources: Mapping[Key, tuple[float, datetime]]) -> Signals:
    """Per key, the newest (value, observed_at) among ``sources``."""
    return _newest(pair for source in sources for pair in source.items())


def _newest(pairs: Iterable[tuple[Key, tuple[float, datetime]]]) -> Signals:
    out: Signals = {}
    for key, (value, at) in pairs:
        held = out.get(key)
        if held is None or at > held[1]:
            out[key] = (value, at)
    return out


def stored_savings(engine: Engine | None) -> Signals:
    """The newest advisor savings (percent) per (region, type) in the store."""
    if engine is None:
        return {}
    stmt = select(
        InterruptionRate.region, InterruptionRate.instance_type, InterruptionRate.savings_pct,
        InterruptionRate.observed_at,
    ).where(
        InterruptionRate.cloud == "aws", InterruptionRate.source == ADVISOR_SOURCE,
        InterruptionRate.zone_id == REGIONAL_ZONE, InterruptionRate.savings_pct.is_not(None),
    )  # fmt: skip
    with Session(engine) as session:
        rows = [
            ((r, t), (float(s), as_utc(at)))
            for r, t, s, at in session.execute(stmt)
            if s is not None
        ]
    return _newest(rows)


def stored_public_prices(engine: Engine | None) -> Signals:
    """The newest regional spot price of the public feed per (region, type) in the store."""
    if engine is None:
        return {}
    stmt = select(
        SpotPrice.region, SpotPrice.instance_type, SpotPrice.price_usd_per_hour, SpotPrice.ts,
    ).where(
        SpotPrice.cloud == "aws", SpotPrice.source == PUBLIC_SOURCE,
        SpotPrice.zone_id == REGIONAL_ZONE,
    )  # fmt: skip
    with Session(engine) as session:
        rows = [((r, t), (float(p), as_utc(ts))) for r, t, p, ts in session.execute(stmt)]
    return _newest(rows)


def real_on_demand_keys(engine: Engine | None) -> frozenset[Key]:
    """(region, type) pairs with an AWS Linux on-demand price from a real price list."""
    if engine is None:
        return frozenset()
    stmt = select(OnDemandPrice.region, OnDemandPrice.instance_type).where(
        OnDemandPrice.cloud == "aws", OnDemandPrice.os == OS,
        OnDemandPrice.source != DERIVED_SOURCE,
    )  # fmt: skip
    with Session(engine) as session:
        return frozenset((str(r), str(t)) for r, t in session.execute(stmt))


def derive_on_demand(
    savings: Mapping[Key, tuple[float, datetime]],
    prices: Mapping[Key, tuple[float, datetime]],
    *,
    real: frozenset[Key] = frozenset(),
) -> list[dict[str, Any]]:
    """``on_demand_prices`` rows for every (region, type) with both signals and no real price.

    Savings of 100 % or more say nothing about on-demand (division by zero or less) and derive
    nothing; zero or negative savings are data (spot at or above on-demand) and derive.
    """
    rows: list[dict[str, Any]] = []
    for key in sorted(savings.keys() & prices.keys() - real):
        pct, savings_at = savings[key]
        spot, spot_at = prices[key]
        if pct >= 100:
            continue
        rows.append(
            {
                "cloud": "aws",
                "region": key[0],
                "instance_type": key[1],
                "os": OS,
                "price_usd_per_hour": round(spot / (1.0 - pct / 100.0), PRICE_DECIMALS),
                "source": DERIVED_SOURCE,
                "observed_at": max(savings_at, spot_at),
            }
        )
    return rows
