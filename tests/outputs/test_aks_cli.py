"""`spotsel nodepools generate` with an Azure profile on the simulated market (both engines): AKS
spot node pools (script + JSON) beside the Karpenter files, AWS output unchanged; an Azure profile
nothing matches is refused in one line with nothing written."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings
from outputs.aks_files import AKS_JSON_SUFFIX, AKS_SCRIPT_SUFFIX, SCRIPT_SHEBANG
from outputs.errors import OutputUnavailableError
from selector.outputs import SIMULATED_KEY
from spotsel.cli import app
from spotsel.commands.outputs import default_workloads_dir
from spotsel.state import AppState
from tests.outputs.helpers import CRDS, REPO
from tests.outputs.test_aks import AGENT_POOL_SCHEMA, az_flags

runner = CliRunner()
EXAMPLE_PROFILES = REPO / "examples" / "profiles.yaml"
SNAPSHOT_KEY = "spotsel.io/snapshot-built-at"
MIN_SIZES = 3
AZURE_PROFILE: dict[str, Any] = {
    "name": "aks-trainer",
    "requirements": {
        "gpus": 1,
        "gpu_memory_gib": 16,
        "clouds": ["azure"],
        "regions": ["eastus"],
        "nodes": 6,
        "min_instance_types": MIN_SIZES,
        "top": 12,
    },
}
# No simulated Azure size has 8 GPUs of 80 GiB in westus2 (ND H100 v5: eastus, westus3, …).
UNMATCHED_PROFILE: dict[str, Any] = {
    "name": "aks-none",
    "requirements": {"gpus": 8, "gpu_memory_gib": 80, "clouds": ["azure"], "regions": ["westus2"]},
}


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


@pytest.fixture
def market(settings: Settings) -> Settings:
    assert _invoke(settings, "db", "upgrade").exit_code == 0
    assert _invoke(settings, "collect", "sim").exit_code == 0
    return settings


def _profiles(tmp_path: Path, *extra: dict[str, Any]) -> Path:
    doc = yaml.safe_load(EXAMPLE_PROFILES.read_text(encoding="utf-8"))
    doc["profiles"].extend(extra)
    path = tmp_path / f"profiles-{len(extra)}-{'-'.join(p['name'] for p in extra)}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _generate(settings: Settings, profiles: Path, out: Path, *extra: str) -> Any:
    return _invoke(
        settings, "nodepools", "generate", "--profiles", str(profiles), "--out", str(out),
        "--crds", str(CRDS), *extra,
    )  # fmt: skip


def _objects(path: Path) -> list[Any]:
    """The YAML documents of a file without the snapshot's build time."""
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    for doc in docs:
        (doc["metadata"].get("annotations") or {}).pop(SNAPSHOT_KEY, None)
    return docs


def _tree(*dirs: Path) -> dict[str, str]:
    return {f"{d.name}/{p.name}": p.read_text() for d in dirs if d.is_dir() for p in d.iterdir()}


