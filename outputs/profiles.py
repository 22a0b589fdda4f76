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
        checkpoint_command: "kill -USR1 1; ..."  # preStop hook (exec list or one shell string)
        container: trainer                # container that gets the preStop hook
        grace_seconds: 90                 # optional; default and maximum: notice - drain delay

`requirements` uses the ranking vocabulary (`selector.parse_requirements`), including
`on_demand_discounts` (Savings Plan / RI rates; laid over SPOTSEL_ON_DEMAND_DISCOUNTS rule by
rule when the outputs are ranked, `outputs.generate.rank_profile`). NodePools, Fleet requests
and GKE / AKS node pools serve one cluster / one region, so `regions` must name exactly one
region, `clouds` may only be `[aws]` (the default), `[gcp]` (GKE spot node pools) or `[azure]`
(AKS spot node pools), and `capacity_types` is set per output (not allowed here).
With a `checkpoint_command`, `requirements.final_checkpoint_seconds` must fit the grace period
minus the exit margin (`selector.outputs.workload`): a hook killed mid-write tears the checkpoint.
Every error names the file, the profile and the field, and quotes values cut short.

The loader is bounded: a file of at most `MAX_FILE_BYTES`, no YAML aliases (a few hundred
bytes of nested aliases expand to billions of nodes), at most `MAX_DEPTH` levels of nesting
and `MAX_PROFILES` profiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

from core.limits import shorten
from outputs import grammar
from outputs.errors import ProfileError
from outputs.grammar import matches
from selector import RequirementsError, parse_requirements
from selector.outputs import (
    CONSOLIDATION_POLICIES,
    DRAIN_DELAY_SECONDS,
    FALLBACK_POLICIES,
    Budget,
    Disruption,
    OutputError,
    OutputProfile,
    check_checkpoint_fits,
    max_grace_seconds,
    notice_seconds,
)
from selector.outputs.profile import DEFAULT_ON_DEMAND_WEIGHT, DEFAULT_SPOT_WEIGHT

__all__ = [
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_PROFILES",
    "load_profiles",
    "parse_profile",
    "parse_profiles",
]

FORMAT_VERSION: Final = 1
# A profiles file is a few KiB (examples/profiles.yaml: 3 KiB, two profiles); anything near a
# MiB is a wrong file, not a bigger fleet.
MAX_FILE_BYTES: Final = 1024 * 1024
# One profile = 3 NodePools in one cluster; a hundred is far past any real cluster.
MAX_PROFILES: Final = 100
# The format's deepest value sits 8 nodes down (document > profiles > profile > disruption >
# budgets > budget > reasons > reason); 16 leaves room without letting a deep file exhaust the
# parser's stack.
MAX_DEPTH: Final = 16
# Longest key quoted verbatim as a field name in a message (ours are at most 18 characters).
MAX_FIELD_CHARS: Final = 40
_KEYS: Final = frozenset(
    {
        "name", "description", "requirements", "nodepool", "ec2nodeclass", "weights", "limits",
        "on_demand_fallback", "on_demand_limits", "critical_addons", "node_overlays",
        "disruption", "checkpoint_command", "container", "grace_seconds",
    }
)  # fmt: skip
# Longest NodePool base name: "<base>-critical-addons" must still be a 63-character label value.
MAX_NODEPOOL_NAME: Final = 63 - len("-critical-addons")
BUDGET_REASONS: Final = ("Underutilized", "Empty", "Drifted")
WEIGHT_RANGE: Final = (1, 100)  # NodePool spec.weight bounds in the CRD
# One cluster, one cloud: AWS profiles become Karpenter NodePools and Fleet requests, GCP
# profiles GKE spot node pools (`selector.outputs.gke`), Azure profiles AKS spot node pools
# (`selector.outputs.aks`).
PROFILE_CLOUDS: Final = ("aws", "gcp", "azure")


class _Ctx:
    """Names the file and profile in every error."""

    def __init__(self, source: str, profile: str) -> None:
        self.source = source
        self.profile = profile

    def fail(self, field: str, reason: str) -> ProfileError:
        return ProfileError(f"{self.source}: profile {shorten(self.profile)}: {field}: {reason}")


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and nesting deeper than `MAX_DEPTH`.

    Aliases are refused, not counted: the format never needs them, and a file without them
    builds at most as many nodes as it has bytes.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            raise self._refuse("YAML aliases (*name) are not allowed here")
        if self._depth >= MAX_DEPTH:
            raise self._refuse(f"nested deeper than {MAX_DEPTH} levels")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _refuse(self, problem: str) -> ComposerError:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return ComposerError(None, None, problem, mark)


