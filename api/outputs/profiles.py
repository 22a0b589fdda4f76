"""Workload profiles: the YAML format, its loader and its validation.

Format (see examples/profiles.yaml)::

    version: 1
    profiles:
      - name: gpu-trainer                 # DNS label; names the files and labels the nodes
        requirements: {gpus: 1, gpu_memory_gib: 16, regions: [us-east-1], nodes: 8}
        nodepool: gpu-trainer             # NodePools <nodepool>-spot, -on-demand, -critical-addons
        ec2nodeclass: default             # the EC2NodeClass every NodePool references
        weights: {spot: 80, on_demand: 20}
        limits: {cpu: 256, memory: 1024Gi, nvidia.com/gpu: 16}
        on_demand_fallback: always        # always | auto | never
        on_demand_limits: {cpu: 64}       # optional; default: limits
        critical_addons: true             # also emit a CriticalAddonsOnly on-demand NodePool
        node_overlays: false              # opt-in: NodeOverlay is alpha in Karpenter
        disruption: {consolidation_policy: WhenEmpty, consolidate_after: 30m,
                     budgets: [{nodes: "1"}]}
        checkpoint_command: ["/bin/sh", "-c", "python save.py --final"]  # or one shell string
        container: trainer                # container that gets the preStop hook
        grace_seconds: 110                # optional; default and maximum: the notice window

`requirements` uses the ranking vocabulary (`selector.parse_requirements`). NodePools and
Fleet requests serve one cluster / one region of AWS, so `regions` must name exactly one
region, `clouds` may only be `[aws]`, and `capacity_types` is set per output (not allowed here).
Every error names the file, the profile and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import yaml

from core.errors import ProfileError
from selector import RequirementsError, parse_requirements
from selector.outputs import (
    CONSOLIDATION_POLICIES,
    FALLBACK_POLICIES,
    Budget,
    Disruption,
    OutputProfile,
    notice_seconds,
)
from selector.outputs.profile import DEFAULT_ON_DEMAND_WEIGHT, DEFAULT_SPOT_WEIGHT

__all__ = ["FORMAT_VERSION", "load_profiles", "parse_profile", "parse_profiles"]

FORMAT_VERSION: Final = 1
_KEYS: Final = frozenset(
    {
        "name", "description", "requirements", "nodepool", "ec2nodeclass", "weights", "limits",
        "on_demand_fallback", "on_demand_limits", "critical_addons", "node_overlays",
        "disruption", "checkpoint_command", "container", "grace_seconds",
    }
)  # fmt: skip
# Kubernetes object names and label values: DNS-1123 labels.
DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Longest NodePool base name: "<base>-critical-addons" must still be a 63-character label value.
MAX_NODEPOOL_NAME: Final = 63 - len("-critical-addons")
# Kubernetes resource quantity (the grammar the CRDs' `limits` pattern encodes).
QUANTITY: Final = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
RESOURCE_NAME: Final = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$"
)
DURATION: Final = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")  # CRD consolidateAfter pattern
BUDGET_NODES: Final = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")  # CRD budgets[].nodes
BUDGET_DURATION: Final = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
BUDGET_REASONS: Final = ("Underutilized", "Empty", "Drifted")
WEIGHT_RANGE: Final = (1, 100)  # NodePool spec.weight bounds in the CRD


class _Ctx:
    """Names the file and profile in every error."""

    def __init__(self, source: str, profile: str) -> None:
        self.source = source
        self.profile = profile

    def fail(self, field: str, reason: str) -> ProfileError:
        return ProfileError(f"{self.source}: profile {self.profile!r}: {field}: {reason}")


def load_profiles(path: Path) -> tuple[OutputProfile, ...]:
    """Read and validate a profiles YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"profiles file {path} does not exist") from None
    except OSError as exc:
        raise ProfileError(f"cannot read profiles file {path}: {exc.strerror}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{path}: not valid YAML{where}") from exc
    return parse_profiles(doc, source=str(path))


def parse_profiles(doc: object, *, source: str) -> tuple[OutputProfile, ...]:
    """Validate a parsed profiles document (`{version: 1, profiles: [...]}`)."""
    if not isinstance(doc, Mapping):
        raise ProfileError(f"{source}: expected a mapping with `version` and `profiles`")
    extra = set(doc) - {"version", "profiles"}
    if extra:
        raise ProfileError(f"{source}: unknown top-level keys {sorted(map(str, extra))}")
    if doc.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ProfileError(f"{source}: version must be {FORMAT_VERSION}, got {doc['version']!r}")
    items = doc.get("profiles")
    if not isinstance(items, list) or not items:
        raise ProfileError(f"{source}: `profiles` must be a non-empty list")
    profiles = [
        parse_profile(item, source=f"{source} profiles[{i}]") for i, item in enumerate(items)
    ]
    for attr in ("name", "nodepool"):
        seen: set[str] = set()
        for p in profiles:
            value = getattr(p, attr)
            if value in seen:
                raise ProfileError(f"{source}: profile {p.name!r}: {attr}: {value!r} is used twice")
            seen.add(value)
    return tuple(profiles)


