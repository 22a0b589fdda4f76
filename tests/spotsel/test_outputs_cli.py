"""`spotsel nodepools generate` and `spotsel fleet` on the simulated market (both engines)."""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings
from outputs.aws_validate import fleet_request_errors
from outputs.crds import load_crds, manifest_errors
from outputs.errors import (
    KubernetesError,
    OutputUnavailableError,
    ProfileError,
    SimulatedDataError,
)
from outputs.writer import FILE_MODE
from selector.outputs import FLEET_STRATEGIES, SIMULATED_KEY, OutputError
from spotsel.cli import app
from spotsel.commands.outputs import (
    DIFF_EXIT_CODE,
    default_workloads_dir,
    example_profiles,
    write_demo_outputs,
)
from spotsel.state import AppState, load_pools

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
CRDS = REPO.parent / "shared" / "data" / "karpenter-crds"
# The documented example a user passes with --profiles (the package ships a copy for the demo).
EXAMPLE_PROFILES = REPO / "examples" / "profiles.yaml"
AS_OF = "2026-11-28T12:00:00+00:00"
X86 = "lt-0123456789abcdef0"
ARM = "lt-0fedcba9876543210"


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


@pytest.fixture
def market(settings: Settings) -> Settings:
    assert _invoke(settings, "db", "upgrade").exit_code == 0
    assert _invoke(settings, "collect", "sim").exit_code == 0
    return settings


def _generate(settings: Settings, out: Path, *extra: str) -> Any:
    return _invoke(
        settings, "nodepools", "generate", "--profiles", str(EXAMPLE_PROFILES), "--out", str(out),
        "--crds", str(CRDS), *extra,
    )  # fmt: skip


def _annotations(doc: Mapping[str, Any]) -> Mapping[str, str]:
    metadata = doc.get("metadata") or doc["template"]["metadata"]
    return metadata.get("annotations") or {}


def test_generate_acceptance_and_diff(market: Settings, tmp_path: Path) -> None:
    out = tmp_path / "np"
    first = _generate(market, out, "--diff")
    assert first.exit_code == DIFF_EXIT_CODE, first.output
    assert "changed: NodePool gpu-trainer-spot: added" in first.stdout
    assert "SIMULATED" in first.stderr, "the run says it rests on simulated data"
    crds = load_crds(CRDS)
    spot_pools = 0
    assert sorted(p.name for p in out.iterdir()) == [
        "cpu-batch.nodepools.yaml", "gpu-trainer.nodeoverlays.yaml", "gpu-trainer.nodepools.yaml"
    ], "only what `kubectl apply -f` should take"  # fmt: skip
    for path in sorted(out.glob("*.yaml")):
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
        for doc in (d for d in yaml.safe_load_all(path.read_text()) if d):
            assert manifest_errors(doc, crds) == [], (path.name, doc["metadata"]["name"])
            assert _annotations(doc)[SIMULATED_KEY] == "true"
            labels = doc["spec"].get("template", {}).get("metadata", {}).get("labels", {})
            if doc["kind"] == "NodePool" and labels.get("lifecycle") == "spot":
                spot_pools += 1
                spec = doc["spec"]["template"]["spec"]
                [types] = [r for r in spec["requirements"] if r["key"].endswith("instance-type")]
                assert len(types["values"]) >= 3
                assert {"key": "spot", "value": "true", "effect": "NoSchedule"} in spec["taints"]
                zones = [r for r in spec["requirements"] if r["key"].startswith("topology")]
                assert all(z["key"] == "topology.k8s.aws/zone-id" for z in zones), "IDs only"
                assert all(v.startswith("use1-") for z in zones for v in z["values"])
    assert spot_pools == 2, "one spot NodePool per example profile"
    workloads = default_workloads_dir(out)
    assert workloads == tmp_path / "np-workloads"
    assert sorted(p.name for p in workloads.iterdir()) == [
        "cpu-batch.workload.yaml", "gpu-trainer.workload.yaml"
    ]  # fmt: skip
    for path in workloads.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
        [snippet] = yaml.safe_load_all(path.read_text())
        assert _annotations(snippet)[SIMULATED_KEY] == "true"
    before = {p: p.read_text() for d in (out, workloads) for p in d.glob("*.yaml")}
    again = _generate(market, out, "--diff")
    assert again.exit_code == 0, again.output
    assert "no changes against" in again.stdout
    after = {p: p.read_text() for d in (out, workloads) for p in d.glob("*.yaml")}
    assert after == before, "nothing changed: the files (and their timestamps) stay as they were"


