"""Advisor backtest: rank on the 2021-02-10 advisor + 2021 spot.js prices, score on 2025-06-28.

A node placed in a pool is scored by what the 2025 advisor says of that (region, type):
its bucket converted to λ by the selector's own conversion, the realized useful fraction
u = 1 - λ·L (L = `selector.cost.lost_hours` of the profile), the realized effective cost
price / u (the 2021 price: no 2025 prices exist here), whether the bucket is >= 15 %, and
whether the pool vanished from the advisor altogether.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
from _backtest_data import (
    AdvisorPool,
    accelerator_of,
    load_advisor_pools,
    load_spot_js,
    make_record,
)
from _backtest_strategies import STRATEGIES, Placement, place
from traces import load_advisor

from selector import PoolIndex, PoolKey, PoolRecord, Requirements, estimate_hazard
from selector import parse_requirements as parse
from selector.cost import lost_hours, useful_fraction
from selector.hazard import AWS_ADVISOR_BUCKETS

__all__ = [
    "ADVISOR_NOW",
    "PROFILES",
    "RISKY_LABELS",
    "AdvisorResult",
    "Score",
    "advisor_records",
    "grid_profiles",
    "run_advisor_backtest",
    "score_placements",
]

RANK_DATE: Final = "2021-02-10"
TRUTH_DATE: Final = "2025-06-28"
# The 2021 advisor snapshot's commit date; spot.js prices (2021-04-06) count as the same view.
ADVISOR_NOW: Final = datetime(2021, 2, 10, 12, 0, tzinfo=UTC)
# "Landed in a risky pool": the two top advisor buckets.
RISKY_LABELS: Final = frozenset({"15-20%", ">20%"})
# Ranked over spot offerings only: the question is which spot pools a strategy picks.
_COMMON: Final[dict[str, object]] = {"capacity_types": ["spot"], "top": 20}
PROFILES: Final[dict[str, dict[str, object]]] = {
    "1 GPU >=16 GiB": {"gpus": 1, "gpu_memory_gib": 16},
    "CPU 4-16 vCPU": {"gpus": 0, "vcpus": "4:16"},
    "memory-heavy 64-256 GiB": {"gpus": 0, "memory_gib": "64:256"},
    "CPU 2-4 vCPU": {"gpus": 0, "vcpus": "2:4"},
    "CPU 32-96 vCPU": {"gpus": 0, "vcpus": "32:96"},
    "4 nodes 1 GPU diversified": {
        "gpus": 1,
        "nodes": 4,
        "min_instance_types": 2,
        "max_share_per_type": 0.5,
    },
    "8 nodes diversified": {
        "gpus": 0,
        "vcpus": "8:32",
        "nodes": 8,
        "min_instance_types": 4,
        "max_share_per_type": 0.25,
        "max_share_per_family": 0.5,
    },
}


# A systematic grid, fixed before looking at any result, so that the pooled margins rest on
# hundreds of decisions rather than on the handful of hand-written profiles above: every
# vCPU band (any architecture, then arm64), every memory band, the usual GPU shapes, each at
# one node and at eight nodes with the product's default diversification.
_VCPU_BANDS: Final = ((2, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 128))
_MEMORY_BANDS: Final = ((8, 16), (16, 32), (32, 64), (64, 128), (128, 256), (256, 512))
_GPU_SHAPES: Final[dict[str, dict[str, object]]] = {
    "1 GPU": {"gpus": 1},
    "1 GPU >=16 GiB": {"gpus": 1, "gpu_memory_gib": 16},
    "4 GPUs": {"gpus": 4},
    "8 GPUs": {"gpus": 8},
    "T4": {"gpu_models": "T4"},
    "V100": {"gpu_models": "V100"},
}


def grid_profiles() -> dict[str, dict[str, object]]:
    """The grid: 24 shapes × {1, 8} nodes."""
    shapes: dict[str, dict[str, object]] = {}
    for lo, hi in _VCPU_BANDS:
        shapes[f"CPU {lo}-{hi} vCPU"] = {"gpus": 0, "vcpus": f"{lo}:{hi}"}
        shapes[f"arm64 {lo}-{hi} vCPU"] = {"gpus": 0, "vcpus": f"{lo}:{hi}", "arch": "arm64"}
    for lo, hi in _MEMORY_BANDS:
        shapes[f"memory {lo}-{hi} GiB"] = {"gpus": 0, "memory_gib": f"{lo}:{hi}"}
    shapes.update(_GPU_SHAPES)
    return {
        f"{name} x{nodes}": {**body, "nodes": nodes}
        for nodes in (1, 8)
        for name, body in shapes.items()
    }


def advisor_records(
    pools: list[AdvisorPool], prices: dict[tuple[str, str], float], *, at: datetime
) -> list[PoolRecord]:
    """Regional pools where both the advisor and the price feed know the type.

    On-demand = spot / (1 - s/100), s the advisor's savings (left out when s >= 100).
    """
    out = []
    for p in pools:
        price = prices.get((p.region, p.instance_type))
        if price is None or price <= 0 or accelerator_of(p.instance_type) is None:
            continue
        od = price / (1.0 - p.savings_pct / 100.0) if p.savings_pct < 100 else None
        key = PoolKey("aws", p.region, "", p.instance_type)
        out.append(
            make_record(
                key,
                vcpus=p.vcpus,
                memory_gib=p.memory_gib,
                spot_price=price,
                on_demand_price=od,
                label=p.label,
                at=at,
            )
        )
    return out


@dataclass(slots=True)
class Score:
    """Nodes placed and how they fared in the later snapshot."""

    nodes: float = 0.0
    vanished: float = 0.0  # nodes whose pool is not in the later advisor
    risky: float = 0.0  # nodes in a RISKY_LABELS bucket later
    dollars: float = 0.0  # Σ nodes × price over nodes still present
    useful: float = 0.0  # Σ nodes × realized u over nodes still present

    def add(self, other: Score, weight: float = 1.0) -> None:
        self.nodes += other.nodes * weight
        self.vanished += other.vanished * weight
        self.risky += other.risky * weight
        self.dollars += other.dollars * weight
        self.useful += other.useful * weight

    @property
    def cost_per_useful_hour(self) -> float:
        return self.dollars / self.useful if self.useful else math.nan

    @property
    def risky_share(self) -> float:
        return self.risky / self.nodes if self.nodes else math.nan

    @property
    def vanished_share(self) -> float:
        return self.vanished / self.nodes if self.nodes else math.nan


def _realized_u(label: str, lost: float) -> float:
    rate = estimate_hazard("aws-advisor", label).rate
    return float(useful_fraction(np.array([rate]), np.array([lost]))[0])


def score_placements(
    placements: list[Placement], truth: dict[tuple[str, str], str], *, lost: float
) -> Score:
    """Score nodes against the later advisor (`truth`: (region, type) -> bucket label)."""
    s = Score()
    for p in placements:
        if p.nodes <= 0:
            continue
        s.nodes += p.nodes
        label = truth.get((p.key.region, p.key.instance_type))
        if label is None:
            s.vanished += p.nodes
            continue
        if label in RISKY_LABELS:
            s.risky += p.nodes
        s.dollars += p.nodes * p.price
        s.useful += p.nodes * _realized_u(label, lost)
    return s


@dataclass(slots=True)
class AdvisorResult:
    """Scores per profile and strategy, plus the numbers behind the diagnosis."""

    scopes: tuple[str, ...]
    scores: dict[str, dict[str, Score]]  # profile -> strategy -> summed over scopes
    ratios: dict[str, dict[str, list[float]]]  # profile -> strategy -> cost / price's, per scope
    first_pick: dict[str, dict[str, list[str]]]  # profile -> strategy -> first pool per scope
    lost_hours: dict[str, float]  # profile -> L
    transitions: dict[str, Counter[str]] = field(default_factory=dict)  # 2021 label -> 2025
    pools: int = 0
    # One entry per (profile, scope) decision that placed nodes: strategy -> its score.
    decisions: list[dict[str, Score]] = field(default_factory=list)


def run_advisor_backtest(
    data_dir: Path, *, seeds: int, profiles: dict[str, dict[str, object]] | None = None
) -> AdvisorResult:
    """Rank every profile (default PROFILES) in every priced region and anywhere; score
    against 2025."""
    profiles = PROFILES if profiles is None else profiles
    pools = load_advisor_pools(data_dir, RANK_DATE, at=ADVISOR_NOW)
    records = advisor_records(pools, load_spot_js(data_dir), at=ADVISOR_NOW)
    truth = load_advisor(data_dir, TRUTH_DATE)
    snapshot = PoolIndex.build(records, built_at=ADVISOR_NOW)
    regions = sorted({r.key.region for r in records})
    scopes = (*regions, "anywhere")
    result = AdvisorResult(
        scopes=scopes, scores={}, ratios={}, first_pick={}, lost_hours={}, pools=len(records)
    )
    for r in records:
        later = truth.get((r.key.region, r.key.instance_type), "vanished")
        result.transitions.setdefault(r.interruption_label or "", Counter())[later] += 1
    for name, body in profiles.items():
        scores: dict[str, Score] = {s: Score() for s in STRATEGIES}
        ratios: dict[str, list[float]] = defaultdict(list)
        picks: dict[str, list[str]] = defaultdict(list)
        for scope in scopes:
            regions_body = {} if scope == "anywhere" else {"regions": [scope]}
            req = parse({**_COMMON, **body, **regions_body})
            lost = lost_hours("aws", req)
            result.lost_hours[name] = lost
            per = _score_scope(snapshot, req, truth, lost, seeds, picks)
            if per["price"].nodes:
                result.decisions.append(per)
            base = per["price"].cost_per_useful_hour
            for strategy, score in per.items():
                scores[strategy].add(score)
                ratio = score.cost_per_useful_hour / base if base else math.nan
                if math.isfinite(ratio):
                    ratios[strategy].append(ratio)
        result.scores[name] = scores
        result.ratios[name] = dict(ratios)
        result.first_pick[name] = dict(picks)
    return result


def _score_scope(
    snapshot: PoolIndex,
    req: Requirements,
    truth: dict[tuple[str, str], str],
    lost: float,
    seeds: int,
    picks: dict[str, list[str]],
) -> dict[str, Score]:
    out: dict[str, Score] = {}
    for strategy in STRATEGIES:
        runs = range(seeds) if strategy == "random" else range(1)
        total = Score()
        for seed in runs:
            placed = place(snapshot, req, strategy, now=ADVISOR_NOW, seed=seed)
            total.add(score_placements(placed, truth, lost=lost), 1.0 / len(runs))
            if seed == 0:
                first = placed[0].key if placed else None
                picks[strategy].append(f"{first.region}/{first.instance_type}" if first else "-")
        out[strategy] = total
    return out


def bucket_terms(lost: float) -> list[tuple[str, float, float]]:
    """(label, λ per hour, λ·L) of every advisor bucket: the hazard term's size."""
    return [
        (
            label,
            estimate_hazard("aws-advisor", label).rate,
            estimate_hazard("aws-advisor", label).rate * lost,
        )
        for label in AWS_ADVISOR_BUCKETS
    ]
