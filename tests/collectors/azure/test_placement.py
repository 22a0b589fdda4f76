"""Spot Placement Scores: the planner, and the real RecommenderMgmtClient against the local fake."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.azure.placement import (
    DESIRED_COUNT,
    MAX_PLACEMENT_CALLS_PER_DAY,
    MAX_PLACEMENT_CALLS_PER_RUN,
    MAX_REGIONS_PER_CALL,
    MAX_SIZES_PER_CALL,
    MIN_RESCORE_AGE,
    SOURCE,
    PlacementBatch,
    PlacementTarget,
    collect_placement,
    parse_placement,
    placement_budget,
    placement_calls_spent,
    placement_history,
    placement_targets,
    plan_placement,
)
from core.errors import CredentialsError, SourceDataError
from core.runs import CollectionResult, TableRows
from core.store import persist_run
from core.tables import REGIONAL_ZONE, PlacementScore
from selector.capacity import AZURE_PLACEMENT, FLAG_MISSING, NEUTRAL_CAPACITY, capacity_arrays
from tests.collectors.azure.fakes import (
    PLACEMENT,
    PLACEMENT_POST_EXAMPLE,
    SUBSCRIPTION,
    FakeArm,
    NoCredential,
    Seen,
    example,
    example_body,
    placement_scores,
    recommender_client,
)

D2 = "Standard_D2_v2"
# The pair the real GenerateSpotPlacementScores example answers.
EXAMPLE_BATCH = PlacementBatch(
    ("eastus", "eastus2"),
    (D2,),
    (PlacementTarget("eastus", D2), PlacementTarget("eastus2", D2)),
)


def _batch(regions: tuple[str, ...], sizes: tuple[str, ...]) -> PlacementBatch:
    targets = tuple(PlacementTarget(r, s) for r in regions for s in sizes)
    return PlacementBatch(regions, sizes, targets)


# --- planner -------------------------------------------------------------------------------


def test_targets_are_unique_sorted_pairs() -> None:
    targets = placement_targets({"EastUS ": ["b", "a", "a"], "westus": {"a"}, "x": [" "]})
    assert targets == [
        PlacementTarget("eastus", "a"),
        PlacementTarget("eastus", "b"),
        PlacementTarget("westus", "a"),
    ]


def _grid(regions: int, sizes: int) -> list[PlacementTarget]:
    offered = {f"region{r:02d}": [f"Size_{s:02d}" for s in range(sizes)] for r in range(regions)}
    return placement_targets(offered)


def test_batches_respect_eight_regions_by_five_sizes_and_cover_each_target_once() -> None:
    targets = _grid(10, 12)
    batches = plan_placement(targets, history={}, limit=100)
    for batch in batches:
        assert 1 <= len(batch.regions) <= MAX_REGIONS_PER_CALL
        assert 1 <= len(batch.sizes) <= MAX_SIZES_PER_CALL
        assert set(batch.targets) <= {
            PlacementTarget(r, s) for r in batch.regions for s in batch.sizes
        }
    covered = [t for b in batches for t in b.targets]
    assert sorted(covered) == sorted(targets)  # every target, none twice
    # 12 sizes need 3 size groups, 10 regions 2 region groups: 6 calls, none wasted.
    assert len(batches) == math.ceil(12 / 5) * math.ceil(10 / 8)


def test_batches_only_join_regions_offering_the_sizes() -> None:
    targets = placement_targets({"eastus": ["A", "B"], "westus": ["C"], "northeurope": ["A"]})
    batches = plan_placement(targets, history={}, limit=10)
    for batch in batches:
        for region in batch.regions:
            assert any(t.region == region for t in batch.targets)
    assert sorted(t for b in batches for t in b.targets) == targets


def test_the_budget_limits_calls_and_the_stalest_go_first(now: datetime) -> None:
    targets = _grid(2, 10)  # 2 regions × 10 sizes: two calls of 5 sizes
    old = {(t.region, t.size): now - timedelta(days=3) for t in targets if t.size < "Size_05"}
    newer = {(t.region, t.size): now - timedelta(days=1) for t in targets if t.size >= "Size_05"}
    [batch] = plan_placement(targets, history={**old, **newer}, limit=1, now=now)
    assert set(batch.sizes) == {f"Size_{s:02d}" for s in range(5)}
    # Never-scored targets go before any scored one.
    never = [PlacementTarget("region09", "Size_99")]
    [first] = plan_placement([*targets, *never], history={**old, **newer}, limit=1, now=now)
    assert first.regions[0] == "region09"
    assert first.sizes[0] == "Size_99"


def test_no_budget_no_calls() -> None:
    assert plan_placement(_grid(2, 2), history={}, limit=0) == []


def test_a_target_scored_within_the_cache_window_is_not_asked_again(now: datetime) -> None:
    targets = _grid(1, 2)
    just_now = {(targets[0].region, targets[0].size): now - MIN_RESCORE_AGE / 2}
    [batch] = plan_placement(targets, history=just_now, limit=5, now=now)
    assert batch.targets == (targets[1],)
    a_while_ago = {(targets[0].region, targets[0].size): now - MIN_RESCORE_AGE * 2}
    [batch] = plan_placement(targets, history=a_while_ago, limit=5, now=now)
    assert set(batch.targets) == set(targets)


@pytest.mark.parametrize(
    ("spent", "budget"),
    [
        (0, MAX_PLACEMENT_CALLS_PER_RUN),
        (MAX_PLACEMENT_CALLS_PER_DAY - 2, 2),
        (MAX_PLACEMENT_CALLS_PER_DAY, 0),
        (MAX_PLACEMENT_CALLS_PER_DAY + 5, 0),
    ],
)
def test_budget_is_the_run_cap_or_what_the_day_has_left(spent: int, budget: int) -> None:
    assert placement_budget(spent) == budget


def test_the_run_cap_fits_the_documented_request_limits() -> None:
    # A run's calls never ask about more than 8 × 5 pairs each.
    assert MAX_REGIONS_PER_CALL == 8
    assert MAX_SIZES_PER_CALL == 5
    assert MAX_PLACEMENT_CALLS_PER_RUN <= MAX_PLACEMENT_CALLS_PER_DAY


# --- the real client against the fake ----------------------------------------------------


def test_the_real_example_answer_is_recorded_zonally(fake_arm: FakeArm, now: datetime) -> None:
    client = recommender_client(fake_arm)
    result = collect_placement(
        client, subscription=SUBSCRIPTION, batches=[EXAMPLE_BATCH], observed_at=now
    )
    assert result.error is None
    assert result.calls == 1
    expected = example_body(PLACEMENT_POST_EXAMPLE)["placementScores"]
    assert len(result.rows) == len(expected) == 6
    got = {(r["region"], r["zone_id"]): (r["raw"], r["score"]) for r in result.rows}
    for record in expected:
        key = (record["region"], f"{record['region']}-{record['availabilityZone']}")
        assert got[key] == (record["score"], AZURE_PLACEMENT[record["score"].lower()])
    assert got[("eastus2", "eastus2-1")] == ("DataNotFoundOrStale", None)  # stale kept as such
    for row in result.rows:
        assert row["cloud"] == "azure"
        assert row["source"] == SOURCE
        assert row["instance_types"] == D2
        assert row["target_capacity"] == DESIRED_COUNT
        assert row["observed_at"] == now
    # The request: the body the spec example sends, at the first region's location.
    [seen] = fake_arm.seen("POST", PLACEMENT)
    assert seen.match == {"sub": SUBSCRIPTION, "location": "eastus"}
    spec_request = example(PLACEMENT_POST_EXAMPLE)["parameters"]["spotPlacementScoresInput"]
    assert seen.body == spec_request
    assert seen.query["api-version"]
    assert seen.authorization == "Bearer fake-token"


def test_restricted_regional_and_quota_short_answers_are_recorded(
    fake_arm: FakeArm, now: datetime
) -> None:
    placement_scores(
        fake_arm,
        {
            ("Standard_NC6s_v3", "eastus"): {"1": "RestrictedSkuNotAvailable", "2": "Low"},
            ("Standard_NC6s_v3", "westus"): {None: "Medium"},  # a region without zones
            ("Standard_D2_v2", "eastus"): {"1": "High"},  # not a target: left out
        },
    )
    batch = PlacementBatch(
        ("eastus", "westus"),
        ("Standard_NC6s_v3", "Standard_D2_v2"),
        (
            PlacementTarget("eastus", "Standard_NC6s_v3"),
            PlacementTarget("westus", "Standard_NC6s_v3"),
        ),
    )
    result = collect_placement(
        recommender_client(fake_arm), subscription=SUBSCRIPTION, batches=[batch], observed_at=now
    )
    got = {(r["region"], r["zone_id"]): (r["raw"], r["score"]) for r in result.rows}
    assert got == {
        ("eastus", "eastus-1"): ("RestrictedSkuNotAvailable", 0.0),
        ("eastus", "eastus-2"): ("Low", AZURE_PLACEMENT["low"]),
        ("westus", REGIONAL_ZONE): ("Medium", AZURE_PLACEMENT["medium"]),
    }
    assert result.quota_short == [("eastus", "eastus-1", "Standard_NC6s_v3")]


def test_429_then_success_is_retried_by_the_sdk(fake_arm: FakeArm, now: datetime) -> None:
    fake_arm.fail("POST", PLACEMENT, 429, times=2)
    client = recommender_client(fake_arm, retry_total=3, retry_backoff_factor=0.001)
    result = collect_placement(
        client, subscription=SUBSCRIPTION, batches=[EXAMPLE_BATCH], observed_at=now
    )
    assert result.error is None
    assert len(result.rows) == 6
    assert result.calls == 1
    assert len(fake_arm.seen("POST", PLACEMENT)) == 3


def _nth_fails(status: int, *, after: int) -> Any:
    """A placement route that answers the example ``after`` times, then ``status``."""
    answered = [0]

    def answer(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        answered[0] += 1
        if answered[0] > after:
            return status, {"error": {"code": f"Http{status}", "message": "no"}}, {}
        asked = seen.body or {}
        scores = [
            {"sku": s["sku"], "region": r, "availabilityZone": "1", "score": "High"}
            for s in asked["desiredSizes"]
            for r in asked["desiredLocations"]
        ]
        return 200, {**asked, "placementScores": scores}, {}

    return answer


BATCHES = [_batch(("eastus",), ("A",)), _batch(("westus",), ("B",)), _batch(("uksouth",), ("C",))]


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (429, "throttled"),
        (403, "Compute Recommendations Role"),
        (401, "Compute Recommendations Role"),
    ],
)
def test_throttling_or_refusal_stops_asking_and_keeps_earlier_rows(
    fake_arm: FakeArm, now: datetime, status: int, hint: str
) -> None:
    fake_arm.route("POST", PLACEMENT, _nth_fails(status, after=1))
    client = recommender_client(fake_arm)  # no retries: a 429 stays a 429
    result = collect_placement(client, subscription=SUBSCRIPTION, batches=BATCHES, observed_at=now)
    assert result.calls == 2  # the third batch is never asked
    assert [(r["region"], r["instance_types"]) for r in result.rows] == [("eastus", "A")]
    assert result.error is not None
    assert result.error.region == "*"
    assert hint in result.error.message
    assert f"HTTP {status}" in result.error.message
    assert "\n" not in result.error.message


def test_a_server_error_skips_its_batch_only(fake_arm: FakeArm, now: datetime) -> None:
    fake_arm.route("POST", PLACEMENT, _nth_fails(500, after=10))
    fake_arm.fail("POST", PLACEMENT, 500, times=1)  # the first call fails, no retries left
    client = recommender_client(fake_arm)
    result = collect_placement(client, subscription=SUBSCRIPTION, batches=BATCHES, observed_at=now)
    assert result.calls == 3
    assert {r["region"] for r in result.rows} == {"westus", "uksouth"}
    assert result.error is not None
    assert "failed for 1 of 3 call(s); first eastus" in result.error.message


def test_unreachable_endpoint_is_a_run_error(now: datetime) -> None:
    client = recommender_client(FakeArm())  # never started: nothing listens
    result = collect_placement(client, subscription=SUBSCRIPTION, batches=BATCHES, observed_at=now)
    assert result.rows == []
    assert result.calls == 3
    assert result.error is not None
    assert "3 of 3" in result.error.message


def test_missing_credentials_are_one_line(fake_arm: FakeArm, now: datetime) -> None:
    client = recommender_client(fake_arm, credential=NoCredential())
    with pytest.raises(CredentialsError) as caught:
        collect_placement(client, subscription=SUBSCRIPTION, batches=BATCHES, observed_at=now)
    assert "\n" not in str(caught.value)
    assert fake_arm.requests == []


@pytest.mark.parametrize(
    ("record", "match"),
    [
        pytest.param({"sku": D2, "region": "eastus", "score": "VeryHigh"}, "High, Medium, Low"),
        pytest.param({"sku": D2, "region": "eastus", "score": 9}, "not a string"),
        pytest.param({"sku": D2, "region": "eastus"}, "missing field 'score'"),
        pytest.param({"region": "eastus", "score": "High"}, "missing field 'sku'"),
    ],
)
def test_malformed_answer_is_refused(
    fake_arm: FakeArm, now: datetime, record: dict[str, Any], match: str
) -> None:
    fake_arm.route_json("POST", PLACEMENT, {"placementScores": [record]})
    client = recommender_client(fake_arm)
    with pytest.raises(SourceDataError, match=match):
        collect_placement(
            client, subscription=SUBSCRIPTION, batches=[EXAMPLE_BATCH], observed_at=now
        )


def test_an_answer_without_scores_is_refused(now: datetime) -> None:
    with pytest.raises(SourceDataError, match="missing field 'placementScores'"):
        parse_placement({"desiredCount": 1}, batch=EXAMPLE_BATCH, observed_at=now)


# --- the store: history, spent calls, and what the selector makes of the rows --------------


def _persist(engine: Engine, rows: list[dict[str, Any]], at: datetime) -> None:
    table = TableRows()
    table.add("placement_scores", rows)
    regions = tuple(sorted({r["region"] for r in rows}))
    result = CollectionResult("azure", at, at, regions, table, global_tables=frozenset())
    assert persist_run(engine, result).status == "ok"


def test_history_and_spent_calls_come_from_stored_scores(
    engine: Engine, fake_arm: FakeArm, now: datetime
) -> None:
    client = recommender_client(fake_arm)
    day_ago = now - timedelta(hours=30)
    earlier = collect_placement(
        client, subscription=SUBSCRIPTION, batches=[EXAMPLE_BATCH], observed_at=day_ago
    )
    _persist(engine, earlier.rows, day_ago)
    hour_ago = now - timedelta(hours=1)
    batch = PlacementBatch(("eastus",), (D2,), (PlacementTarget("eastus", D2),))
    latest = collect_placement(
        client, subscription=SUBSCRIPTION, batches=[batch], observed_at=hour_ago
    )
    _persist(engine, latest.rows, hour_ago)

    history = placement_history(engine, now=now)
    assert history == {("eastus", D2): hour_ago, ("eastus2", D2): day_ago}
    # Only the run within the day counts: one call (one pair, however many zones).
    assert placement_calls_spent(engine, now=now) == 1
    assert placement_calls_spent(engine, now=now + timedelta(days=2)) == 0
    assert placement_history(None, now=now) == {}
    # The planner then starts from the stalest pair (and fills the call with the other).
    targets = [PlacementTarget("eastus", D2), PlacementTarget("eastus2", D2)]
    [first] = plan_placement(targets, history=history, limit=1, now=now)
    assert first.regions == ("eastus2", "eastus")


def test_stale_is_missing_and_restricted_is_no_capacity_to_the_selector(
    engine: Engine, fake_arm: FakeArm, now: datetime
) -> None:
    placement_scores(
        fake_arm, {(D2, "eastus"): {"1": "DataNotFoundOrStale", "2": "RestrictedSkuNotAvailable"}}
    )
    batch = PlacementBatch(("eastus",), (D2,), (PlacementTarget("eastus", D2),))
    result = collect_placement(
        recommender_client(fake_arm), subscription=SUBSCRIPTION, batches=[batch], observed_at=now
    )
    _persist(engine, result.rows, now)
    with Session(engine) as session:
        stored = {
            s.zone_id: (s.raw, s.score)
            for s in session.scalars(select(PlacementScore).order_by(PlacementScore.zone_id))
        }
    assert stored == {
        "eastus-1": ("DataNotFoundOrStale", None),
        "eastus-2": ("RestrictedSkuNotAvailable", 0.0),
    }
    scores = np.array([np.nan if s is None else s for _, s in stored.values()], dtype=float)
    c, flags = capacity_arrays(
        scores,
        np.array([True, True]),
        np.zeros(2),
        np.zeros(2),
        np.full(2, np.nan),
    )
    assert c[0] == pytest.approx(NEUTRAL_CAPACITY)
    assert flags[0] & FLAG_MISSING
    assert c[1] == 0.0
    assert not flags[1] & FLAG_MISSING
