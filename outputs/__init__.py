"""Edge of the outputs: profiles YAML, CRD and botocore validation, YAML files, diff, apply.

The builders themselves are pure (`selector.outputs`); everything here does I/O or imports
jsonschema / botocore / yaml / kubernetes.
"""

from outputs.aws_validate import (
    asg_request_errors,
    fleet_request_errors,
    load_fleet_json,
    validate_asg_request,
    validate_fleet_request,
)
from outputs.crds import (
    CrdSchemas,
    builtin_schemas,
    load_crds,
    manifest_errors,
    resolve_crds,
    validate_manifests,
)
from outputs.generate import (
    FleetOutput,
    build_fleet_output,
    check_apply_allowed,
    generate_aks,
    generate_gke,
    generate_karpenter,
    rank_profile,
    region_zones,
)
from outputs.kube import apply_manifests, validate_workload, workload_errors
from outputs.profiles import load_profiles, parse_profile, parse_profiles
from outputs.writer import (
    Change,
    diff_files,
    render_files,
    render_workloads,
    write_atomic,
    write_files,
)

__all__ = [
    "Change",
    "CrdSchemas",
    "FleetOutput",
    "apply_manifests",
    "asg_request_errors",
    "build_fleet_output",
    "builtin_schemas",
    "check_apply_allowed",
    "diff_files",
    "fleet_request_errors",
    "generate_aks",
    "generate_gke",
    "generate_karpenter",
    "load_crds",
    "load_fleet_json",
    "load_profiles",
    "manifest_errors",
    "parse_profile",
    "parse_profiles",
    "rank_profile",
    "region_zones",
    "render_files",
    "render_workloads",
    "resolve_crds",
    "validate_asg_request",
    "validate_fleet_request",
    "validate_manifests",
    "validate_workload",
    "workload_errors",
    "write_atomic",
    "write_files",
]
