"""Real boto3 clients for offline AWS tests: moto serves EC2 inventory, per-operation hooks
answer what moto cannot (spot prices with real values, placement scores, the Pricing API).

Hooks sit on ``before-call.<service>.<Operation>`` and return ``(AWSResponse, parsed)``, so the
client still validates parameters, runs paginators and raises ``ClientError`` on error answers.
"""

from __future__ import annotations

import copy
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from collectors.aws.clients import boto_client_config
from collectors.aws.inventory import fetch_instance_types

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
SPOT_FIXTURE = (
    SHARED_DATA
    / "aws-spot-price-history"
    / "ec2-instance-selector_DescribeSpotPriceHistory_m5_large.json"
)
STATIC = SHARED_DATA / "ec2-instance-types" / "ec2-instance-selector-static"

# Approximate us-east-1 Linux on-demand list prices (USD/h, AWS price list, mid-2025).
ON_DEMAND_USD = {
    "m5.large": 0.096,
    "g4dn.xlarge": 0.526,
    "g5.xlarge": 1.006,
    "g6.xlarge": 0.8048,
    "p3.2xlarge": 3.06,
}
# Spot as a fraction of on-demand for the synthetic series (typical 2025 discounts).
SPOT_DISCOUNT = {"g4dn.xlarge": 0.31, "g5.xlarge": 0.42, "g6.xlarge": 0.39, "p3.2xlarge": 0.3}

Responder = Callable[[str, dict[str, Any]], dict[str, Any]]

# Moto's DescribeInstanceTypes takes seconds of CPU (it serialises 1,395 types to XML), and its
# catalog is one list for every region (a class attribute of its EC2 backend): walk it once per
# process, kept as JSON (a fresh copy is a json.loads, far cheaper than a deep copy).
_MOTO_CATALOG: list[str] = []
# Moto's answers that depend on nothing a test sets up (its static offerings and zones), which
# cost up to seconds of CPU each to serialise: memorised per process by region, operation and
# parameters (each page of a paginated walk has its own), as JSON.
MEMORISED_OPERATIONS = frozenset({"DescribeInstanceTypeOfferings", "DescribeAvailabilityZones"})
_MOTO_ANSWERS: dict[str, str] = {}
# Moto's zone IDs by region (the same in every test: moto's fixed account).
_ZONE_IDS: dict[str, list[str]] = {}


