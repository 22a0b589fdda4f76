"""Pure output builders: Karpenter NodePools / NodeOverlays, a workload snippet, EC2 Fleet and
ASG requests, GKE and AKS spot node pools — plain dicts from a `Ranking` and an `OutputProfile`,
serialised at the edge.

Like the rest of `selector`: no I/O, no clock, no botocore / jsonschema / yaml.
"""

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
