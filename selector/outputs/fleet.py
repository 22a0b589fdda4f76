"""EC2 CreateFleet input and an Auto Scaling group MixedInstancesPolicy from a spot ranking.

Plain dicts shaped exactly like the boto3 request parameters; `outputs.aws_validate` checks
them against botocore's service model (and the enums botocore does not check) before anyone
sees them.

Architectures: one launch template boots one architecture, so the ranked types are split by
architecture, each with its own template (`selector.outputs.launch_templates`): CreateFleet
gets one launch template config per architecture, an ASG's arm64 overrides (say) carry their
own `LaunchTemplateSpecification` (AWS's documented way to mix architectures in one group).
`Priority` is set on overrides only when a prioritized strategy reads it. A request built from
simulated data is tagged `spotsel.io/simulated=true` (`selector.outputs.provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from selector.outputs.errors import OutputError
from selector.outputs.launch_templates import LaunchTemplate, LaunchTemplates
from selector.outputs.provenance import Provenance

if TYPE_CHECKING:
    from selector.results import Ranking

__all__ = [
    "ASG_MAX_INSTANCE_TYPES",
    "FLEET_STRATEGIES",
    "FLEET_TYPES",
    "MAX_FLEET_OVERRIDES",
    "PRIORITIZED_STRATEGIES",
    "FleetOptions",
    "asg_request",
    "create_fleet_request",
    "ranked_types",
]

FLEET_TYPES: Final = ("instant", "request", "maintain")
# The two strategies that use what the ranking knows: price-capacity-optimized (AWS's
# recommendation; ranks pools itself) and capacity-optimized-prioritized (honours `Priority`).
FLEET_STRATEGIES: Final = ("price-capacity-optimized", "capacity-optimized-prioritized")
# Spot strategies that read the overrides' `Priority` (EC2 Fleet docs); others ignore it.
PRIORITIZED_STRATEGIES: Final = frozenset({"capacity-optimized-prioritized"})
# Overrides per CreateFleet request. Assumption (unverified against a live account): AWS
# documents a few hundred; 300 keeps us under any published figure we have seen.
MAX_FLEET_OVERRIDES: Final = 300
# An Auto Scaling group takes at most 40 instance types in its MixedInstancesPolicy (AWS docs).
ASG_MAX_INSTANCE_TYPES: Final = 40
# On-demand base capacity follows the same priority order as the spot part: a prioritized
# strategy, so overrides carry `Priority` whenever there is an on-demand base.
ON_DEMAND_STRATEGY: Final = "prioritized"
# CreateFleet TagSpecifications resource type valid for every fleet type (instant too).
FLEET_TAG_RESOURCE: Final = "fleet"


@dataclass(frozen=True, slots=True)
class FleetOptions:
    launch_templates: LaunchTemplates
    subnets: tuple[str, ...]
    target_capacity: int
    fleet_type: str = "instant"
    strategy: str = "price-capacity-optimized"
    on_demand_base: int = 0

    @classmethod
    def single(cls, template: str, version: str = "$Latest", **kwargs: Any) -> FleetOptions:
        """Options with one launch template (a single-architecture ranking)."""
        return cls(LaunchTemplates(single=LaunchTemplate(template, version)), **kwargs)


def ranked_types(ranking: Ranking) -> list[str]:
    """Distinct spot instance types of the ranking, best first."""
    return [t for t, _ in _ranked(ranking)]


def _ranked(ranking: Ranking) -> list[tuple[str, str]]:
    """Distinct (spot instance type, arch) of the ranking, best first."""
    return list(
        dict.fromkeys(
            (p.key.instance_type, p.arch) for p in ranking.pools if p.capacity_type == "spot"
        )
    )


def _check(options: FleetOptions, types: list[tuple[str, str]]) -> None:
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


def _prioritized(options: FleetOptions) -> bool:
    """Whether a strategy of the request reads the overrides' `Priority`."""
    return options.strategy in PRIORITIZED_STRATEGIES or options.on_demand_base > 0


