"""Benchmark: ranking latency at 10k / 100k / 300k pools, against a minimal numpy baseline.

Run with ``.venv/bin/python bench/rank.py [--sizes 10000,100000,300000] [--reps N]``.
For 5 typical requests it prints p50 / p99 of `rank()` and the ratio of its p50 to a
minimal vectorised baseline (the same filters + argsort by spot price over the same snapshot
arrays, no hazard, capacity, diversification or explanations) measured in the same run,
plus the PoolIndex build time and its peak memory (tracemalloc, records excluded).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

# `python bench/rank.py` puts bench/ on sys.path, so the generator imports as `_pools`.
from _pools import NOW, make_pools

from selector import PoolIndex, Requirements, parse_requirements, rank

REQUESTS: dict[str, dict[str, object]] = {
    "1 GPU >=16 GiB, anywhere": {"gpus": 1, "gpu_memory_gib": 16},
    "8x A100/H100": {"gpus": 8, "gpu_models": ["A100", "H100"]},
    "CPU 4-16 vCPU 16+ GiB spot": {
        "gpus": 0,
        "vcpus": "4:16",
        "memory_gib": "16:",
        "capacity_types": ["spot"],
    },
    "arm64 CPU": {"gpus": 0, "arch": "arm64"},
    "20 nodes GPU, diversified": {
        "gpus": 1,
        "gpu_memory_gib": 16,
        "nodes": 20,
        "min_instance_types": 5,
        "min_zones": 3,
        "max_share_per_type": 0.25,
        "max_share_per_family": 0.5,
        "max_share_per_zone": 0.25,
    },
}


def baseline(snap: PoolIndex, req: Requirements) -> np.ndarray:
    """Filter + argsort by spot price: what a price-only ranker costs on the same arrays."""
    mask = ~np.isnan(snap.spot_price)
    if req.gpus == 0:
        mask &= snap.gpu_count == 0
    elif req.gpus is not None:
        mask &= snap.gpu_count == req.gpus
    if req.gpu_memory_gib is not None:
        mask &= snap.gpu_memory_gib >= req.gpu_memory_gib
    if req.gpu_models:
        ok = np.array([m in req.gpu_models for m in snap.gpu_models] + [False])
        mask &= ok[snap.gpu_model_code]
    if req.arch is not None:
        mask &= np.array([a == req.arch for a in snap.arches])[snap.arch_code]
    for column, rng in ((snap.vcpus, req.vcpus), (snap.memory_gib, req.memory_gib)):
        if rng.min is not None:
            mask &= column >= rng.min
        if rng.max is not None:
            mask &= column <= rng.max
    rows = np.flatnonzero(mask)
    return rows[np.argsort(snap.spot_price[rows], kind="stable")[: req.top]]


def _times(fn: Callable[[], object], reps: int) -> np.ndarray:
    fn()  # warm-up
    out = np.empty(reps)
    for i in range(reps):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--reps", type=int, default=40)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    requests = {name: parse_requirements(body) for name, body in REQUESTS.items()}
    total = time.perf_counter()

    print(f"{'pools':>8} {'request':<28} {'cand.':>7} {'types':>5} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'base p50':>9} {'ratio':>6} {'unmet':>5}")  # fmt: skip
    builds = []
    for n in sizes:
        records = make_pools(n)
        gc.collect()
        start = time.perf_counter()
        snap = PoolIndex.build(records, built_at=NOW)
        build_s = time.perf_counter() - start
        del snap
        gc.collect()
        tracemalloc.start()
        snap = PoolIndex.build(records, built_at=NOW)
        retained, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        builds.append((n, build_s, peak / 2**20, retained / 2**20))
        for name, req in requests.items():
            result = rank(snap, req, now=NOW)
            ours = _times(lambda s=snap, r=req: rank(s, r, now=NOW), args.reps)
            base = _times(lambda s=snap, r=req: baseline(s, r), args.reps)
            p50, p99 = np.percentile(ours, 50), np.percentile(ours, 99)
            b50 = np.percentile(base, 50)
            print(
                f"{n:>8} {name:<28} {result.candidates:>7} {len(result.instance_types):>5} "
                f"{p50:>8.2f} {p99:>8.2f} {b50:>9.3f} {p50 / b50:>6.1f} {len(result.unmet):>5}"
            )
        del snap, records
        gc.collect()

    print()
    print(f"{'pools':>8} {'build s':>8} {'peak MiB':>9} {'retained MiB':>13}")
    for n, build_s, peak, retained in builds:
        print(f"{n:>8} {build_s:>8.2f} {peak:>9.1f} {retained:>13.1f}")
    print(f"\nreps per cell: {args.reps}; total run {time.perf_counter() - total:.0f} s")
    print("peak/retained: tracemalloc during PoolIndex.build, PoolRecords themselves excluded")


if __name__ == "__main__":
    main()
