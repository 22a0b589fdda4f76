"""Profiles YAML: the example loads; every mistake is one error naming profile and field."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.limits import MAX_SHOWN_CHARS
from outputs.errors import ProfileError
from outputs.profiles import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_PROFILES,
    load_profiles,
    parse_profile,
    parse_profiles,
)
from tests.outputs.helpers import REPO

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
    assert gpu.checkpoint_command[:2] == ("/bin/sh", "-c")
    assert gpu.grace_seconds is None
    assert cpu.requirements.gpus == 0
    assert cpu.requirements.arch is None, "the Fleet example needs a template per arch"
    assert cpu.on_demand_fallback == "auto"
    for p in profiles:  # realistic hooks: signal PID 1, wait for it, bounded by the deadline
        [hook] = p.checkpoint_command[2:]
        assert "kill -USR1 1" in hook
        assert "SPOTSEL_CHECKPOINT_DEADLINE_SECONDS" in hook
        assert "sleep 1; done" in hook
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
        pytest.param(_base(requirements={"regions": ["a"], "clouds": ["oci"]}),
                     "requirements.clouds", id="neither aws, gcp nor azure"),
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
        pytest.param(_base(grace_seconds=101), "grace_seconds",
                     id="grace beyond the notice minus the drain delay"),
        pytest.param(_base(checkpoint_command="save", grace_seconds=30), "checkpoint_command",
                     id="the default 60 s checkpoint does not fit a 30 s grace"),
        pytest.param(_base(checkpoint_command="save",
                           requirements={"regions": ["a"], "final_checkpoint_seconds": 95}),
                     "checkpoint_command", id="a 95 s checkpoint does not fit 100 - 10 s"),
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


def test_a_long_checkpoint_without_a_hook_is_fine() -> None:
    """The ranking already counts a checkpoint that cannot finish; only a hook must fit."""
    item = _base(requirements={"regions": ["a"], "final_checkpoint_seconds": 600})
    assert parse_profile(item).checkpoint_command == ()


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


# --- a bounded loader and short messages ----------------------------------------------------

# Nine levels of nine aliases: a few hundred bytes that expand to 9^9 strings.
LAUGH_LEVELS = "abcdefghi"
# What "fast" means for a refusal: the unbounded loader took minutes and gigabytes.
FAST_SECONDS = 1.0
# Our own words (an unknown field lists the 15 known ones) take up to ~300 characters; a
# quoted value adds at most about MAX_SHOWN_CHARS.
MAX_MESSAGE_CHARS = 300 + MAX_SHOWN_CHARS


def billion_laughs() -> str:
    """The classic alias bomb, with its last level used as a profile's name and requirements."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in itertools.pairwise(LAUGH_LEVELS):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    last = LAUGH_LEVELS[-1]
    lines += ["version: 1", "profiles:", f"  - name: *{last}", f"    requirements: *{last}"]
    return "\n".join(lines) + "\n"


def _refused_fast(call: Any, match: str | None) -> str:
    started = time.perf_counter()
    with pytest.raises(ProfileError, match=match) as caught:
        call()
    assert time.perf_counter() - started < FAST_SECONDS
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < MAX_MESSAGE_CHARS, message
    return message


def test_a_billion_laughs_file_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    assert path.stat().st_size < 1024
    message = _refused_fast(lambda: load_profiles(path), r"YAML aliases \(\*name\) are not")
    assert message.startswith(f"{path}: not valid YAML at line 2")


def _laughs() -> Any:
    """The expanded bomb as a plain loader builds it (shared lists): what a value can be."""
    return yaml.safe_load(billion_laughs())[LAUGH_LEVELS[-1]]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        pytest.param(_base(name=_laughs()), "name", id="name"),
        pytest.param(_base(requirements=_laughs()), "requirements", id="requirements"),
        pytest.param(_base(requirements={"regions": ["a"], "arch": _laughs()}),
                     "requirements.arch", id="a requirement"),
        pytest.param(_base(weights={"spot": _laughs()}), "weights.spot", id="weight"),
        pytest.param(_base(limits={"cpu": _laughs()}), "limits.cpu", id="limit"),
        pytest.param(_base(on_demand_fallback=_laughs()), "on_demand_fallback", id="choice"),
        pytest.param(_base(critical_addons=_laughs()), "critical_addons", id="bool"),
        pytest.param(_base(disruption={"consolidate_after": _laughs()}),
                     "disruption.consolidate_after", id="duration"),
        pytest.param(_base(disruption={"consolidation_policy": _laughs()}),
                     "disruption.consolidation_policy", id="policy"),
        pytest.param(_base(disruption={"budgets": [{"nodes": _laughs()}]}),
                     "disruption.budgets[0].nodes", id="budget nodes"),
        pytest.param(_base(disruption={"budgets": [{"nodes": "1", "schedule": _laughs(),
                                                    "duration": "1h"}]}),
                     "disruption.budgets[0].schedule", id="budget schedule"),
        pytest.param(_base(grace_seconds=_laughs()), "grace_seconds", id="grace"),
        pytest.param(_base(**{"x" * 100_000: 1}), "'xxxxx", id="a huge unknown key"),
    ],
)  # fmt: skip
def test_huge_values_are_quoted_short(item: dict[str, Any], field: str) -> None:
    """REST bodies reach parse_profile without the YAML loader: messages must stay short."""
    message = _refused_fast(lambda: parse_profile(item, source="f"), None)
    assert f": {field}" in message, message


def test_huge_documents_are_quoted_short() -> None:
    _refused_fast(
        lambda: parse_profiles({"version": _laughs(), "profiles": [_base()]}, source="f"),
        "version must be 1",
    )
    keys = {f"k{i}": 1 for i in range(10_000)}
    _refused_fast(lambda: parse_profiles(keys, source="f"), "unknown top-level keys")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("[" * 200 + "]" * 200, f"nested deeper than {MAX_DEPTH} levels",
                     id="too deep"),
        pytest.param("a: &x 1\nb: *x\n", "aliases", id="a plain alias"),
        pytest.param("version: 1\nprofiles:\n" + "  - {name: p, requirements: {}}\n" * 101,
                     f"101 profiles; at most {MAX_PROFILES}", id="too many profiles"),
    ],
)  # fmt: skip
def test_loader_bounds(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    _refused_fast(lambda: load_profiles(path), match)


def test_file_size_and_encoding_bounds(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    _refused_fast(lambda: load_profiles(path), f"larger than {MAX_FILE_BYTES:,} bytes")
    path.write_bytes(b"version: 1\nprofiles: \xff\n")
    _refused_fast(lambda: load_profiles(path), "not UTF-8")
    example = EXAMPLE.read_text()
    assert example.count("\n") > 10
    path.write_text(example)
    assert len(load_profiles(path)) == 2, "the example stays well inside every bound"
