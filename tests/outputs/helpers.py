"""Shared inputs for the edge tests: the fixed market's documents and the shared-data paths."""

from __future__ import annotations

from pathlib import Path

from selector.outputs import KarpenterDocuments, karpenter_documents, workload_snippet
from tests.selector.outputs.fixtures import ZONE_NAMES, profile, ranking

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CRDS = SHARED / "karpenter-crds"
FLEET_EXAMPLES = SHARED / "ec2-fleet-examples"
REPO = Path(__file__).resolve().parents[2]


def fixed_documents(**overrides: object) -> KarpenterDocuments:
    p = profile(**overrides)
    return karpenter_documents(
        p,
        spot=ranking(p, "spot"),
        on_demand=ranking(p, "on-demand"),
        zone_names=ZONE_NAMES,
        workload=workload_snippet(p),
    )
