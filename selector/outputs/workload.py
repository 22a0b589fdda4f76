"""The workload side of the mixed cluster: a pod-template snippet for a Deployment or Job.

Tolerates exactly the taints of the profile's spot and on-demand fallback NodePools
(`spot=true` and `spotsel.io/profile=<profile>`, see `selector.outputs.labels`), prefers
`lifecycle=spot` nodes, never lands on critical-add-on nodes, and runs the profile's checkpoint
command as a preStop hook.

Timing, on AWS: the 120 s notice arrives, Karpenter needs up to `DRAIN_DELAY_SECONDS` to evict
the pod, and the node is reclaimed at notice end. So `terminationGracePeriodSeconds` is what is
left (`max_grace_seconds`, 100 s), and the hook gets that minus `EXIT_MARGIN_SECONDS` to wait for
the final checkpoint; the container receives that bound as `SPOTSEL_CHECKPOINT_DEADLINE_SECONDS`
so the hook can wait for it and no longer (examples/profiles.yaml shows such a hook).

The widely copied example of this pattern has broken YAML (`important:` instead of `key:`,
matchExpressions without `key`); every expression here has a `key`, an `operator` and (for
In / NotIn) values.
"""

from __future__ import annotations

from typing import Any, Final

from selector.outputs.errors import OutputError
from selector.outputs.labels import (
    CRITICAL_LABEL,
    LIFECYCLE_LABEL,
    PROFILE_LABEL,
    toleration,
    workload_taints,
)
from selector.outputs.profile import (
    EXIT_MARGIN_SECONDS,
    OutputProfile,
    checkpoint_deadline,
    max_grace_seconds,
)
from selector.outputs.provenance import Provenance

__all__ = [
    "DEADLINE_ENV",
    "SPOT_PREFERENCE_WEIGHT",
    "check_checkpoint_fits",
    "grace_seconds",
    "workload_snippet",
]

# Preferred node affinity weights are 1..100; spot is the only preference, so the maximum.
SPOT_PREFERENCE_WEIGHT: Final = 100
# Environment variable telling the preStop hook how long it may wait for the final checkpoint.
DEADLINE_ENV: Final = "SPOTSEL_CHECKPOINT_DEADLINE_SECONDS"


def grace_seconds(profile: OutputProfile) -> int:
    """The profile's grace period, or the notice minus the drain delay (AWS: 100 s)."""
    if profile.grace_seconds is not None:
        return profile.grace_seconds
    return max_grace_seconds(profile.cloud)


def check_checkpoint_fits(profile: OutputProfile) -> None:
    """Refuse a checkpoint hook whose final checkpoint cannot finish inside the grace period:
    the kubelet would kill it mid-write (a torn checkpoint is worse than none)."""
    if not profile.checkpoint_command:
        return
    grace = grace_seconds(profile)
    deadline = checkpoint_deadline(grace)
    needed = profile.requirements.final_checkpoint_seconds
    if needed > deadline:
        raise OutputError(
            f"profile {profile.name}",
            f"the final checkpoint ({needed:g} s, requirements.final_checkpoint_seconds) does not "
            f"fit the {deadline} s the preStop hook gets (grace period {grace} s minus "
            f"{EXIT_MARGIN_SECONDS} s to exit): shorten it, or drop checkpoint_command and rely "
            "on periodic checkpoints",
        )


def workload_snippet(
    profile: OutputProfile, *, provenance: Provenance | None = None
) -> dict[str, Any]:
    """`spec.template` of a Deployment / Job: tolerations, affinity, preStop, grace period."""
    check_checkpoint_fits(profile)
    grace = grace_seconds(profile)
    container: dict[str, Any] = {"name": profile.container}
    if profile.checkpoint_command:
        container["env"] = [{"name": DEADLINE_ENV, "value": str(checkpoint_deadline(grace))}]
        container["lifecycle"] = {
            "preStop": {"exec": {"command": list(profile.checkpoint_command)}}
        }
    metadata: dict[str, Any] = {"labels": {PROFILE_LABEL: profile.name}}
    annotations = (provenance or Provenance()).annotations()
    if annotations:
        metadata["annotations"] = annotations
    return {
        "template": {
            "metadata": metadata,
            "spec": {
                "terminationGracePeriodSeconds": grace,
                "tolerations": [toleration(t) for t in workload_taints(profile.name)],
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
