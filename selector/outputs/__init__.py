"""Pure output builders: Karpenter NodePools / NodeOverlays, a workload snippet, EC2 Fleet and
ASG requests, GKE and AKS spot node pools — plain dicts from a `Ranking` and an `OutputProfile`,
serialised at the edge.

Like the rest of `selector`: no I/O, no clock, no botocore / jsonschema / yaml.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# `launch_templates` names both a submodule and its function: importing the submodule would
# bind the module to that name, so the (light) function is bound here, after it, for good.
from selector.outputs.launch_templates import launch_templates

if TYPE_CHECKING:
    from selector.outputs.aks import AksNodePool, AksNodePools, aks_node_pools, check_one_cluster
    from selector.outputs.errors import OutputError
    from selector.outputs.fleet import (
        ASG_MAX_INSTANCE_TYPES,
        FLEET_STRATEGIES,
        FLEET_TYPES,
        MAX_FLEET_OVERRIDES,
        PRIORITIZED_STRATEGIES,
        FleetOptions,
        asg_request,
        create_fleet_request,
        ranked_types,
    )
    from selector.outputs.gke import GkeNodePool, GkeNodePools, gke_node_pools
    from selector.outputs.karpenter import (
        OVERLAY_POOL_WEIGHT,
        OVERLAY_TYPE_WEIGHT,
        ZONE_ID_KEY,
        KarpenterDocuments,
        critical_addons_nodepool,
        karpenter_documents,
        node_overlays,
        on_demand_nodepool,
        spot_nodepool,
        wants_fallback,
        zone_requirement,
    )
    from selector.outputs.labels import (
        CRITICAL_TAINT,
        PROFILE_LABEL,
        SPOT_TAINT,
        profile_taint,
        workload_taints,
    )
    from selector.outputs.launch_templates import (
        ARCHES,
        LaunchTemplate,
        LaunchTemplates,
        check_template_ref,
        check_template_version,
        launch_templates,
        parse_launch_templates,
    )
    from selector.outputs.profile import (
        CONSOLIDATION_POLICIES,
        DRAIN_DELAY_SECONDS,
        EXIT_MARGIN_SECONDS,
        FALLBACK_POLICIES,
        Budget,
        Disruption,
        OutputProfile,
        checkpoint_deadline,
        max_grace_seconds,
        notice_seconds,
    )
    from selector.outputs.provenance import SIMULATED_KEY, SOURCES_KEY, Provenance
    from selector.outputs.workload import (
        DEADLINE_ENV,
        check_checkpoint_fits,
        grace_seconds,
        workload_snippet,
    )

__all__ = [
    "ARCHES",
    "ASG_MAX_INSTANCE_TYPES",
    "CONSOLIDATION_POLICIES",
    "CRITICAL_TAINT",
    "DEADLINE_ENV",
    "DRAIN_DELAY_SECONDS",
    "EXIT_MARGIN_SECONDS",
    "FALLBACK_POLICIES",
    "FLEET_STRATEGIES",
    "FLEET_TYPES",
    "MAX_FLEET_OVERRIDES",
    "OVERLAY_POOL_WEIGHT",
    "OVERLAY_TYPE_WEIGHT",
    "PRIORITIZED_STRATEGIES",
    "PROFILE_LABEL",
    "SIMULATED_KEY",
    "SOURCES_KEY",
    "SPOT_TAINT",
    "ZONE_ID_KEY",
    "AksNodePool",
    "AksNodePools",
    "Budget",
    "Disruption",
    "FleetOptions",
    "GkeNodePool",
    "GkeNodePools",
    "KarpenterDocuments",
    "LaunchTemplate",
    "LaunchTemplates",
    "OutputError",
    "OutputProfile",
    "Provenance",
    "aks_node_pools",
    "asg_request",
    "check_checkpoint_fits",
    "check_one_cluster",
    "check_template_ref",
    "check_template_version",
    "checkpoint_deadline",
    "create_fleet_request",
    "critical_addons_nodepool",
    "gke_node_pools",
    "grace_seconds",
    "karpenter_documents",
    "launch_templates",
    "max_grace_seconds",
    "node_overlays",
    "notice_seconds",
    "on_demand_nodepool",
    "parse_launch_templates",
    "profile_taint",
    "ranked_types",
    "spot_nodepool",
    "wants_fallback",
    "workload_snippet",
    "workload_taints",
    "zone_requirement",
]

# Names load with their module on first use: the CLI's help and `status` never pay for the
# builders (and numpy behind the ranking types) they do not run.
_WHERE: dict[str, str] = {
    "AksNodePool": "selector.outputs.aks",
    "AksNodePools": "selector.outputs.aks",
    "aks_node_pools": "selector.outputs.aks",
    "check_one_cluster": "selector.outputs.aks",
    "OutputError": "selector.outputs.errors",
    "ASG_MAX_INSTANCE_TYPES": "selector.outputs.fleet",
    "FLEET_STRATEGIES": "selector.outputs.fleet",
    "FLEET_TYPES": "selector.outputs.fleet",
    "MAX_FLEET_OVERRIDES": "selector.outputs.fleet",
    "PRIORITIZED_STRATEGIES": "selector.outputs.fleet",
    "FleetOptions": "selector.outputs.fleet",
    "asg_request": "selector.outputs.fleet",
    "create_fleet_request": "selector.outputs.fleet",
    "ranked_types": "selector.outputs.fleet",
    "GkeNodePool": "selector.outputs.gke",
    "GkeNodePools": "selector.outputs.gke",
    "gke_node_pools": "selector.outputs.gke",
    "OVERLAY_POOL_WEIGHT": "selector.outputs.karpenter",
    "OVERLAY_TYPE_WEIGHT": "selector.outputs.karpenter",
    "ZONE_ID_KEY": "selector.outputs.karpenter",
    "KarpenterDocuments": "selector.outputs.karpenter",
    "critical_addons_nodepool": "selector.outputs.karpenter",
    "karpenter_documents": "selector.outputs.karpenter",
    "node_overlays": "selector.outputs.karpenter",
    "on_demand_nodepool": "selector.outputs.karpenter",
    "spot_nodepool": "selector.outputs.karpenter",
    "wants_fallback": "selector.outputs.karpenter",
    "zone_requirement": "selector.outputs.karpenter",
    "CRITICAL_TAINT": "selector.outputs.labels",
    "PROFILE_LABEL": "selector.outputs.labels",
    "SPOT_TAINT": "selector.outputs.labels",
    "profile_taint": "selector.outputs.labels",
    "workload_taints": "selector.outputs.labels",
    "ARCHES": "selector.outputs.launch_templates",
    "LaunchTemplate": "selector.outputs.launch_templates",
    "LaunchTemplates": "selector.outputs.launch_templates",
    "check_template_ref": "selector.outputs.launch_templates",
    "check_template_version": "selector.outputs.launch_templates",
    "launch_templates": "selector.outputs.launch_templates",
    "parse_launch_templates": "selector.outputs.launch_templates",
    "CONSOLIDATION_POLICIES": "selector.outputs.profile",
    "DRAIN_DELAY_SECONDS": "selector.outputs.profile",
    "EXIT_MARGIN_SECONDS": "selector.outputs.profile",
    "FALLBACK_POLICIES": "selector.outputs.profile",
    "Budget": "selector.outputs.profile",
    "Disruption": "selector.outputs.profile",
    "OutputProfile": "selector.outputs.profile",
    "checkpoint_deadline": "selector.outputs.profile",
    "max_grace_seconds": "selector.outputs.profile",
    "notice_seconds": "selector.outputs.profile",
    "SIMULATED_KEY": "selector.outputs.provenance",
    "SOURCES_KEY": "selector.outputs.provenance",
    "Provenance": "selector.outputs.provenance",
    "DEADLINE_ENV": "selector.outputs.workload",
    "check_checkpoint_fits": "selector.outputs.workload",
    "grace_seconds": "selector.outputs.workload",
    "workload_snippet": "selector.outputs.workload",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
