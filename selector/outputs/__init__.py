"""Pure output builders: Karpenter NodePools / NodeOverlays, a workload snippet, EC2 Fleet and
ASG requests — plain dicts from a `Ranking` and an `OutputProfile`, serialised at the edge.

Like the rest of `selector`: no I/O, no clock, no botocore / jsonschema / yaml.
"""

from selector.outputs.errors import OutputError
from selector.outputs.fleet import (
    ASG_MAX_INSTANCE_TYPES,
    FLEET_STRATEGIES,
    FLEET_TYPES,
    MAX_FLEET_OVERRIDES,
    FleetOptions,
    asg_request,
    create_fleet_request,
    ranked_types,
)
from selector.outputs.karpenter import (
    SPOT_TAINT,
    ZONE_ID_KEY,
    ZONE_NAME_KEY,
    KarpenterDocuments,
    critical_addons_nodepool,
    karpenter_documents,
    node_overlays,
    on_demand_nodepool,
    spot_nodepool,
    wants_fallback,
    zone_requirement,
)
from selector.outputs.profile import (
    CONSOLIDATION_POLICIES,
    FALLBACK_POLICIES,
    Budget,
    Disruption,
    OutputProfile,
    notice_seconds,
)
from selector.outputs.workload import grace_seconds, workload_snippet

__all__ = [
    "ASG_MAX_INSTANCE_TYPES",
    "CONSOLIDATION_POLICIES",
    "FALLBACK_POLICIES",
    "FLEET_STRATEGIES",
    "FLEET_TYPES",
    "MAX_FLEET_OVERRIDES",
    "SPOT_TAINT",
    "ZONE_ID_KEY",
    "ZONE_NAME_KEY",
    "Budget",
    "Disruption",
    "FleetOptions",
    "KarpenterDocuments",
    "OutputError",
    "OutputProfile",
    "asg_request",
    "create_fleet_request",
    "critical_addons_nodepool",
    "grace_seconds",
    "karpenter_documents",
    "node_overlays",
    "notice_seconds",
    "on_demand_nodepool",
    "ranked_types",
    "spot_nodepool",
    "wants_fallback",
    "workload_snippet",
    "zone_requirement",
]
