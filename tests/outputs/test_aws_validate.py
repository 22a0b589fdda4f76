"""Fleet / ASG validation: AWS doc examples, enums botocore skips, and moto's create_fleet."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from outputs.aws_validate import (
    asg_request_errors,
    fleet_request_errors,
    load_fleet_json,
    validate_asg_request,
    validate_fleet_request,
)
from outputs.errors import InvalidOutputError
from selector.outputs import (
    SIMULATED_KEY,
    FleetOptions,
    asg_request,
    create_fleet_request,
    parse_launch_templates,
)
from tests.outputs.helpers import FLEET_EXAMPLES
from tests.selector.outputs.fixtures import cpu_profile, market, ranking

BOTOCORE_INVALID = {"ec2-fleet_example-08"}  # TerminationDelay "720" is a string (SOURCE.md)
REGION = "us-east-1"


def _examples(pattern: str) -> list[Path]:
    return sorted(FLEET_EXAMPLES.glob(pattern))


def test_example_counts() -> None:
    assert len(_examples("*.json")) == 6
    assert len(_examples("*.NOT-VALID-JSON.txt")) == 4


@pytest.mark.parametrize("path", _examples("*.json"), ids=lambda p: p.name[:20])
def test_json_examples(path: Path) -> None:
    request = load_fleet_json(path)
    errors = fleet_request_errors(request)
    if path.name[:20] in BOTOCORE_INVALID:
        assert errors
        assert "TerminationDelay" in errors[0]
        with pytest.raises(InvalidOutputError, match="TerminationDelay"):
            validate_fleet_request(request)
    else:
        assert errors == []


@pytest.mark.parametrize("path", _examples("*.NOT-VALID-JSON.txt"), ids=lambda p: p.name[:20])
def test_invalid_json_examples_fail_as_parse_errors(path: Path) -> None:
    with pytest.raises(InvalidOutputError, match=r"not valid JSON at line \d+ column \d+"):
        load_fleet_json(path)


PER_ARCH = parse_launch_templates(["x86_64=lt-0123456789abcdef0,arm64=graviton-al2023"])


def _fleet(*, simulated: bool = False, **changes: Any) -> dict[str, Any]:
    """A CreateFleet input over the mixed-architecture market (two launch template configs)."""
    options = FleetOptions(
        launch_templates=PER_ARCH,
        subnets=("subnet-a", "subnet-b"),
        target_capacity=4,
        on_demand_base=1,
        **changes,
    )
    spot = ranking(cpu_profile(), "spot", market(arm=True, simulated=simulated))
    return create_fleet_request(spot, options)


@pytest.mark.parametrize(
    ("path", "value", "shape"),
    [
        (("SpotOptions", "AllocationStrategy"), "cheapest", "SpotAllocationStrategy"),
        (("Type",), "forever", "FleetType"),
        (("TargetCapacitySpecification", "DefaultTargetCapacityType"), "spotty",
         "DefaultTargetCapacityType"),
        (("OnDemandOptions", "AllocationStrategy"), "random", "FleetOnDemandAllocationStrategy"),
    ],
)  # fmt: skip
def test_enums_botocore_does_not_check(path: tuple[str, ...], value: str, shape: str) -> None:
    request = _fleet()
    assert fleet_request_errors(request) == []
    node = request
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    [error] = fleet_request_errors(request)
    assert value in error
    assert shape in error


@pytest.mark.parametrize("simulated", [False, True], ids=["real", "simulated: tagged"])
def test_generated_fleet_passes_both_strategies(simulated: bool) -> None:
    for strategy in ("price-capacity-optimized", "capacity-optimized-prioritized"):
        for fleet_type in ("instant", "request", "maintain"):
            request = _fleet(simulated=simulated, strategy=strategy, fleet_type=fleet_type)
            assert len(request["LaunchTemplateConfigs"]) == 2
            assert ("TagSpecifications" in request) is simulated
            validate_fleet_request(request)


def test_an_unknown_tag_resource_type_is_caught() -> None:
    """Why: the simulated tag's ResourceType is an enum botocore itself does not check."""
    request = _fleet(simulated=True)
    request["TagSpecifications"][0]["ResourceType"] = "fleets"
    [error] = fleet_request_errors(request)
    assert "ResourceType" in error


@pytest.mark.parametrize("simulated", [False, True], ids=["real", "simulated: tagged"])
def test_asg_validation(simulated: bool) -> None:
    options = FleetOptions(launch_templates=PER_ARCH, subnets=("subnet-a",), target_capacity=3)
    spot = ranking(cpu_profile(), "spot", market(arm=True, simulated=simulated))
    request = asg_request(spot, options, name="cpu")
    assert any("LaunchTemplateSpecification" in o
               for o in request["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"])  # fmt: skip
    assert ("Tags" in request) is simulated
    validate_asg_request(request)
    broken = copy.deepcopy(request)
    broken["MixedInstancesPolicy"]["InstancesDistribution"]["SpotAllocationStrategy"] = "cheap"
    [error] = asg_request_errors(broken)
    assert "SpotAllocationStrategy" in error
    assert "cheap" in error
    broken["MinSize"] = "0"
    assert any("MinSize" in e for e in asg_request_errors(broken)), "botocore type check"


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client(
            "ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )


def test_moto_accepts_the_generated_fleet(aws: Any) -> None:
    vpc = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(
        aws.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    )
    x86 = aws.create_launch_template(
        LaunchTemplateName="spotsel-x86", LaunchTemplateData={"ImageId": "ami-12c6146b"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    aws.create_launch_template(
        LaunchTemplateName="spotsel-arm", LaunchTemplateData={"ImageId": "ami-12c6146b"}
    )
    options = FleetOptions(
        launch_templates=parse_launch_templates([f"x86_64={x86},arm64=spotsel-arm"], version="1"),
        subnets=subnets,
        target_capacity=4,
        fleet_type="instant",
        on_demand_base=1,
    )
    spot = ranking(cpu_profile(), "spot", market(arm=True, simulated=True))
    request = create_fleet_request(spot, options)
    assert len(request["LaunchTemplateConfigs"]) == 2
    validate_fleet_request(request)
    answer = aws.create_fleet(**request)
    assert answer["FleetId"].startswith("fleet-")
    launched = [i for group in answer["Instances"] for i in group["InstanceIds"]]
    assert len(launched) == 4
    [fleet] = aws.describe_fleets(FleetIds=[answer["FleetId"]])["Fleets"]
    assert fleet["SpotOptions"]["AllocationStrategy"] == "price-capacity-optimized"
    assert {"Key": SIMULATED_KEY, "Value": "true"} in fleet["Tags"], "the label survives"
