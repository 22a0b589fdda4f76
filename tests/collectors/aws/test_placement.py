"""The placement query planner (pure) and its reading of stored scores (both engines)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from sqlalchemy import Engine

from collectors.aws.placement import (
    PlacementConfig,
    fetch_placement_scores,
    parse_placement_scores,
    placement_configs,
    placement_history,
    plan_placement,
)
from core.errors import SourceDataError
from core.runs import CollectionResult, TableRows
from core.store import persist_run

SETS = [["g5.xlarge", "g4dn.xlarge", "g6.xlarge"], ["p3.2xlarge", "g5.4xlarge", "g6.4xlarge"]]


def _config(types: list[str], region: str) -> PlacementConfig:
    return PlacementConfig(tuple(sorted(types)), (region,), True, 1)


def test_configs_are_sorted_sets_per_region(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        configs = placement_configs(
            [*SETS, ["g5.xlarge", "g6.xlarge"], SETS[0]],
            regions=["us-east-1", "eu-west-1"],
            target_capacity=1,
        )
    assert len(configs) == 4, "the duplicate set counts once, the 2-type set is dropped"
    assert configs[0].types_key == "g4dn.xlarge,g5.xlarge,g6.xlarge"
    assert any("fewer than 3" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("recent_hours", "limit", "reused", "new", "skipped"),
    [
        ([], 10, 0, 4, 0),  # nothing spent: everything fits
        ([], 3, 0, 3, 1),  # budget smaller than the wish list
        ([1, 2], 3, 2, 1, 1),  # two asked an hour ago: free; one new left in the budget
        ([1, 2, 3, 4], 3, 4, 0, 0),  # everything reused: costs nothing even over the limit
        ([30, 30], 2, 0, 2, 2),  # asked 30 h ago: outside the window, new again
    ],
)
def test_plan_budget(
    now: datetime, recent_hours: list[int], limit: int, reused: int, new: int, skipped: int
) -> None:
    configs = placement_configs(SETS, regions=["us-east-1", "eu-west-1"], target_capacity=1)
    history = {c: now - timedelta(hours=h) for c, h in zip(configs, recent_hours, strict=False)}
    plan = plan_placement(configs, history=history, now=now, limit=limit)
    assert (len(plan.reused), len(plan.new), len(plan.skipped)) == (reused, new, skipped)


def test_plan_rotates_to_the_stalest_configurations(now: datetime) -> None:
    configs = placement_configs(SETS, regions=["us-east-1", "eu-west-1"], target_capacity=1)
    history = {configs[0]: now - timedelta(days=2), configs[1]: now - timedelta(days=3)}
    plan = plan_placement(configs, history=history, now=now, limit=3)
    assert plan.new == (configs[1], configs[2], configs[3]), "never-scored first, then oldest"
    assert plan.skipped == (configs[0],)


def test_history_is_read_from_stored_scores(engine: Engine, now: datetime) -> None:
    config = _config(SETS[0], "us-east-1")
    records = [
        {"Region": "us-east-1", "AvailabilityZoneId": "use1-az4", "Score": 9},
        {"Region": "us-east-1", "AvailabilityZoneId": "use1-az6", "Score": 3},
    ]
    rows = parse_placement_scores(records, config=config, observed_at=now - timedelta(hours=3))
    assert [r["score"] for r in rows] == [0.9, pytest.approx(0.3)]
    table = TableRows()
    table.add("placement_scores", rows)
    persist_run(engine, CollectionResult("aws", now, now, ("us-east-1",), table))
    history = placement_history(engine, now=now)
    assert history == {config: now - timedelta(hours=3)}
    plan = plan_placement(
        [config, _config(SETS[1], "us-east-1")], history=history, now=now, limit=1
    )
    assert plan.reused == (config,)
    assert plan.new == (), "the one stored configuration used up a budget of 1"


def test_fetch_passes_the_configuration(moto: None, now: datetime) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    config = _config(SETS[0], "us-east-1")
    stub = Stubber(ec2)
    stub.add_response(
        "get_spot_placement_scores",
        {
            "SpotPlacementScores": [
                {"Region": "us-east-1", "AvailabilityZoneId": "use1-az1", "Score": 7}
            ]
        },
        {
            "InstanceTypes": ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"],
            "TargetCapacity": 1,
            "TargetCapacityUnitType": "units",
            "SingleAvailabilityZone": True,
            "RegionNames": ["us-east-1"],
        },
    )
    with stub:
        records = fetch_placement_scores(ec2, config)
    [row] = parse_placement_scores(records, config=config, observed_at=now)
    assert (row["zone_id"], row["raw"], row["score"]) == ("use1-az1", "7", 0.7)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param({"Region": "r" * 65, "Score": 7}, r"placement_scores\.region .* 65",
                     id="65-character region"),
        pytest.param({"Region": "us-east-1", "AvailabilityZoneId": "use1\x00", "Score": 7},
                     r"placement_scores\.zone_id .* control character", id="NUL byte in zone"),
        pytest.param({"Region": "us-east-1", "Score": "9" * 100_000},
                     r"placement_scores\.raw .* 100000 characters", id="huge raw score"),
    ],
)  # fmt: skip
def test_values_the_store_cannot_hold_are_refused_before_scoring(
    record: dict[str, object], reason: str, now: datetime
) -> None:
    config = _config(SETS[0], "us-east-1")
    with pytest.raises(SourceDataError, match=reason) as caught:
        parse_placement_scores([record], config=config, observed_at=now)
    assert len(str(caught.value)) < 300, "the value is quoted cut short"
