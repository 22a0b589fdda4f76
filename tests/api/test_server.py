"""The request limits on a real server: `spotsel serve` in a subprocess on a free loopback port.

Raw sockets, so a test controls exactly what is sent and when: a 300 MB upload streamed until
the server answers, a chunked body, a body that stalls, an oversized request head. Memory is
the server process's own (``/proc/<pid>/status``).
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.http_protocol import BoundedHttpToolsProtocol
from api.server import (
    APP_FACTORY,
    MAX_HEAD_BYTES,
    WORKER_HEALTHCHECK_TIMEOUT_S,
    uvicorn_options,
    worker_environment,
)
from api.workers import own_sockets_supported, run_workers
from core.db import make_engine
from core.settings import ENV_PREFIX, Settings, load_settings
from core.tables import Base
from tests.api.conftest import KEYS, READ_KEY, auth

# Real `spotsel serve` processes (one with two workers): seconds each to start.
pytestmark = pytest.mark.slow

HUGE = 300_000_000
# Acceptance (issue #9): answered within a second, memory up by less than 50 MB.
MAX_ANSWER_SECONDS = 1.0
MAX_GROWTH_KIB = 50 * 1024
READ_TIMEOUT = 1.0
# A deadline, not a measurement: two workers importing the app on a loaded 2-core machine.
STARTUP_SECONDS = 120
SEND_CHUNK = 64 * 1024
SPOTSEL = Path(sys.executable).with_name("spotsel")


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    sent: int

    def json(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.body)
        return parsed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _memory_kib(pid: int, field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak resident) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing for pid {pid}")


@contextmanager
def running(tmp: Path, *args: str, **settings: str) -> Iterator[Server]:
    """`spotsel serve` on an empty store with the test keys; stopped when the test ends."""
    url = f"sqlite:///{tmp / 'server.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    config = tmp / "spotsel.toml"
    config.write_text("")  # no user config file leaks in
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env |= {
        "SPOTSEL_CONFIG": str(config),
        "SPOTSEL_DATABASE_URL": url,
        "SPOTSEL_API_KEYS": ",".join(KEYS),
        **{f"{ENV_PREFIX}{name.upper()}": value for name, value in settings.items()},
    }
    port = _free_port()
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen(
        [str(SPOTSEL), "serve", "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, (tmp / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One worker, default body limit (1 MiB), a 1 s body read timeout."""
    tmp = tmp_path_factory.mktemp("server")
    with running(tmp, api_body_read_timeout_seconds=str(READ_TIMEOUT)) as started:
        yield started


def _parse(raw: bytes, seconds: float, sent: int) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body, seconds, sent)


def _complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return len(body) >= int(value)
    return True


def send_streaming(
    server: Server,
    head: str,
    *,
    total: int,
    frame: Callable[[bytes], bytes] = lambda chunk: chunk,
    stop_after: int | None = None,
    timeout: float = 30.0,
) -> Answer:
    """Send `head`, then body bytes (framed by `frame`) until `total` or an answer arrives.

    `stop_after`: the client goes silent after that many body bytes (a stalled upload).
    """
    chunk = b" " * SEND_CHUNK
    limit = total if stop_after is None else min(total, stop_after)
    raw, pending, sent, writing = b"", b"", 0, True
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(head.encode("latin-1"))
        conn.setblocking(False)
        while not _complete(raw):
            assert time.monotonic() - started < timeout, f"no answer after {sent} bytes"
            if writing and not pending and sent < limit:
                piece = chunk[: limit - sent]
                pending, sent = frame(piece), sent + len(piece)
            wants_write = writing and bool(pending)
            readable, writable, _ = select.select([conn], [conn] if wants_write else [], [], 0.05)
            if readable:
                data = conn.recv(65536)
                if not data:
                    break
                raw += data
            if writable:
                try:
                    pending = pending[conn.send(pending) :]
                except (BrokenPipeError, ConnectionResetError):
                    writing = False  # the server is done with us; its answer is buffered
        seconds = time.monotonic() - started
    assert raw, f"connection closed without an answer after {sent} bytes"
    return _parse(raw, seconds, sent)


def _post_head(length: int | None, headers: dict[str, str]) -> str:
    lines = [
        "POST /v1/recommendations HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
    ]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def _chunked(piece: bytes) -> bytes:
    return f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def _healthy(server: Server) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as answer:
        return int(answer.status) == 200


def test_anonymous_300_mb_upload_is_answered_fast_without_memory_growth(server: Server) -> None:
    rss_before = _memory_kib(server.pid, "VmRSS")
    peak_before = _memory_kib(server.pid, "VmHWM")
    answer = send_streaming(server, _post_head(HUGE, {}), total=HUGE)
    rss_growth = _memory_kib(server.pid, "VmRSS") - rss_before
    peak_growth = _memory_kib(server.pid, "VmHWM") - peak_before
    print(
        f"300 MB anonymous POST: {answer.status} in {answer.seconds:.3f} s after "
        f"{answer.sent / 1e6:.1f} MB sent; RSS {rss_growth / 1024:+.1f} MB, "
        f"peak {peak_growth / 1024:+.1f} MB"
    )
    assert answer.status in (401, 413)
    assert answer.json()["error"] in ("unauthorized", "payload_too_large")
    assert answer.seconds < MAX_ANSWER_SECONDS
    assert rss_growth < MAX_GROWTH_KIB
    assert peak_growth < MAX_GROWTH_KIB
    assert answer.sent < HUGE, "the server did not wait for the body"
    assert _healthy(server)


