"""CreateFleet and ASG builders: field-level assertions plus golden files."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from selector.outputs import (
    MAX_FLEET_OVERRIDES,
    FleetOptions,
    OutputError,
    asg_request,
    create_fleet_request,
    ranked_types,
)
from tests.selector.outputs.fixtures import as_json, assert_golden, profile, ranking

OPTIONS = FleetOptions(
    launch_template_id="lt-0123456789abcdef0",
    subnets=("subnet-a", "subnet-b"),
    target_capacity=6,
)


def test_one_override_per_type_and_subnet_with_rank_priority() -> None:
    spot = ranking(profile(), "spot")
    request = create_fleet_request(spot, OPTIONS)
    overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
    types = ranked_types(spot)
    assert len(overrides) == len(types) * 2
    assert {(o["InstanceType"], o["SubnetId"]) for o in overrides} == {
        (t, s) for t in types for s in OPTIONS.subnets
    }
    for o in overrides:
        assert o["Priority"] == types.index(o["InstanceType"]) + 1
    assert request["Type"] == "instant"
    assert request["SpotOptions"] == {"AllocationStrategy": "price-capacity-optimized"}
    assert request["TargetCapacitySpecification"] == {
        "TotalTargetCapacity": 6, "DefaultTargetCapacityType": "spot"
    }  # fmt: skip
    assert "OnDemandOptions" not in request


def test_on_demand_base_capacity() -> None:
    options = replace(
        OPTIONS, on_demand_base=2, fleet_type="maintain", strategy="capacity-optimized-prioritized"
    )
    request = create_fleet_request(ranking(profile(), "spot"), options)
    assert request["TargetCapacitySpecification"] == {
        "TotalTargetCapacity": 6, "DefaultTargetCapacityType": "spot",
        "OnDemandTargetCapacity": 2, "SpotTargetCapacity": 4,
    }  # fmt: skip
    assert request["OnDemandOptions"] == {"AllocationStrategy": "prioritized"}
    assert request["Type"] == "maintain"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"strategy": "lowest-price"}, "strategy", id="strategy the ranking can't use"),
        pytest.param({"fleet_type": "spot"}, "type", id="unknown fleet type"),
        pytest.param({"on_demand_base": 7}, "on-demand base", id="base above target"),
        pytest.param({"subnets": ()}, "subnet", id="no subnets"),
        pytest.param({"subnets": ("a", "a")}, "twice", id="duplicate subnet"),
        pytest.param({"target_capacity": 0}, "target capacity", id="zero capacity"),
    ],
)
def test_bad_options_are_refused(change: dict[str, Any], message: str) -> None:
    options = replace(OPTIONS, **change)
    with pytest.raises(OutputError, match=message):
        create_fleet_request(ranking(profile(), "spot"), options)


def test_overrides_are_capped_keeping_the_best_types() -> None:
    many = tuple(f"subnet-{i}" for i in range(MAX_FLEET_OVERRIDES // 2))
    options = replace(OPTIONS, subnets=many)
    request = create_fleet_request(ranking(profile(), "spot"), options)
    overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
    assert len(overrides) <= MAX_FLEET_OVERRIDES
    assert {o["Priority"] for o in overrides} == {1.0, 2.0}


def test_asg_mixed_instances_policy() -> None:
    spot = ranking(profile(), "spot")
    options = replace(OPTIONS, on_demand_base=1)
    request = asg_request(spot, options, name="gpu", on_demand_percentage_above_base=25)
    policy = request["MixedInstancesPolicy"]
    assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == ranked_types(spot)
    assert policy["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized",
        "OnDemandBaseCapacity": 1,
        "OnDemandPercentageAboveBaseCapacity": 25,
        "SpotAllocationStrategy": "price-capacity-optimized",
    }
    assert request["VPCZoneIdentifier"] == "subnet-a,subnet-b"
    assert request["MaxSize"] == request["DesiredCapacity"] == 6


def test_fleet_goldens() -> None:
    spot = ranking(profile(), "spot")
    assert_golden("create-fleet.json", as_json(create_fleet_request(spot, OPTIONS)))
    assert_golden("asg.json", as_json(asg_request(spot, OPTIONS, name="gpu-trainer")))
