"""A local stand-in for the Compute Engine and Cloud Billing REST APIs, and SKU builders.

The real clients (REST transport, anonymous credentials) are pointed at a threaded
``http.server`` on 127.0.0.1 that serves recorded or built JSON pages by path and page token.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MACHINE_TYPES = "/compute/v1/projects/{project}/aggregated/machineTypes"
ACCELERATOR_TYPES = "/compute/v1/projects/{project}/aggregated/acceleratorTypes"
SKUS = "/v1/services/6F81-5844-456A/skus"
# AdviceClient's REST paths (POST; the request is the body).
ADVICE_CAPACITY = "/compute/v1/projects/{project}/regions/{region}/advice/capacity"
ADVICE_HISTORY = "/compute/v1/projects/{project}/regions/{region}/advice/capacityHistory"


@dataclass
class FakeGoogle:
    """Pages by (path, page token); ``failures[path]`` are statuses answered first, in order."""

    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # POST routes: path → answer(body) (a JSON body for 200); bodies are kept in ``posted``.
    # An advice path without a route answers an empty advice.
    routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, path: str, *pages: dict[str, Any]) -> None:
        """Serve ``pages`` at ``path``, chained by ``nextPageToken`` (kept if a page has one)."""
        tokens = [""]
        chained = []
        for i, page in enumerate(pages):
            page = dict(page)
            if i + 1 < len(pages):
                page.setdefault("nextPageToken", f"page-{i + 1}")
                tokens.append(str(page["nextPageToken"]))
            else:
                page.pop("nextPageToken", None)
            chained.append(page)
        self.pages[path] = dict(zip(tokens, chained, strict=True))

    def answer(self, raw_path: str) -> tuple[int, dict[str, Any]]:
        self.requests.append(raw_path)
        url = urlsplit(raw_path)
        queued = self.failures.get(url.path)
        if queued:
            status = queued.pop(0)
            return status, {"error": {"code": status, "message": f"fake {status}"}}
        token = parse_qs(url.query).get("pageToken", [""])[0]
        page = self.pages.get(url.path, {}).get(token)
        if page is None:
            return 404, {"error": {"code": 404, "message": f"no page {url.path} {token!r}"}}
        return 200, page

    def answer_post(self, raw_path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append(raw_path)
        path = urlsplit(raw_path).path
        self.posted.append((path, body))
        queued = self.failures.get(path)
        if queued:
            status = queued.pop(0)
            return status, {"error": {"code": status, "message": f"fake {status}"}}
        route = self.routes.get(path)
        if route is not None:
            return 200, route(body)
        if "/advice/" in path:
            return 200, {}  # advice nobody set up: an answer with no recommendations
        return 404, {"error": {"code": 404, "message": f"no route {path}"}}


def _handler(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(*fake.answer(self.path))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = json.loads(self.rfile.read(length) or b"{}")
            self._send(*fake.answer_post(self.path, sent))

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def running(fake: FakeGoogle) -> Iterator[FakeGoogle]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _id(text: str) -> str:
    return str(zlib.crc32(text.encode()))


def money(usd: float) -> dict[str, Any]:
    units = int(usd)
    return {"currencyCode": "USD", "units": str(units), "nanos": round((usd - units) * 1e9)}


def sku(
    description: str,
    usd: float,
    *,
    regions: tuple[str, ...] = ("us-central1",),
    usage: str | None = None,
    unit: str | None = None,
    group: str = "N1Standard",
) -> dict[str, Any]:
    """One Compute Engine SKU in the Catalog API's REST shape."""
    spot = "Preemptible" in description
    if unit is None:
        unit = "GiBy.h" if " Ram " in description else "h"
    return {
        "name": f"services/6F81-5844-456A/skus/{_id(description)}",
        "skuId": _id(description),
        "description": description,
        "category": {
            "serviceDisplayName": "Compute Engine",
            "resourceFamily": "Compute",
            "resourceGroup": group,
            "usageType": usage or ("Preemptible" if spot else "OnDemand"),
        },
        "serviceRegions": list(regions),
        "pricingInfo": [
            {
                "effectiveTime": "2026-11-30T00:00:00Z",
                "pricingExpression": {
                    "usageUnit": unit,
                    "displayQuantity": 1,
                    "tieredRates": [{"startUsageAmount": 0, "unitPrice": money(usd)}],
                    "usageUnitDescription": "hour",
                    "baseUnit": "s",
                    "baseUnitConversionFactor": 3600,
                },
                "currencyConversionRate": 1,
            }
        ],
        "serviceProviderName": "Google",
    }


def machine_type(
    name: str,
    zone: str,
    vcpus: int,
    memory_gib: float,
    *,
    gpus: tuple[str, int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One machine type in the aggregated list's REST shape (modern fields)."""
    record: dict[str, Any] = {
        "kind": "compute#machineType",
        "id": _id(name + zone),
        "name": name,
        "description": f"{vcpus} vCPUs, {memory_gib:g} GB RAM",
        "guestCpus": vcpus,
        "memoryMb": int(memory_gib * 1024),
        "zone": zone,
        "isSharedCpu": False,
        "architecture": "X86_64",
        **extra,
    }
    if gpus is not None:
        record["accelerators"] = [
            {"guestAcceleratorType": gpus[0], "guestAcceleratorCount": gpus[1]}
        ]
    return record


def aggregated(field_name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """An aggregated-list page holding ``records`` under their zones' scopes."""
    items: dict[str, Any] = {}
    for record in records:
        items.setdefault(f"zones/{record['zone']}", {field_name: []})[field_name].append(record)
    return {"kind": f"compute#{field_name[:-1]}AggregatedList", "items": items}


def accelerator_type(name: str, zone: str) -> dict[str, Any]:
    return {
        "kind": "compute#acceleratorType",
        "id": _id(name + zone),
        "name": name,
        "description": name,
        "zone": f"https://www.googleapis.com/compute/v1/projects/p/zones/{zone}",
        "maximumCardsPerInstance": 4,
    }
