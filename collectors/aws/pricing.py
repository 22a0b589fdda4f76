"""On-demand list prices from the AWS Price List Query API (``pricing.get_products``).

The API answers from a few endpoints only (us-east-1 among them); each ``PriceList`` entry is a
JSON *string* holding one product and its terms. A value the store cannot hold (a NaN or
infinite price, an over-long type name) fails the region with
:class:`~core.errors.SourceDataError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from collectors.parsing import refuses_malformed
from core.limits import check_rows, shorten

__all__ = [
    "PRICING_REGION",
    "SOURCE",
    "fetch_on_demand",
    "on_demand_filters",
    "parse_price_list",
]

log = logging.getLogger(__name__)

SOURCE = "aws-pricing"
# The Price List Query API is served from us-east-1 (also ap-south-1, eu-central-1).
PRICING_REGION = "us-east-1"
SERVICE_CODE = "AmazonEC2"
# Linux, shared tenancy, no pre-installed software, capacity actually used (not a
# reservation's unused or allocated capacity): the plain on-demand price a pool competes with.
_PRODUCT_ATTRIBUTES: dict[str, str] = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}
# Plain Linux is operation "RunInstances"; other codes are licence-included variants.
_LINUX_OPERATION = "RunInstances"


def on_demand_filters(region: str) -> list[dict[str, str]]:
    """GetProducts filters for one region's Linux shared-tenancy on-demand products."""
    attributes = {"regionCode": region, **_PRODUCT_ATTRIBUTES}
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in attributes.items()]


def fetch_on_demand(pricing: Any, *, region: str) -> list[str]:
    """All matching PriceList entries (JSON strings) for ``region``."""
    paginator = pricing.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode=SERVICE_CODE, Filters=on_demand_filters(region), FormatVersion="aws_v1"
    )
    return [entry for page in pages for entry in page.get("PriceList", ())]


def _hourly_usd(terms: Mapping[str, Any]) -> float | None:
    for term in (terms.get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            if dimension.get("unit") != "Hrs":
                continue
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if usd is not None:
                return float(usd)
    return None


def _matches(attributes: Mapping[str, Any]) -> bool:
    if any(attributes.get(k, v) != v for k, v in _PRODUCT_ATTRIBUTES.items()):
        return False
    return bool(attributes.get("operation", _LINUX_OPERATION) == _LINUX_OPERATION)


@refuses_malformed("pricing GetProducts price list")
def parse_price_list(
    entries: Iterable[str | Mapping[str, Any]], *, region: str, observed_at: datetime
) -> list[dict[str, Any]]:
    """PriceList entries → ``on_demand_prices`` rows (Linux, $/h); zero prices are skipped.

    Entries that are not the plain Linux shared-tenancy product are ignored even when the
    filters let them through; when a type still appears twice the first price is kept.
    """
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        doc = json.loads(entry) if isinstance(entry, str) else entry
        attributes = (doc.get("product") or {}).get("attributes") or {}
        name = attributes.get("instanceType")
        if not name or not _matches(attributes) or name in rows:
            continue
        price = _hourly_usd(doc.get("terms") or {})
        if price is None or price <= 0:
            continue  # a placeholder product with no real hourly rate
        rows[str(name)] = {
            "cloud": "aws",
            "region": region,
            "instance_type": str(name),
            "os": "linux",
            "price_usd_per_hour": price,
            "source": SOURCE,
            "observed_at": observed_at,
        }
    checked = list(rows.values())
    check_rows("on_demand_prices", checked, where=f"{shorten(region)} on-demand price list")
    return checked