def error(code: str, message: str, status: int = 400) -> dict[str, Any]:
    """A parsed AWS error answer; botocore raises it as ``ClientError``."""
    return {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def moto_instance_types() -> list[dict[str, Any]]:
    """Moto's DescribeInstanceTypes answer, every page through a real client, fetched once per
    process (call it under ``mock_aws``); a fresh copy each time."""
    if not _MOTO_CATALOG:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        _MOTO_CATALOG.append(json.dumps(fetch_instance_types(ec2)))
    types: list[dict[str, Any]] = json.loads(_MOTO_CATALOG[0])
    return types


def _stable(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


def recorded_m5_records(*, newest: datetime) -> list[dict[str, Any]]:
    """The recorded us-east-1 m5.large history (250 records), shifted to end at ``newest``."""
    records = json.loads(SPOT_FIXTURE.read_text())["SpotPriceHistory"]
    stamps = [datetime.fromisoformat(r["Timestamp"]) for r in records]
    shift = newest - max(stamps)
    return [r | {"Timestamp": ts + shift} for r, ts in zip(records, stamps, strict=True)]


def synthetic_spot(
    zone_names: list[str], *, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A few realistic GPU price changes per zone inside ``[start, end]``."""
    records = []
    for zone in zone_names:
        for itype, discount in SPOT_DISCOUNT.items():
            base = ON_DEMAND_USD[itype] * discount
            for step in range(3):
                ts = start + (end - start) * (step + 1) / 4
                wiggle = 1 + ((_stable(zone, itype, str(step)) % 21) - 10) / 200
                records.append(
                    {
                        "AvailabilityZone": zone,
                        "InstanceType": itype,
                        "ProductDescription": "Linux/UNIX",
                        "SpotPrice": f"{base * wiggle:.6f}",
                        "Timestamp": ts,
                    }
                )
    return records


def price_list_entry(instance_type: str, usd: float, **attributes: str) -> str:
    """A PriceList JSON string shaped like the recorded GetProducts m5.large document."""
    doc = json.loads((STATIC / "GetProducts_m5_large.json").read_text())
    doc["product"]["attributes"].update({"instanceType": instance_type, **attributes})
    for term in doc["terms"]["OnDemand"].values():
        for dim in term["priceDimensions"].values():
            dim["pricePerUnit"]["USD"] = f"{usd:.10f}"
    return json.dumps(doc)


@dataclass
class FakeAws:
    """``factory(service, region)`` building real clients with hooks; records what was asked."""

    now: datetime
    zone_names: dict[str, list[str]] = field(default_factory=dict)
    # region → replacement responder for an EC2 operation, or an error dict to return.
    overrides: dict[tuple[str, str], Responder] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    placement_quota: int | None = None  # new configurations AWS still grants (None = plenty)
    placement_seen: set[tuple[Any, ...]] = field(default_factory=set)

    def __call__(self, service: str, region: str) -> Any:
        client = boto3.client(service, region_name=region, config=boto_client_config())
        if service == "ec2":
            hooked: dict[str, Responder | None] = dict.fromkeys(MEMORISED_OPERATIONS)
            hooked["DescribeSpotPriceHistory"] = self._spot
            hooked["GetSpotPlacementScores"] = self._placement
            hooked["DescribeInstanceTypes"] = None
            for op, responder in hooked.items():
                self._hook(client, "ec2", op, region, responder)
            for (reg, op), responder in self.overrides.items():
                if reg == region and op not in hooked:
                    self._hook(client, "ec2", op, region, responder)
        if service == "pricing":
            self._hook(client, "pricing", "GetProducts", region, self._pricing)
        return client

    def _hook(
        self, client: Any, service: str, op: str, region: str, default: Responder | None
    ) -> None:
        def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            # before-call sees the serialised request; keep the API parameters for it.
            context["api_params"] = copy.deepcopy(params)

        def memo_key(params: dict[str, Any]) -> str:
            return json.dumps([region, op, params], sort_keys=True, default=str)

        def handler(context: dict[str, Any], **_: Any) -> Any:
            params = context["api_params"]
            self.calls.append((region, op, params))
            responder = self.overrides.get((region, op), default)
            if op == "DescribeInstanceTypes" and responder is None:
                return self._types(client, region)
            if responder is None:
                answer = _MOTO_ANSWERS.get(memo_key(params)) if op in MEMORISED_OPERATIONS else None
                if answer is None:
                    return None  # let moto answer
                return AWSResponse(None, 200, {}, None), json.loads(answer)
            parsed = responder(region, params)
            status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
            return AWSResponse(None, status, {}, None), parsed

        def memorise(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            key = memo_key(context["api_params"])
            if (region, op) not in self.overrides and key not in _MOTO_ANSWERS:
                _MOTO_ANSWERS[key] = json.dumps(parsed, default=str)

        client.meta.events.register(f"before-parameter-build.{service}.{op}", keep)
        client.meta.events.register(f"before-call.{service}.{op}", handler)
        if op in MEMORISED_OPERATIONS:
            client.meta.events.register(f"after-call.{service}.{op}", memorise)

    def _types(self, client: Any, region: str) -> Any:
        return AWSResponse(None, 200, {}, None), {"InstanceTypes": moto_instance_types()}

    def spot_history(self, region: str) -> list[dict[str, Any]]:
        """The region's full (fixed) price history: what AWS would hold."""
        zones = self.zone_names.get(region) or [f"{region}a", f"{region}b", f"{region}c"]
        records = synthetic_spot(zones, start=self.now - timedelta(days=6), end=self.now)
        if region == "us-east-1":
            records += recorded_m5_records(newest=self.now - timedelta(hours=1))
        return records

    def _spot(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """AWS semantics: changes inside [StartTime, EndTime] plus the one in force at start."""
        start, end = params["StartTime"], params["EndTime"]
        history = sorted(self.spot_history(region), key=lambda r: r["Timestamp"])
        inside = [r for r in history if start <= r["Timestamp"] <= end]
        in_force: dict[tuple[str, str], dict[str, Any]] = {}
        for record in history:
            if record["Timestamp"] < start:
                in_force[(record["AvailabilityZone"], record["InstanceType"])] = record
        return {"SpotPriceHistory": list(in_force.values()) + inside[::-1]}

    def _placement(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        key = (
            tuple(sorted(params["InstanceTypes"])),
            tuple(params["RegionNames"]),
            params.get("SingleAvailabilityZone"),
            params["TargetCapacity"],
        )
        if key not in self.placement_seen:
            if self.placement_quota is not None and self.placement_quota <= 0:
                return error(
                    "MaxConfigLimitExceeded",
                    "You have exceeded your maximum allowed spot placement configurations.",
                )
            if self.placement_quota is not None:
                self.placement_quota -= 1
            self.placement_seen.add(key)
        scores = []
        for reg in params["RegionNames"]:
            for zone_id in self.zone_ids(reg):
                score = 1 + _stable(zone_id, *params["InstanceTypes"]) % 10
                scores.append({"Region": reg, "AvailabilityZoneId": zone_id, "Score": score})
        return {"SpotPlacementScores": scores}

    def zone_ids(self, region: str) -> list[str]:
        if region not in _ZONE_IDS:
            zones = boto3.client("ec2", region_name=region).describe_availability_zones()
            _ZONE_IDS[region] = [z["ZoneId"] for z in zones["AvailabilityZones"]]
        return list(_ZONE_IDS[region])

    def _pricing(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        filters = {f["Field"]: f["Value"] for f in params["Filters"]}
        factor = 1.0 if filters["regionCode"] == "us-east-1" else 1.1
        entries = [
            price_list_entry(t, usd * factor, regionCode=filters["regionCode"])
            for t, usd in ON_DEMAND_USD.items()
        ]
        # Products the filters might let through but that are not the plain Linux price.
        entries.append(price_list_entry("g5.xlarge", 9.99, operation="RunInstances:0010"))
        return {"FormatVersion": "aws_v1", "PriceList": entries}

    def asked(self, op: str, region: str | None = None) -> list[dict[str, Any]]:
        return [p for r, o, p in self.calls if o == op and (region is None or r == region)]