def parse_profile(item: object, *, source: str = "profile") -> OutputProfile:
    """Validate one profile mapping (a YAML list item or a REST body)."""
    if not isinstance(item, Mapping):
        raise ProfileError(f"{source}: expected a mapping, got {type(item).__name__}")
    raw_name = item.get("name")
    ctx = _Ctx(source, str(raw_name) if raw_name is not None else "?")
    name = _dns_label(ctx, item, "name", required=True)
    extra = set(item) - _KEYS
    if extra:
        raise ctx.fail(
            str(sorted(map(str, extra))[0]), f"unknown field; expected one of {sorted(_KEYS)}"
        )
    nodepool = _dns_label(ctx, item, "nodepool", required=False) or name
    if len(nodepool) > MAX_NODEPOOL_NAME:
        raise ctx.fail("nodepool", f"at most {MAX_NODEPOOL_NAME} characters")
    weights = _weights(ctx, item.get("weights"))
    profile = OutputProfile(
        name=name,
        requirements=_requirements(ctx, item.get("requirements")),
        nodepool=nodepool,
        ec2nodeclass=_dns_label(ctx, item, "ec2nodeclass", required=False) or "default",
        spot_weight=weights[0],
        on_demand_weight=weights[1],
        limits=_limits(ctx, "limits", item.get("limits")),
        on_demand_limits=(
            None
            if item.get("on_demand_limits") is None
            else _limits(ctx, "on_demand_limits", item["on_demand_limits"])
        ),
        on_demand_fallback=_choice(ctx, item, "on_demand_fallback", FALLBACK_POLICIES, "always"),
        critical_addons=_bool(ctx, item, "critical_addons"),
        node_overlays=_bool(ctx, item, "node_overlays"),
        disruption=_disruption(ctx, item.get("disruption")),
        checkpoint_command=_command(ctx, item.get("checkpoint_command")),
        container=_dns_label(ctx, item, "container", required=False) or "main",
    )
    return replace(profile, grace_seconds=_grace(ctx, item.get("grace_seconds"), profile.cloud))


# --- fields -----------------------------------------------------------------------------------


def _dns_label(ctx: _Ctx, item: Mapping[str, Any], field: str, *, required: bool) -> str:
    value = item.get(field)
    if value is None:
        if required:
            raise ctx.fail(field, "is required")
        return ""
    if not isinstance(value, str) or len(value) > 63 or not DNS_LABEL.match(value):
        raise ctx.fail(field, f"{value!r} must be a DNS label (a-z, 0-9, '-', at most 63)")
    return value


def _requirements(ctx: _Ctx, value: object) -> Any:
    if not isinstance(value, Mapping):
        raise ctx.fail("requirements", "required mapping in the ranking vocabulary")
    if "capacity_types" in value:
        raise ctx.fail(
            "requirements.capacity_types", "set per output (spot pool, on-demand fallback)"
        )
    clouds = value.get("clouds")
    if clouds is not None and clouds not in (["aws"], "aws"):
        raise ctx.fail("requirements.clouds", "Karpenter and EC2 Fleet outputs are AWS only")
    regions = value.get("regions")
    if isinstance(regions, str):
        regions = [r for r in regions.split(",") if r.strip()]
    if not isinstance(regions, list) or len(regions) != 1:
        raise ctx.fail("requirements.regions", "name exactly one region (the cluster's)")
    try:
        return parse_requirements({**value, "clouds": ["aws"]})
    except RequirementsError as exc:
        raise ctx.fail(f"requirements.{exc.field}", exc.reason) from None


def _weights(ctx: _Ctx, value: object) -> tuple[int, int]:
    if value is None:
        return DEFAULT_SPOT_WEIGHT, DEFAULT_ON_DEMAND_WEIGHT
    if not isinstance(value, Mapping) or set(value) - {"spot", "on_demand"}:
        raise ctx.fail("weights", "expected a mapping with `spot` and/or `on_demand`")
    lo, hi = WEIGHT_RANGE
    spot = value.get("spot", DEFAULT_SPOT_WEIGHT)
    on_demand = value.get("on_demand", DEFAULT_ON_DEMAND_WEIGHT)
    for field, w in (("weights.spot", spot), ("weights.on_demand", on_demand)):
        if isinstance(w, bool) or not isinstance(w, int) or not lo <= w <= hi:
            raise ctx.fail(field, f"must be a whole number in {lo}..{hi}, got {w!r}")
    if on_demand >= spot:
        raise ctx.fail("weights.on_demand", "must be lower than weights.spot (spot first)")
    return spot, on_demand