def _read_bounded(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ProfileError(f"profiles file {path} does not exist") from None
    except OSError as exc:
        raise ProfileError(f"cannot read profiles file {path}: {exc.strerror}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ProfileError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; not a profiles file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def load_profiles(path: Path) -> tuple[OutputProfile, ...]:
    """Read and validate a profiles YAML file (bounded: see the module docstring)."""
    text = _read_bounded(path)
    loader = _BoundedLoader(text)
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        reason = f": {shorten(problem)[1:-1]}" if isinstance(problem, str) else ""
        raise ProfileError(f"{path}: not valid YAML{where}{reason}") from None
    finally:
        loader.dispose()
    return parse_profiles(doc, source=str(path))


def parse_profiles(doc: object, *, source: str) -> tuple[OutputProfile, ...]:
    """Validate a parsed profiles document (`{version: 1, profiles: [...]}`)."""
    if not isinstance(doc, Mapping):
        raise ProfileError(f"{source}: expected a mapping with `version` and `profiles`")
    extra = set(doc) - {"version", "profiles"}
    if extra:
        raise ProfileError(f"{source}: unknown top-level keys {shorten(sorted(map(_key, extra)))}")
    if doc.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ProfileError(
            f"{source}: version must be {FORMAT_VERSION}, got {shorten(doc['version'])}"
        )
    items = doc.get("profiles")
    if not isinstance(items, list) or not items:
        raise ProfileError(f"{source}: `profiles` must be a non-empty list")
    if len(items) > MAX_PROFILES:
        raise ProfileError(f"{source}: {len(items)} profiles; at most {MAX_PROFILES}")
    profiles = [
        parse_profile(item, source=f"{source} profiles[{i}]") for i, item in enumerate(items)
    ]
    for attr in ("name", "nodepool"):
        seen: set[str] = set()
        for p in profiles:
            value = getattr(p, attr)
            if value in seen:
                raise ProfileError(
                    f"{source}: profile {shorten(p.name)}: {attr}: {shorten(value)} is used twice"
                )
            seen.add(value)
    return tuple(profiles)


def parse_profile(item: object, *, source: str = "profile") -> OutputProfile:
    """Validate one profile mapping (a YAML list item or a REST body)."""
    if not isinstance(item, Mapping):
        raise ProfileError(f"{source}: expected a mapping, got {type(item).__name__}")
    raw_name = item.get("name")
    # Never str() a value of unknown size: a name is quoted cut short, like every value.
    ctx = _Ctx(source, raw_name if isinstance(raw_name, str) else "?")
    name = _dns_label(ctx, item, "name", required=True)
    extra = set(item) - _KEYS
    if extra:
        raise ctx.fail(min(map(_key, extra)), f"unknown field; expected one of {sorted(_KEYS)}")
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
    profile = replace(profile, grace_seconds=_grace(ctx, item.get("grace_seconds"), profile.cloud))
    try:
        check_checkpoint_fits(profile)
    except OutputError as exc:
        raise ctx.fail("checkpoint_command", exc.reason) from None
    return profile


# --- fields -----------------------------------------------------------------------------------


def _key(key: object) -> str:
    """A mapping key as a field name: itself when short and printable, else quoted short."""
    if isinstance(key, str) and len(key) <= MAX_FIELD_CHARS and key.isprintable():
        return key
    return shorten(key)


def _dns_label(ctx: _Ctx, item: Mapping[str, Any], field: str, *, required: bool) -> str:
    value = item.get(field)
    if value is None:
        if required:
            raise ctx.fail(field, "is required")
        return ""
    if not isinstance(value, str) or len(value) > 63 or not matches(grammar.DNS_LABEL, value):
        raise ctx.fail(field, f"{shorten(value)} must be a DNS label (a-z, 0-9, '-', at most 63)")
    return value


def _requirements(ctx: _Ctx, value: object) -> Any:
    if not isinstance(value, Mapping):
        raise ctx.fail("requirements", "required mapping in the ranking vocabulary")
    if "capacity_types" in value:
        raise ctx.fail(
            "requirements.capacity_types", "set per output (spot pool, on-demand fallback)"
        )
    clouds = value.get("clouds")
    if isinstance(clouds, list) and len(clouds) == 1:
        clouds = clouds[0]
    if clouds is not None and clouds not in PROFILE_CLOUDS:
        raise ctx.fail(
            "requirements.clouds",
            "one of aws (Karpenter NodePools, EC2 Fleet), gcp (GKE spot node pools) or azure "
            "(AKS spot node pools)",
        )
    regions = value.get("regions")
    if isinstance(regions, str):
        regions = [r for r in regions.split(",") if r.strip()]
    if not isinstance(regions, list) or len(regions) != 1:
        raise ctx.fail("requirements.regions", "name exactly one region (the cluster's)")
    try:
        return parse_requirements({**value, "clouds": [clouds or "aws"]})
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
            raise ctx.fail(field, f"must be a whole number in {lo}..{hi}, got {shorten(w)}")
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
        if not isinstance(resource, str) or not matches(grammar.RESOURCE_NAME, resource):
            raise ctx.fail(f"{field}.{shorten(resource)}", "not a resource name")
        text = str(qty) if isinstance(qty, int | float) and not isinstance(qty, bool) else qty
        if not isinstance(text, str) or not matches(grammar.QUANTITY, text):
            raise ctx.fail(
                f"{field}.{_key(resource)}", f"{shorten(qty)} is not a Kubernetes quantity"
            )
        out.append((resource, text))
    return tuple(sorted(out))


def _choice(
    ctx: _Ctx, item: Mapping[str, Any], field: str, allowed: tuple[str, ...], default: str
) -> str:
    value = item.get(field, default)
    if not isinstance(value, str) or value not in allowed:
        raise ctx.fail(field, f"{shorten(value)} is not one of {list(allowed)}")
    return value


def _bool(ctx: _Ctx, item: Mapping[str, Any], field: str) -> bool:
    value = item.get(field, False)
    if not isinstance(value, bool):
        raise ctx.fail(field, f"expected true or false, got {shorten(value)}")
    return value


def _disruption(ctx: _Ctx, value: object) -> Disruption:
    if value is None:
        return Disruption()
    keys = {"consolidation_policy", "consolidate_after", "budgets"}
    if not isinstance(value, Mapping) or set(value) - keys:
        raise ctx.fail("disruption", f"expected a mapping with keys {sorted(keys)}")
    default = Disruption()
    policy = value.get("consolidation_policy", default.consolidation_policy)
    if not isinstance(policy, str) or policy not in CONSOLIDATION_POLICIES:
        raise ctx.fail(
            "disruption.consolidation_policy",
            f"{shorten(policy)} is not one of {list(CONSOLIDATION_POLICIES)}",
        )
    after = value.get("consolidate_after", default.consolidate_after)
    if not isinstance(after, str) or not matches(grammar.DURATION, after):
        raise ctx.fail(
            "disruption.consolidate_after",
            f"{shorten(after)} is not a duration like 10m or 1h30m",
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
    raw_nodes = value["nodes"]
    nodes = str(raw_nodes) if type(raw_nodes) is int else raw_nodes  # `nodes: 1` means "1"
    if not isinstance(nodes, str) or not matches(grammar.BUDGET_NODES, nodes):
        raise ctx.fail(
            f"{field}.nodes", f"{shorten(raw_nodes)} must be a count or a percentage like 10%"
        )
    schedule, duration = value.get("schedule"), value.get("duration")
    if (schedule is None) != (duration is None):
        raise ctx.fail(field, "schedule and duration go together")
    if schedule is not None and not isinstance(schedule, str):
        raise ctx.fail(f"{field}.schedule", f"{shorten(schedule)} is not a cron schedule")
    if duration is not None and (
        not isinstance(duration, str) or not matches(grammar.BUDGET_DURATION, duration)
    ):
        raise ctx.fail(
            f"{field}.duration", f"{shorten(duration)} must be hours/minutes like 8h or 1h30m"
        )
    reasons = value.get("reasons") or []
    if not isinstance(reasons, list) or any(
        not isinstance(r, str) or r not in BUDGET_REASONS for r in reasons
    ):
        raise ctx.fail(f"{field}.reasons", f"expected a list of {list(BUDGET_REASONS)}")
    return Budget(nodes=nodes, schedule=schedule, duration=duration, reasons=tuple(reasons))


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
    most = max_grace_seconds(cloud)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ctx.fail(
            "grace_seconds",
            f"must be a whole number in 1..{most} (the {cloud} notice of "
            f"{notice_seconds(cloud)} s minus {DRAIN_DELAY_SECONDS} s until the pod is evicted: "
            f"the node is gone after it), got {shorten(value)}",
        )
    return value
