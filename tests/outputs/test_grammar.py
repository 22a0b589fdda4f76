"""The grammar module's patterns are the ones the real Karpenter CRDs declare, field by field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from outputs import grammar
from tests.outputs.helpers import CRDS


def _schema(crd_file: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / crd_file).read_text(encoding="utf-8"))
    [version] = [v for v in crd["spec"]["versions"] if v.get("storage")]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    node = schema
    for part in path.split("."):
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


# (CRD file, field path, our pattern): why each matters is the field it guards.
CASES = [
    ("karpenter.sh_nodepools.yaml", "spec.limits", grammar.QUANTITY),
    ("karpenter.sh_nodepools.yaml", "spec.disruption.consolidateAfter", grammar.DURATION),
    ("karpenter.sh_nodepools.yaml", "spec.disruption.budgets.[].nodes", grammar.BUDGET_NODES),
    ("karpenter.sh_nodepools.yaml", "spec.disruption.budgets.[].duration", grammar.BUDGET_DURATION),
    ("karpenter.sh_nodeoverlays.yaml", "spec.price", grammar.PRICE),
    ("karpenter.sh_nodeoverlays.yaml", "spec.priceAdjustment", grammar.PRICE_ADJUSTMENT),
]


@pytest.mark.parametrize(("crd_file", "path", "ours"), CASES)
def test_pattern_is_the_crds(crd_file: str, path: str, ours: str) -> None:
    field = _at(_schema(crd_file), path)
    declared = field.get("pattern") or field.get("additionalProperties", {}).get("pattern")
    assert declared == ours


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (grammar.QUANTITY, ["100", "1.5Gi", "500m", "1e3"], ["1.5 Gi", "Gi", "-"]),
        (grammar.DURATION, ["30s", "1h30m", "Never"], ["1d", "never", ""]),
        (grammar.BUDGET_NODES, ["10%", "100%", "3"], ["101%", "10 %"]),
        (grammar.DNS_LABEL, ["gpu-trainer", "a1"], ["GPU", "-a", "a_b"]),
    ],
)
def test_matches(pattern: str, good: list[str], bad: list[object]) -> None:
    assert all(grammar.matches(pattern, v) for v in good)
    assert not any(grammar.matches(pattern, v) for v in [*bad, None, 3])
