"""One pool's signals over a time range: price changes, placement scores, interruption rates.

Prices are change events, so the series starts with the change in force at `start` (the
last one before it) and then every change inside the range. Placement scores are of *sets*:
a pool's history shows every set holding its type, scored in its zone or for its region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.errors import InvalidRangeError, NotFoundError
from core.clock import as_utc
from core.tables import REGIONAL_ZONE, InterruptionRate, Offering, PlacementScore, SpotPrice
from selector import PoolKey

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_POINTS",
    "MAX_WINDOW",
    "PoolHistoryData",
    "pool_history",
    "resolve_range",
]

# Without `start`, a week: the window the volatility signal is computed over.
DEFAULT_WINDOW: Final = timedelta(days=7)
# AWS keeps 90 days of spot price history; a longer range is never fully populated.
MAX_WINDOW: Final = timedelta(days=366)
# Per series; an hourly signal over a year is 8,784 points, so a cap only stops runaway rows.
MAX_POINTS: Final = 10_000


@dataclass(frozen=True, slots=True)
class PoolHistoryData:
    pool: PoolKey
    start: datetime
    end: datetime
    spot_prices: list[dict[str, Any]]
    placement_scores: list[dict[str, Any]]
    interruption_rates: list[dict[str, Any]]
    truncated: bool


def resolve_range(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """Defaults (`end` = now, `start` = end - a week) and checks; naive times are UTC."""
    try:
        hi = as_utc(end) if end is not None else now
        lo = as_utc(start) if start is not None else hi - DEFAULT_WINDOW
    except (OverflowError, ValueError) as exc:
        raise InvalidRangeError(f"time range out of bounds: {exc}") from None
    if lo >= hi:
        raise InvalidRangeError(f"start {lo.isoformat()} must be before end {hi.isoformat()}")
    if hi - lo > MAX_WINDOW:
        raise InvalidRangeError(f"range longer than {MAX_WINDOW.days} days; narrow start/end")
    return lo, hi


def _exists(session: Session, key: PoolKey) -> bool:
    o = Offering
    found = session.scalar(
        select(o.instance_type).where(
            o.cloud == key.cloud,
            o.region == key.region,
            o.zone_id == key.zone_id,
            o.instance_type == key.instance_type,
        )
    )
    return found is not None


def _prices(session: Session, key: PoolKey, lo: datetime, hi: datetime) -> list[Any]:
    p = SpotPrice
    same = (
        p.cloud == key.cloud,
        p.region == key.region,
        p.zone_id == key.zone_id,
        p.instance_type == key.instance_type,
    )
    in_force = session.scalars(
        select(p).where(*same, p.ts < lo).order_by(p.ts.desc()).limit(1)
    ).all()
    inside = session.scalars(
        select(p).where(*same, p.ts >= lo, p.ts <= hi).order_by(p.ts).limit(MAX_POINTS + 1)
    ).all()
    return [*in_force, *inside]


def _scores(session: Session, key: PoolKey, lo: datetime, hi: datetime) -> list[PlacementScore]:
    s = PlacementScore
    t = key.instance_type
    rows = session.scalars(
        select(s)
        .where(
            s.cloud == key.cloud,
            s.region == key.region,
            s.zone_id.in_([key.zone_id, REGIONAL_ZONE]),
            s.observed_at >= lo,
            s.observed_at <= hi,
            # A cheap prefilter; exact set membership is checked below.
            or_(s.instance_types == t, s.instance_types.contains(t, autoescape=True)),
        )
        .order_by(s.observed_at, s.zone_id, s.instance_types)
    ).all()
    return [r for r in rows if t in r.instance_types.split(",")]


def _interruptions(
    session: Session, key: PoolKey, lo: datetime, hi: datetime
) -> list[InterruptionRate]:
    i = InterruptionRate
    return list(
        session.scalars(
            select(i)
            .where(
                i.cloud == key.cloud,
                i.region == key.region,
                i.zone_id.in_([key.zone_id, REGIONAL_ZONE]),
                i.instance_type == key.instance_type,
                i.observed_at >= lo,
                i.observed_at <= hi,
            )
            .order_by(i.observed_at, i.zone_id, i.source)
            .limit(MAX_POINTS + 1)
        ).all()
    )


def pool_history(
    session: Session, key: PoolKey, *, start: datetime, end: datetime
) -> PoolHistoryData:
    """The pool's series over [start, end]; `NotFoundError` when no such pool is offered."""
    if not _exists(session, key):
        raise NotFoundError(
            f"no pool {key.cloud}/{key.region}/{key.zone_id}/{key.instance_type} in the store"
        )
    prices = _prices(session, key, start, end)
    scores = _scores(session, key, start, end)
    rates = _interruptions(session, key, start, end)
    truncated = any(len(series) > MAX_POINTS for series in (prices, scores, rates))
    return PoolHistoryData(
        pool=key,
        start=start,
        end=end,
        spot_prices=[
            {
                "ts": p.ts,
                "price_usd_per_hour": p.price_usd_per_hour,
                "source": p.source,
                "observed_at": p.observed_at,
            }
            for p in prices[:MAX_POINTS]
        ],
        placement_scores=[
            {
                "observed_at": s.observed_at,
                "zone_id": s.zone_id,
                "instance_types": s.instance_types.split(","),
                "target_capacity": s.target_capacity,
                "score": s.score,
                "raw": s.raw,
                "source": s.source,
            }
            for s in scores[:MAX_POINTS]
        ],
        interruption_rates=[
            {
                "observed_at": r.observed_at,
                "zone_id": r.zone_id,
                "source": r.source,
                "bucket": r.bucket,
                "label": r.label,
                "rate": r.rate,
            }
            for r in rates[:MAX_POINTS]
        ],
        truncated=truncated,
    )
