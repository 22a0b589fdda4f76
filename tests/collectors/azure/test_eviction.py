"""Eviction-rate buckets: the real ResourceGraphClient against the local fake Resource Manager."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.azure.eviction import (
    MAX_PAGES,
    PAGE_ROWS,
    SOURCE,
    collect_eviction,
    eviction_query,
    parse_eviction_rows,
)
from core.errors import ConfigError, CredentialsError, SourceDataError
from core.runs import CollectionResult, TableRows
from core.store import persist_run
from core.tables import REGIONAL_ZONE, InterruptionRate
from selector import estimate_hazard
from selector.hazard import AZURE_EVICTION_BUCKETS, AZURE_EXPOSURE_HOURS
from tests.collectors.azure.fakes import (
    GRAPH,
    GRAPH_BASIC_EXAMPLE,
    GRAPH_FIRST_PAGE_EXAMPLE,
    FakeArm,
    NoCredential,
    Seen,
    eviction_row,
    example_body,
    graph_pages,
    resource_graph_client,
)

REGIONS = ("eastus", "westeurope")
PAGE_1 = [
    eviction_row("Standard_D2s_v4", "eastus", "0-5"),
    eviction_row("Standard_NC24ads_A100_v4", "eastus", "20+"),
]
PAGE_2 = [
    eviction_row("Standard_D2s_v4", "westeurope", "5-10"),
    eviction_row("Standard_NC6s_v3", "westeurope", "10-15"),
]
PAGE_3 = [eviction_row("Standard_E4s_v5", "westeurope", "15-20")]


def _by_pair(rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(r["region"], r["instance_type"]): r["label"] for r in rows}


def test_pages_are_followed_by_skip_token(fake_arm: FakeArm, now: datetime) -> None:
    graph_pages(fake_arm, [PAGE_1, PAGE_2, PAGE_3])
    result = collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)

    assert result.error is None
    assert result.queries == 3
    assert _by_pair(result.rows) == {
        ("eastus", "Standard_D2s_v4"): "0-5",
        ("eastus", "Standard_NC24ads_A100_v4"): "20+",
        ("westeurope", "Standard_D2s_v4"): "5-10",
        ("westeurope", "Standard_NC6s_v3"): "10-15",
        ("westeurope", "Standard_E4s_v5"): "15-20",
    }
    for row in result.rows:
        assert row["cloud"] == "azure"
        assert row["zone_id"] == REGIONAL_ZONE
        assert row["source"] == SOURCE
        assert row["observed_at"] == now
        assert row["bucket"] == list(AZURE_EVICTION_BUCKETS).index(row["label"])
        assert row["rate"] is None
        assert row["savings_pct"] is None
    sent = fake_arm.seen("POST", GRAPH)
    tokens = [s.body["options"].get("$skipToken") for s in sent]
    assert tokens == [None, "page-1", "page-2"]
    for seen in sent:
        assert seen.body["options"]["resultFormat"] == "objectArray"
        assert seen.body["options"]["$top"] == PAGE_ROWS
        assert seen.body["query"] == eviction_query(REGIONS)
        assert seen.authorization == "Bearer fake-token"
        assert seen.query["api-version"]


def test_the_query_is_the_documented_one_with_the_regions() -> None:
    query = eviction_query(["WestEurope", "eastus", "eastus"])
    assert query.startswith("SpotResources ")
    assert "type =~ 'microsoft.compute/skuspotevictionrate/location'" in query
    assert "location in~ ('eastus', 'westeurope')" in query
    assert "skuName = tostring(sku.name)" in query
    assert "evictionRate = tostring(properties.evictionRate)" in query


@pytest.mark.parametrize("region", ["east us", "eastus'or'1", "", "éastus"])
def test_a_region_that_is_no_arm_name_never_reaches_the_query(region: str) -> None:
    with pytest.raises(ConfigError, match="not an Azure region name"):
        eviction_query(["eastus", region])


def _examples_with(first: list[dict[str, Any]], last: list[dict[str, Any]]) -> Any:
    """The real Resource Graph example pages (envelope and $skipToken as Microsoft wrote
    them), their rows replaced by eviction rows (the examples query ``Resources``)."""
    page_1 = example_body(GRAPH_FIRST_PAGE_EXAMPLE)
    page_2 = example_body(GRAPH_BASIC_EXAMPLE)
    page_1.update(data=first, count=len(first))
    page_2.update(data=last, count=len(last))

    def answer(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        token = (seen.body.get("options") or {}).get("$skipToken")
        if token is None:
            return 200, page_1, {}
        assert token == page_1["$skipToken"]
        return 200, page_2, {}

    return answer


def test_the_real_example_pages_carry_eviction_rows(fake_arm: FakeArm, now: datetime) -> None:
    fake_arm.route("POST", GRAPH, _examples_with(PAGE_1, PAGE_2))
    result = collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)
    assert result.queries == 2
    assert len(result.rows) == len(PAGE_1) + len(PAGE_2)


def test_the_real_examples_as_served_are_no_eviction_rows(fake_arm: FakeArm, now: datetime) -> None:
    # The fake's default answer is Microsoft's own two example pages (a Resources query): read
    # as eviction rates they lack the projected fields, and are refused.
    client = resource_graph_client(fake_arm)
    with pytest.raises(SourceDataError, match="missing field 'skuName'"):
        collect_eviction(client, regions=REGIONS, observed_at=now)


def test_429_then_success_is_retried_by_the_sdk(fake_arm: FakeArm, now: datetime) -> None:
    graph_pages(fake_arm, [PAGE_1, PAGE_2])
    fake_arm.fail("POST", GRAPH, 429, times=2)
    client = resource_graph_client(fake_arm, retry_total=3, retry_backoff_factor=0.001)
    result = collect_eviction(client, regions=REGIONS, observed_at=now)
    assert result.error is None
    assert len(result.rows) == 4
    assert len(fake_arm.seen("POST", GRAPH)) == 4  # two throttled, then both pages


@pytest.mark.parametrize("status", [500, 503, 429])
def test_failure_after_retries_is_a_run_error_with_no_rows(
    fake_arm: FakeArm, now: datetime, status: int
) -> None:
    graph_pages(fake_arm, [PAGE_1, PAGE_2])
    fake_arm.fail("POST", GRAPH, status, times=5)
    client = resource_graph_client(fake_arm, retry_total=1, retry_backoff_factor=0.001)
    result = collect_eviction(client, regions=REGIONS, observed_at=now)
    assert result.rows == []
    assert result.error is not None
    assert result.error.region == "*"
    assert f"HTTP {status}" in result.error.message
    assert "\n" not in result.error.message
    assert len(fake_arm.seen("POST", GRAPH)) == 2  # the first try and one retry


def test_a_failure_on_a_later_page_keeps_no_partial_answer(
    fake_arm: FakeArm, now: datetime
) -> None:
    client = resource_graph_client(fake_arm)
    # The first page answers; the second fails with no retries left.
    fake_arm.route("POST", GRAPH, _fail_after_first())
    result = collect_eviction(client, regions=REGIONS, observed_at=now)
    assert result.rows == []
    assert result.error is not None
    assert "HTTP 500" in result.error.message


def _fail_after_first() -> Any:
    def answer(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        if (seen.body.get("options") or {}).get("$skipToken"):
            return 500, {"error": {"code": "InternalServerError", "message": "boom"}}, {}
        return 200, {"count": 2, "totalRecords": 4, "data": PAGE_1, "$skipToken": "t"}, {}

    return answer


def test_unreachable_endpoint_is_a_run_error(now: datetime) -> None:
    closed = FakeArm()  # never started: its port 0 refuses the connection
    client = resource_graph_client(closed)
    result = collect_eviction(client, regions=REGIONS, observed_at=now)
    assert result.rows == []
    assert result.error is not None
    assert result.error.region == "*"
    assert "prices and sizes kept" in result.error.message


@pytest.mark.parametrize(
    ("page_2", "match"),
    [
        pytest.param(
            [eviction_row("Standard_D2s_v4", "westeurope", "25-30")],
            "unknown eviction rate 25-30",
            id="unknown bucket",
        ),
        pytest.param(
            [eviction_row("Standard_D2s_v4", "westeurope", "<5%")],
            "unknown eviction rate <5%",
            id="aws label",
        ),
        pytest.param(
            [{"skuName": "Standard_D2s_v4", "location": "westeurope"}],
            "missing field 'evictionRate'",
            id="missing bucket",
        ),
        pytest.param(
            [{"location": "westeurope", "evictionRate": "0-5"}],
            "missing field 'skuName'",
            id="missing size",
        ),
        pytest.param([eviction_row("", "westeurope", "0-5")], "without skuName", id="empty size"),
        pytest.param(
            [eviction_row("Standard_D2s_v4", "eastus", "5-10")],
            "is both 0-5 and 5-10",
            id="one pair two buckets",
        ),
    ],
)
def test_malformed_answer_is_refused_whole(
    fake_arm: FakeArm, now: datetime, page_2: list[dict[str, Any]], match: str
) -> None:
    graph_pages(fake_arm, [PAGE_1, page_2])
    with pytest.raises(SourceDataError, match=match) as caught:
        collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)
    assert "\n" not in str(caught.value)


def test_table_format_answer_is_refused(fake_arm: FakeArm, now: datetime) -> None:
    table = {"columns": [{"name": "skuName"}], "rows": [["Standard_D2s_v4"]]}
    fake_arm.route_json("POST", GRAPH, {"count": 1, "totalRecords": 1, "data": table})
    with pytest.raises(SourceDataError, match="not an object array"):
        collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)


def test_endless_paging_is_refused(fake_arm: FakeArm, now: datetime) -> None:
    def answer(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        token = (seen.body.get("options") or {}).get("$skipToken") or "0"
        nxt = str(int(token) + 1)
        return 200, {"count": 1, "totalRecords": 1, "data": PAGE_3, "$skipToken": nxt}, {}

    fake_arm.route("POST", GRAPH, answer)
    with pytest.raises(SourceDataError, match=f"after {MAX_PAGES} pages"):
        collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)
    assert len(fake_arm.seen("POST", GRAPH)) == MAX_PAGES


def test_a_repeated_skip_token_is_refused(fake_arm: FakeArm, now: datetime) -> None:
    page = {"count": 1, "totalRecords": 1, "data": PAGE_3, "$skipToken": "same"}
    fake_arm.route_json("POST", GRAPH, page)
    with pytest.raises(SourceDataError, match="skipToken came back"):
        collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_one_line_naming_the_role(
    fake_arm: FakeArm, now: datetime, status: int
) -> None:
    graph_pages(fake_arm, [PAGE_1])
    fake_arm.fail("POST", GRAPH, status)
    with pytest.raises(CredentialsError) as caught:
        collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)
    message = str(caught.value)
    assert "\n" not in message
    assert "Reader role" in message


def test_missing_credentials_are_one_line(fake_arm: FakeArm, now: datetime) -> None:
    client = resource_graph_client(fake_arm, credential=NoCredential())
    with pytest.raises(CredentialsError, match="failed to retrieve a token") as caught:
        collect_eviction(client, regions=REGIONS, observed_at=now)
    assert "\n" not in str(caught.value)
    assert fake_arm.requests == []  # nothing left the process without a token


def test_no_regions_asks_nothing(fake_arm: FakeArm, now: datetime) -> None:
    result = collect_eviction(resource_graph_client(fake_arm), regions=(), observed_at=now)
    assert (result.rows, result.error, result.queries) == ([], None, 0)
    assert fake_arm.requests == []


def test_rows_of_regions_not_asked_are_left_out(now: datetime) -> None:
    data = [*PAGE_1, eviction_row("Standard_D2s_v4", "japaneast", "0-5")]
    rows = parse_eviction_rows(data, regions=["eastus"], observed_at=now)
    assert {r["region"] for r in rows} == {"eastus"}


def test_sizes_take_the_catalogue_spelling(fake_arm: FakeArm, now: datetime) -> None:
    graph_pages(fake_arm, [[eviction_row("standard_d2s_v4", "EastUS", "0-5")]])
    result = collect_eviction(
        resource_graph_client(fake_arm),
        regions=["eastus"],
        observed_at=now,
        sizes=["Standard_D2s_v4"],
    )
    assert _by_pair(result.rows) == {("eastus", "Standard_D2s_v4"): "0-5"}


def test_subscriptions_scope_the_query(fake_arm: FakeArm, now: datetime) -> None:
    graph_pages(fake_arm, [PAGE_1])
    collect_eviction(
        resource_graph_client(fake_arm),
        regions=REGIONS,
        observed_at=now,
        subscriptions=["sub-a"],
    )
    assert fake_arm.seen("POST", GRAPH)[0].body["subscriptions"] == ["sub-a"]


def test_stored_buckets_read_back_as_hourly_azure_hazard(
    engine: Engine, fake_arm: FakeArm, now: datetime
) -> None:
    graph_pages(fake_arm, [PAGE_1, PAGE_2])
    result = collect_eviction(resource_graph_client(fake_arm), regions=REGIONS, observed_at=now)
    table = TableRows()
    table.add("interruption_rates", result.rows)
    run = persist_run(
        engine,
        CollectionResult("azure", now, now, REGIONS, table, global_tables=frozenset()),
    )
    assert run.status == "ok"
    with Session(engine) as session:
        stored = session.scalars(select(InterruptionRate)).all()
    assert {(r.region, r.instance_type, r.label) for r in stored} == {
        (r["region"], r["instance_type"], r["label"]) for r in result.rows
    }
    for row in stored:
        hazard = estimate_hazard(row.source, row.label)
        assert hazard.kind == "azure-eviction"
        point = AZURE_EVICTION_BUCKETS[str(row.label)][1]
        assert hazard.rate == pytest.approx(-math.log1p(-point) / AZURE_EXPOSURE_HOURS)