def test_workloads_directory_option(market: Settings, tmp_path: Path) -> None:
    result = _generate(market, tmp_path / "np", "--workloads-out", str(tmp_path / "snippets"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "snippets").iterdir()) == [
        "cpu-batch.workload.yaml", "gpu-trainer.workload.yaml"
    ]  # fmt: skip
    assert not (tmp_path / "np-workloads").exists()
    with pytest.raises(ConfigError, match="--workloads-out must differ from --out"):
        _generate(market, tmp_path / "np", "--workloads-out", str(tmp_path / "np"))


def test_diff_without_write_keeps_the_baseline(market: Settings, tmp_path: Path) -> None:
    out = tmp_path / "np"
    assert _generate(market, out).exit_code == 0
    spot = out / "gpu-trainer.nodepools.yaml"
    docs = list(yaml.safe_load_all(spot.read_text()))
    docs[0]["spec"]["weight"] = 55
    text = spot.read_text().split("---", 1)[0] + yaml.safe_dump_all(docs, explicit_start=True)
    spot.write_text(text)
    result = _generate(market, out, "--diff", "--no-write")
    assert result.exit_code == DIFF_EXIT_CODE
    assert "NodePool gpu-trainer-spot: weight 55 -> 80" in result.stdout
    assert spot.read_text() == text, "--no-write writes nothing"


class _FakeCluster:
    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool) -> None:
        self.applied.append(manifest["metadata"]["name"])


