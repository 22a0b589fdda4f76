"""The Retail Prices parser on real Azure prices: SpotLake's snapshot of 2022-08-04.

``spotlake/azure_spot_prices_2022-08-04.json.gz`` (see its SOURCE.md) holds 16,798 rows of
(tier, size, region, on-demand price, Spot price) as SpotLake scraped them from Azure's
pricing data. The file is a JSON *string* holding JSON (double-encoded). Each row is put back
into the Retail Prices item it came from: ``armSkuName`` is ``<tier>_<size>`` (SOURCE.md), the
region is the API's display ``location`` (used here only as the key), the Spot item's
``skuName`` ends in " Spot", the date is the row's ``Date``. Every row must parse, and every
size priced both ways must be cheaper as Spot, except the rows named below with their reason.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.retail import classify, parse_items
from tests.collectors.azure.builders import retail_item

SNAPSHOT = "spotlake/azure_spot_prices_2022-08-04.json.gz"
ROWS = 16_798
# Rows SpotLake stored without a size name (tier "FXmds Type1", InstanceType ""): nothing to
# key a price by, so the parser leaves them out as "no ARM size name". Listed by id.
NAMELESS_IDS = frozenset({176, 177, 178, 179, 180})
# (region, size) pairs whose Spot price is not below on-demand. Computed from the file: none.
SPOT_NOT_CHEAPER: frozenset[tuple[str, str]] = frozenset()


@pytest.fixture(scope="module")
def rows(shared_data: Path) -> list[dict[str, Any]]:
    with gzip.open(shared_data / SNAPSHOT, "rt", encoding="utf-8") as handle:
        decoded: list[dict[str, Any]] = json.loads(json.load(handle))
    assert len(decoded) == ROWS
    return decoded


def _items(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(on-demand item, Spot item) of one SpotLake row."""
    size = f"{row['InstanceTier']}_{row['InstanceType']}" if row["InstanceType"] else ""
    common = {"effective": row["Date"], "armRegionName": row["Region"]}
    return (
        retail_item(size, row["Region"], row["OndemandPrice"], **common),
        retail_item(size, row["Region"], row["SpotPrice"], spot=True, **common),
    )


def test_every_spot_row_parses_as_a_spot_price(rows: list[dict[str, Any]]) -> None:
    nameless = set()
    for row in rows:
        on_demand, spot = _items(row)
        got_spot, got_od = classify(spot), classify(on_demand)
        if row["id"] in NAMELESS_IDS:
            assert got_spot == got_od == "no ARM size name", row
            nameless.add(row["id"])
            continue
        assert not isinstance(got_spot, str), (row, got_spot)
        assert not isinstance(got_od, str), (row, got_od)
        assert got_spot[0] == "spot", row
        assert got_od[0] == "on-demand", row
        assert got_spot[1].usd_per_hour == row["SpotPrice"]
        assert got_spot[1].size.endswith(row["InstanceType"])
    assert nameless == NAMELESS_IDS  # the exceptions are exactly the named rows


def test_spot_is_cheaper_than_on_demand_for_every_size_priced_both_ways(
    rows: list[dict[str, Any]],
) -> None:
    prices = parse_items(item for row in rows for item in _items(row))
    assert len(prices.spot) == ROWS - len(NAMELESS_IDS)
    assert prices.excluded == {"no ARM size name": 2 * len(NAMELESS_IDS)}
    both = prices.spot.keys() & prices.on_demand.keys()
    assert len(both) == len(prices.spot)
    not_cheaper = {
        key for key in both if prices.spot[key].usd_per_hour >= prices.on_demand[key].usd_per_hour
    }
    assert not_cheaper == SPOT_NOT_CHEAPER
    # The file's Savings column agrees with the parsed prices (to its integer rounding).
    for row in rows:
        if row["id"] in NAMELESS_IDS:
            continue
        key = (row["Region"].lower(), f"{row['InstanceTier']}_{row['InstanceType']}")
        saved = 100 * (1 - prices.spot[key].usd_per_hour / prices.on_demand[key].usd_per_hour)
        assert abs(saved - row["Savings"]) <= 1, row