def test_keyed_upload_over_the_declared_limit_is_413(server: Server) -> None:
    answer = send_streaming(server, _post_head(HUGE, auth(READ_KEY)), total=HUGE)
    assert answer.status == 413
    assert answer.json() == {
        "error": "payload_too_large",
        "detail": "request body larger than 1048576 bytes (SPOTSEL_API_MAX_BODY_BYTES)",
    }
    assert answer.headers["connection"] == "close"
    assert answer.seconds < MAX_ANSWER_SECONDS


def test_keyed_chunked_upload_is_cut_off_at_the_limit(server: Server) -> None:
    answer = send_streaming(server, _post_head(None, auth(READ_KEY)), total=HUGE, frame=_chunked)
    assert answer.status == 413
    assert answer.json()["error"] == "payload_too_large"
    assert answer.sent < 50 * 1_048_576, "answered as the stream passed the limit"


def test_a_stalled_body_is_answered_408_and_closed(server: Server) -> None:
    started = time.monotonic()
    answer = send_streaming(server, _post_head(1_000, auth(READ_KEY)), total=1_000, stop_after=10)
    assert answer.status == 408
    assert answer.json()["error"] == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert READ_TIMEOUT <= time.monotonic() - started < READ_TIMEOUT + 2


def test_an_endless_request_head_is_refused_at_the_head_limit(server: Server) -> None:
    rss_before = _memory_kib(server.pid, "VmRSS")
    # One header whose value never ends: the rest of the "body" streamed is more of it.
    head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
    answer = send_streaming(server, head, total=HUGE)
    assert answer.status == 400
    assert answer.seconds < MAX_ANSWER_SECONDS, "refused once the head passed the limit"
    assert _memory_kib(server.pid, "VmRSS") - rss_before < MAX_GROWTH_KIB
    assert _healthy(server)


def test_a_head_near_the_limit_with_a_large_body_in_the_same_reads_reaches_the_route(
    server: Server,
) -> None:
    """Only head bytes count towards the head limit, even when the body follows at once."""
    padding = {"X-Padding": "p" * (MAX_HEAD_BYTES - 1_024)}
    size = 512 * 1024  # spaces: within the body limit, and not JSON
    answer = send_streaming(server, _post_head(size, {**auth(READ_KEY), **padding}), total=size)
    assert answer.status == 422, "past the head limit check and the guard, to the parser"
    again = send_streaming(server, _post_head(size, {**auth(READ_KEY), **padding}), total=size)
    assert again.status == 422


def test_a_body_within_the_limit_reaches_the_route(server: Server) -> None:
    body = b'{"gpus": 1}'
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/v1/recommendations",
        data=body,
        headers={"Content-Type": "application/json", **auth(READ_KEY)},
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 503, "past the guard: the empty store answers no_data"
    assert json.loads(answer.value.read())["error"] == "no_data"


def test_the_limits_hold_behind_workers(tmp_path: Path) -> None:
    limit = 4_096
    with running(tmp_path, "--workers", "2", api_max_body_bytes=str(limit)) as worker:
        over = send_streaming(worker, _post_head(limit + 1, auth(READ_KEY)), total=limit + 1)
        assert over.status == 413
        assert str(limit) in str(over.json()["detail"])
        within = send_streaming(worker, _post_head(limit, auth(READ_KEY)), total=limit)
        assert within.status == 422, "a body of spaces at the limit reaches the route's parser"
        huge = send_streaming(worker, _post_head(HUGE, {}), total=HUGE)
        assert huge.status == 401
        assert huge.seconds < MAX_ANSWER_SECONDS


def test_workers_rebuild_the_parent_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parent = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        api_auth=False,
        api_keys=KEYS,
        api_max_body_bytes=2_048,
        api_body_read_timeout_seconds=2.5,
        api_max_connections=7,
        karpenter_crds_dir=tmp_path,
    )
    env = worker_environment(parent)
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SPOTSEL_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    worker = load_settings()
    api_fields = [name for name in Settings.model_fields if name.startswith("api_")]
    assert api_fields, "the API's settings are all exported"
    for name in [*api_fields, "database_url", "karpenter_crds_dir"]:
        assert getattr(worker, name) == getattr(parent, name), name


def test_workers_refuse_an_address_another_server_listens_on() -> None:
    """Each worker binds with SO_REUSEPORT: without the parent's check a second server on the
    same port would silently share its connections."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            run_workers(APP_FACTORY, workers=2, host="127.0.0.1", port=port)
    assert exited.value.code == 1


def test_workers_keep_a_shared_socket_when_uvicorns_supervisor_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from uvicorn.supervisors import multiprocess

    assert own_sockets_supported(), "this uvicorn: one socket per worker"

    class Older:  # uvicorn < 0.54 handed each worker its target
        def __init__(self, config: object, target: object, sockets: object) -> None: ...

    monkeypatch.setattr(multiprocess, "Process", Older)
    assert not own_sockets_supported()


def test_every_process_runs_with_the_server_limits() -> None:
    options = uvicorn_options(Settings(api_max_connections=9), host="h", port=1, log_level="info")
    protocol = options["http"]
    assert protocol is BoundedHttpToolsProtocol, "uvicorn's buffers request heads without limit"
    assert protocol.max_head_bytes == MAX_HEAD_BYTES
    assert options["limit_concurrency"] == 9
    # uvicorn's default (5 s) killed a worker still importing on a loaded machine.
    assert options["timeout_worker_healthcheck"] == WORKER_HEALTHCHECK_TIMEOUT_S > 5
