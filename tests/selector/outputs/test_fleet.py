"""CreateFleet and ASG builders: field-level assertions plus golden files."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from selector.outputs import (
    MAX_FLEET_OVERRIDES,
    SIMULATED_KEY,
    FleetOptions,
    LaunchTemplate,
    OutputError,
    asg_request,
    create_fleet_request,
    parse_launch_templates,
    ranked_types,
)
from tests.selector.outputs.fixtures import (
    as_json,
    assert_golden,
    cpu_profile,
    market,
    profile,
    ranking,
)

X86_TEMPLATE = "lt-0123456789abcdef0"
ARM_TEMPLATE = "graviton/arm64-al2023"
OPTIONS = FleetOptions.single(X86_TEMPLATE, subnets=("subnet-a", "subnet-b"), target_capacity=6)
PER_ARCH = replace(
    OPTIONS,
    launch_templates=parse_launch_templates([f"x86_64={X86_TEMPLATE},arm64={ARM_TEMPLATE}"]),
)


def _arches() -> dict[str, str]:
    return {r.key.instance_type: r.arch for r in market(arm=True).records}


def test_one_override_per_type_and_subnet_without_priority() -> None:
    """Why: price-capacity-optimized ignores Priority; writing it suggests an order it won't use."""
    spot = ranking(profile(), "spot")
    request = create_fleet_request(spot, OPTIONS)
    [config] = request["LaunchTemplateConfigs"]
    assert config["LaunchTemplateSpecification"] == {
        "LaunchTemplateId": X86_TEMPLATE, "Version": "$Latest"
    }  # fmt: skip
    overrides = config["Overrides"]
    types = ranked_types(spot)
    assert len(overrides) == len(types) * 2
    assert [(o["InstanceType"], o["SubnetId"]) for o in overrides] == [
        (t, s) for t in types for s in OPTIONS.subnets
    ], "ranked order, best first"
    assert all("Priority" not in o for o in overrides)
    assert request["Type"] == "instant"
    assert request["SpotOptions"] == {"AllocationStrategy": "price-capacity-optimized"}
    assert request["TargetCapacitySpecification"] == {
        "TotalTargetCapacity": 6, "DefaultTargetCapacityType": "spot"
    }  # fmt: skip
    assert "OnDemandOptions" not in request
    assert "TagSpecifications" not in request, "real data: no label"


@pytest.mark.parametrize(
    ("change", "prioritized"),
    [
        pytest.param({}, False, id="price-capacity-optimized"),
        pytest.param({"strategy": "capacity-optimized-prioritized"}, True, id="spot prioritized"),
        pytest.param({"on_demand_base": 2}, True, id="on-demand base: prioritized on-demand"),
    ],
)
def test_priority_only_under_a_prioritized_strategy(
    change: dict[str, Any], prioritized: bool
) -> None:
    spot = ranking(profile(), "spot")
    request = create_fleet_request(spot, replace(OPTIONS, **change))
    overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
    types = ranked_types(spot)
    if prioritized:
        assert [o["Priority"] for o in overrides] == [
            float(types.index(o["InstanceType"]) + 1) for o in overrides
        ]
    else:
        assert all("Priority" not in o for o in overrides)


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
    options = replace(OPTIONS, subnets=many, strategy="capacity-optimized-prioritized")
    request = create_fleet_request(ranking(profile(), "spot"), options)
    overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
    assert len(overrides) <= MAX_FLEET_OVERRIDES
    assert {o["Priority"] for o in overrides} == {1.0, 2.0}


# --- architectures ------------------------------------------------------------------------------


def test_fleet_never_mixes_architectures_under_one_launch_template() -> None:
    """Acceptance: a profile without `arch` gets one launch template config per architecture."""
    spot = ranking(cpu_profile(), "spot", market(arm=True))
    arch_of = _arches()
    assert {arch_of[t] for t in ranked_types(spot)} == {"x86_64", "arm64"}, "both ranked"
    request = create_fleet_request(spot, PER_ARCH)
    configs = request["LaunchTemplateConfigs"]
    assert len(configs) == 2
    template_of = {"x86_64": {"LaunchTemplateId": X86_TEMPLATE, "Version": "$Latest"},
                   "arm64": {"LaunchTemplateName": ARM_TEMPLATE, "Version": "$Latest"}}  # fmt: skip
    for config in configs:
        arches = {arch_of[o["InstanceType"]] for o in config["Overrides"]}
        assert len(arches) == 1, f"one launch template, two architectures: {config}"
        [arch] = arches
        assert config["LaunchTemplateSpecification"] == template_of[arch]
    listed = [o["InstanceType"] for c in configs for o in c["Overrides"]]
    assert sorted(set(listed)) == sorted(ranked_types(spot)), "every ranked type, once per subnet"
    assert configs[0]["Overrides"][0]["InstanceType"] == ranked_types(spot)[0], "best arch first"


def test_one_template_for_two_architectures_is_refused() -> None:
    spot = ranking(cpu_profile(), "spot", market(arm=True))
    with pytest.raises(OutputError, match=r"arm64 \(.*\) and x86_64 \(.*cannot boot both"):
        create_fleet_request(spot, OPTIONS)
    with pytest.raises(OutputError, match="cannot boot both"):
        asg_request(spot, OPTIONS, name="cpu")


def test_a_ranked_architecture_without_a_template_is_named() -> None:
    spot = ranking(cpu_profile(), "spot", market(arm=True))
    only_x86 = replace(OPTIONS, launch_templates=parse_launch_templates([f"x86_64={X86_TEMPLATE}"]))
    with pytest.raises(OutputError, match=r"no arm64 launch template.*requirements.arch: x86_64"):
        create_fleet_request(spot, only_x86)