def test_apply_refuses_simulated_data(
    market: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = _FakeCluster()
    monkeypatch.setattr("outputs.kube.default_apply_client", lambda: cluster)
    with pytest.raises(SimulatedDataError, match="--allow-simulated") as caught:
        _generate(market, tmp_path / "a", "--apply")
    assert "\n" not in str(caught.value)
    assert "sources sim" in str(caught.value)
    assert cluster.applied == [], "nothing applied"
    assert not (tmp_path / "a").exists(), "refused before anything is written"
    result = _generate(market, tmp_path / "b", "--apply", "--allow-simulated")
    assert result.exit_code == 0, result.output
    assert "gpu-trainer-spot" in cluster.applied
    with pytest.raises(ConfigError, match="--allow-simulated only makes sense with --apply"):
        _generate(market, tmp_path / "c", "--allow-simulated")


def _arch_of(settings: Settings) -> dict[str, str]:
    return {
        r.key.instance_type: r.arch for r in load_pools(AppState(settings=settings)).index.records
    }


def _fleet(settings: Settings, profile: str, *extra: str) -> Any:
    return _invoke(
        settings, "fleet", "--profile", profile, "--profiles", str(EXAMPLE_PROFILES),
        "--target-capacity", "8", "--subnets", "subnet-a,subnet-b", *extra,
    )  # fmt: skip


def test_fleet_command(market: Settings) -> None:
    args = ["--launch-template", X86, "--on-demand-base", "2",
            "--strategy", "capacity-optimized-prioritized"]  # fmt: skip
    result = _fleet(market, "gpu-trainer", *args)
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    assert fleet_request_errors(request) == []
    assert request["SpotOptions"]["AllocationStrategy"] in FLEET_STRATEGIES
    assert request["TargetCapacitySpecification"]["OnDemandTargetCapacity"] == 2
    [config] = request["LaunchTemplateConfigs"]
    assert len({o["InstanceType"] for o in config["Overrides"]}) >= 3
    assert {"Key": SIMULATED_KEY, "Value": "true"} in request["TagSpecifications"][0]["Tags"]
    assert "SIMULATED" in result.stderr
    asg = _invoke(market, "fleet", "--profile", "gpu-trainer", "--profiles",
                  str(EXAMPLE_PROFILES), "--target-capacity", "8", "--subnets", "subnet-a",
                  *args, "--format", "asg", "-o", "table")  # fmt: skip
    assert asg.exit_code == 0
    assert "capacity-optimized-prioritized" in asg.stdout
    assert f"launch template {X86}" in asg.stdout


def test_fleet_per_architecture(market: Settings) -> None:
    """cpu-batch has no `arch`: the simulated market ranks Graviton and x86_64 types for it."""
    arch_of = _arch_of(market)
    result = _fleet(market, "cpu-batch", "--launch-template", f"x86_64={X86},arm64={ARM}")
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    assert fleet_request_errors(request) == []
    template_arch = {X86: "x86_64", ARM: "arm64"}
    for config in request["LaunchTemplateConfigs"]:
        arches = {arch_of[o["InstanceType"]] for o in config["Overrides"]}
        assert arches == {template_arch[config["LaunchTemplateSpecification"]["LaunchTemplateId"]]}
    repeated = _fleet(market, "cpu-batch", "--launch-template", f"x86_64={X86}",
                      "--launch-template", f"arm64={ARM}")  # fmt: skip
    assert json.loads(repeated.stdout) == request, "repeating the option = comma-joining"
    mixed = {arch_of[o["InstanceType"]] for c in request["LaunchTemplateConfigs"]
             for o in c["Overrides"]}  # fmt: skip
    assert mixed == {"x86_64", "arm64"}, "the default sim market ranks both for cpu-batch"
    with pytest.raises(OutputUnavailableError, match="cannot boot both"):
        _fleet(market, "cpu-batch", "--launch-template", X86)


@pytest.mark.parametrize(
    ("value", "message"),
    [("lt-0abc", "17 hex"), ("a b", "neither"), ("sparc=lt-0123456789abcdef0", "architecture")],
)
def test_fleet_launch_template_is_validated(market: Settings, value: str, message: str) -> None:
    with pytest.raises(OutputError, match=message) as caught:
        _fleet(market, "gpu-trainer", "--launch-template", value)
    assert "\n" not in str(caught.value)


def test_demo_outputs_are_labelled_simulated(market: Settings, tmp_path: Path) -> None:
    """Acceptance: the demo's NodePools, overlays, snippets and Fleet request from the sim
    market each carry the simulated label (tests/outputs/test_labels.py: real data, none)."""
    state = AppState(settings=market)
    with example_profiles() as profiles:
        written = write_demo_outputs(state, tmp_path, pools=load_pools(state), profiles=profiles)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert "fleet-request.json" in names
    assert "nodepools/gpu-trainer.nodepools.yaml" in names
    assert "workloads/gpu-trainer.workload.yaml" in names
    assert not [n for n in names if n.startswith("nodepools/") and "workload" in n]
    documents = 0
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE, path
        if path.suffix == ".yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                assert _annotations(doc)[SIMULATED_KEY] == "true", path
                documents += 1
    assert documents > 5
    request = json.loads((tmp_path / "fleet-request.json").read_text())
    assert fleet_request_errors(request) == []
    [tags] = request["TagSpecifications"]
    assert {"Key": SIMULATED_KEY, "Value": "true"} in tags["Tags"]


def test_user_errors(market: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="--no-dry-run only makes sense with --apply"):
        _generate(market, tmp_path / "a", "--no-dry-run")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubernetesError, match="no kubeconfig"):
        _generate(market, tmp_path / "b", "--apply")
    assert not (tmp_path / "b").exists(), "no cluster: nothing written"
    with pytest.raises(ProfileError, match="no profile 'nope'"):
        _fleet(market, "nope", "--launch-template", X86)
