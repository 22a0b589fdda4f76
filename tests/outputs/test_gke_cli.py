"""`spotsel nodepools generate` with a GCP profile on the simulated market (both engines): GKE
spot node pools beside the Karpenter files, AWS output unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings
from selector.outputs import SIMULATED_KEY
from spotsel.cli import app
from spotsel.commands.outputs import GKE_FILE_SUFFIX, default_workloads_dir
from spotsel.state import AppState
from tests.outputs.helpers import CRDS, REPO
from tests.outputs.test_gke import NODE_POOL_REQUEST_SCHEMA

runner = CliRunner()
EXAMPLE_PROFILES = REPO / "examples" / "profiles.yaml"
SNAPSHOT_KEY = "spotsel.io/snapshot-built-at"
MIN_TYPES = 3
GCP_PROFILE: dict[str, Any] = {
    "name": "gke-trainer",
    "requirements": {
        "gpus": 1,
        "gpu_memory_gib": 16,
        "clouds": ["gcp"],
        "regions": ["us-central1"],
        "nodes": 6,
        "min_instance_types": MIN_TYPES,
        "top": 12,
    },
}


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


@pytest.fixture
def market(settings: Settings) -> Settings:
    assert _invoke(settings, "db", "upgrade").exit_code == 0
    assert _invoke(settings, "collect", "sim").exit_code == 0
    return settings


def _profiles(tmp_path: Path, *, with_gcp: bool) -> Path:
    doc = yaml.safe_load(EXAMPLE_PROFILES.read_text(encoding="utf-8"))
    if with_gcp:
        doc["profiles"].append(GCP_PROFILE)
    path = tmp_path / ("mixed.yaml" if with_gcp else "aws.yaml")
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


def test_gcp_profile_gets_gke_node_pools_and_aws_output_is_unchanged(
    market: Settings, tmp_path: Path
) -> None:
    aws_only, mixed = tmp_path / "aws", tmp_path / "mixed"
    assert _generate(market, _profiles(tmp_path, with_gcp=False), aws_only / "np").exit_code == 0
    result = _generate(market, _profiles(tmp_path, with_gcp=True), mixed / "np")
    assert result.exit_code == 0, result.output
    np_dir, workloads = mixed / "np", default_workloads_dir(mixed / "np")
    gke_dir = default_workloads_dir(mixed / "np", "-gke")
    # AWS files: the same names and the same objects (each run builds its own snapshot).
    assert sorted(p.name for p in np_dir.iterdir()) == sorted(
        p.name for p in (aws_only / "np").iterdir()
    ), "the manifests directory holds only what kubectl applies"
    for name in sorted(p.name for p in np_dir.iterdir()):
        assert _objects(np_dir / name) == _objects(aws_only / "np" / name), name
    assert not default_workloads_dir(aws_only / "np", "-gke").exists(), "no GCP profile, no dir"
    assert sorted(p.name for p in gke_dir.iterdir()) == [f"gke-trainer{GKE_FILE_SUFFIX}"]
    assert not any("gke-trainer" in p.name for d in (np_dir, workloads) for p in d.iterdir())

    doc = json.loads((gke_dir / f"gke-trainer{GKE_FILE_SUFFIX}").read_text())
    assert doc["region"] == "us-central1"
    assert doc["simulated"] is True
    assert doc["sources"] == ["sim"]
    assert len(doc["nodePools"]) >= MIN_TYPES
    machine_types = [p["request"]["nodePool"]["config"]["machineType"] for p in doc["nodePools"]]
    assert len(set(machine_types)) == len(machine_types), "one machine type per pool"
    for pool in doc["nodePools"]:
        jsonschema.validate(pool["request"], NODE_POOL_REQUEST_SCHEMA)
        node_pool = pool["request"]["nodePool"]
        assert all(z.startswith("us-central1-") for z in node_pool["locations"])
        assert node_pool["config"]["labels"][SIMULATED_KEY] == "true"
        assert node_pool["config"]["accelerators"], "a GPU profile's pools state their GPUs"
        assert pool["gcloud"][:4] == ["gcloud", "container", "node-pools", "create"]
        assert "--spot" in pool["gcloud"]
    assert "GKE node pools built from SIMULATED data" in result.stderr
    assert f"wrote {gke_dir / f'gke-trainer{GKE_FILE_SUFFIX}'}" in result.stdout

    # A second run changes nothing: --diff is quiet and exits 0.
    before = _tree(np_dir, workloads, gke_dir)
    again = _generate(market, _profiles(tmp_path, with_gcp=True), mixed / "np", "--diff")
    assert again.exit_code == 0, again.output
    assert "changed:" not in again.stdout
    assert _tree(np_dir, workloads, gke_dir) == before


def test_diff_reports_a_changed_gke_file(market: Settings, tmp_path: Path) -> None:
    profiles = _profiles(tmp_path, with_gcp=True)
    out = tmp_path / "np"
    assert _generate(market, profiles, out).exit_code == 0
    path = default_workloads_dir(out, "-gke") / f"gke-trainer{GKE_FILE_SUFFIX}"
    path.write_text("{}\n")
    result = _generate(market, profiles, out, "--diff", "--no-write")
    assert result.exit_code == 2
    assert f"changed: GKE node pools gke-trainer{GKE_FILE_SUFFIX}: changed" in result.stdout
    assert path.read_text() == "{}\n", "--no-write leaves the file alone"


def test_gke_out_must_differ_from_out(market: Settings, tmp_path: Path) -> None:
    out = tmp_path / "np"
    with pytest.raises(ConfigError, match="--gke-out must differ from --out"):
        _generate(market, _profiles(tmp_path, with_gcp=True), out, "--gke-out", str(out))
    assert not out.exists(), "nothing written"