def test_azure_profile_gets_aks_node_pools_and_aws_output_is_unchanged(
    market: Settings, tmp_path: Path
) -> None:
    aws_only, mixed = tmp_path / "aws", tmp_path / "mixed"
    assert _generate(market, _profiles(tmp_path), aws_only / "np").exit_code == 0
    result = _generate(market, _profiles(tmp_path, AZURE_PROFILE), mixed / "np")
    assert result.exit_code == 0, result.output
    np_dir, workloads = mixed / "np", default_workloads_dir(mixed / "np")
    aks_dir = default_workloads_dir(mixed / "np", "-aks")
    for name in sorted(p.name for p in np_dir.iterdir()):
        assert _objects(np_dir / name) == _objects(aws_only / "np" / name), name
    assert sorted(p.name for p in np_dir.iterdir()) == sorted(
        p.name for p in (aws_only / "np").iterdir()
    ), "the manifests directory holds only what kubectl applies"
    assert not default_workloads_dir(aws_only / "np", "-aks").exists(), "no Azure profile, no dir"
    assert not default_workloads_dir(mixed / "np", "-gke").exists(), "no GCP profile, no dir"
    assert sorted(p.name for p in aks_dir.iterdir()) == sorted(
        f"aks-trainer{suffix}" for suffix in (AKS_JSON_SUFFIX, AKS_SCRIPT_SUFFIX)
    )
    assert not any("aks-trainer" in p.name for d in (np_dir, workloads) for p in d.iterdir())

    doc = json.loads((aks_dir / f"aks-trainer{AKS_JSON_SUFFIX}").read_text())
    assert (doc["region"], doc["simulated"], doc["sources"]) == ("eastus", True, ["sim"])
    assert len(doc["agentPools"]) >= MIN_SIZES
    sizes = [p["request"]["properties"]["vmSize"] for p in doc["agentPools"]]
    assert len(set(sizes)) == len(sizes), "one VM size per pool"
    assert all(s.startswith("Standard_N") for s in sizes), "GPU sizes only"
    assert len({p["name"] for p in doc["agentPools"]}) == len(sizes), "unique pool names"
    for pool in doc["agentPools"]:
        jsonschema.validate(pool["request"], AGENT_POOL_SCHEMA)
        props = pool["request"]["properties"]
        assert props["nodeLabels"][SIMULATED_KEY] == "true"
        assert props["availabilityZones"], "the simulated market's Azure pools are zonal"
        assert set(props["availabilityZones"]) <= {"1", "2", "3"}
        assert (props["scaleSetPriority"], props["spotMaxPrice"]) == ("Spot", -1)
    script = (aks_dir / f"aks-trainer{AKS_SCRIPT_SUFFIX}").read_text()
    lines = script.splitlines()
    assert lines[0] == SCRIPT_SHEBANG
    assert any(line.startswith("# ") and "SIMULATED" in line for line in lines)
    commands = [line for line in lines if not line.startswith("#")]
    assert all(line.startswith("az aks nodepool add ") for line in commands)
    assert [shlex.split(line) for line in commands] == [p["az"] for p in doc["agentPools"]]
    assert az_flags(shlex.split(commands[0]))["--resource-group"] == ["RESOURCE_GROUP"]
    assert "AKS node pools built from SIMULATED data" in result.stderr
    assert f"{len(sizes)} AKS spot node pools for 1 Azure profile" in result.stdout

    # A second run changes nothing: --diff is quiet and exits 0.
    before = _tree(np_dir, workloads, aks_dir)
    again = _generate(market, _profiles(tmp_path, AZURE_PROFILE), mixed / "np", "--diff")
    assert again.exit_code == 0, again.output
    assert "changed:" not in again.stdout
    assert _tree(np_dir, workloads, aks_dir) == before


def test_cluster_options_and_a_changed_file(market: Settings, tmp_path: Path) -> None:
    profiles, out, aks_dir = _profiles(tmp_path, AZURE_PROFILE), tmp_path / "np", tmp_path / "aks"
    target = ("--aks-out", str(aks_dir), "--aks-resource-group", "rg-ml", "--aks-cluster", "gpu")
    assert _generate(market, profiles, out, *target).exit_code == 0
    script = aks_dir / f"aks-trainer{AKS_SCRIPT_SUFFIX}"
    for line in (x for x in script.read_text().splitlines() if not x.startswith("#")):
        flags = az_flags(shlex.split(line))
        assert (flags["--resource-group"], flags["--cluster-name"]) == (["rg-ml"], ["gpu"])
    assert not default_workloads_dir(out, "-aks").exists(), "--aks-out replaces the default"
    script.write_text("#!/bin/sh -e\n")
    result = _generate(market, profiles, out, *target, "--diff", "--no-write")
    assert result.exit_code == 2
    assert f"changed: AKS node pools aks-trainer{AKS_SCRIPT_SUFFIX}: changed" in result.stdout
    assert script.read_text() == "#!/bin/sh -e\n", "--no-write leaves the file alone"


def test_an_azure_profile_nothing_matches_is_refused(market: Settings, tmp_path: Path) -> None:
    out = tmp_path / "np"
    profiles = _profiles(tmp_path, AZURE_PROFILE, UNMATCHED_PROFILE)
    with pytest.raises(OutputUnavailableError) as info:
        _generate(market, profiles, out)
    assert "\n" not in str(info.value), "one line"
    assert "profile aks-none: no Azure spot pool matches the requirements" in str(info.value)
    assert not out.exists(), "nothing written"
    assert not default_workloads_dir(out, "-aks").exists(), "no empty AKS file either"


def test_aks_out_must_differ_from_out(market: Settings, tmp_path: Path) -> None:
    out = tmp_path / "np"
    with pytest.raises(ConfigError, match="--aks-out must differ from --out"):
        _generate(market, _profiles(tmp_path, AZURE_PROFILE), out, "--aks-out", str(out))
    assert not out.exists(), "nothing written"
