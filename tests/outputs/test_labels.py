"""Acceptance: the example profiles' NodePools and Fleet requests from REAL data (the Spot
Advisor + price dump + SpotLake fixtures of tests/selector/realdata.py) carry no simulated label,
and the same pools marked as the sim source's carry it in every document. (The demo on the sim
market: tests/spotsel/test_outputs_cli.py.) On real us-east-1 data, cpu-batch (no `arch`) ranks
Graviton and x86_64 types: its Fleet request keeps them under separate launch templates.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from outputs import build_fleet_output, generate_karpenter, load_crds, load_profiles
from outputs.aws_validate import fleet_request_errors
from selector import PoolIndex
from selector.outputs import (
    SIMULATED_KEY,
    SOURCES_KEY,
    FleetOptions,
    KarpenterDocuments,
    OutputProfile,
    parse_launch_templates,
)
from tests.outputs.helpers import CRDS, REPO
from tests.selector import realdata

pytestmark = pytest.mark.skipif(
    not realdata.available() and not os.environ.get("CI"), reason="../shared/data not present"
)

# The price dump ends 2022-06-01 and realdata.NOW is 2022-07-12: allow 60 days of price age.
PRICE_AGE_HOURS = 24 * 60
X86, ARM = "lt-0123456789abcdef0", "lt-0fedcba9876543210"
TEMPLATES = parse_launch_templates([f"x86_64={X86},arm64={ARM}"])
REAL_SOURCES = ("aws", "aws-advisor", "spotlake")


def _profiles() -> list[OutputProfile]:
    return [
        replace(p, requirements=replace(p.requirements, max_price_age_hours=PRICE_AGE_HOURS))
        for p in load_profiles(REPO / "examples" / "profiles.yaml")
    ]


@pytest.fixture(scope="module")
def records() -> list[Any]:
    return realdata.load_us_east_1()


def _index(records: list[Any], *, simulated: bool) -> PoolIndex:
    marked = [
        replace(r, sources=("sim",), simulated=True)
        if simulated
        else replace(r, sources=REAL_SOURCES)
        for r in records
    ]
    return PoolIndex.build(marked, built_at=realdata.NOW)


def _documents(docs: KarpenterDocuments) -> Iterator[Mapping[str, Any]]:
    for manifest in docs.manifests:
        yield manifest["metadata"].get("annotations") or {}
    yield docs.workload["template"]["metadata"].get("annotations") or {}


def _generate(index: PoolIndex) -> tuple[list[KarpenterDocuments], list[dict[str, Any]]]:
    profiles = _profiles()
    docs = generate_karpenter(index, profiles, now=realdata.NOW, crds=load_crds(CRDS))
    fleets = [
        build_fleet_output(
            index,
            p,
            FleetOptions(TEMPLATES, subnets=("subnet-a", "subnet-b"), target_capacity=8),
            now=realdata.NOW,
            fmt=fmt,
        ).request
        for p in profiles
        for fmt in ("fleet", "asg")
    ]
    return docs, fleets


def test_real_data_outputs_carry_no_label(records: list[Any]) -> None:
    docs, fleets = _generate(_index(records, simulated=False))
    assert len(docs) == 2
    for d in docs:
        assert not d.simulated
        for found in _documents(d):
            assert SIMULATED_KEY not in found
            assert SOURCES_KEY not in found
    for request in fleets:
        assert "TagSpecifications" not in request
        assert "Tags" not in request


def test_simulated_data_outputs_carry_the_label_everywhere(records: list[Any]) -> None:
    docs, fleets = _generate(_index(records, simulated=True))
    for d in docs:
        assert d.simulated
        annotations = list(_documents(d))
        assert len(annotations) == len(d.manifests) + 1
        for a in annotations:
            assert a[SIMULATED_KEY] == "true"
            assert a[SOURCES_KEY] == "sim"
    for request in fleets:
        tags = (request.get("TagSpecifications") or [{}])[0].get("Tags") or request["Tags"]
        assert {t["Key"]: t["Value"] for t in tags}[SIMULATED_KEY] == "true"


def test_real_fleet_for_a_profile_without_arch_splits_by_architecture(records: list[Any]) -> None:
    index = _index(records, simulated=False)
    arch_of = {r.key.instance_type: r.arch for r in records}
    [cpu] = [p for p in _profiles() if p.requirements.arch is None]
    request = build_fleet_output(
        index,
        cpu,
        FleetOptions(TEMPLATES, subnets=("subnet-a",), target_capacity=8),
        now=realdata.NOW,
    ).request
    assert fleet_request_errors(request) == []
    arches_seen = set()
    for config in request["LaunchTemplateConfigs"]:
        arches = {arch_of[o["InstanceType"]] for o in config["Overrides"]}
        assert len(arches) == 1, f"one launch template, several architectures: {arches}"
        [arch] = arches
        assert config["LaunchTemplateSpecification"]["LaunchTemplateId"] == {
            "x86_64": X86, "arm64": ARM
        }[arch]  # fmt: skip
        arches_seen.add(arch)
    assert arches_seen == {"x86_64", "arm64"}, "real us-east-1 ranks Graviton and x86_64 types"
