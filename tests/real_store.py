"""A store holding real public data only (read from ../shared/data, never copied here).

What acceptance tests rank when they check that nothing real is labelled simulated:

- specs: recorded DescribeInstanceTypes responses (``ec2-instance-types/ec2-instance-selector-
  static``), through the aws collector's parser;
- offerings and spot prices: the DescribeSpotPriceHistory dump
  (``aws-spot-price-history/ericpauley_prices_2022-05.tsv.gz``), us-east-1: every (zone ID,
  type) it prices is an offering, and its price changes are confirmed at ``now``, as a
  collection run at ``now`` would confirm the price in force;
- interruption buckets: the 2025-06-28 Spot Advisor file, through the ``aws-advisor`` source
  dated with ``as_of`` (the file carries no date of its own).

Every row goes through the collectors' own parsers and the one write path.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from collectors import CollectContext, get_source
from collectors.aws.inventory import parse_instance_types, parse_offerings, usage_classes
from collectors.aws.spot_prices import parse_spot_prices
from collectors.runner import run_source
from core.runs import CollectionResult, TableRows
from core.settings import Settings
from core.store import persist_run

__all__ = ["ADVISOR_AS_OF", "REAL_SOURCES", "REGION", "load_real_store"]

REGION = "us-east-1"
ZONE_PREFIX = "use1-"
# The commit date of the vendored advisor copy (aws-spot-advisor/SOURCE.md).
ADVISOR_AS_OF = datetime(2025, 6, 28, tzinfo=UTC)
SPEC_FILES = (
    "DescribeInstanceTypes_25_instances.json",
    "DescribeInstanceTypes_t3_micro_and_p3_16xl.json",
    "DescribeInstanceTypes_g2_2xlarge_group.json",
)
# The sources a store built here holds: the aws collector's and the advisor's.
REAL_SOURCES = frozenset({"aws", "aws-advisor"})


def _specs(shared_data: Path) -> list[dict[str, Any]]:
    folder = shared_data / "ec2-instance-types" / "ec2-instance-selector-static"
    return [
        record
        for name in SPEC_FILES
        for record in json.loads((folder / name).read_text())["InstanceTypes"]
    ]


def dump_records(shared_data: Path) -> list[dict[str, Any]]:
    """The real spot price dump's rows shaped like API records (it carries zone IDs)."""
    path = shared_data / "aws-spot-price-history" / "ericpauley_prices_2022-05.tsv.gz"
    with gzip.open(path, "rt") as fh:
        return [
            {
                "AvailabilityZoneId": zone,
                "InstanceType": itype,
                "ProductDescription": product,
                "SpotPrice": price,
                "Timestamp": datetime.fromisoformat(ts),
            }
            for zone, itype, product, price, ts in csv.reader(fh, delimiter="\t")
        ]


def _price_records(shared_data: Path, types: set[str]) -> list[dict[str, Any]]:
    return [
        r
        for r in dump_records(shared_data)
        if r["AvailabilityZoneId"].startswith(ZONE_PREFIX) and r["InstanceType"] in types
    ]


def load_real_store(engine: Engine, settings: Settings, shared_data: Path, *, now: datetime) -> int:
    """Load the real data into ``engine``'s store; returns the number of offerings."""
    specs = _specs(shared_data)
    types = parse_instance_types(specs, observed_at=now)
    prices = parse_spot_prices(
        _price_records(shared_data, {t["name"] for t in types}),
        region=REGION,
        zone_ids={},
        observed_at=now,
    )
    pools = sorted({(p["zone_id"], p["instance_type"]) for p in prices})
    offerings = parse_offerings(
        [
            {"InstanceType": itype, "Location": zone, "LocationType": "availability-zone-id"}
            for zone, itype in pools
        ],
        region=REGION,
        usage=usage_classes(specs),
        observed_at=now,
    )
    rows = TableRows()
    rows.add("instance_types", types)
    rows.add("offerings", offerings)
    rows.add("spot_prices", prices)
    persist_run(engine, CollectionResult("aws", now, now, (REGION,), rows))
    advisor = shared_data / "aws-spot-advisor" / "spot-advisor-data_2025-06-28.json"
    options = {"source_url": advisor.as_uri(), "as_of": ADVISOR_AS_OF}
    run_source(engine, get_source("aws-advisor"), CollectContext(settings, now, options=options))
    return len(offerings)
