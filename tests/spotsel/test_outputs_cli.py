"""`spotsel nodepools generate` and `spotsel fleet` on the simulated market (both engines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings
from outputs.aws_validate import fleet_request_errors
from outputs.crds import load_crds, manifest_errors
from outputs.errors import KubernetesError, ProfileError
from selector.outputs import FLEET_STRATEGIES
from spotsel.cli import app
from spotsel.commands.outputs import DIFF_EXIT_CODE, example_profiles, write_demo_outputs
from spotsel.state import AppState, load_pools

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
CRDS = REPO.parent / "shared" / "data" / "karpenter-crds"
# The documented example a user passes with --profiles (the package ships a copy for the demo).
EXAMPLE_PROFILES = REPO / "examples" / "profiles.yaml"
AS_OF = "2026-11-28T12:00:00+00:00"


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


def test_generate_acceptance_and_diff(market: Settings, tmp_path: Path) -> None:
    out = tmp_path / "np"
    first = _generate(market, out, "--diff")
    assert first.exit_code == DIFF_EXIT_CODE, first.output
    assert "changed: NodePool gpu-trainer-spot: added" in first.stdout
    crds = load_crds(CRDS)
    spot_pools = 0
    for path in sorted(out.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if path.name.endswith(".workload.yaml"):
            continue
        for doc in docs:
            assert manifest_errors(doc, crds) == [], (path.name, doc["metadata"]["name"])
            labels = doc["spec"].get("template", {}).get("metadata", {}).get("labels", {})
            if doc["kind"] == "NodePool" and labels.get("lifecycle") == "spot":
                spot_pools += 1
                spec = doc["spec"]["template"]["spec"]
                [types] = [r for r in spec["requirements"] if r["key"].endswith("instance-type")]
                assert len(types["values"]) >= 3
                assert {"key": "spot", "value": "true", "effect": "NoSchedule"} in spec["taints"]
                [zones] = [r for r in spec["requirements"] if r["key"].startswith("topology")]
                assert zones["key"] == "topology.kubernetes.io/zone", "sim-account names zones"
                assert all(z.startswith("us-east-1") for z in zones["values"])
    assert spot_pools == 2, "one spot NodePool per example profile"
    before = {p.name: p.read_text() for p in out.glob("*.yaml")}
    again = _generate(market, out, "--diff")
    assert again.exit_code == 0, again.output
    assert "no changes against" in again.stdout
    after = {p.name: p.read_text() for p in out.glob("*.yaml")}
    assert after == before, "nothing changed: the files (and their timestamps) stay as they were"


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


def test_fleet_command(market: Settings) -> None:
    args = ["fleet", "--profile", "gpu-trainer", "--profiles", str(EXAMPLE_PROFILES),
            "--target-capacity", "8", "--launch-template", "lt-0abc",
            "--subnets", "subnet-a,subnet-b", "--on-demand-base", "2",
            "--strategy", "capacity-optimized-prioritized"]  # fmt: skip
    result = _invoke(market, *args)
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    assert fleet_request_errors(request) == []
    assert request["SpotOptions"]["AllocationStrategy"] in FLEET_STRATEGIES
    assert request["TargetCapacitySpecification"]["OnDemandTargetCapacity"] == 2
    overrides = request["LaunchTemplateConfigs"][0]["Overrides"]
    assert len({o["InstanceType"] for o in overrides}) >= 3
    asg = _invoke(market, *args, "--format", "asg", "-o", "table")
    assert asg.exit_code == 0
    assert "capacity-optimized-prioritized" in asg.stdout


def test_demo_outputs(market: Settings, tmp_path: Path) -> None:
    state = AppState(settings=market)
    with example_profiles() as profiles:
        written = write_demo_outputs(state, tmp_path, pools=load_pools(state), profiles=profiles)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert "fleet-request.json" in names
    assert "nodepools/gpu-trainer.nodepools.yaml" in names
    assert fleet_request_errors(json.loads((tmp_path / "fleet-request.json").read_text())) == []


def test_user_errors(market: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="--no-dry-run only makes sense with --apply"):
        _generate(market, tmp_path / "a", "--no-dry-run")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubernetesError, match="no kubeconfig"):
        _generate(market, tmp_path / "b", "--apply")
    assert not (tmp_path / "b").exists(), "no cluster: nothing written"
    with pytest.raises(ProfileError, match="no profile 'nope'"):
        _invoke(market, "fleet", "--profile", "nope", "--profiles", str(EXAMPLE_PROFILES),
                "--target-capacity", "1", "--launch-template", "lt-1",
                "--subnets", "s")  # fmt: skip
