"""Spot price history: recorded responses, the real dump twice through the write path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors.aws.spot_prices import parse_spot_prices, spot_watermarks, spot_window_start
from core.errors import SourceDataError
from core.runs import CollectionResult, TableRows
from core.store import persist_run
from core.tables import SpotPrice
from tests.real_store import dump_records

# Zone-ID prefix → region for the 17 default regions in the 2022 dump (AWS zone ID naming).
ZONE_PREFIX_REGION = {
    "apne1": "ap-northeast-1", "apne2": "ap-northeast-2", "apne3": "ap-northeast-3",
    "aps1": "ap-south-1", "apse1": "ap-southeast-1", "apse2": "ap-southeast-2",
    "cac1": "ca-central-1", "euc1": "eu-central-1", "eun1": "eu-north-1", "euw1": "eu-west-1",
    "euw2": "eu-west-2", "euw3": "eu-west-3", "sae1": "sa-east-1", "use1": "us-east-1",
    "use2": "us-east-2", "usw1": "us-west-1", "usw2": "us-west-2",
}  # fmt: skip
# moto's us-east-1 name→ID map (any account-specific map will do for the recorded names).
US_EAST_1 = {
    "us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2",
    "us-east-1d": "use1-az4", "us-east-1e": "use1-az3", "us-east-1f": "use1-az5",
}  # fmt: skip


def test_recorded_response_maps_names_to_ids(shared_data: Path, now: datetime) -> None:
    path = shared_data / "aws-spot-price-history"
    doc = json.loads(
        (path / "ec2-instance-selector_DescribeSpotPriceHistory_m5_large.json").read_text()
    )
    rows = parse_spot_prices(
        doc["SpotPriceHistory"], region="us-east-1", zone_ids=US_EAST_1, observed_at=now
    )
    assert len(rows) == 250, "every recorded change lands (no duplicate keys in the file)"
    per_zone = {z: sum(r["zone_id"] == z for r in rows) for z in US_EAST_1.values()}
    assert per_zone["use1-az5"] == 60, "us-east-1f had 60 records"
    newest = max(rows, key=lambda r: r["ts"])
    assert newest["ts"] == datetime(2021, 2, 9, 1, 40, 10, tzinfo=UTC)
    assert newest["price_usd_per_hour"] == 0.0437
    assert all(r["zone_id"] in US_EAST_1.values() for r in rows)


def test_unknown_zones_and_other_products_are_dropped(now: datetime) -> None:
    ts = datetime(2026, 11, 28, 10, tzinfo=UTC)

    def record(zone: str, product: str, price: str) -> dict[str, Any]:
        return {
            "AvailabilityZone": zone,
            "InstanceType": "g5.xlarge",
            "ProductDescription": product,
            "SpotPrice": price,
            "Timestamp": ts,
        }

    records = [
        record("us-east-1a", "Linux/UNIX", "0.4230"),
        record("us-east-1a", "Windows", "0.9"),  # another product
        record("us-east-1z", "Linux/UNIX", "0.4"),  # a zone this account does not have
    ]
    rows = parse_spot_prices(records, region="us-east-1", zone_ids=US_EAST_1, observed_at=now)
    assert [(r["zone_id"], r["price_usd_per_hour"]) for r in rows] == [("use1-az6", 0.423)]


def _result(rows: list[dict[str, Any]], regions: tuple[str, ...]) -> CollectionResult:
    table = TableRows()
    table.add("spot_prices", rows)
    at = datetime(2026, 11, 28, tzinfo=UTC)
    return CollectionResult("aws", at, at, regions, table)


def test_real_dump_loaded_twice_keeps_the_row_count(
    engine: Engine, shared_data: Path, now: datetime
) -> None:
    records = dump_records(shared_data)
    assert len(records) == 33_362
    by_region: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        region = ZONE_PREFIX_REGION[record["AvailabilityZoneId"].split("-az")[0]]
        by_region.setdefault(region, []).append(record)
    rows = [
        row
        for region, items in by_region.items()
        for row in parse_spot_prices(items, region=region, zone_ids={}, observed_at=now)
    ]
    linux = sum(r["ProductDescription"] == "Linux/UNIX" for r in records)
    assert linux == 9_281
    assert len(rows) == linux, "every Linux/UNIX change is a distinct (zone, type, ts)"
    regions = tuple(sorted(by_region))
    first = persist_run(engine, _result(rows, regions))
    second = persist_run(engine, _result(rows, regions), progress=None)
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(SpotPrice))
        zones = session.scalar(select(func.count(SpotPrice.zone_id.distinct())))
    assert stored == linux
    assert (first.rows_new, second.rows_new) == (linux, 0)
    assert zones == 55
    marks = spot_watermarks(engine, regions=regions)
    assert marks["us-east-1"] == max(r["ts"] for r in rows if r["region"] == "us-east-1")
    assert marks["us-east-1"].tzinfo is not None


def test_window_starts_at_watermark_or_lookback(now: datetime) -> None:
    mark = now - timedelta(hours=5)
    assert spot_window_start(watermark=mark, now=now, lookback_days=7) == mark
    assert spot_window_start(watermark=None, now=now, lookback_days=7) == now - timedelta(days=7)
    ancient = now - timedelta(days=400)
    assert spot_window_start(watermark=ancient, now=now, lookback_days=7) == now - timedelta(
        days=90
    )


def _record(**overrides: Any) -> dict[str, Any]:
    record = {
        "AvailabilityZone": "us-east-1b", "InstanceType": "g5.xlarge",
        "ProductDescription": "Linux/UNIX", "SpotPrice": "0.412300",
        "Timestamp": datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    }  # fmt: skip
    return record | overrides


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"SpotPrice": "NaN"}, "SpotPrice is 'NaN', expected a finite", id="NaN"),
        pytest.param({"SpotPrice": "Infinity"}, "expected a finite number", id="inf"),
        pytest.param({"InstanceType": "t" * 129}, r"spot_prices\.instance_type .* 129 char",
                     id="129-character type name"),
        pytest.param({"InstanceType": "g5\x00.xlarge"}, "control character", id="NUL byte"),
        pytest.param({"AvailabilityZoneId": "z" * 65}, r"spot_prices\.zone_id",
                     id="65-character zone ID"),
    ],
)  # fmt: skip
def test_values_the_store_cannot_hold_fail_the_region(
    overrides: dict[str, Any], reason: str, now: datetime
) -> None:
    records = [_record(), _record(**overrides)]
    with pytest.raises(SourceDataError, match=reason) as caught:
        parse_spot_prices(records, region="us-east-1", zone_ids=US_EAST_1, observed_at=now)
    assert str(caught.value).startswith("'us-east-1' spot price history: ")
    assert len(str(caught.value)) < 300
