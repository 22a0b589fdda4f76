"""Benchmark: POST /v1/recommendations over HTTP with >= 100,000 pools loaded.

Run with ``.venv/bin/python bench/api.py [--scale 32] [--seconds 10] [--workers 2]``.
Builds a SQLite store with the simulated market at ``--scale`` (32 -> ~100k pools; kept and
reused with ``--store DIR``), starts the API as users do (``spotsel serve --no-auth`` on a
free loopback port, in a subprocess), then drives the mixed request shapes at increasing
concurrency for a bounded time each. Every request in the "mixed" runs is distinct
(`unique()`), so the answer cache never serves it; the "cached" run repeats one request.

``--baseline DIR`` serves the same store from another checkout (e.g. ``git archive`` of an
older commit) first, with the same load, so both figures come from one run on one machine.

The load generator is a small HTTP/1.1 keep-alive client on asyncio streams (one connection per
simulated client); it shares the machine with the server, so each level prints its CPU share:
its own CPU time over its own plus the server's (parent and workers, from /proc). Prints
throughput, p50/p99 latency and errors per level, and the in-process `rank()` p50 of the same
mix (the HTTP overhead is the difference). Loopback only; bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
LEVELS = (1, 4, 8, 16)
MAX_REQUESTS_PER_LEVEL = 20_000
# Issue 17: at 100k pools on this 2-core machine, the mixed distinct requests at >= 300 req/s
# with p99 < 50 ms and no error.
TARGET_P99_MS = 50.0
TARGET_RPS = 300.0
# A level's first requests warm each connection and worker; they are not counted.
WARMUP_S = 1.0
# One request's bound; the answers are a few kB, the server answers in ms.
REQUEST_TIMEOUT_S = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def build_store(path: Path, scale: int) -> str:
    db = path / "bench.db"
    url = f"sqlite:///{db}"
    if db.exists():
        print(f"store: reusing {db}")
        return url
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


def start_server(
    checkout: Path, url: str, port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """`spotsel serve` from ``checkout`` (its code first on the path), output to ``log``."""
    env = os.environ | {
        "SPOTSEL_DATABASE_URL": url,
        "PYTHONPATH": str(checkout),
    }
    entry = "import sys; from spotsel.cli import main; sys.argv[0] = 'spotsel'; main()"
    cmd = [
        sys.executable, "-c", entry, "serve", "--no-auth", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(cmd, env=env, cwd=checkout, stdout=sink, stderr=sink)


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            status, _ = asyncio.run(_get(port, "/readyz"))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server on port {port} not ready after {timeout:.0f} s")


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        return await _read_response(reader)
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return status, body


def unique(n: int) -> dict[str, Any]:
    """Per-request fields that change the cache key, not the work: a realistic `top` and a
    price cap far above any real price ($/h)."""
    return {"top": 10 + n % 21, "max_price": 10_000.0 - n * 1e-3}


def _request(port: int, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (
        f"POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


async def drive(
    port: int, clients: int, seconds: float, *, cached: bool
) -> tuple[list[float], int, float, int]:
    """Closed loop: `clients` connections each send, wait, send again, until time is up.

    Returns the counted latencies, their errors, the counted seconds and every request sent
    (the warm-up's too: the server's CPU is read over all of them)."""
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    began = time.perf_counter()
    count_from = began + WARMUP_S
    stop = count_from + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop and len(latencies) < MAX_REQUESTS_PER_LEVEL:
                n = next(counter)
                body = MIX[0] if cached else MIX[n % len(MIX)] | unique(n)
                started = time.perf_counter()
                try:
                    writer.write(_request(port, body))
                    status, _ = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
                    ok = status == 200
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if started >= count_from:
                    latencies.append(time.perf_counter() - started)
                    errors += not ok
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - count_from, next(counter)


def _process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its workers so far."""
    total = 0
    for member in _process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return total / CLOCK_TICKS


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


@dataclass(frozen=True)
class Level:
    label: str
    clients: int
    requests: int
    rps: float
    p50: float
    p99: float
    errors: int
    loadgen_share: float
    server_ms_per_request: float

    @property
    def met(self) -> bool:
        return self.p99 < TARGET_P99_MS and self.rps >= TARGET_RPS and self.errors == 0


def measure(
    name: str, checkout: Path, url: str, workers: int, seconds: float, log: Path
) -> list[Level]:
    port = free_port()
    server = start_server(checkout, url, port, workers, log)
    levels = []
    try:
        wait_ready(port, server)
        runs = [("mixed", c, False) for c in LEVELS] + [("cached", 8, True)]
        for label, clients, cached in runs:
            cpu0, own0 = server_cpu_seconds(server.pid), time.process_time()
            lat, errors, elapsed, sent = asyncio.run(drive(port, clients, seconds, cached=cached))
            server_cpu = server_cpu_seconds(server.pid) - cpu0
            own = time.process_time() - own0
            ms = np.array(lat) * 1000
            level = Level(
                label=label,
                clients=clients,
                requests=len(lat),
                rps=len(lat) / elapsed,
                p50=float(np.percentile(ms, 50)),
                p99=float(np.percentile(ms, 99)),
                errors=errors,
                loadgen_share=own / max(own + server_cpu, 1e-9),
                server_ms_per_request=server_cpu * 1000 / max(sent, 1),
            )
            levels.append(level)
            print(
                f"{name:>9} {level.label:>7} {level.clients:>7} {level.requests:>8} "
                f"{level.rps:>7.0f} {level.p50:>7.1f} {level.p99:>7.1f} {level.errors:>6} "
                f"{level.loadgen_share:>8.0%} {level.server_ms_per_request:>8.1f}  "
                f"{'met' if level.met else '-'}",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    died = log.read_text(errors="replace").count("died")
    print(f"{name:>9} server log {log}: {died} worker restart(s) ('child process died')")
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", type=Path, help="keep the store in this folder and reuse it")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout to serve first, with the same load"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spotsel-bench-") as tmp:
        folder = args.store or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        url = build_store(folder, args.scale)
        print(f"baseline: in-process rank() p50 {in_process_baseline(url):.2f} ms over the mix")
        print(f"server: spotsel serve --no-auth, {args.workers} worker(s), loopback")
        print(f"{'checkout':>9} {'run':>7} {'clients':>7} {'requests':>8} {'req/s':>7} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'load-gen':>8} {'srv ms/r':>8}  "
              "target")  # fmt: skip
        checkouts = [("baseline", args.baseline)] if args.baseline else []
        for name, checkout in [*checkouts, ("this", ROOT)]:
            measure(name, checkout, url, args.workers, args.seconds, folder / f"{name}.log")
        print(
            f"target: mixed p99 < {TARGET_P99_MS:.0f} ms at >= {TARGET_RPS:.0f} req/s, 0 errors; "
            "load-gen = the load generator's share of the CPU it and the server used; "
            "srv ms/r = server CPU (all processes) per request"
        )


if __name__ == "__main__":
    main()
