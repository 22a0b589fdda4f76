"""The Kubernetes and Karpenter string grammars spotsel checks: one pattern, two users.

The profile loader matches user input against these, and the built-in CRD check embeds the
same text as JSON-schema ``pattern``s, so a value the loader accepts is one the schema accepts.
The patterns are copied from the Karpenter v1 CRDs (``karpenter.sh_nodepools.yaml``,
``karpenter.sh_nodeoverlays.yaml``) and the Kubernetes API conventions.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "BUDGET_DURATION",
    "BUDGET_NODES",
    "DNS_LABEL",
    "DURATION",
    "LABEL_KEY",
    "LABEL_VALUE",
    "PRICE",
    "PRICE_ADJUSTMENT",
    "QUANTITY",
    "RESOURCE_NAME",
    "matches",
]

# Resource quantity (NodePool spec.limits): decimal or binary suffix, or an exponent.
QUANTITY: Final = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# spec.disruption.consolidateAfter: a Go duration in s/m/h, or Never.
DURATION: Final = r"^(([0-9]+(s|m|h))+|Never)$"
# spec.disruption.budgets[].duration: hours and/or minutes only.
BUDGET_DURATION: Final = r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$"
# spec.disruption.budgets[].nodes: a count or a percentage up to 100%.
BUDGET_NODES: Final = r"^((100|[0-9]{1,2})%|[0-9]+)$"
# Label keys (optional DNS prefix and a name) and values.
LABEL_KEY: Final = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
LABEL_VALUE: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# Object names (NodePool, EC2NodeClass): DNS-1123 labels.
DNS_LABEL: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Extended resource names in limits (``cpu``, ``nvidia.com/gpu``).
RESOURCE_NAME: Final = (
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$"
)
# NodeOverlay spec.price and spec.priceAdjustment.
PRICE: Final = r"^\d+(\.\d+)?$"
PRICE_ADJUSTMENT: Final = (
    r"^(([+-]{1}(\d*\.?\d+))|(\+{1}\d*\.?\d+%)|(^(-\d{1,2}(\.\d+)?%)$)|(-100%))$"
)

_COMPILED: dict[str, re.Pattern[str]] = {}


def matches(pattern: str, value: object) -> bool:
    """Whether ``value`` is a string in the grammar ``pattern`` (compiled once)."""
    if not isinstance(value, str):
        return False
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = re.compile(pattern)
    return compiled.match(value) is not None
