"""A fixed small market, profile and rankings for the output builders (deterministic goldens)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from selector import PoolIndex, Ranking, parse_requirements, rank
from selector.outputs import Budget, Disruption, OutputProfile
from tests.selector.factories import NOW, cpu_pool, make_pool

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden" / "outputs"
UPDATE_ENV = "SPOTSEL_UPDATE_GOLDEN"
# The fixed market's zones, and its region's: use1-az6 exists but offers nothing of the market,
# so a NodePool over the three market zones keeps its zone requirement.
MARKET_ZONES = ("use1-az1", "use1-az2", "use1-az4")
REGION_ZONES = frozenset({*MARKET_ZONES, "use1-az6"})
# A realistic hook: signal the trainer, wait for its marker, bounded by spotsel's deadline.
HOOK = (
    "rm -f /tmp/checkpoint.done; kill -USR1 1; "
    "end=$(($(date +%s) + ${SPOTSEL_CHECKPOINT_DEADLINE_SECONDS:-60})); "
    'until [ -f /tmp/checkpoint.done ] || [ "$(date +%s)" -ge "$end" ]; do sleep 1; done'
)

# (type, price, on-demand, advisor bucket, placement score) per GPU type.
_GPU_TYPES = [
    ("g4dn.xlarge", 0.20, 0.526, "<5%", 0.9),
    ("g5.xlarge", 0.35, 1.006, "5-10%", 0.8),
    ("g6.xlarge", 0.30, 0.805, "<5%", 0.7),
    ("p3.2xlarge", 0.95, 3.06, "10-15%", 0.6),
]


def market(*, simulated: bool = False, arm: bool = False) -> PoolIndex:
    """The fixed market; SIMULATED marks every pool as the sim source's; ARM adds Graviton
    CPU types (m6g, c6g) beside the x86_64 ones."""
    records = []
    for z, zone in enumerate(MARKET_ZONES):
        for t, (name, price, od, label, score) in enumerate(_GPU_TYPES):
            records.append(
                make_pool(
                    instance_type=name,
                    zone_id=zone,
                    spot_price=round(price * (1 + 0.03 * z), 4),
                    on_demand_price=od,
                    interruption_label=label,
                    capacity_score=score,
                    capacity_raw=str(int(score * 10)),
                    vcpus=4 + 4 * (t == 3),
                    gpu_model={"g4dn": "T4", "g5": "A10G", "g6": "L4", "p3": "V100"}[
                        name.split(".")[0]
                    ],
                    gpu_memory_gib=24.0 if name.startswith(("g5", "g6")) else 16.0,
                )
            )
        for name, price in (("m5.xlarge", 0.07), ("m6i.xlarge", 0.075), ("c6i.2xlarge", 0.12)):
            records.append(cpu_pool(instance_type=name, zone_id=zone, spot_price=price + 0.01 * z))
        if arm:
            for name, price in (("m6g.xlarge", 0.06), ("c6g.2xlarge", 0.1)):
                records.append(
                    cpu_pool(
                        instance_type=name,
                        zone_id=zone,
                        spot_price=price + 0.01 * z,
                        arch="arm64",
                        vcpus=4 + 4 * name.startswith("c"),
                    )
                )
    if simulated:
        records = [replace(r, sources=("sim",), simulated=True) for r in records]
    else:
        records = [replace(r, sources=("aws", "aws-advisor")) for r in records]
    return PoolIndex.build(records, built_at=NOW)


def profile(**overrides: Any) -> OutputProfile:
    base = OutputProfile(
        name="gpu-trainer",
        requirements=parse_requirements(
            {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "clouds": ["aws"],
             "nodes": 6, "min_instance_types": 3, "top": 12}
        ),
        nodepool="gpu-trainer",
        ec2nodeclass="gpu",
        limits=(("cpu", "256"), ("nvidia.com/gpu", "16")),
        critical_addons=True,
        node_overlays=True,
        disruption=Disruption(
            consolidation_policy="WhenEmpty",
            consolidate_after="30m",
            budgets=(Budget(nodes="1"), Budget(nodes="0", schedule="0 9 * * 1-5", duration="8h")),
        ),
        checkpoint_command=("/bin/sh", "-c", HOOK),
        container="trainer",
    )  # fmt: skip
    return replace(base, **overrides)


def cpu_profile() -> OutputProfile:
    """A profile without `arch`: the arm market ranks Graviton and x86_64 types together."""
    return profile(
        name="cpu",
        requirements=parse_requirements(
            {"vcpus": "4:8", "gpus": 0, "regions": ["us-east-1"], "clouds": ["aws"], "nodes": 6,
             "min_instance_types": 3, "top": 15}
        ),
        checkpoint_command=(),
    )  # fmt: skip


def ranking(p: OutputProfile, capacity_type: str, snapshot: PoolIndex | None = None) -> Ranking:
    req = replace(p.requirements, capacity_types=(capacity_type,))
    return rank(snapshot or market(), req, now=NOW)


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/outputs/NAME; SPOTSEL_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing: run with {UPDATE_ENV}=1 once"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is intended rerun with "
        f"{UPDATE_ENV}=1 and review the diff"
    )


def as_json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"
