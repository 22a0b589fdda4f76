"""The workload side of the mixed cluster: a pod-template snippet for a Deployment or Job.

Tolerates the spot taint, prefers `lifecycle=spot` nodes, never lands on critical-add-on nodes,
runs the profile's checkpoint command in a preStop hook and gets the cloud's whole notice window
as `terminationGracePeriodSeconds`. The widely copied example of this pattern has broken YAML
(`important:` instead of `key:`, matchExpressions without `key`); every expression here has a
`key`, an `operator` and (for In / NotIn) values.
"""

from __future__ import annotations

from typing import Any, Final

from selector.outputs.karpenter import CRITICAL_LABEL, LIFECYCLE_LABEL, PROFILE_LABEL, SPOT_TAINT
from selector.outputs.profile import OutputProfile, notice_seconds

__all__ = ["SPOT_PREFERENCE_WEIGHT", "grace_seconds", "workload_snippet"]

# Preferred node affinity weights are 1..100; spot is the only preference, so the maximum.
SPOT_PREFERENCE_WEIGHT: Final = 100


def grace_seconds(profile: OutputProfile) -> int:
    """The profile's grace period, or the cloud's notice window (AWS 120 s; Azure / GCP 30 s):
    the kubelet lets the preStop hook run until the node is reclaimed, not longer."""
    if profile.grace_seconds is not None:
        return profile.grace_seconds
    return notice_seconds(profile.cloud)


def workload_snippet(profile: OutputProfile) -> dict[str, Any]:
    """`spec.template` of a Deployment / Job: tolerations, affinity, preStop, grace period."""
    container: dict[str, Any] = {"name": profile.container}
    if profile.checkpoint_command:
        container["lifecycle"] = {
            "preStop": {"exec": {"command": list(profile.checkpoint_command)}}
        }
    return {
        "template": {
            "metadata": {"labels": {PROFILE_LABEL: profile.name}},
            "spec": {
                "terminationGracePeriodSeconds": grace_seconds(profile),
                "tolerations": [
                    {
                        "key": SPOT_TAINT["key"],
                        "operator": "Equal",
                        "value": SPOT_TAINT["value"],
                        "effect": SPOT_TAINT["effect"],
                    }
                ],
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": CRITICAL_LABEL, "operator": "DoesNotExist"}
                                    ]
                                }
                            ]
                        },
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": SPOT_PREFERENCE_WEIGHT,
                                "preference": {
                                    "matchExpressions": [
                                        {
                                            "key": LIFECYCLE_LABEL,
                                            "operator": "In",
                                            "values": ["spot"],
                                        }
                                    ]
                                },
                            }
                        ],
                    }
                },
                "containers": [container],
            },
        }
    }
