"""EC2 CreateFleet input and an Auto Scaling group MixedInstancesPolicy from a spot ranking.

Plain dicts shaped exactly like the boto3 request parameters; `outputs.aws_validate` checks
them against botocore's service model (and the enums botocore does not check) before anyone
sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from selector.outputs.errors import OutputError
from selector.results import Ranking

__all__ = [
    "ASG_MAX_INSTANCE_TYPES",
    "FLEET_STRATEGIES",
    "FLEET_TYPES",
    "MAX_FLEET_OVERRIDES",
    "FleetOptions",
    "asg_request",
    "create_fleet_request",
    "ranked_types",
]

FLEET_TYPES: Final = ("instant", "request", "maintain")
# The two strategies that use what the ranking knows: price-capacity-optimized (AWS's
# recommendation; ranks pools itself) and capacity-optimized-prioritized (honours `Priority`).
FLEET_STRATEGIES: Final = ("price-capacity-optimized", "capacity-optimized-prioritized")
# Overrides per CreateFleet launch template config. Assumption (unverified against a live
# account): AWS documents a few hundred; 300 keeps us under any published figure we have seen.
MAX_FLEET_OVERRIDES: Final = 300
# An Auto Scaling group takes at most 40 instance types in its MixedInstancesPolicy (AWS docs).
ASG_MAX_INSTANCE_TYPES: Final = 40
# On-demand base capacity follows the same priority order as the spot part.
ON_DEMAND_STRATEGY: Final = "prioritized"


@dataclass(frozen=True, slots=True)
class FleetOptions:
    launch_template_id: str
    subnets: tuple[str, ...]
    target_capacity: int
    launch_template_version: str = "$Latest"
    fleet_type: str = "instant"
    strategy: str = "price-capacity-optimized"
    on_demand_base: int = 0


def ranked_types(ranking: Ranking) -> list[str]:
    """Distinct spot instance types of the ranking, best first."""
    return list(
        dict.fromkeys(p.key.instance_type for p in ranking.pools if p.capacity_type == "spot")
    )


def _check(options: FleetOptions, types: list[str]) -> None:
    if not types:
        raise OutputError("fleet", "the ranking holds no spot pool")
    if options.fleet_type not in FLEET_TYPES:
        raise OutputError("fleet", f"type {options.fleet_type!r} is not one of {list(FLEET_TYPES)}")
    if options.strategy not in FLEET_STRATEGIES:
        raise OutputError(
            "fleet", f"strategy {options.strategy!r} is not one of {list(FLEET_STRATEGIES)}"
        )
    if options.target_capacity < 1:
        raise OutputError("fleet", f"target capacity must be >= 1, got {options.target_capacity}")
    if not 0 <= options.on_demand_base <= options.target_capacity:
        raise OutputError(
            "fleet",
            f"on-demand base {options.on_demand_base} must be within 0..{options.target_capacity}",
        )
    if not options.subnets or any(not s for s in options.subnets):
        raise OutputError("fleet", "at least one subnet is required")
    if len(set(options.subnets)) != len(options.subnets):
        raise OutputError("fleet", "subnets are listed twice")
    if not options.launch_template_id:
        raise OutputError("fleet", "a launch template id is required")


def create_fleet_request(ranking: Ranking, options: FleetOptions) -> dict[str, Any]:
    """CreateFleet input: one override per ranked type × subnet, `Priority` = the type's rank."""
    types = ranked_types(ranking)
    _check(options, types)
    if len(types) * len(options.subnets) > MAX_FLEET_OVERRIDES:
        keep = max(MAX_FLEET_OVERRIDES // len(options.subnets), 1)
        types = types[:keep]  # the best types survive; the rest would be rejected by EC2
    overrides = [
        {"InstanceType": t, "SubnetId": subnet, "Priority": float(priority)}
        for priority, t in enumerate(types, 1)
        for subnet in options.subnets
    ]
    target: dict[str, Any] = {
        "TotalTargetCapacity": options.target_capacity,
        "DefaultTargetCapacityType": "spot",
    }
    request: dict[str, Any] = {
        "Type": options.fleet_type,
        "LaunchTemplateConfigs": [
            {
                "LaunchTemplateSpecification": {
                    "LaunchTemplateId": options.launch_template_id,
                    "Version": options.launch_template_version,
                },
                "Overrides": overrides,
            }
        ],
        "TargetCapacitySpecification": target,
        "SpotOptions": {"AllocationStrategy": options.strategy},
    }
    if options.on_demand_base:
        target["OnDemandTargetCapacity"] = options.on_demand_base
        target["SpotTargetCapacity"] = options.target_capacity - options.on_demand_base
        request["OnDemandOptions"] = {"AllocationStrategy": ON_DEMAND_STRATEGY}
    return request


def asg_request(
    ranking: Ranking,
    options: FleetOptions,
    *,
    name: str,
    on_demand_percentage_above_base: int = 0,
) -> dict[str, Any]:
    """CreateAutoScalingGroup input with a MixedInstancesPolicy (override order = priority)."""
    types = ranked_types(ranking)
    _check(options, types)
    if not 0 <= on_demand_percentage_above_base <= 100:
        raise OutputError("asg", "on-demand percentage above base must be within 0..100")
    policy = {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": {
                "LaunchTemplateId": options.launch_template_id,
                "Version": options.launch_template_version,
            },
            "Overrides": [{"InstanceType": t} for t in types[:ASG_MAX_INSTANCE_TYPES]],
        },
        "InstancesDistribution": {
            "OnDemandAllocationStrategy": ON_DEMAND_STRATEGY,
            "OnDemandBaseCapacity": options.on_demand_base,
            "OnDemandPercentageAboveBaseCapacity": on_demand_percentage_above_base,
            "SpotAllocationStrategy": options.strategy,
        },
    }
    return {
        "AutoScalingGroupName": name,
        "MinSize": 0,
        "MaxSize": options.target_capacity,
        "DesiredCapacity": options.target_capacity,
        "VPCZoneIdentifier": ",".join(options.subnets),
        "MixedInstancesPolicy": policy,
        "CapacityRebalance": True,  # replace spot nodes on rebalance recommendations, earlier
    }
