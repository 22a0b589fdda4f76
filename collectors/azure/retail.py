"""Azure VM prices from the public Retail Prices API: on-demand and Spot, Linux, per region.

The API (``https://prices.azure.com/api/retail/prices``, no credentials) answers an OData
``$filter`` with pages of ``{"Items": [...], "NextPageLink": url | null}``. ``fetch_prices``
follows the links (a bounded number of pages) through an injectable ``httpx.Client`` and
retries throttling (429, honouring ``Retry-After``) and server errors with a bounded backoff;
``parse_items`` is pure. A payload that is not JSON, has no ``Items`` list, or holds an item
with a missing or mistyped field refuses the whole run: half a price list would price some
sizes and silently not others.

Which items are a Linux VM's hourly price (others are left out with a reason):

- ``type == "Consumption"`` (the filter asks for it; reservations and dev/test are not list
  prices) and ``unitOfMeasure == "1 Hour"``;
- not Windows: Windows meters' ``productName`` ends in " Windows" (the licence is included);
- ``skuName`` ending in " Spot" is the Spot price; ending in " Low Priority" is *not*: that is
  the older low-priority offer (Batch and legacy scale sets), billed on its own meters, not
  what a Spot VM or an AKS spot node pool pays;
- a non-empty ``armSkuName`` (the size, ``Standard_D2s_v5``) and a price above zero.

Spot prices are stored as *changes*, each dated by its ``effectiveStartDate`` (when Azure says
the price took effect, i.e. by content): an unchanged price re-confirms the stored change (same
key: only its ``observed_at`` moves), a new one adds a row.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors.parsing import refuses_malformed
from core.clock import as_utc, utcnow
from core.errors import SourceDataError, SpotselError
from core.limits import check_rows, shorten
from core.tables import SpotPrice

__all__ = [
    "MAX_PAGES",
    "RETAIL_FILTER",
    "SOURCE",
    "RetailFetchError",
    "RetailPrice",
    "RetailPrices",
    "classify",
    "fetch_prices",
    "latest_spot_prices",
    "on_demand_rows",
    "parse_items",
    "spot_rows",
]

log = logging.getLogger(__name__)

SOURCE = "azure-retail"
RETAIL_FILTER = (
    "serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
    "and priceType eq 'Consumption'"
)
# The API pages 100 items at a time (Retail Prices API docs); a large region lists a few
# thousand VM meters (every size × Linux / Windows × regular / Spot / Low Priority), so 500
# pages is several times what any region needs and still ends a link loop.
MAX_PAGES = 500
# Throttling and server errors: this many attempts per page, waiting 1, 2, 4, 8 s (or what
# Retry-After asks, up to 60 s: longer means the API is down, and the region fails instead).
MAX_ATTEMPTS = 5
BACKOFF_S = 1.0
MAX_WAIT_S = 60.0
HTTP_TIMEOUT_S = 30.0
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_HOURLY = "1 Hour"


class RetailFetchError(SpotselError):
    """The API did not answer a page (after retries): that region fails, the others go on."""


# --- fetch -------------------------------------------------------------------------------


def _wait(response: httpx.Response | None, attempt: int) -> float:
    """Seconds before the next attempt: Retry-After (seconds or an HTTP date) or backoff."""
    wait = BACKOFF_S * 2.0**attempt
    header = response.headers.get("Retry-After", "").strip() if response is not None else ""
    if header:
        try:
            wait = float(header)
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):  # unreadable: the backoff stands
                wait = (email.utils.parsedate_to_datetime(header) - utcnow()).total_seconds()
    return min(max(wait, 0.0), MAX_WAIT_S) if math.isfinite(wait) else MAX_WAIT_S


def _get(
    client: httpx.Client, url: str, params: Mapping[str, str] | None, sleep: Callable[[float], None]
) -> httpx.Response:
    failure = ""
    for attempt in range(MAX_ATTEMPTS):
        response: httpx.Response | None = None
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:
            failure = f"{type(exc).__name__}: {shorten(str(exc))}"
        else:
            if response.status_code == httpx.codes.OK:
                return response
            if response.status_code not in _RETRYABLE:
                raise RetailFetchError(f"Retail Prices API answered HTTP {response.status_code}")
            failure = f"HTTP {response.status_code}"
        if attempt + 1 < MAX_ATTEMPTS:
            sleep(_wait(response, attempt))
    raise RetailFetchError(f"Retail Prices API: {failure} after {MAX_ATTEMPTS} attempts")


def _page(response: httpx.Response) -> tuple[list[Any], str | None]:
    """(items, next link) of one page; anything else refuses the run."""
    try:
        body = response.json()
    except ValueError as exc:
        raise SourceDataError("malformed Retail Prices page: not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
        raise SourceDataError("malformed Retail Prices page: no Items list")
    link = body.get("NextPageLink")
    if link is not None and not isinstance(link, str):
        raise SourceDataError("malformed Retail Prices page: NextPageLink is not a URL")
    return body["Items"], link or None


def fetch_prices(
    client: httpx.Client,
    url: str,
    *,
    region: str,
    max_pages: int = MAX_PAGES,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Any]:
    """Every Virtual Machines consumption item of ``region`` (all pages)."""
    params: Mapping[str, str] | None = {"$filter": RETAIL_FILTER.format(region=region)}
    link: str | None = url
    items: list[Any] = []
    for _ in range(max_pages):
        assert link is not None
        page, link = _page(_get(client, link, params, sleep))
        items.extend(page)
        params = None  # the next link carries the filter and its skip
        if link is None:
            return items
    raise RetailFetchError(f"Retail Prices API: more than {max_pages} pages")


# --- parse -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetailPrice:
    """One size's hourly Linux price in one region, and when it took effect."""

    size: str
    region: str
    usd_per_hour: float
    effective: datetime
    primary: bool = True  # isPrimaryMeterRegion: preferred when a size is listed twice