def create_fleet_request(ranking: Ranking, options: FleetOptions) -> dict[str, Any]:
    """CreateFleet input: one launch template config per architecture, one override per ranked
    type × subnet; `Priority` = the type's rank, only under a prioritized strategy."""
    types = _ranked(ranking)
    _check(options, types)
    if len(types) * len(options.subnets) > MAX_FLEET_OVERRIDES:
        keep = max(MAX_FLEET_OVERRIDES // len(options.subnets), 1)
        types = types[:keep]  # the best types survive; the rest would be rejected by EC2
    templates = options.launch_templates.for_arches(types)
    prioritized = _prioritized(options)
    configs = []
    for arch, template in templates.items():  # in order of each arch's best type
        overrides = []
        for priority, (itype, type_arch) in enumerate(types, 1):
            if type_arch != arch:
                continue
            for subnet in options.subnets:
                override: dict[str, Any] = {"InstanceType": itype, "SubnetId": subnet}
                if prioritized:
                    override["Priority"] = float(priority)
                overrides.append(override)
        configs.append(
            {"LaunchTemplateSpecification": template.specification, "Overrides": overrides}
        )
    target: dict[str, Any] = {
        "TotalTargetCapacity": options.target_capacity,
        "DefaultTargetCapacityType": "spot",
    }
    request: dict[str, Any] = {
        "Type": options.fleet_type,
        "LaunchTemplateConfigs": configs,
        "TargetCapacitySpecification": target,
        "SpotOptions": {"AllocationStrategy": options.strategy},
    }
    if options.on_demand_base:
        target["OnDemandTargetCapacity"] = options.on_demand_base
        target["SpotTargetCapacity"] = options.target_capacity - options.on_demand_base
        request["OnDemandOptions"] = {"AllocationStrategy": ON_DEMAND_STRATEGY}
    tags = Provenance.of(ranking).tags()
    if tags:
        request["TagSpecifications"] = [{"ResourceType": FLEET_TAG_RESOURCE, "Tags": tags}]
    return request


def asg_request(
    ranking: Ranking,
    options: FleetOptions,
    *,
    name: str,
    on_demand_percentage_above_base: int = 0,
) -> dict[str, Any]:
    """CreateAutoScalingGroup input with a MixedInstancesPolicy (override order = priority).

    The group's launch template is that of the best type's architecture; overrides of another
    architecture carry their own `LaunchTemplateSpecification`."""
    types = _ranked(ranking)
    _check(options, types)
    if not 0 <= on_demand_percentage_above_base <= 100:
        raise OutputError("asg", "on-demand percentage above base must be within 0..100")
    types = types[:ASG_MAX_INSTANCE_TYPES]
    templates = options.launch_templates.for_arches(types)
    default_arch = types[0][1]
    overrides: list[dict[str, Any]] = []
    for itype, arch in types:
        override: dict[str, Any] = {"InstanceType": itype}
        if arch != default_arch:
            override["LaunchTemplateSpecification"] = templates[arch].specification
        overrides.append(override)
    policy = {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": templates[default_arch].specification,
            "Overrides": overrides,
        },
        "InstancesDistribution": {
            "OnDemandAllocationStrategy": ON_DEMAND_STRATEGY,
            "OnDemandBaseCapacity": options.on_demand_base,
            "OnDemandPercentageAboveBaseCapacity": on_demand_percentage_above_base,
            "SpotAllocationStrategy": options.strategy,
        },
    }
    request: dict[str, Any] = {
        "AutoScalingGroupName": name,
        "MinSize": 0,
        "MaxSize": options.target_capacity,
        "DesiredCapacity": options.target_capacity,
        "VPCZoneIdentifier": ",".join(options.subnets),
        "MixedInstancesPolicy": policy,
        "CapacityRebalance": True,  # replace spot nodes on rebalance recommendations, earlier
    }
    tags = Provenance.of(ranking).tags()
    if tags:
        # Propagated: the instances the group launches say it too.
        request["Tags"] = [{**t, "PropagateAtLaunch": True} for t in tags]
    return request
