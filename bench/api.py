"""Benchmark: POST /v1/recommendations over HTTP with >= 100,000 pools loaded.

Run with ``.venv/bin/python bench/api.py [--scale 32] [--seconds 10] [--workers 1]``.
Builds a temporary SQLite store with the simulated market at ``--scale`` (32 -> ~100k pools),
starts uvicorn on 127.0.0.1 (a free port, auth off, in a subprocess), then drives realistic
mixed requests with httpx.AsyncClient at increasing concurrency for a bounded time each.
Every request in the "mixed" runs is distinct (`unique()`), so the answer cache never
serves it; the "cached" run repeats one request to show the cache. Prints throughput,
p50/p99 latency and errors per level, and the in-process `rank()` p50 of the same mix as the
baseline (the HTTP overhead is the difference). Loopback only; bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors import CollectContext, get_source  # noqa: E402
from collectors.runner import run_source  # noqa: E402
from core.clock import utcnow  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.settings import Settings  # noqa: E402

# Realistic request shapes (design §1 users); `unique()` varies each one to defeat the cache.
MIX: list[dict[str, Any]] = [
    {"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "nodes": 8},
    {"gpus": 1, "gpu_memory_gib": 16},
    {"gpus": 8, "gpu_models": ["A100", "H100"], "strategy": "capacity"},
    {"gpus": 4, "gpu_memory_gib": 24, "clouds": ["aws", "gcp"], "strategy": "price-capacity"},
    {"gpus": 0, "vcpus": "4:16", "memory_gib": "16:", "capacity_types": ["spot"]},
    {"gpus": 0, "arch": "arm64", "vcpus": "8:32", "strategy": "price"},
    {"gpus": 0, "vcpus": "2:8", "regions": ["eu-west-1", "eu-central-1"], "nodes": 20,
     "min_zones": 3, "max_share_per_zone": 0.34},
    {"gpus": 1, "gpu_models": ["inference-16-24gb"], "nodes": 20, "min_instance_types": 5,
     "max_share_per_type": 0.25, "checkpoint_interval_minutes": 15},
]  # fmt: skip
LEVELS = (1, 4, 16, 32)
MAX_REQUESTS_PER_LEVEL = 20_000
TARGET_P99_MS = 100.0
TARGET_RPS = 100.0


def build_store(path: Path, scale: int) -> str:
    url = f"sqlite:///{path / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(database_url=url, data_dir=path)
    started = time.perf_counter()
    run = run_source(
        engine,
        get_source("sim"),
        CollectContext(settings=settings, now=utcnow(), options={"seed": 7, "scale": scale}),
    )
    elapsed = time.perf_counter() - started
    print(f"store: {run.rows_written:,} rows at scale {scale} in {elapsed:.0f} s")
    engine.dispose()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SPOTSEL_DATABASE_URL": url,
        "SPOTSEL_API_AUTH": "false",
        "SPOTSEL_API_KEYS": "",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "api.app:create_app_from_env", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


def wait_ready(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {base} not ready after {timeout:.0f} s")


def unique(n: int) -> dict[str, Any]:
    """Per-request fields that change the cache key, not the work: a realistic `top` and a
    price cap far above any real price ($/h)."""
    return {"top": 10 + n % 21, "max_price": 10_000.0 - n * 1e-3}


async def drive(
    base: str, clients: int, seconds: float, *, cached: bool
) -> tuple[list[float], int, float]:
    """Closed loop: `clients` tasks each send, wait, send again, until time is up."""
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop and len(latencies) < MAX_REQUESTS_PER_LEVEL:
            n = next(counter)
            body = MIX[0] if cached else MIX[n % len(MIX)] | unique(n)
            started = time.perf_counter()
            try:
                response = await client.post(f"{base}/v1/recommendations", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    began = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - began


def in_process_baseline(url: str) -> float:
    """p50 ms of `rank()` alone over the same mix and store (no HTTP, no serialisation)."""
    from core.pool_reader import load_pool_index
    from selector import parse_requirements, rank

    engine = make_engine(url)
    now = utcnow()
    snap = load_pool_index(engine, now=now)
    engine.dispose()
    times = []
    for i in range(3 * len(MIX)):
        req = parse_requirements(MIX[i % len(MIX)] | unique(i))
        started = time.perf_counter()
        rank(snap, req, now=now)
        times.append(time.perf_counter() - started)
    print(f"snapshot: {snap.size:,} pools")
    return float(np.percentile(times, 50) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spotsel-bench-") as tmp:
        url = build_store(Path(tmp), args.scale)
        baseline = in_process_baseline(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, args.workers)
        try:
            wait_ready(base)
            print(f"server: uvicorn, {args.workers} worker(s), {base}, auth off")
            print(f"baseline: in-process rank() p50 {baseline:.2f} ms over the same mix")
            print(f"{'run':>8} {'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} "
                  f"{'p99 ms':>8} {'errors':>6}  target")  # fmt: skip
            runs = [("mixed", c, False) for c in LEVELS] + [("cached", 16, True)]
            for label, clients, cached in runs:
                lat, errors, elapsed = asyncio.run(
                    drive(base, clients, args.seconds, cached=cached)
                )
                ms = np.array(lat) * 1000
                rps = len(lat) / elapsed
                p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
                met = p99 < TARGET_P99_MS and rps >= TARGET_RPS and errors == 0
                print(f"{label:>8} {clients:>7} {len(lat):>8} {rps:>8.0f} {p50:>8.1f} "
                      f"{p99:>8.1f} {errors:>6}  {'met' if met else '-'}")  # fmt: skip
            print(f"target: p99 < {TARGET_P99_MS:.0f} ms at >= {TARGET_RPS:.0f} req/s, 0 errors")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
