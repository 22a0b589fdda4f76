"""Synthetic but realistically shaped PoolRecords for the ranking benchmark.

Three clouds, real-looking family/size ladders (GPU families with their real GPU models and
memory), zones per region, spot discounts of 30-80 %, advisor-like buckets, placement scores
with gaps, a few stale signals and a little fleet evidence. Seeded: the same N gives the same
pools.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from selector import PoolKey, PoolRecord

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# family -> (arch, vCPU:GiB ratio, gpu model, gpu GiB, [(size, vcpus, gpus)])
_SIZES = [("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16), ("8xlarge", 32),
          ("12xlarge", 48), ("16xlarge", 64), ("24xlarge", 96), ("48xlarge", 192)]  # fmt: skip
_GPU_FAMILIES = {
    "aws": [("g4dn", "T4", 16.0), ("g5", "A10G", 24.0), ("g6", "L4", 24.0), ("g5g", "T4G", 16.0),
            ("g6e", "L40S", 48.0), ("p3", "V100", 16.0), ("p4d", "A100", 40.0),
            ("p5", "H100", 80.0)],
    "gcp": [("g2", "L4", 24.0), ("a2", "A100", 40.0), ("a3", "H100", 80.0), ("n1t4", "T4", 16.0)],
    "azure": [("ncast4v3", "T4", 16.0), ("nvadsa10v5", "A10", 24.0), ("nca100v4", "A100", 80.0),
              ("ndh100v5", "H100", 80.0)],
}  # fmt: skip
_CPU_PREFIXES = {
    "aws": ["m", "c", "r", "t", "i", "x", "z"],
    "gcp": ["n2", "n2d", "c2", "c3", "e2", "t2d", "m1", "n4"],
    "azure": ["d", "e", "f", "l", "m", "b", "dp", "ep"],
}
_CPU_GENERATIONS = {"aws": 6, "gcp": 3, "azure": 5}
_CPU_SUFFIXES = {"aws": ["", "i", "a", "g", "d", "n", "gd", "in"], "gcp": ["", "-highmem"],
                 "azure": ["", "s", "ds", "as", "ps"]}  # fmt: skip
_REGIONS = {"aws": 33, "gcp": 40, "azure": 60}
_ZONES_PER_REGION = {"aws": 4, "gcp": 3, "azure": 3}
_BUCKETS = {
    "aws": ("aws-advisor", ["<5%", "5-10%", "10-15%", "15-20%", ">20%"]),
    "azure": ("azure-eviction", ["0-5", "5-10", "10-15", "15-20", "20+"]),
}


def _types(cloud: str) -> list[tuple[str, str, int, float, str, int, str | None, float | None]]:
    """(name, family, vcpus, memory, arch, gpus, model, gpu memory) for one cloud."""
    out = []
    for prefix in _CPU_PREFIXES[cloud]:
        for gen in range(1, _CPU_GENERATIONS[cloud] + 1):
            for suffix in _CPU_SUFFIXES[cloud]:
                family = f"{prefix}{gen + 3}{suffix}"
                arch = "arm64" if "g" in suffix or "p" in prefix or prefix == "t2d" else "x86_64"
                ratio = {"c": 2.0, "r": 8.0, "x": 16.0, "m": 4.0, "e": 8.0, "f": 2.0}.get(
                    prefix[0], 4.0
                )
                out.extend(
                    (f"{family}.{size}", family, vcpus, vcpus * ratio, arch, 0, None, None)
                    for size, vcpus in _SIZES
                )
    for family, model, gmem in _GPU_FAMILIES[cloud]:
        for size, vcpus in _SIZES[1:]:
            gpus = 8 if family in {"p4d", "p5", "a3", "ndh100v5"} else max(1, vcpus // 16)
            arch = "arm64" if family == "g5g" else "x86_64"
            out.append((f"{family}.{size}", family, vcpus, vcpus * 4.0, arch, gpus, model, gmem))
    return out


def make_pools(n: int, *, seed: int = 7) -> list[PoolRecord]:
    """`n` distinct pools sampled from the three clouds' type × zone space."""
    rng = np.random.default_rng(seed)
    spaces = []
    for cloud in ("aws", "gcp", "azure"):
        zones = [
            (f"{cloud}-r{r}", f"{cloud}-r{r}-z{z}")
            for r in range(_REGIONS[cloud])
            for z in range(_ZONES_PER_REGION[cloud])
        ]
        spaces.append((cloud, _types(cloud), zones))
    sizes = [len(t) * len(z) for _, t, z in spaces]
    picks = np.sort(rng.choice(sum(sizes), size=n, replace=False))
    pools: list[PoolRecord] = []
    offsets = np.cumsum([0, *sizes])
    for (cloud, types, zones), lo, hi in zip(spaces, offsets[:-1], offsets[1:], strict=True):
        local = picks[(picks >= lo) & (picks < hi)] - lo
        for flat in local.tolist():
            t = types[flat // len(zones)]
            region, zone = zones[flat % len(zones)]
            pools.append(_pool(rng, cloud, region, zone, t))
    return pools


def _pool(
    rng: np.random.Generator,
    cloud: str,
    region: str,
    zone: str,
    t: tuple[str, str, int, float, str, int, str | None, float | None],
) -> PoolRecord:
    name, family, vcpus, memory, arch, gpus, model, gmem = t
    u = rng.random(8)
    gpu_price = {"T4": 0.35, "T4G": 0.3, "A10G": 0.75, "A10": 0.7, "L4": 0.6, "L40S": 1.6,
                 "V100": 2.5, "A100": 3.5, "H100": 8.0}.get(model or "", 0.0)  # fmt: skip
    od = round(vcpus * 0.04 + memory * 0.005 + gpus * gpu_price, 4)
    spot = round(od * (0.2 + 0.5 * u[0]), 4)
    age = timedelta(hours=float(u[1] * 5 if u[2] > 0.05 else 12 + u[1] * 48))
    if cloud == "gcp":
        source, label, value = "gcp-capacity-history", None, float(u[3] * 0.3)
    else:
        source, labels = _BUCKETS[cloud]
        label, value = labels[int(u[3] * 5)], None
    has_capacity = u[4] > 0.2
    fleet = u[5] < 0.02
    return PoolRecord(
        key=PoolKey(cloud, region, zone, name),
        family=family,
        vcpus=vcpus,
        memory_gib=memory,
        arch=arch,
        gpu_count=gpus,
        gpu_model=model,
        gpu_memory_gib=gmem,
        accelerator_kind="gpu" if gpus else "none",
        spot_offered=u[6] > 0.05,
        on_demand_offered=True,
        spot_price=spot,
        spot_price_at=NOW - age,
        spot_price_volatility=float(u[7] * 0.3),
        on_demand_price=od,
        on_demand_at=NOW - timedelta(days=2),
        interruption_source=source,
        interruption_label=label,
        interruption_value=value,
        interruption_at=NOW - timedelta(hours=20),
        capacity_score=round(float(u[4]), 2) if has_capacity else None,
        capacity_raw=str(round(float(u[4]), 2)) if has_capacity else None,
        capacity_zonal=u[2] > 0.3,
        capacity_at=NOW - timedelta(hours=3) if has_capacity else None,
        fleet_interruptions=int(u[7] * 5) if fleet else 0,
        fleet_instance_hours=float(u[1] * 500) if fleet else 0.0,
        fleet_capacity_errors=1 if fleet and u[0] > 0.5 else 0,
        fleet_at=NOW - timedelta(hours=1) if fleet else None,
    )