def _limits(ctx: _Ctx, field: str, value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ctx.fail(field, "expected a mapping of resource -> quantity")
    out = []
    for resource, qty in value.items():
        if not isinstance(resource, str) or not RESOURCE_NAME.match(resource):
            raise ctx.fail(f"{field}.{resource}", "not a resource name")
        text = str(qty) if isinstance(qty, int | float) and not isinstance(qty, bool) else qty
        if not isinstance(text, str) or not QUANTITY.match(text):
            raise ctx.fail(f"{field}.{resource}", f"{qty!r} is not a Kubernetes quantity")
        out.append((resource, text))
    return tuple(sorted(out))


def _choice(
    ctx: _Ctx, item: Mapping[str, Any], field: str, allowed: tuple[str, ...], default: str
) -> str:
    value = item.get(field, default)
    if value not in allowed:
        raise ctx.fail(field, f"{value!r} is not one of {list(allowed)}")
    return str(value)


def _bool(ctx: _Ctx, item: Mapping[str, Any], field: str) -> bool:
    value = item.get(field, False)
    if not isinstance(value, bool):
        raise ctx.fail(field, f"expected true or false, got {value!r}")
    return value


def _disruption(ctx: _Ctx, value: object) -> Disruption:
    if value is None:
        return Disruption()
    keys = {"consolidation_policy", "consolidate_after", "budgets"}
    if not isinstance(value, Mapping) or set(value) - keys:
        raise ctx.fail("disruption", f"expected a mapping with keys {sorted(keys)}")
    default = Disruption()
    policy = value.get("consolidation_policy", default.consolidation_policy)
    if policy not in CONSOLIDATION_POLICIES:
        raise ctx.fail(
            "disruption.consolidation_policy",
            f"{policy!r} is not one of {list(CONSOLIDATION_POLICIES)}",
        )
    after = str(value.get("consolidate_after", default.consolidate_after))
    if not DURATION.match(after):
        raise ctx.fail(
            "disruption.consolidate_after", f"{after!r} is not a duration like 10m or 1h30m"
        )
    raw_budgets = value.get("budgets")
    budgets = default.budgets
    if raw_budgets is not None:
        if not isinstance(raw_budgets, list) or not raw_budgets:
            raise ctx.fail("disruption.budgets", "expected a non-empty list")
        budgets = tuple(_budget(ctx, i, b) for i, b in enumerate(raw_budgets))
    return Disruption(consolidation_policy=policy, consolidate_after=after, budgets=budgets)


def _budget(ctx: _Ctx, i: int, value: object) -> Budget:
    field = f"disruption.budgets[{i}]"
    keys = {"nodes", "schedule", "duration", "reasons"}
    if not isinstance(value, Mapping) or set(value) - keys or "nodes" not in value:
        raise ctx.fail(
            field, f"expected a mapping with `nodes` and optional {sorted(keys - {'nodes'})}"
        )
    nodes = str(value["nodes"])
    if not BUDGET_NODES.match(nodes):
        raise ctx.fail(f"{field}.nodes", f"{nodes!r} must be a count or a percentage like 10%")
    schedule, duration = value.get("schedule"), value.get("duration")
    if (schedule is None) != (duration is None):
        raise ctx.fail(field, "schedule and duration go together")
    if duration is not None and not BUDGET_DURATION.match(str(duration)):
        raise ctx.fail(f"{field}.duration", f"{duration!r} must be hours/minutes like 8h or 1h30m")
    reasons = value.get("reasons") or []
    if not isinstance(reasons, list) or any(r not in BUDGET_REASONS for r in reasons):
        raise ctx.fail(f"{field}.reasons", f"expected a list of {list(BUDGET_REASONS)}")
    return Budget(
        nodes=nodes,
        schedule=None if schedule is None else str(schedule),
        duration=None if duration is None else str(duration),
        reasons=tuple(reasons),
    )


def _command(ctx: _Ctx, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        if not value.strip():
            raise ctx.fail("checkpoint_command", "empty command")
        return ("/bin/sh", "-c", value)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ctx.fail("checkpoint_command", "expected a shell string or a list of strings")
    return tuple(value)


def _grace(ctx: _Ctx, value: object, cloud: str) -> int | None:
    if value is None:
        return None
    notice = notice_seconds(cloud)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= notice:
        raise ctx.fail(
            "grace_seconds",
            f"must be a whole number in 1..{notice} (the {cloud} notice window: the node is gone "
            f"after it), got {value!r}",
        )
    return value
