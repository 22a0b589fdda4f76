"""A workload profile as the output builders see it: validated, frozen, plain values.

Parsing and validating the profile YAML is edge work (`outputs.profiles`); the builders
here only read these dataclasses, so they stay pure and table-testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

# The notice's drain delay and exit margin are defined beside the notices, where the cost
# model reads the same window (FINAL_CHECKPOINT_WINDOW_SECONDS).
from selector.hazard import DRAIN_DELAY_SECONDS, EXIT_MARGIN_SECONDS, NOTICE_SECONDS
from selector.requirements import Requirements

__all__ = [
    "CONSOLIDATION_POLICIES",
    "DEFAULT_ON_DEMAND_WEIGHT",
    "DEFAULT_SPOT_WEIGHT",
    "DRAIN_DELAY_SECONDS",
    "EXIT_MARGIN_SECONDS",
    "FALLBACK_POLICIES",
    "Budget",
    "Disruption",
    "OutputProfile",
    "checkpoint_deadline",
    "max_grace_seconds",
    "notice_seconds",
]

# Karpenter picks the NodePool with the highest weight first (CRD: 1..100); spot first, then
# the on-demand fallback.
DEFAULT_SPOT_WEIGHT: Final = 80
DEFAULT_ON_DEMAND_WEIGHT: Final = 20
# `always`: emit the on-demand fallback NodePool; `auto`: only when the ranking says spot does
# not pay off, found no spot pool or missed a diversity constraint; `never`: spot only.
FALLBACK_POLICIES: Final = ("always", "auto", "never")
# karpenter.sh_nodepools.yaml spec.disruption.consolidationPolicy enum (v1.14).
CONSOLIDATION_POLICIES: Final = ("WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced")
# Karpenter's own default budget: at most 10 % of a pool's nodes disrupted at once.
DEFAULT_BUDGET_NODES: Final = "10%"
# Long training jobs: wait before consolidating so a short lull does not kill a node.
DEFAULT_CONSOLIDATE_AFTER: Final = "10m"


@dataclass(frozen=True, slots=True)
class Budget:
    """One Karpenter disruption budget (`schedule` and `duration` come together or not at all)."""

    nodes: str = DEFAULT_BUDGET_NODES
    schedule: str | None = None
    duration: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Disruption:
    consolidation_policy: str = "WhenEmptyOrUnderutilized"
    consolidate_after: str = DEFAULT_CONSOLIDATE_AFTER
    budgets: tuple[Budget, ...] = (Budget(),)


@dataclass(frozen=True, slots=True)
class OutputProfile:
    """One workload: what to rank for it and how its NodePools / Fleet requests look."""

    name: str
    requirements: Requirements  # the ranking vocabulary; capacity types are set per output
    nodepool: str  # base name: <nodepool>-spot, <nodepool>-on-demand, <nodepool>-critical-addons
    ec2nodeclass: str
    spot_weight: int = DEFAULT_SPOT_WEIGHT
    on_demand_weight: int = DEFAULT_ON_DEMAND_WEIGHT
    limits: tuple[tuple[str, str], ...] = ()  # resource -> Kubernetes quantity
    on_demand_limits: tuple[tuple[str, str], ...] | None = None  # None = same as `limits`
    on_demand_fallback: str = "always"
    critical_addons: bool = False
    node_overlays: bool = False  # NodeOverlay is alpha in Karpenter: opt-in
    disruption: Disruption = field(default_factory=Disruption)
    checkpoint_command: tuple[str, ...] = ()
    container: str = "main"
    grace_seconds: int | None = None  # None = max_grace_seconds(cloud)

    @property
    def spot_pool_name(self) -> str:
        return f"{self.nodepool}-spot"

    @property
    def on_demand_pool_name(self) -> str:
        return f"{self.nodepool}-on-demand"

    @property
    def critical_pool_name(self) -> str:
        return f"{self.nodepool}-critical-addons"

    @property
    def cloud(self) -> str:
        """The profile's one cloud: "aws" (Karpenter, EC2 Fleet) unless it names `gcp` (GKE) or
        `azure` (AKS)."""
        clouds = self.requirements.clouds
        return clouds[0] if len(clouds) == 1 else "aws"


def notice_seconds(cloud: str) -> int:
    """The interruption notice of `cloud` in whole seconds (AWS 120 s; Azure / GCP 30 s)."""
    return int(NOTICE_SECONDS.get(cloud, min(NOTICE_SECONDS.values())))


def max_grace_seconds(cloud: str) -> int:
    """The longest useful `terminationGracePeriodSeconds`: the notice minus the drain delay
    (the node is reclaimed at notice end whatever the pod asked for); at least 1."""
    return max(notice_seconds(cloud) - DRAIN_DELAY_SECONDS, 1)


def checkpoint_deadline(grace_seconds: int) -> int:
    """Seconds the preStop hook may wait for the final checkpoint inside a grace period
    (the exit margin comes off); 0 = no time for a checkpoint at all."""
    return max(grace_seconds - EXIT_MARGIN_SECONDS, 0)