@dataclass(frozen=True)
class RetailPrices:
    """(region, size) → on-demand and Spot prices, and how many items were left out, by why."""

    on_demand: dict[tuple[str, str], RetailPrice] = field(default_factory=dict)
    spot: dict[tuple[str, str], RetailPrice] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is {type(value).__name__}, expected a string")
    return value


def _price(item: Mapping[str, Any]) -> float:
    value = item["retailPrice"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"retailPrice is {type(value).__name__}, expected a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"retailPrice {value!r} is not a finite non-negative amount")
    return float(value)


def classify(item: Mapping[str, Any]) -> tuple[str, RetailPrice] | str:
    """("spot" | "on-demand", the price) of a Linux hourly VM item, else why it is left out.

    Raises ``KeyError`` / ``TypeError`` / ``ValueError`` on a malformed item.
    """
    if not isinstance(item, Mapping):
        raise TypeError(f"item is {type(item).__name__}, expected an object")
    price = _price(item)
    size, region = _text(item, "armSkuName"), _text(item, "armRegionName")
    sku, product = _text(item, "skuName"), _text(item, "productName")
    unit, kind = _text(item, "unitOfMeasure"), _text(item, "type")
    currency = _text(item, "currencyCode")
    effective = as_utc(datetime.fromisoformat(_text(item, "effectiveStartDate")))
    if currency != "USD":
        raise ValueError(f"price in {currency[:8]!r}, expected USD")
    primary = item.get("isPrimaryMeterRegion", True)
    if kind != "Consumption":
        return f"price type {kind}"
    if product.endswith(" Windows"):
        return "Windows"
    if sku.endswith(" Low Priority"):
        return "Low Priority (not Spot)"
    if unit != _HOURLY:
        return f"unit {unit}"
    if not size.strip():
        return "no ARM size name"
    if price == 0:
        return "no charge"
    capacity = "spot" if sku.endswith(" Spot") else "on-demand"
    return capacity, RetailPrice(size, region.lower(), price, effective, primary is not False)


def _preferred(a: RetailPrice, b: RetailPrice) -> RetailPrice:
    """Of two items for one size: the primary meter region's, then the newer, then cheaper."""
    return min(a, b, key=lambda p: (not p.primary, -p.effective.timestamp(), p.usd_per_hour))


@refuses_malformed("Retail Prices item")
def parse_items(items: Iterable[Any]) -> RetailPrices:
    """Retail Prices items → on-demand and Spot prices per (region, size)."""
    prices = RetailPrices()
    for item in items:
        classified = classify(item)
        if isinstance(classified, str):
            prices.excluded[classified] = prices.excluded.get(classified, 0) + 1
            continue
        capacity, price = classified
        table = prices.spot if capacity == "spot" else prices.on_demand
        key = (price.region, price.size)
        held = table.get(key)
        table[key] = price if held is None else _preferred(held, price)
    return prices


def on_demand_rows(
    prices: RetailPrices, *, region: str, sizes: set[str], observed_at: datetime
) -> list[dict[str, Any]]:
    """``on_demand_prices`` rows of the offered ``sizes`` in ``region``."""
    rows = [
        {
            "cloud": "azure",
            "region": region,
            "instance_type": p.size,
            "os": "linux",
            "price_usd_per_hour": p.usd_per_hour,
            "source": SOURCE,
            "observed_at": observed_at,
        }
        for (r, size), p in sorted(prices.on_demand.items())
        if r == region and size in sizes
    ]
    check_rows("on_demand_prices", rows, where=f"{region} retail prices")
    return rows


# A stored price this close (relative) to the new one is the same price re-read, not a change.
_SAME_PRICE = 1e-9


def spot_rows(
    prices: RetailPrices,
    *,
    region: str,
    zones: Mapping[str, Sequence[str]],
    latest: Mapping[tuple[str, str, str], tuple[datetime, float]],
    observed_at: datetime,
) -> list[dict[str, Any]]:
    """``spot_prices`` rows for every Spot-offered pool (size → zone ids) of ``region``.

    A price equal to the pool's newest stored change re-confirms that change (same ``ts``);
    a different one is a change dated by its ``effectiveStartDate``, or by this run when the
    store already holds a change at or after that date (the store's newest must stay the
    price in force).
    """
    rows = []
    for (r, size), p in sorted(prices.spot.items()):
        if r != region:
            continue
        for zone in zones.get(size, ()):
            held = latest.get((region, zone, size))
            ts = p.effective
            if held is not None:
                same = math.isclose(held[1], p.usd_per_hour, rel_tol=_SAME_PRICE)
                if same:
                    ts = held[0]
                elif held[0] >= p.effective:
                    ts = observed_at
            rows.append(
                {
                    "cloud": "azure",
                    "region": region,
                    "zone_id": zone,
                    "instance_type": size,
                    "ts": ts,
                    "price_usd_per_hour": p.usd_per_hour,
                    "source": SOURCE,
                    "observed_at": observed_at,
                }
            )
    check_rows("spot_prices", rows, where=f"{region} retail prices")
    return rows


def latest_spot_prices(
    engine: Engine | None, *, regions: Sequence[str]
) -> dict[tuple[str, str, str], tuple[datetime, float]]:
    """(region, zone, size) → (ts, price) of the newest stored Azure Spot change."""
    if engine is None or not regions:
        return {}
    key = (SpotPrice.region, SpotPrice.zone_id, SpotPrice.instance_type)
    newest = (
        select(*key, func.max(SpotPrice.ts).label("ts"))
        .where(SpotPrice.cloud == "azure", SpotPrice.region.in_(list(regions)))
        .group_by(*key)
        .subquery()
    )
    stmt = (
        select(*key, SpotPrice.ts, SpotPrice.price_usd_per_hour)
        .join(
            newest,
            (SpotPrice.region == newest.c.region)
            & (SpotPrice.zone_id == newest.c.zone_id)
            & (SpotPrice.instance_type == newest.c.instance_type)
            & (SpotPrice.ts == newest.c.ts),
        )
        .where(SpotPrice.cloud == "azure")
    )
    with Session(engine) as session:
        return {(r, z, t): (as_utc(ts), float(p)) for r, z, t, ts, p in session.execute(stmt)}
