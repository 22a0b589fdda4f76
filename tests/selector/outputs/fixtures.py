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
# The account map of the fixed market: names are deliberately not in zone-ID order.
ZONE_NAMES = {"use1-az1": "us-east-1c", "use1-az2": "us-east-1a", "use1-az4": "us-east-1b"}

# (type, price, on-demand, advisor bucket, placement score) per GPU type.
_GPU_TYPES = [
    ("g4dn.xlarge", 0.20, 0.526, "<5%", 0.9),
    ("g5.xlarge", 0.35, 1.006, "5-10%", 0.8),
    ("g6.xlarge", 0.30, 0.805, "<5%", 0.7),
    ("p3.2xlarge", 0.95, 3.06, "10-15%", 0.6),
]


def market() -> PoolIndex:
    records = []
    for z, zone in enumerate(ZONE_NAMES):
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
        checkpoint_command=("/bin/sh", "-c", "python train.py --checkpoint-now"),
        container="trainer",
    )  # fmt: skip
    return replace(base, **overrides)


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
