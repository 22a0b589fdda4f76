"""`spotsel nodepools generate` and `spotsel fleet`: rankings turned into validated outputs.

Presentation only: ranking, building and validation live in `outputs` / `selector.outputs`
(imported inside the commands: jsonschema, botocore and the Kubernetes client are slow to load).
`write_demo_outputs` is what `spotsel demo` calls to drop NodePools and a Fleet request for the
example profiles into its output folder; the example profiles ship inside the package
(`example_profiles`), so the demo works outside the checkout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from core.errors import ConfigError
from selector.outputs import FLEET_STRATEGIES, FLEET_TYPES, FleetOptions, OutputProfile
from spotsel.consoles import err, out
from spotsel.state import AppState, LoadedPools, app_state, load_pools

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
# The demo's Fleet request uses placeholders: the user substitutes their own IDs.
DEMO_LAUNCH_TEMPLATE: Final = "lt-0123456789abcdef0"
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


def _generate_files(
    state: AppState,
    pools: LoadedPools,
    profiles: tuple[OutputProfile, ...],
    crds_dir: Path | None,
) -> tuple[dict[str, str], list[dict[str, Any]], str, bool]:
    from core.pool_reader import load_zone_names
    from outputs import generate_karpenter, render_files, resolve_crds

    settings = state.get_settings()
    crds = resolve_crds(crds_dir or settings.karpenter_crds_dir)
    zone_names = load_zone_names(state.engine(), account=settings.outputs_aws_account)
    generated = generate_karpenter(
        pools.index, profiles, now=pools.now, zone_names=zone_names, crds=crds
    )
    manifests = [dict(m) for g in generated for m in g.manifests]
    return render_files(generated), manifests, crds.source, crds.builtin


@nodepools_app.command("generate")
def nodepools_generate(
    ctx: typer.Context,
    profiles: Annotated[Path, typer.Option("--profiles", help="Workload profiles YAML.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory (created).")],
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
) -> None:
    """Write validated Karpenter NodePools (+ overlays, workload snippet) for every profile."""
    from outputs import apply_manifests, diff_files, load_profiles, write_files
    from outputs.kube import default_apply_client

    if not dry_run and not apply:
        raise ConfigError("--no-dry-run only makes sense with --apply")
    state = app_state(ctx)
    loaded = load_profiles(profiles)
    # Find the cluster before anything is written: no kubeconfig = nothing done.
    client = default_apply_client() if apply else None
    pools = load_pools(state)
    files, manifests, source, builtin = _generate_files(state, pools, loaded, crds)
    if builtin:
        err.print(
            "spotsel: note: validated with the built-in structural check only; pass --crds DIR "
            "(or SPOTSEL_KARPENTER_CRDS_DIR) to validate against your cluster's CRDs",
            markup=False,
            soft_wrap=True,
        )
    changes = diff_files(out_dir, files) if diff else []
    # With --diff and nothing changed, leave the files alone: a rewrite would only move the
    # generation timestamp and show up as noise in a GitOps repository.
    if write and not (diff and not changes):
        for path in write_files(out_dir, files):
            out.print(f"wrote {path}", markup=False)
    out.print(f"{len(manifests)} manifests validated against {source}", markup=False)
    if client is not None:
        mode = "dry-run" if dry_run else "applied"
        for name in apply_manifests(manifests, dry_run=dry_run, client_factory=lambda: client):
            out.print(f"{name} {mode} (server-side)", markup=False)
    if diff:
        for change in changes:
            out.print(f"changed: {change}", markup=False)
        if changes:
            raise typer.Exit(DIFF_EXIT_CODE)
        out.print(f"no changes against {out_dir}", markup=False)


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
    launch_template: Annotated[str, typer.Option(help="Launch template ID (lt-…).")],
    subnets: Annotated[str, typer.Option(help="Comma list of subnet IDs.")],
    launch_template_version: Annotated[str, typer.Option(help="Version or $Latest.")] = "$Latest",
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
        launch_template_id=launch_template,
        launch_template_version=launch_template_version,
        subnets=tuple(s.strip() for s in subnets.split(",") if s.strip()),
        target_capacity=target_capacity,
        fleet_type=fleet_type,
        strategy=strategy,
        on_demand_base=on_demand_base,
    )
    pools = load_pools(app_state(ctx))
    request = build_fleet_output(
        pools.index,
        chosen,
        options,
        now=pools.now,
        fmt=fmt.value,
        on_demand_percentage_above_base=on_demand_percentage,
    )
    if output is FleetOutput.JSON:
        sys.stdout.write(json.dumps(request, indent=2) + "\n")
        return
    _print_fleet_summary(request, fmt)


def _print_fleet_summary(request: dict[str, Any], fmt: FleetFormatOption) -> None:
    if fmt is FleetFormatOption.ASG:
        policy = request["MixedInstancesPolicy"]
        types = [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]]
        strategy = policy["InstancesDistribution"]["SpotAllocationStrategy"]
        out.print(f"ASG {request['AutoScalingGroupName']}: {strategy}", markup=False)
    else:
        overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
        types = list(dict.fromkeys(o["InstanceType"] for o in overrides))
        out.print(
            f"CreateFleet {request['Type']}: {request['SpotOptions']['AllocationStrategy']}, "
            f"{len(overrides)} overrides",
            markup=False,
        )
    for priority, name in enumerate(types, 1):
        out.print(f"  {priority:>2}. {name}", markup=False)
    out.print("validated against botocore's service model; `-o json` prints the request")


def write_demo_outputs(
    state: AppState, out_dir: Path, *, pools: LoadedPools, profiles: Path
) -> list[Path]:
    """For `spotsel demo`: NodePools of PROFILES into OUT_DIR/nodepools and a CreateFleet request
    for its first profile (placeholder launch template and subnets) as OUT_DIR/fleet-request.json,
    both from the POOLS the demo loaded once.
    """
    from outputs import build_fleet_output, load_profiles, write_files
    from outputs.writer import write_atomic

    loaded = load_profiles(profiles)
    files, _, _, _ = _generate_files(state, pools, loaded, None)
    written = write_files(out_dir / "nodepools", files)
    request = build_fleet_output(
        pools.index,
        loaded[0],
        FleetOptions(
            launch_template_id=DEMO_LAUNCH_TEMPLATE,
            subnets=DEMO_SUBNETS,
            target_capacity=DEMO_TARGET_CAPACITY,
        ),
        now=pools.now,
    )
    written += write_atomic(out_dir, {"fleet-request.json": json.dumps(request, indent=2) + "\n"})
    return written
