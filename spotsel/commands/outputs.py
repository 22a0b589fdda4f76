"""`spotsel nodepools generate` and `spotsel fleet`: rankings turned into validated outputs.

Presentation only: ranking, building and validation live in `outputs` / `selector.outputs`
(imported inside the commands: jsonschema, botocore and the Kubernetes client are slow to load).
`write_demo_outputs` is what `spotsel demo` calls to drop NodePools and a Fleet request for the
example profiles into its output folder; the example profiles ship inside the package
(`example_profiles`), so the demo works outside the checkout.

Manifests and workload snippets go to two directories (`--out`, `--workloads-out`), so
`kubectl apply -f <--out>` applies only NodePools and NodeOverlays. Outputs built from simulated
data are labelled (annotations, tags, a file comment), said so on stderr, and `--apply` refuses
them unless `--allow-simulated` is given.

Profiles on GCP get GKE spot node pools instead: `<profile>.gke-nodepools.json` (REST bodies and
gcloud argument lists) in `--gke-out` (default `<out>-gke`), never in `--out`, which kubectl
applies whole. Profiles on Azure get AKS spot node pools: `<profile>.aks-nodepools.sh` (`az aks
nodepool add` lines) and `.json` (ARM agentPools bodies) in `--aks-out` (default `<out>-aks`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from core.errors import ConfigError
from selector.outputs import (
    ARCHES,
    FLEET_STRATEGIES,
    FLEET_TYPES,
    FleetOptions,
    Provenance,
    parse_launch_templates,
)
from spotsel.consoles import err, out
from spotsel.state import AppState, LoadedPools, app_state, load_pools

if TYPE_CHECKING:
    from selector.outputs import AksNodePools, GkeNodePools, KarpenterDocuments, OutputProfile

__all__ = [
    "DIFF_EXIT_CODE",
    "example_profiles",
    "fleet_command",
    "nodepools_app",
    "write_demo_outputs",
]

# `--diff` exits 2 when something changed, so a CronJob (or CI) can alert on it.
DIFF_EXIT_CODE: Final = 2
# The package's copy of examples/profiles.yaml (tests/spotsel/test_packaging.py keeps them equal).
EXAMPLE_PROFILES_RESOURCE: Final = ("data", "profiles.yaml")
# The demo's Fleet request uses placeholders: the user substitutes their own IDs (one launch
# template per architecture, since one template boots one architecture).
DEMO_LAUNCH_TEMPLATES: Final = ("x86_64=lt-0123456789abcdef0", "arm64=lt-0fedcba9876543210")
# Default workloads directory: beside --out, named after it (never inside it, where a recursive
# `kubectl apply -R` or a GitOps tool would try to apply the snippets).
WORKLOADS_SUFFIX: Final = "-workloads"
# Default GKE directory, beside --out for the same reason (JSON that is no Kubernetes object).
GKE_SUFFIX: Final = "-gke"
GKE_FILE_SUFFIX: Final = ".gke-nodepools.json"
AKS_SUFFIX: Final = "-aks"
DEMO_SUBNETS: Final = ("subnet-aaaa1111", "subnet-bbbb2222")
DEMO_TARGET_CAPACITY: Final = 8

nodepools_app = typer.Typer(help="Karpenter NodePools from the ranking.", no_args_is_help=True)


class FleetFormatOption(StrEnum):
    FLEET = "fleet"
    ASG = "asg"


class FleetOutput(StrEnum):
    TABLE = "table"
    JSON = "json"


@contextmanager
def example_profiles() -> Iterator[Path]:
    """The example profiles shipped with the package, as a file for the profile loader."""
    with resources.as_file(resources.files("spotsel").joinpath(*EXAMPLE_PROFILES_RESOURCE)) as path:
        yield path


def _generate(
    state: AppState,
    pools: LoadedPools,
    profiles: tuple[OutputProfile, ...],
    crds_dir: Path | None,
) -> tuple[list[KarpenterDocuments], str, bool]:
    """The validated documents of every profile, the CRD source and whether it is built in."""
    from outputs import generate_karpenter, resolve_crds

    settings = state.get_settings()
    crds = resolve_crds(crds_dir or settings.karpenter_crds_dir)
    generated = generate_karpenter(
        pools.index, profiles, now=pools.now, crds=crds, discounts=settings.discounts
    )
    return generated, crds.source, crds.builtin


def _note_simulated(provenance: Provenance, what: str) -> None:
    if provenance.simulated:
        err.print(
            f"spotsel: note: {what} built from SIMULATED data (sources: "
            f"{', '.join(provenance.sources)}) and labelled spotsel.io/simulated=true; "
            "not for a real cluster",
            markup=False,
            soft_wrap=True,
        )


def default_workloads_dir(out_dir: Path, suffix: str = WORKLOADS_SUFFIX) -> Path:
    """`<out>-workloads` (or another suffix) beside the manifests directory."""
    resolved = out_dir.resolve()
    return resolved.parent / f"{resolved.name}{suffix}"


def render_gke(generated: list[GkeNodePools]) -> dict[str, str]:
    """`<profile>.gke-nodepools.json` -> JSON text for every GCP profile (deterministic)."""
    return {
        f"{g.profile}{GKE_FILE_SUFFIX}": json.dumps(g.to_dict(), indent=2) + "\n" for g in generated
    }


def diff_gke(directory: Path, files: dict[str, str], what: str = "GKE node pools") -> list[str]:
    """Which GKE (or AKS: WHAT) files would be added or changed (whole-file comparison)."""
    changes = []
    for name, text in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            changes.append(f"{what} {name}: added")
        elif path.read_text(encoding="utf-8") != text:
            changes.append(f"{what} {name}: changed")
    return changes


@nodepools_app.command("generate")
def nodepools_generate(
    ctx: typer.Context,
    profiles: Annotated[Path, typer.Option("--profiles", help="Workload profiles YAML.")],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", help="Manifests directory (created): NodePools and NodeOverlays only."
        ),
    ],
    workloads_dir: Annotated[
        Path | None,
        typer.Option(
            "--workloads-out",
            help="Directory for the workload snippets (created). [default: <out>-workloads]",
        ),
    ] = None,
    gke_dir: Annotated[
        Path | None,
        typer.Option(
            "--gke-out",
            help="Directory for the GKE spot node pools of GCP profiles (created). "
            "[default: <out>-gke]",
        ),
    ] = None,
    aks_dir: Annotated[
        Path | None,
        typer.Option(
            "--aks-out",
            help="Directory for the AKS spot node pools of Azure profiles (created). "
            "[default: <out>-aks]",
        ),
    ] = None,
    aks_resource_group: Annotated[
        str | None,
        typer.Option(help="AKS: the cluster's resource group. [default: RESOURCE_GROUP]"),
    ] = None,
    aks_cluster: Annotated[
        str | None, typer.Option(help="AKS: the cluster's name. [default: CLUSTER]")
    ] = None,
    crds: Annotated[
        Path | None,
        typer.Option(help="Directory of the cluster's Karpenter CRD YAMLs (validation)."),
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Report changes against DIR; exit 2 if any.")
    ] = False,
    write: Annotated[
        bool, typer.Option("--write/--no-write", help="Write the files (default) or only diff.")
    ] = True,
    apply: Annotated[
        bool, typer.Option("--apply", help="Server-side apply NodePools / NodeOverlays.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--no-dry-run", help="Apply as dry-run (default).")
    ] = True,
    allow_simulated: Annotated[
        bool,
        typer.Option(
            "--allow-simulated", help="Let --apply send NodePools built from simulated data."
        ),
    ] = False,
) -> None:
    """Write validated Karpenter NodePools (+ overlays) and workload snippets for every AWS
    profile, GKE spot node pools for every GCP profile, AKS spot node pools for every Azure
    profile."""
    from outputs import (
        apply_manifests,
        check_apply_allowed,
        diff_files,
        generate_gke,
        load_profiles,
        render_files,
        render_workloads,
        write_atomic,
        write_files,
    )
    from outputs.aks_files import render_aks
    from outputs.kube import default_apply_client

    if not dry_run and not apply:
        raise ConfigError("--no-dry-run only makes sense with --apply")
    if allow_simulated and not apply:
        raise ConfigError("--allow-simulated only makes sense with --apply")
    snippets_dir = workloads_dir or default_workloads_dir(out_dir)
    if snippets_dir.resolve() == out_dir.resolve():
        raise ConfigError("--workloads-out must differ from --out (kubectl applies all of --out)")
    gke_out = gke_dir or default_workloads_dir(out_dir, GKE_SUFFIX)
    if gke_out.resolve() == out_dir.resolve():
        raise ConfigError("--gke-out must differ from --out (kubectl applies all of --out)")
    aks_out = aks_dir or default_workloads_dir(out_dir, AKS_SUFFIX)
    if aks_out.resolve() == out_dir.resolve():
        raise ConfigError("--aks-out must differ from --out (kubectl applies all of --out)")
    state = app_state(ctx)
    loaded = load_profiles(profiles)
    on_aws = tuple(p for p in loaded if p.cloud == "aws")
    on_gcp = tuple(p for p in loaded if p.cloud == "gcp")
    on_azure = tuple(p for p in loaded if p.cloud == "azure")
    # Find the cluster before anything is written: no kubeconfig = nothing done.
    client = default_apply_client() if apply and on_aws else None
    pools = load_pools(state)
    generated, source, builtin = (
        _generate(state, pools, on_aws, crds) if on_aws else ([], "no Karpenter profile", False)
    )
    gke = generate_gke(pools.index, on_gcp, now=pools.now, discounts=state.get_settings().discounts)
    gke_files = render_gke(gke)
    aks = _generate_aks(state, pools, on_azure, aks_resource_group, aks_cluster)
    aks_files = render_aks(aks)
    if apply:  # refused before anything is written: simulated NodePools never half-arrive
        check_apply_allowed(generated, allow_simulated=allow_simulated)
    _note_simulated(Provenance.combine(g.provenance for g in generated), "NodePools")
    _note_simulated(Provenance.combine(g.provenance for g in gke), "GKE node pools")
    _note_simulated(Provenance.combine(g.provenance for g in aks), "AKS node pools")
    if builtin:
        err.print(
            "spotsel: note: validated with the built-in structural check only; pass --crds DIR "
            "(or SPOTSEL_KARPENTER_CRDS_DIR) to validate against your cluster's CRDs",
            markup=False,
            soft_wrap=True,
        )
    targets = (
        ((out_dir, render_files(generated)), (snippets_dir, render_workloads(generated)))
        if on_aws
        else ()
    )
    changes: list[object] = (
        [c for directory, files in targets for c in diff_files(directory, files)] if diff else []
    )
    if diff:
        changes += diff_gke(gke_out, gke_files)
        changes += diff_gke(aks_out, aks_files, "AKS node pools")
    # With --diff and nothing changed, leave the files alone: a rewrite would only move the
    # generation timestamp and show up as noise in a GitOps repository.
    if write and not (diff and not changes):
        for directory, files in targets:
            for path in write_files(directory, files):
                out.print(f"wrote {path}", markup=False)
        if gke_files:
            for path in write_atomic(gke_out, gke_files):
                out.print(f"wrote {path}", markup=False)
        if aks_files:
            for path in write_atomic(aks_out, aks_files):
                out.print(f"wrote {path}", markup=False)
    manifests = [dict(m) for g in generated for m in g.manifests]
    if on_aws:
        out.print(f"{len(manifests)} manifests validated against {source}", markup=False)
    if gke:
        count = sum(len(g.pools) for g in gke)
        profiles_word = "profile" if len(gke) == 1 else "profiles"
        out.print(f"{count} GKE spot node pools for {len(gke)} GCP {profiles_word}", markup=False)
    if aks:
        count = sum(len(g.pools) for g in aks)
        profiles_word = "profile" if len(aks) == 1 else "profiles"
        out.print(f"{count} AKS spot node pools for {len(aks)} Azure {profiles_word}", markup=False)
    if client is not None:
        mode = "dry-run" if dry_run else "applied"
        for name in apply_manifests(manifests, dry_run=dry_run, client_factory=lambda: client):
            out.print(f"{name} {mode} (server-side)", markup=False)
    if diff:
        for change in changes:
            out.print(f"changed: {change}", markup=False)
        if changes:
            raise typer.Exit(DIFF_EXIT_CODE)
        checked = [str(d) for d, _ in targets] + [
            str(d) for d, files in ((gke_out, gke_files), (aks_out, aks_files)) if files
        ]
        out.print(f"no changes against {' and '.join(checked)}", markup=False)


def _generate_aks(
    state: AppState,
    pools: LoadedPools,
    profiles: tuple[OutputProfile, ...],
    resource_group: str | None,
    cluster: str | None,
) -> list[AksNodePools]:
    """The AKS node pools of every Azure profile (none: no ranking at all)."""
    from outputs import generate_aks

    if not profiles:
        return []
    return generate_aks(
        pools.index,
        profiles,
        now=pools.now,
        discounts=state.get_settings().discounts,
        resource_group=resource_group,
        cluster=cluster,
    )


def _profile(path: Path, name: str) -> OutputProfile:
    from outputs import load_profiles
    from outputs.errors import ProfileError

    loaded = load_profiles(path)
    for p in loaded:
        if p.name == name:
            return p
    raise ProfileError(
        f"{path}: no profile {name!r} (profiles: {', '.join(p.name for p in loaded)})"
    )


def fleet_command(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option("--profile", help="Profile name.")],
    profiles: Annotated[Path, typer.Option("--profiles", help="Workload profiles YAML.")],
    target_capacity: Annotated[int, typer.Option(min=1, help="Instances to launch.")],
    launch_template: Annotated[
        list[str],
        typer.Option(
            metavar="TEMPLATE",
            help="Launch template ID (lt- + 17 hex) or name; one per architecture when the "
            f"ranking mixes them: {'=…,'.join(ARCHES)}=… (repeat or comma-join).",
        ),
    ],
    subnets: Annotated[str, typer.Option(help="Comma list of subnet IDs.")],
    launch_template_version: Annotated[
        str, typer.Option(help="Version number, $Latest or $Default.")
    ] = "$Latest",
    fleet_type: Annotated[
        str, typer.Option("--type", help=f"One of {', '.join(FLEET_TYPES)}.")
    ] = "instant",
    strategy: Annotated[
        str, typer.Option(help=f"One of {', '.join(FLEET_STRATEGIES)}.")
    ] = "price-capacity-optimized",
    on_demand_base: Annotated[int, typer.Option(min=0, help="On-demand base capacity.")] = 0,
    on_demand_percentage: Annotated[
        int, typer.Option(min=0, max=100, help="ASG: on-demand % above base.")
    ] = 0,
    fmt: Annotated[FleetFormatOption, typer.Option("--format")] = FleetFormatOption.FLEET,
    output: Annotated[FleetOutput, typer.Option("--output", "-o")] = FleetOutput.JSON,
) -> None:
    """Print a validated EC2 CreateFleet input (or ASG CreateAutoScalingGroup input)."""
    from outputs import build_fleet_output

    chosen = _profile(profiles, profile)
    options = FleetOptions(
        launch_templates=parse_launch_templates(launch_template, version=launch_template_version),
        subnets=tuple(s.strip() for s in subnets.split(",") if s.strip()),
        target_capacity=target_capacity,
        fleet_type=fleet_type,
        strategy=strategy,
        on_demand_base=on_demand_base,
    )
    state = app_state(ctx)
    pools = load_pools(state)
    built = build_fleet_output(
        pools.index,
        chosen,
        options,
        now=pools.now,
        fmt=fmt.value,
        on_demand_percentage_above_base=on_demand_percentage,
        discounts=state.get_settings().discounts,
    )
    _note_simulated(built.provenance, "request")
    if output is FleetOutput.JSON:
        sys.stdout.write(json.dumps(built.request, indent=2) + "\n")
        return
    _print_fleet_summary(built.request, fmt)


def _template_name(spec: dict[str, Any]) -> str:
    ref = spec.get("LaunchTemplateId") or spec.get("LaunchTemplateName")
    return f"{ref} ({spec.get('Version')})"


def _print_fleet_summary(request: dict[str, Any], fmt: FleetFormatOption) -> None:
    groups: dict[str, list[str]] = {}
    if fmt is FleetFormatOption.ASG:
        policy = request["MixedInstancesPolicy"]
        default = policy["LaunchTemplate"]["LaunchTemplateSpecification"]
        for o in policy["LaunchTemplate"]["Overrides"]:
            name = _template_name(o.get("LaunchTemplateSpecification") or default)
            groups.setdefault(name, []).append(o["InstanceType"])
        strategy = policy["InstancesDistribution"]["SpotAllocationStrategy"]
        out.print(f"ASG {request['AutoScalingGroupName']}: {strategy}", markup=False)
    else:
        count = 0
        for config in request["LaunchTemplateConfigs"]:
            name = _template_name(config["LaunchTemplateSpecification"])
            groups[name] = list(dict.fromkeys(o["InstanceType"] for o in config["Overrides"]))
            count += len(config["Overrides"])
        out.print(
            f"CreateFleet {request['Type']}: {request['SpotOptions']['AllocationStrategy']}, "
            f"{count} overrides",
            markup=False,
        )
    for name, types in groups.items():
        out.print(f"  launch template {name}: {', '.join(types)}", markup=False)
    out.print("validated against botocore's service model; `-o json` prints the request")


def write_demo_outputs(
    state: AppState, out_dir: Path, *, pools: LoadedPools, profiles: Path
) -> list[Path]:
    """For `spotsel demo`: NodePools of PROFILES into OUT_DIR/nodepools, their workload snippets
    into OUT_DIR/workloads and a CreateFleet request for its first profile (placeholder launch
    templates per architecture and subnets) as OUT_DIR/fleet-request.json, all from the POOLS
    the demo loaded once.
    """
    from outputs import (
        build_fleet_output,
        load_profiles,
        render_files,
        render_workloads,
        write_atomic,
        write_files,
    )

    loaded = load_profiles(profiles)
    generated, _, _ = _generate(state, pools, loaded, None)
    written = write_files(out_dir / "nodepools", render_files(generated))
    written += write_files(out_dir / "workloads", render_workloads(generated))
    built = build_fleet_output(
        pools.index,
        loaded[0],
        FleetOptions(
            launch_templates=parse_launch_templates(DEMO_LAUNCH_TEMPLATES),
            subnets=DEMO_SUBNETS,
            target_capacity=DEMO_TARGET_CAPACITY,
        ),
        now=pools.now,
        discounts=state.get_settings().discounts,
    )
    text = json.dumps(built.request, indent=2) + "\n"
    written += write_atomic(out_dir, {"fleet-request.json": text})
    return written