def test_one_arch_ranking_ignores_the_other_template() -> None:
    request = create_fleet_request(ranking(profile(), "spot"), PER_ARCH)
    [config] = request["LaunchTemplateConfigs"]
    assert config["LaunchTemplateSpecification"]["LaunchTemplateId"] == X86_TEMPLATE


def test_asg_overrides_of_the_other_architecture_carry_their_template() -> None:
    spot = ranking(cpu_profile(), "spot", market(arm=True))
    request = asg_request(spot, PER_ARCH, name="cpu")
    template = request["MixedInstancesPolicy"]["LaunchTemplate"]
    arch_of = _arches()
    default_arch = arch_of[ranked_types(spot)[0]]
    specs = {
        "x86_64": {"LaunchTemplateId": X86_TEMPLATE, "Version": "$Latest"},
        "arm64": {"LaunchTemplateName": ARM_TEMPLATE, "Version": "$Latest"},
    }
    assert template["LaunchTemplateSpecification"] == specs[default_arch]
    for o in template["Overrides"]:
        effective = o.get("LaunchTemplateSpecification", template["LaunchTemplateSpecification"])
        assert effective == specs[arch_of[o["InstanceType"]]], o
        assert ("LaunchTemplateSpecification" in o) == (arch_of[o["InstanceType"]] != default_arch)


# --- launch template references -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "key"),
    [
        ("lt-0abcd290751193123", "LaunchTemplateId"),
        ("lt-0123456789abcdef0", "LaunchTemplateId"),
        ("gpu-trainer", "LaunchTemplateName"),
        ("team/gpu_(v2).x", "LaunchTemplateName"),
        ("abc", "LaunchTemplateName"),
        ("x" * 128, "LaunchTemplateName"),
    ],
)
def test_valid_launch_templates(ref: str, key: str) -> None:
    assert LaunchTemplate(ref).specification == {key: ref, "Version": "$Latest"}


@pytest.mark.parametrize(
    ("ref", "version", "message"),
    [
        pytest.param("lt-0abc", "$Latest", "lt- and 17 hex", id="short ID"),
        pytest.param("lt-0ABCD290751193123", "$Latest", "17 hex", id="upper-case hex"),
        pytest.param("lt-0abcd2907511931234", "$Latest", "17 hex", id="18 digits"),
        pytest.param("ab", "$Latest", "neither", id="name too short"),
        pytest.param("x" * 129, "$Latest", "neither", id="name too long"),
        pytest.param("my template", "$Latest", "neither", id="space in name"),
        pytest.param("gpu;rm", "$Latest", "neither", id="bad character"),
        pytest.param("gpu", "latest", "version", id="version without $"),
        pytest.param("gpu", "0", "version", id="version 0"),
    ],
)
def test_invalid_launch_templates(ref: str, version: str, message: str) -> None:
    with pytest.raises(OutputError, match=message) as caught:
        LaunchTemplate(ref, version)
    assert "\n" not in str(caught.value), "one line"


@pytest.mark.parametrize(
    ("values", "single", "per_arch"),
    [
        (["lt-0abcd290751193123"], "lt-0abcd290751193123", {}),
        (["x86_64=lt-0abcd290751193123,arm64=arm"], None,
         {"x86_64": "lt-0abcd290751193123", "arm64": "arm"}),
        (["x86_64=lt-0abcd290751193123", "arm64=arm"], None,
         {"x86_64": "lt-0abcd290751193123", "arm64": "arm"}),
        (["amd64=x86-template"], None, {"x86_64": "x86-template"}),
    ],
)  # fmt: skip
def test_parse_launch_templates(
    values: list[str], single: str | None, per_arch: dict[str, str]
) -> None:
    parsed = parse_launch_templates(values)
    assert (parsed.single.ref if parsed.single else None) == single
    assert {a: t.ref for a, t in parsed.per_arch} == per_arch


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["abc,def"], "without an architecture"),
        (["abc", "arm64=def"], "not both"),
        (["sparc=abc"], "unknown architecture"),
        (["arm64=abc,arm64=def"], "twice"),
        ([""], "required"),
    ],
)
def test_parse_launch_templates_errors(values: list[str], message: str) -> None:
    with pytest.raises(OutputError, match=message):
        parse_launch_templates(values)


# --- the simulated label ------------------------------------------------------------------------


def test_simulated_data_tags_the_fleet_and_the_asg() -> None:
    spot = ranking(profile(), "spot", market(simulated=True))
    fleet = create_fleet_request(spot, OPTIONS)
    assert fleet["TagSpecifications"] == [
        {"ResourceType": "fleet", "Tags": [{"Key": SIMULATED_KEY, "Value": "true"},
                                           {"Key": "spotsel.io/sources", "Value": "sim"}]}
    ]  # fmt: skip
    asg = asg_request(spot, OPTIONS, name="gpu")
    assert {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in asg["Tags"]} == {
        SIMULATED_KEY: ("true", True), "spotsel.io/sources": ("sim", True)
    }  # fmt: skip
    real = ranking(profile(), "spot")
    assert "Tags" not in asg_request(real, OPTIONS, name="gpu")


# --- goldens ------------------------------------------------------------------------------------


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
    mixed = ranking(cpu_profile(), "spot", market(arm=True))
    prioritized = replace(PER_ARCH, strategy="capacity-optimized-prioritized")
    assert_golden("create-fleet-per-arch.json", as_json(create_fleet_request(mixed, prioritized)))
    assert_golden("asg-per-arch.json", as_json(asg_request(mixed, PER_ARCH, name="cpu")))
