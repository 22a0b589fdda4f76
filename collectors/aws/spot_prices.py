"""Spot price history: incremental per-region fetch, parse into price *changes* by zone ID.

AWS returns change events, plus the change in force at ``StartTime``. Starting each run at the
region's watermark (newest stored change) therefore re-sends that change, which the idempotent
upsert absorbs, and a re-run of the same window writes no duplicates. A value the store
cannot hold (NaN or infinite price, over-long or control-character names) fails the region
with :class:`~core.errors.SourceDataError`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors.parsing import refuses_malformed
from core.clock import as_utc
from core.errors import SourceDataError
from core.limits import check_rows, shorten
from core.tables import SpotPrice

__all__ = [
    "LINUX_PRODUCT",
    "SOURCE",
    "fetch_spot_price_history",
    "parse_spot_prices",
    "spot_watermarks",
    "spot_window_start",
]

log = logging.getLogger(__name__)

SOURCE = "aws"
# The Linux product in DescribeSpotPriceHistory (VPC-era name; "Linux/UNIX (Amazon VPC)" is the
# EC2-Classic-era variant AWS no longer returns for new data).
LINUX_PRODUCT = "Linux/UNIX"
# AWS keeps 90 days of history; a watermark older than that would ask for more than exists.
MAX_HISTORY = timedelta(days=90)


def spot_watermarks(engine: Engine | None, *, regions: Sequence[str]) -> dict[str, datetime]:
    """Newest stored change per region (absent = never collected)."""
    if engine is None or not regions:
        return {}
    stmt = (
        select(SpotPrice.region, func.max(SpotPrice.ts))
        .where(SpotPrice.cloud == "aws", SpotPrice.region.in_(list(regions)))
        .group_by(SpotPrice.region)
    )
    with Session(engine) as session:
        return {region: as_utc(ts) for region, ts in session.execute(stmt) if ts is not None}


def spot_window_start(*, watermark: datetime | None, now: datetime, lookback_days: int) -> datetime:
    """Where this region's fetch starts: its watermark, else ``now - lookback``."""
    if watermark is None:
        return now - timedelta(days=lookback_days)
    return max(watermark, now - MAX_HISTORY)


def fetch_spot_price_history(ec2: Any, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """All Linux/UNIX spot price changes of the client's region in ``[start, end]``."""
    paginator = ec2.get_paginator("describe_spot_price_history")
    pages = paginator.paginate(ProductDescriptions=[LINUX_PRODUCT], StartTime=start, EndTime=end)
    return [r for page in pages for r in page.get("SpotPriceHistory", ())]


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


@refuses_malformed("DescribeSpotPriceHistory response")
def parse_spot_prices(
    records: Iterable[Mapping[str, Any]],
    *,
    region: str,
    zone_ids: Mapping[str, str],
    observed_at: datetime,
) -> list[dict[str, Any]]:
    """API records (change events) → ``spot_prices`` rows keyed by zone ID.

    ``zone_ids`` maps this account's AZ names to IDs; a record that already carries
    ``AvailabilityZoneId`` uses it directly. Records of other products or of unknown zones
    are dropped. Every event AWS reports is kept as is, even one repeating the previous
    price: the next incremental run gets the newest event before its start back as "the
    price in force", and it must land on a stored key, not add one.
    """
    parsed: list[tuple[str, str, datetime, float]] = []
    unknown_zones: set[str] = set()
    for record in records:
        if record.get("ProductDescription", LINUX_PRODUCT) != LINUX_PRODUCT:
            continue
        zone_id = record.get("AvailabilityZoneId") or zone_ids.get(
            str(record.get("AvailabilityZone"))
        )
        if not zone_id:
            unknown_zones.add(str(record.get("AvailabilityZone")))
            continue
        price = float(record["SpotPrice"])
        if not math.isfinite(price):
            raise SourceDataError(
                f"{shorten(region)} spot price history: SpotPrice is "
                f"{shorten(record['SpotPrice'])}, expected a finite number"
            )
        if not price > 0:
            raise SourceDataError(f"spot price {shorten(record['SpotPrice'])} is not positive")
        parsed.append(
            (str(zone_id), str(record["InstanceType"]), _timestamp(record["Timestamp"]), price)
        )
    if unknown_zones:
        log.warning(
            "spot prices for zones missing from the zone map were skipped",
            extra={"region": region, "zones": sorted(unknown_zones)},
        )
    rows: dict[tuple[str, str, datetime], dict[str, Any]] = {}
    for zone_id, instance_type, ts, price in parsed:
        rows[(zone_id, instance_type, ts)] = {
            "cloud": "aws",
            "region": region,
            "zone_id": zone_id,
            "instance_type": instance_type,
            "ts": ts,
            "price_usd_per_hour": price,
            "source": SOURCE,
            "observed_at": observed_at,
        }
    checked = list(rows.values())
    check_rows("spot_prices", checked, where=f"{shorten(region)} spot price history")
    return checked
