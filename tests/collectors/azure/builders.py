"""Builders for the ``azure`` source's tests: Resource SKU records, Retail Prices items, a Retail
Prices API behind ``httpx.MockTransport``, and the clients pointed at the local fakes.

Records have the REST shapes of the real examples (``ResourceSkus_List`` in
``../shared/data/azure-api-examples``; the Retail Prices API's documented item fields).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from collectors.azure import AzureClients, AzureSource, azure_clients
from tests.collectors.azure.fakes import SKUS, SUBSCRIPTION, FakeArm, Seen, client_kwargs

RETAIL_URL = "https://prices.azure.com/api/retail/prices"
EFFECTIVE = "2026-10-01T00:00:00Z"


def capability(name: str, value: object) -> dict[str, str]:
    return {"name": name, "value": str(value)}


def sku_record(
    name: str,
    region: str,
    vcpus: int,
    memory_gb: float,
    *,
    gpus: int = 0,
    zones: Sequence[str] = ("1", "2", "3"),
    spot: bool = True,
    arch: str = "x64",
    restrictions: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """One ``virtualMachines`` resource SKU of ``region``, as Resource SKUs lists it."""
    caps = [
        capability("vCPUs", vcpus),
        capability("MemoryGB", memory_gb),
        capability("CpuArchitectureType", arch),
        capability("LowPriorityCapable", spot),
        capability("MaxResourceVolumeMB", 0),
    ]
    if gpus:
        caps.append(capability("GPUs", gpus))
    return {
        "resourceType": "virtualMachines",
        "name": name,
        "tier": "Standard",
        "size": name.removeprefix("Standard_"),
        "family": "standardFamily",
        "locations": [region],
        "locationInfo": [{"location": region, "zones": list(zones)}],
        "capabilities": caps,
        "restrictions": [dict(r) for r in restrictions],
    }


def zone_restriction(region: str, zones: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "Zone",
        "values": [region],
        "restrictionInfo": {"locations": [region], "zones": list(zones)},
        "reasonCode": "NotAvailableForSubscription",
    }


def location_restriction(region: str) -> dict[str, Any]:
    return {
        "type": "Location",
        "values": [region],
        "restrictionInfo": {"locations": [region]},
        "reasonCode": "NotAvailableForSubscription",
    }


def serve_skus(fake: FakeArm, by_region: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Answer ``resource_skus.list(filter="location eq 'x'")`` with ``by_region[x]`` (plus a
    disk SKU the parser must skip), split over two pages linked by ``nextLink``."""

    def answer(seen: Seen) -> tuple[int, Any, Mapping[str, str]]:
        wanted = re.search(r"location eq '([^']+)'", (seen.query.get("$filter") or [""])[0])
        region = wanted.group(1) if wanted else ""
        records = [dict(r) for r in by_region.get(region, ())]
        records.append({"resourceType": "disks", "name": "Premium_LRS", "locations": [region]})
        half = len(records) // 2
        if "page" in seen.query:
            return 200, {"value": records[half:]}, {}
        query = urlencode({"api-version": "2021-07-01", "$filter": f"location eq '{region}'"})
        next_link = f"{fake.url}{seen.path}?{query}&page=2"
        return 200, {"value": records[:half], "nextLink": next_link}, {}

    fake.route("GET", SKUS, answer)


def retail_item(
    size: str,
    region: str,
    price: float,
    *,
    spot: bool = False,
    windows: bool = False,
    low_priority: bool = False,
    effective: str = EFFECTIVE,
    **overrides: Any,
) -> dict[str, Any]:
    """One Retail Prices API item for ``size`` (``Standard_D2s_v5``) in ``region``."""
    short = size.removeprefix("Standard_").replace("_", " ")
    suffix = " Spot" if spot else " Low Priority" if low_priority else ""
    item: dict[str, Any] = {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": region,
        "location": region,
        "effectiveStartDate": effective,
        "meterName": short + suffix,
        "productName": f"Virtual Machines {short.split(' ')[0]} Series"
        + (" Windows" if windows else ""),
        "skuName": short + suffix,
        "serviceName": "Virtual Machines",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": "Consumption",
        "isPrimaryMeterRegion": True,
        "armSkuName": size,
    }
    item.update(overrides)
    return item


@dataclass
class FakeRetail:
    """The Retail Prices API: items per region, served ``page_size`` at a time by NextPageLink;
    ``failures`` are (status, headers) answered first, in order; ``bodies`` replaces a region's
    first page with raw bytes (a malformed payload)."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 2
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            status, headers = self.failures.pop(0)
            return httpx.Response(status, headers=headers, json={"Error": "fake"})
        query = parse_qs(urlsplit(str(request.url)).query)
        found = re.search(r"armRegionName eq '([^']+)'", query["$filter"][0])
        region = found.group(1) if found else ""
        skip = int(query.get("$skip", ["0"])[0])
        if skip == 0 and region in self.bodies:
            return httpx.Response(200, content=self.bodies[region])
        items = self.items.get(region, [])
        page = items[skip : skip + self.page_size]
        more = skip + self.page_size < len(items)
        link = None
        if more:
            link = str(request.url.copy_merge_params({"$skip": str(skip + self.page_size)}))
        body = {"BillingCurrency": "USD", "Items": page, "NextPageLink": link, "Count": len(page)}
        return httpx.Response(200, content=json.dumps(body).encode())

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


def azure_source(
    fake: FakeArm,
    retail: FakeRetail,
    *,
    asked: list[str] | None = None,
    with_signals: bool = False,
    **overrides: Any,
) -> AzureSource:
    """The ``azure`` source with the real ARM clients against ``fake`` and the Retail Prices
    API behind ``retail``; ``with_signals`` keeps the Resource Graph and recommender clients."""

    def factory(subscription: str) -> AzureClients:
        if asked is not None:
            asked.append(subscription)
        kwargs = client_kwargs(fake, **overrides)
        clients = azure_clients(subscription=subscription, retail=retail.client(), **kwargs)
        if with_signals:
            return clients
        return AzureClients(
            compute=clients.compute,
            retail=clients.retail,
            subscription=subscription,
            credential=clients.credential,
        )

    return AzureSource(client_factory=factory, sleep=lambda _s: None)


def items_of(*groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for group in groups for item in group]


def prices_for(
    region: str,
    sizes: Mapping[str, tuple[float, float | None]],
    *,
    extra: Callable[[str], list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """On-demand and Spot items (size → (on-demand, spot or None)), plus the Windows and Low
    Priority items the real API lists beside them (the parser must leave those out)."""
    out = []
    for size, (od, spot) in sizes.items():
        out.append(retail_item(size, region, od))
        out.append(retail_item(size, region, od * 1.8, windows=True))
        if spot is not None:
            out.append(retail_item(size, region, spot, spot=True))
            out.append(retail_item(size, region, spot * 0.9, low_priority=True))
        if extra is not None:
            out.extend(extra(size))
    return out


__all__ = [
    "EFFECTIVE",
    "RETAIL_URL",
    "SUBSCRIPTION",
    "FakeRetail",
    "azure_source",
    "capability",
    "items_of",
    "location_restriction",
    "prices_for",
    "retail_item",
    "serve_skus",
    "sku_record",
    "zone_restriction",
]
