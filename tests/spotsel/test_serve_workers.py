"""`spotsel serve --workers 2` starts both workers, and uvicorn never restarts one.

uvicorn's supervisor pings each worker process and kills one that does not answer within its
health-check timeout ("Child process [...] died"). A worker answers only once it has imported
the CLI again (spawned workers re-run the entry point) and while it loads the first snapshot,
so a slow start used to cost the second worker its life.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core import migrate
from core.db import make_engine

# PostgreSQL only: what is tested is uvicorn's supervisor and the workers' start, which do not
# depend on the engine (each worker's snapshot load is tested on both engines in tests/api), and
# PostgreSQL is the engine served with several workers (docker-compose.yml).
pytestmark = [pytest.mark.slow, pytest.mark.one_engine("postgresql")]

WORKERS = 2
# Bounded waits: the app starts in seconds; a loaded CI machine gets ample slack.
READY_TIMEOUT_S = 120.0
# After both workers are up, the supervisor keeps pinging (every 0.5 s): watch a few rounds.
WATCH_AFTER_READY_S = 1.5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_workers(process: subprocess.Popen[str], log: Path, base: str) -> str:
    """The log once every worker said its startup is complete and /readyz answers."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        text = log.read_text()
        if text.count("Application startup complete") >= WORKERS:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    return text
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"workers not ready in {READY_TIMEOUT_S:.0f} s:\n{log.read_text()}")


def test_two_workers_start_and_none_is_restarted(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = os.environ | {"SPOTSEL_DATABASE_URL": db_url, "SPOTSEL_DATA_DIR": str(tmp_path)}
    # The installed entry point, as a user runs it: workers are spawned from it.
    command = [str(Path(sys.executable).with_name("spotsel")), "serve", "--no-auth"]
    command += ["--port", str(port), "--workers", str(WORKERS)]
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True
        )
    try:
        started = _wait_for_workers(process, log, base)
        time.sleep(WATCH_AFTER_READY_S)
        listening = _listening_sockets(port, [process.pid, *_children(process.pid)])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    text = log.read_text()
    assert "died" not in text, text
    assert "failed to start" not in text, text
    workers = set(re.findall(r"Started server process \[(\d+)\]", started))
    assert len(workers) == WORKERS, text
    # Each worker accepts from a socket of its own (the kernel balances new connections over
    # them, api.workers); the parent listens on none.
    assert process.pid not in listening.values(), listening
    assert sorted(map(str, listening.values())) == sorted(workers), listening


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _listening_sockets(port: int, pids: list[int]) -> dict[int, int]:
    """{socket inode: the pid holding it} of the sockets listening on `port` (IPv4)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], int(fields[9])
        if local_port == port and state == "0A":  # TCP_LISTEN
            inodes.add(inode)
    held: dict[int, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                held[int(target[8:-1])] = pid
    assert set(held) == inodes, f"listening sockets {inodes}, held {held}"
    return held
