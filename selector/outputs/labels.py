"""Node labels and taints shared by the NodePools and the workload snippet that must match them.

The guard that keeps unrelated pods off spotsel's nodes is a pair of taints on every NodePool a
profile's workload runs on (spot and on-demand fallback alike): the seed scenario's
`spot=true:NoSchedule` and `spotsel.io/profile=<profile>:NoSchedule`. A pod without both
tolerations schedules on none of them, so NodePool weights only ever order one profile's own
pools for that profile's pods; the workload snippet carries exactly those tolerations.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CRITICAL_LABEL",
    "CRITICAL_TAINT",
    "LIFECYCLE_LABEL",
    "PROFILE_LABEL",
    "SPOT_TAINT",
    "profile_taint",
    "toleration",
    "workload_taints",
]

# The seed scenario's mixed cluster (design §1): spot nodes tainted and labelled, critical
# services on on-demand nodes tainted CriticalAddonsOnly.
SPOT_TAINT: Final = {"key": "spot", "value": "true", "effect": "NoSchedule"}
CRITICAL_TAINT: Final = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}
LIFECYCLE_LABEL: Final = "lifecycle"
CRITICAL_LABEL: Final = "spotsel.io/critical-addons-only"
# Node label and taint key naming the profile a node was provisioned for.
PROFILE_LABEL: Final = "spotsel.io/profile"


def profile_taint(profile: str) -> dict[str, str]:
    """`spotsel.io/profile=<profile>:NoSchedule`: only this profile's pods tolerate it."""
    return {"key": PROFILE_LABEL, "value": profile, "effect": "NoSchedule"}


def workload_taints(profile: str) -> list[dict[str, str]]:
    """The taints of the NodePools a profile's workload runs on (spot and fallback)."""
    return [dict(SPOT_TAINT), profile_taint(profile)]


def toleration(taint: dict[str, str]) -> dict[str, str]:
    """The exact toleration of one taint (operator Equal: key, value and effect must match)."""
    return {
        "key": taint["key"],
        "operator": "Equal",
        "value": taint["value"],
        "effect": taint["effect"],
    }
