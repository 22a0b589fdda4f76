"""A small model of Kubernetes scheduling constraints, to check generated NodePools against pods.

Follows `k8s.io/api/core/v1` `Toleration.ToleratesTaint` and the node-affinity `NodeSelector`
semantics: an empty toleration key with `Exists` matches every taint; an empty effect matches
every effect; operator `Equal` (the default) compares values; a pod fits a node only if every
`NoSchedule` / `NoExecute` taint is tolerated (`PreferNoSchedule` is a preference, not a guard)
and one of its required node selector terms matches the node's labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HARD_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerates_all(
    tolerations: Sequence[Mapping[str, Any]], taints: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether a pod with TOLERATIONS may schedule onto a node with TAINTS."""
    return all(
        any(tolerates(t, taint) for t in tolerations)
        for taint in taints
        if taint.get("effect") in HARD_EFFECTS
    )


def _expression(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"operator {op} not modelled")


def affinity_allows(pod_spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    return any(all(_expression(e, labels) for e in t.get("matchExpressions", [])) for t in terms)


def schedules_on(pod_spec: Mapping[str, Any], nodepool: Mapping[str, Any]) -> bool:
    """Whether a pod with POD_SPEC can land on a node of NODEPOOL (taints + required affinity)."""
    template = nodepool["spec"]["template"]
    taints = template["spec"].get("taints") or []
    labels = (template.get("metadata") or {}).get("labels") or {}
    return tolerates_all(pod_spec.get("tolerations") or [], taints) and affinity_allows(
        pod_spec, labels
    )
