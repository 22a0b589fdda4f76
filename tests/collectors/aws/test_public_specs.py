"""Specs from public data: the accelerator table against both advisor snapshots, name parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.aws.accelerators import (
    ACCELERATOR_KINDS,
    accelerated_types,
    accelerator_of,
    looks_accelerated,
)
from collectors.aws.public_specs import arch_of, name_parts, spec_rows
from collectors.sim.catalog import INSTANCE_TYPES
from core.errors import SourceDataError
from core.limits import column_limits

SNAPSHOTS = ("2021-02-10", "2025-06-28")
AS_OF = datetime(2025, 6, 28, tzinfo=UTC)


def _advisor(shared_data: Path, day: str) -> dict[str, Any]:
    path = shared_data / "aws-spot-advisor" / f"spot-advisor-data_{day}.json"
    doc: dict[str, Any] = json.loads(path.read_bytes())
    return doc


@pytest.mark.parametrize("day", SNAPSHOTS)
def test_every_accelerated_type_of_the_advisor_is_in_the_table(shared_data: Path, day: str) -> None:
    """A new accelerated family fails here instead of ranking as CPU-only."""
    types = _advisor(shared_data, day)["instance_types"]
    accelerated = sorted(t for t in types if looks_accelerated(t))
    assert len(accelerated) > 20, "the snapshot holds accelerated types"
    missing = [t for t in accelerated if accelerator_of(t) is None]
    assert not missing, f"add these to collectors/aws/accelerators.py: {missing}"


def test_the_family_pattern_catches_every_type_of_the_table() -> None:
    assert all(looks_accelerated(t) for t in accelerated_types())
    assert not looks_accelerated("m5.large")
    assert not looks_accelerated("c7i-flex.large")


def test_kinds_fit_the_column() -> None:
    limit = column_limits("instance_types")["accelerator_kind"].max_chars
    assert limit is not None
    assert all(len(kind) <= limit for kind in ACCELERATOR_KINDS)
    assert {accelerator_of(t).kind for t in accelerated_types()} <= set(ACCELERATOR_KINDS)  # type: ignore[union-attr]


def test_the_table_agrees_with_the_simulated_catalog() -> None:
    """Both describe real AWS types: where they overlap, the devices must be the same."""
    overlap = [t for t in INSTANCE_TYPES if t.cloud == "aws" and t.accelerator_kind != "none"]
    assert len(overlap) > 10
    for spec in overlap:
        acc = accelerator_of(spec.name)
        assert acc is not None, spec.name
        assert (acc.kind, acc.count, acc.model, acc.memory_gib) == (
            spec.accelerator_kind, spec.gpu_count, spec.gpu_model, spec.gpu_memory_gib,
        ), spec.name  # fmt: skip


@pytest.mark.parametrize(
    ("name", "family", "generation", "size", "arch"),
    [
        ("m6g.large", "m6g", 6, "large", "arm64"),
        ("c7gn.xlarge", "c7gn", 7, "xlarge", "arm64"),
        ("r8g.metal-24xl", "r8g", 8, "metal-24xl", "arm64"),
        ("g5g.xlarge", "g5g", 5, "xlarge", "arm64"),  # a Graviton GPU type
        ("im4gn.large", "im4gn", 4, "large", "arm64"),
        ("is4gen.medium", "is4gen", 4, "medium", "arm64"),
        ("x2gd.medium", "x2gd", 2, "medium", "arm64"),
        ("t4g.nano", "t4g", 4, "nano", "arm64"),
        ("a1.large", "a1", 1, "large", "arm64"),  # the first Graviton: no "g" after the digit
        ("g4dn.xlarge", "g4dn", 4, "xlarge", "x86_64"),  # g is the family letter, not Graviton
        ("gr6.4xlarge", "gr6", 6, "4xlarge", "x86_64"),
        ("c7i-flex.large", "c7i-flex", 7, "large", "x86_64"),
        ("p6-b200.48xlarge", "p6-b200", 6, "48xlarge", "x86_64"),
        ("u-12tb1.112xlarge", "u-12tb1", None, "112xlarge", "x86_64"),
    ],
)
def test_names(name: str, family: str, generation: int | None, size: str, arch: str) -> None:
    assert name_parts(name) == (family, generation, size)
    assert arch_of(name) == arch


@pytest.mark.parametrize("day", SNAPSHOTS)
def test_specs_of_a_real_snapshot(shared_data: Path, day: str) -> None:
    doc = _advisor(shared_data, day)
    specs = spec_rows(doc, observed_at=AS_OF)
    assert specs.unknown_accelerated == ()
    assert len(specs.rows) == len(doc["instance_types"])
    by_name = {r["name"]: r for r in specs.rows}
    for name, spec in doc["instance_types"].items():
        row = by_name[name]
        assert (row["vcpus"], row["memory_gib"]) == (spec["cores"], spec["ram_gb"])
        acc = accelerator_of(name)
        kind = acc.kind if acc else "none"
        assert (row["accelerator_kind"], row["gpu_count"]) == (kind, acc.count if acc else 0)
    assert by_name["g4dn.xlarge"]["gpu_model"] == "T4"
    assert by_name["p3.2xlarge"]["gpu_memory_gib"] == 16.0
    assert by_name["f1.2xlarge"]["accelerator_kind"] == "fpga"


def test_known_types_are_left_alone_and_an_unknown_accelerated_family_gets_no_specs() -> None:
    doc = {"instance_types": {
        "m5.large": {"cores": 2, "ram_gb": 8.0},
        "g5.xlarge": {"cores": 4, "ram_gb": 16.0},
        "g9.xlarge": {"cores": 4, "ram_gb": 16.0},  # a GPU family the table does not know
    }}  # fmt: skip
    specs = spec_rows(doc, observed_at=AS_OF, known={"g5.xlarge"})
    assert [r["name"] for r in specs.rows] == ["m5.large"]
    assert specs.unknown_accelerated == ("g9.xlarge",)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"cores": "4", "ram_gb": 16}, "expected a number"),
        ({"cores": 0, "ram_gb": 16}, "positive"),
        ({"cores": 2.5, "ram_gb": 16}, "whole number"),
        ({"cores": 4, "ram_gb": float("inf")}, "positive"),
        ({"cores": 4}, "ram_gb"),
        ("m5", "not an object"),
    ],
)
def test_unusable_specs_refuse_the_document(spec: Any, reason: str) -> None:
    with pytest.raises(SourceDataError, match=reason):
        spec_rows({"instance_types": {"m5.large": spec}}, observed_at=AS_OF)
