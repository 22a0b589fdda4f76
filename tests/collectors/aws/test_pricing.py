"""On-demand prices: the recorded GetProducts document and the real pricing client."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from collectors.aws.pricing import PRICING_REGION, fetch_on_demand, parse_price_list
from core.errors import SourceDataError
from tests.collectors.aws.fakes import price_list_entry


def test_recorded_product_document(shared_data: Path, now: datetime) -> None:
    path = (
        shared_data
        / "ec2-instance-types"
        / "ec2-instance-selector-static"
        / "GetProducts_m5_large.json"
    )
    entry = path.read_text()  # GetProducts returns each product as a JSON *string*
    [row] = parse_price_list([entry], region="us-east-1", observed_at=now)
    assert row["instance_type"] == "m5.large"
    assert row["price_usd_per_hour"] == pytest.approx(0.096)
    assert (row["region"], row["os"]) == ("us-east-1", "linux")


@pytest.mark.parametrize(
    ("attributes", "why"),
    [
        ({"operatingSystem": "Windows"}, "not Linux"),
        ({"tenancy": "Dedicated"}, "not shared tenancy"),
        ({"preInstalledSw": "SQL Web"}, "pre-installed software"),
        ({"capacitystatus": "UnusedCapacityReservation"}, "not the used-capacity price"),
        ({"operation": "RunInstances:0010"}, "a licence-included variant"),
    ],
)
def test_other_products_are_ignored(attributes: dict[str, str], why: str, now: datetime) -> None:
    entries = [price_list_entry("g5.xlarge", 9.99, **attributes)]
    assert parse_price_list(entries, region="us-east-1", observed_at=now) == [], why


def test_zero_price_placeholder_is_skipped(now: datetime) -> None:
    entries = [price_list_entry("g5.xlarge", 0.0), price_list_entry("g6.xlarge", 0.8048)]
    rows = parse_price_list(entries, region="us-east-1", observed_at=now)
    assert [r["instance_type"] for r in rows] == ["g6.xlarge"]


def test_fetch_pages_with_the_region_filter(moto: None, now: datetime) -> None:
    """Stubber checks our request against the real service model and serves two pages."""
    client = boto3.client("pricing", region_name=PRICING_REGION)
    stub = Stubber(client)
    expected = {
        "ServiceCode": "AmazonEC2",
        "FormatVersion": "aws_v1",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
            {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
        ],
    }
    stub.add_response(
        "get_products",
        {
            "PriceList": [price_list_entry("m5.large", 0.107)],
            "NextToken": "p2",
            "FormatVersion": "aws_v1",
        },
        expected,
    )
    stub.add_response(
        "get_products",
        {"PriceList": [price_list_entry("g5.xlarge", 1.123)], "FormatVersion": "aws_v1"},
        expected | {"NextToken": "p2"},
    )
    with stub:
        entries = fetch_on_demand(client, region="eu-west-1")
    stub.assert_no_pending_responses()
    rows = parse_price_list(entries, region="eu-west-1", observed_at=now)
    assert {r["instance_type"]: r["price_usd_per_hour"] for r in rows} == {
        "m5.large": 0.107,
        "g5.xlarge": 1.123,
    }
    assert all(isinstance(e, str) for e in entries)
    assert json.loads(entries[0])["product"]["attributes"]["instanceType"] == "m5.large"


@pytest.mark.parametrize("usd", ["NaN", "Infinity"])
def test_non_finite_prices_fail_the_region(usd: str, now: datetime) -> None:
    entry = json.loads(price_list_entry("g5.xlarge", 1.006))
    for term in entry["terms"]["OnDemand"].values():
        for dim in term["priceDimensions"].values():
            dim["pricePerUnit"]["USD"] = usd
    with pytest.raises(SourceDataError, match=r"on_demand_prices\.price_usd_per_hour .* finite"):
        parse_price_list([json.dumps(entry)], region="us-east-1", observed_at=now)


def test_an_over_long_type_name_fails_the_region(now: datetime) -> None:
    entry = price_list_entry("t" * 129, 1.0)
    with pytest.raises(SourceDataError, match=r"on_demand_prices\.instance_type .* 129"):
        parse_price_list([entry], region="us-east-1", observed_at=now)
