"""Profiles YAML: the example loads; every mistake is one error naming profile and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from api.outputs.profiles import load_profiles, parse_profile, parse_profiles
from core.errors import ProfileError
from tests.api.outputs.helpers import REPO

EXAMPLE = REPO / "examples" / "profiles.yaml"


def test_example_profiles_load() -> None:
    profiles = load_profiles(EXAMPLE)
    assert [p.name for p in profiles] == ["gpu-trainer", "cpu-batch"]
    gpu, cpu = profiles
    assert gpu.requirements.gpus == 1
    assert gpu.requirements.regions == ("us-east-1",)
    assert gpu.requirements.clouds == ("aws",)
    assert gpu.critical_addons
    assert gpu.node_overlays
    assert dict(gpu.limits)["nvidia.com/gpu"] == "16"
    assert gpu.checkpoint_command[0] == "/bin/sh"
    assert cpu.requirements.gpus == 0
    assert cpu.on_demand_fallback == "auto"
    assert cpu.checkpoint_command == ("/bin/sh", "-c", "kill -TERM 1; sleep 20")
    assert cpu.grace_seconds == 60
    assert cpu.disruption.budgets[1].schedule == "0 9 * * mon-fri"


def _base(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"name": "p1", "requirements": {"gpus": 1, "regions": ["us-east-1"]}}
    item.update(changes)
    return item


@pytest.mark.parametrize(
    ("item", "field"),
    [
        pytest.param(_base(name="Bad_Name"), "name", id="name not a DNS label"),
        pytest.param(_base(colour="red"), "colour", id="unknown field"),
        pytest.param(_base(requirements={"gpus": 1}), "requirements.regions", id="no region"),
        pytest.param(_base(requirements={"regions": ["a", "b"]}), "requirements.regions",
                     id="two regions"),
        pytest.param(_base(requirements={"regions": ["a"], "clouds": ["gcp"]}),
                     "requirements.clouds", id="not aws"),
        pytest.param(_base(requirements={"regions": ["a"], "capacity_types": ["spot"]}),
                     "requirements.capacity_types", id="capacity types are per output"),
        pytest.param(_base(requirements={"regions": ["a"], "vcpus": "16:4"}),
                     "requirements.vcpus", id="ranking vocabulary error"),
        pytest.param(_base(weights={"spot": 10, "on_demand": 20}), "weights.on_demand",
                     id="fallback outranks spot"),
        pytest.param(_base(weights={"spot": 101}), "weights.spot", id="weight above CRD max"),
        pytest.param(_base(limits={"cpu": "lots"}), "limits.cpu", id="not a quantity"),
        pytest.param(_base(on_demand_fallback="sometimes"), "on_demand_fallback",
                     id="unknown policy"),
        pytest.param(_base(critical_addons="yes"), "critical_addons", id="not a bool"),
        pytest.param(_base(disruption={"consolidate_after": "soon"}),
                     "disruption.consolidate_after", id="bad duration"),
        pytest.param(_base(disruption={"budgets": [{"nodes": "1", "schedule": "@daily"}]}),
                     "disruption.budgets[0]", id="schedule without duration"),
        pytest.param(_base(checkpoint_command=[""]), "checkpoint_command", id="empty command"),
        pytest.param(_base(grace_seconds=300), "grace_seconds", id="grace beyond the notice"),
        pytest.param(_base(nodepool="x" * 50), "nodepool", id="nodepool too long"),
    ],
)  # fmt: skip
def test_profile_errors_name_profile_and_field(item: dict[str, Any], field: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(item, source="f.yaml profiles[0]")
    message = str(caught.value)
    assert message.startswith("f.yaml profiles[0]: profile "), message
    assert f": {field}: " in message, message
    assert "\n" not in message


def test_duplicate_names_and_document_shape(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="name: 'p1' is used twice"):
        parse_profiles({"version": 1, "profiles": [_base(), _base(nodepool="other")]}, source="f")
    with pytest.raises(ProfileError, match="nodepool: 'p1' is used twice"):
        parse_profiles({"profiles": [_base(), _base(name="p2", nodepool="p1")]}, source="f")
    with pytest.raises(ProfileError, match="version must be 1"):
        parse_profiles({"version": 2, "profiles": [_base()]}, source="f")
    with pytest.raises(ProfileError, match="non-empty list"):
        parse_profiles({"profiles": []}, source="f")
    path = tmp_path / "p.yaml"
    path.write_text("profiles: [\n")
    with pytest.raises(ProfileError, match="not valid YAML at line"):
        load_profiles(path)
    with pytest.raises(ProfileError, match="does not exist"):
        load_profiles(tmp_path / "missing.yaml")
    path.write_text(yaml.safe_dump({"profiles": [_base()]}))
    [only] = load_profiles(path)
    assert only.nodepool == "p1"
    assert only.ec2nodeclass == "default"
