"""The ``azure`` source with its extra signals: eviction buckets (Resource Graph) and Spot
placement scores (recommender), through the real SDK clients against the local ARM fake, both
engines. Their failures leave the regions' sizes and prices standing (a partial run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.base import CollectContext
from collectors.runner import run_source
from core.errors import CredentialsError
from core.settings import Settings
from core.tables import CollectionRunRegion, InterruptionRate, OnDemandPrice, PlacementScore
from tests.collectors.azure.builders import FakeRetail, azure_source, prices_for, serve_skus
from tests.collectors.azure.builders import sku_record as sku
from tests.collectors.azure.fakes import (
    GRAPH,
    PLACEMENT,
    SUBSCRIPTION,
    FakeArm,
    eviction_row,
    graph_pages,
    placement_scores,
)

EAST, WEST = "eastus", "westus2"
T4, D2 = "Standard_NC4as_T4_v3", "Standard_D2s_v5"
BUCKETS = {(T4, EAST): "5-10", (D2, EAST): "0-5", (T4, WEST): "20+"}
SCORES: dict[tuple[str, str], dict[str | None, str]] = {
    (T4, EAST): {"1": "High", "2": "Low"},
    (T4, WEST): {None: "Medium"},
}


@pytest.fixture
def fake(fake_arm: FakeArm) -> FakeArm:
    serve_skus(
        fake_arm,
        {
            EAST: [sku(T4, EAST, 4, 28, gpus=1, zones=["1", "2"]), sku(D2, EAST, 2, 8)],
            WEST: [sku(T4, WEST, 4, 28, gpus=1, zones=[])],
        },
    )
    # Resource Graph answers in two pages; SpotResources spells sizes in lower case.
    rows = [eviction_row(size.lower(), region, label) for (size, region), label in BUCKETS.items()]
    graph_pages(fake_arm, [rows[:2], rows[2:]])
    placement_scores(fake_arm, SCORES)
    return fake_arm


def _retail() -> FakeRetail:
    return FakeRetail(
        {
            EAST: prices_for(EAST, {T4: (0.526, 0.0789), D2: (0.096, 0.0192)}),
            WEST: prices_for(WEST, {T4: (0.526, 0.0811)}),
        }
    )


def _ctx(settings: Settings, now: datetime) -> CollectContext:
    options = {"subscription": SUBSCRIPTION, "regions": [EAST, WEST]}
    return CollectContext(settings=settings, now=now, options=options)


def _rows(engine: Engine, *columns: Any) -> set[tuple[Any, ...]]:
    with Session(engine) as session:
        return {tuple(r) for r in session.execute(select(*columns)).all()}


def test_eviction_buckets_and_placement_scores_land_beside_the_prices(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    run = run_source(engine, azure_source(fake, _retail(), with_signals=True), _ctx(settings, now))
    assert run.status == "ok", run.error_message
    # The query covered the collected regions of this subscription, and both pages were read.
    graph = fake.seen("POST", GRAPH)
    assert len(graph) == 2
    assert graph[0].body["subscriptions"] == [SUBSCRIPTION]
    assert "'eastus', 'westus2'" in graph[0].body["query"]
    evictions = _rows(
        engine,
        InterruptionRate.region,
        InterruptionRate.zone_id,
        InterruptionRate.instance_type,
        InterruptionRate.label,
        InterruptionRate.source,
    )
    # Regional buckets, the size spelt as the catalogue spells it.
    assert evictions == {
        (region, "", size, label, "azure-eviction") for (size, region), label in BUCKETS.items()
    }
    scores = _rows(
        engine,
        PlacementScore.region,
        PlacementScore.zone_id,
        PlacementScore.instance_types,
        PlacementScore.raw,
        PlacementScore.source,
    )
    assert scores == {
        (EAST, "eastus-1", T4, "High", "azure-placement"),
        (EAST, "eastus-2", T4, "Low", "azure-placement"),
        (WEST, "", T4, "Medium", "azure-placement"),
    }
    # The recommender was asked about the Spot-priced sizes of the collected regions only.
    asked = fake.seen("POST", PLACEMENT)
    assert asked
    assert {s["sku"] for call in asked for s in call.body["desiredSizes"]} == {T4, D2}


def test_failing_signals_leave_a_partial_run_with_prices_in_place(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    fake.fail("POST", GRAPH, 500)
    fake.fail("POST", PLACEMENT, 503, times=10)
    run = run_source(engine, azure_source(fake, _retail(), with_signals=True), _ctx(settings, now))
    assert run.status == "partial"
    with Session(engine) as session:
        regions = {
            r.region: r.status
            for r in session.scalars(
                select(CollectionRunRegion).where(CollectionRunRegion.run_id == run.id)
            )
        }
    # The regions are fine; the run's error (on "*") names both signals.
    assert regions == {EAST: "ok", WEST: "ok"}
    assert "eviction rates unavailable" in (run.error_message or "")
    assert "Spot Placement Scores failed" in (run.error_message or "")
    assert "+" in (run.error_class or "")
    assert _rows(engine, OnDemandPrice.region) == {(EAST,), (WEST,)}
    assert _rows(engine, InterruptionRate.region) == set()


def test_resource_graph_refusing_the_identity_is_one_line(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    fake.fail("POST", GRAPH, 403)
    with pytest.raises(CredentialsError, match="Reader role") as info:
        run_source(engine, azure_source(fake, _retail(), with_signals=True), _ctx(settings, now))
    assert "\n" not in str(info.value)
