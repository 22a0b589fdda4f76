"""Shared inputs for the edge tests: the fixed market's documents and the shared-data paths."""

from __future__ import annotations

from pathlib import Path

from selector.outputs import KarpenterDocuments, karpenter_documents
from tests.selector.outputs.fixtures import REGION_ZONES, market, profile, ranking

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CRDS = SHARED / "karpenter-crds"
FLEET_EXAMPLES = SHARED / "ec2-fleet-examples"
REPO = Path(__file__).resolve().parents[2]


def fixed_documents(*, simulated: bool = False, **overrides: object) -> KarpenterDocuments:
    p = profile(**overrides)
    snapshot = market(simulated=simulated)
    return karpenter_documents(
        p,
        spot=ranking(p, "spot", snapshot),
        on_demand=ranking(p, "on-demand", snapshot),
        region_zones=REGION_ZONES,
    )
