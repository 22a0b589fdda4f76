"""Retail Prices API: fetch (paging, throttling, server errors) and parse (what is a Linux VM's
hourly on-demand or Spot price), and Spot rows as change events — all without a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from collectors.azure.retail import (
    MAX_ATTEMPTS,
    MAX_WAIT_S,
    RetailFetchError,
    classify,
    fetch_prices,
    parse_items,
    spot_rows,
)
from core.errors import SourceDataError
from tests.collectors.azure.builders import RETAIL_URL, FakeRetail, retail_item

REGION = "eastus"
SIZE = "Standard_NC4as_T4_v3"


def _fetch(retail: FakeRetail, **kwargs: Any) -> tuple[list[Any], list[float]]:
    waits: list[float] = []
    items = fetch_prices(retail.client(), RETAIL_URL, region=REGION, sleep=waits.append, **kwargs)
    return items, waits


def test_pages_are_followed_with_the_filter() -> None:
    retail = FakeRetail({REGION: [retail_item(f"Standard_D{n}s_v5", REGION, n) for n in range(5)]})
    items, _ = _fetch(retail)
    assert [i["armSkuName"] for i in items] == [f"Standard_D{n}s_v5" for n in range(5)]
    assert len(retail.requests) == 3  # pages of 2: 2 + 2 + 1
    first = retail.requests[0].url.params["$filter"]
    assert first == (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' "
        "and priceType eq 'Consumption'"
    )


def test_a_link_loop_is_bounded() -> None:
    retail = FakeRetail({REGION: [retail_item("Standard_D2s_v5", REGION, 1)] * 10})
    with pytest.raises(RetailFetchError, match="more than 3 pages"):
        _fetch(retail, max_pages=3)


def test_throttling_waits_as_retry_after_asks_then_succeeds() -> None:
    retail = FakeRetail({REGION: [retail_item(SIZE, REGION, 0.5)]})
    retail.failures = [(429, {"Retry-After": "7"}), (503, {}), (429, {"Retry-After": "9999"})]
    items, waits = _fetch(retail)
    assert len(items) == 1
    # Retry-After 7 s; a 503 without one: the second backoff step (2 s); a huge ask is capped.
    assert waits == [7.0, 2.0, MAX_WAIT_S]


def test_retries_are_bounded_and_fail_the_fetch() -> None:
    retail = FakeRetail({REGION: [retail_item(SIZE, REGION, 0.5)]})
    retail.failures = [(500, {})] * (MAX_ATTEMPTS + 1)
    with pytest.raises(RetailFetchError, match=f"HTTP 500 after {MAX_ATTEMPTS} attempts"):
        _fetch(retail)
    assert len(retail.requests) == MAX_ATTEMPTS


def test_a_client_error_is_not_retried() -> None:
    retail = FakeRetail({REGION: []})
    retail.failures = [(400, {})]
    with pytest.raises(RetailFetchError, match="HTTP 400"):
        _fetch(retail)
    assert len(retail.requests) == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>maintenance</html>", "not JSON"),
        (b'{"Count": 0}', "no Items list"),
        (b'{"Items": {"a": 1}}', "no Items list"),
        (b'{"Items": [], "NextPageLink": 5}', "NextPageLink is not a URL"),
    ],
)
def test_a_malformed_page_is_refused(body: bytes, why: str) -> None:
    retail = FakeRetail(bodies={REGION: body})
    with pytest.raises(SourceDataError, match=why):
        _fetch(retail)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # why: the plain Linux consumption meter is the on-demand price
        (retail_item(SIZE, REGION, 0.526), "on-demand"),
        # why: " Spot" meters are the Spot price
        (retail_item(SIZE, REGION, 0.0789, spot=True), "spot"),
        # why: Windows meters include the licence
        (retail_item(SIZE, REGION, 0.9, windows=True), "Windows"),
        (retail_item(SIZE, REGION, 0.2, windows=True, spot=True), "Windows"),
        # why: Low Priority is Batch's older offer, not what a Spot VM pays
        (retail_item(SIZE, REGION, 0.1, low_priority=True), "Low Priority (not Spot)"),
        # why: only hourly meters price a VM-hour
        (retail_item(SIZE, REGION, 30.0, unitOfMeasure="1/Month"), "unit 1/Month"),
        (retail_item(SIZE, REGION, 0.3, type="DevTest"), "price type DevTest"),
        (retail_item("", REGION, 0.3), "no ARM size name"),
        (retail_item(SIZE, REGION, 0.0), "no charge"),
    ],
)
def test_classify(item: dict[str, Any], expected: str) -> None:
    got = classify(item)
    assert (got if isinstance(got, str) else got[0]) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retailPrice", "0.5"),  # a string, not a number
        ("retailPrice", True),
        ("retailPrice", -1.0),
        ("retailPrice", float("nan")),
        ("armSkuName", None),
        ("skuName", 3),
        ("effectiveStartDate", "last tuesday"),
        ("currencyCode", "EUR"),
    ],
)
def test_a_mistyped_item_refuses_the_whole_list(field: str, value: object) -> None:
    good = retail_item("Standard_D2s_v5", REGION, 0.1)
    bad = retail_item(SIZE, REGION, 0.5)
    bad[field] = value
    with pytest.raises(SourceDataError, match="malformed Retail Prices item"):
        parse_items([good, bad])


@pytest.mark.parametrize("missing", ["retailPrice", "armSkuName", "unitOfMeasure", "productName"])
def test_an_item_missing_a_field_refuses_the_whole_list(missing: str) -> None:
    bad = retail_item(SIZE, REGION, 0.5)
    del bad[missing]
    with pytest.raises(SourceDataError, match=f"missing field '{missing}'"):
        parse_items([bad])


def test_parse_keeps_one_price_per_size_and_counts_what_it_left_out() -> None:
    items = [
        retail_item(SIZE, REGION, 0.526),
        retail_item(SIZE, REGION, 0.0789, spot=True),
        # An older Spot meter for the same size: the newer one is in force.
        retail_item(SIZE, REGION, 0.07, spot=True, effective="2025-01-01T00:00:00Z"),
        # A secondary meter region's copy: the primary wins even when cheaper.
        retail_item(SIZE, REGION, 0.01, spot=True, isPrimaryMeterRegion=False),
        retail_item(SIZE, REGION, 0.9, windows=True),
        retail_item(SIZE, REGION, 0.06, low_priority=True),
    ]
    prices = parse_items(items)
    assert prices.on_demand[(REGION, SIZE)].usd_per_hour == 0.526
    spot = prices.spot[(REGION, SIZE)]
    assert spot.usd_per_hour == 0.0789
    assert spot.effective == datetime(2026, 10, 1, tzinfo=UTC)
    assert prices.excluded == {"Windows": 1, "Low Priority (not Spot)": 1}


def test_spot_rows_are_change_events_that_reconfirm_the_price_in_force(now: datetime) -> None:
    prices = parse_items([retail_item(SIZE, REGION, 0.08, spot=True)])
    zones = {SIZE: ["eastus-1", "eastus-2"]}
    effective = datetime(2026, 10, 1, tzinfo=UTC)
    first = spot_rows(prices, region=REGION, zones=zones, latest={}, observed_at=now)
    assert [(r["zone_id"], r["ts"], r["observed_at"]) for r in first] == [
        ("eastus-1", effective, now),
        ("eastus-2", effective, now),
    ]
    assert all(r["source"] == "azure-retail" for r in first)
    later = now + timedelta(hours=2)
    # The same price again: the stored change (its ts) is re-confirmed, no new change.
    stored = {(REGION, z, SIZE): (effective, 0.08) for z in zones[SIZE]}
    again = spot_rows(prices, region=REGION, zones=zones, latest=stored, observed_at=later)
    assert {(r["ts"], r["observed_at"]) for r in again} == {(effective, later)}
    # A different price dated no later than the stored change: a change seen by this run.
    moved = parse_items([retail_item(SIZE, REGION, 0.09, spot=True)])
    changed = spot_rows(moved, region=REGION, zones=zones, latest=stored, observed_at=later)
    assert {r["ts"] for r in changed} == {later}
    # A different price with a newer effective date: dated by it.
    newer = parse_items(
        [retail_item(SIZE, REGION, 0.09, spot=True, effective="2026-11-15T00:00:00Z")]
    )
    dated = spot_rows(newer, region=REGION, zones=zones, latest=stored, observed_at=later)
    assert {r["ts"] for r in dated} == {datetime(2026, 11, 15, tzinfo=UTC)}


def test_transport_errors_are_retried() -> None:
    calls = {"n": 0}
    retail = FakeRetail({REGION: [retail_item(SIZE, REGION, 0.5)]})

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("connection reset", request=request)
        return retail.handle(request)

    client = httpx.Client(transport=httpx.MockTransport(flaky))
    waits: list[float] = []
    items = fetch_prices(client, RETAIL_URL, region=REGION, sleep=waits.append)
    assert len(items) == 1
    assert waits == [1.0]
