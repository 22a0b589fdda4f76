"""The request guard: the key, the body size and the body read time, before the app reads a byte.

Driven at the ASGI level with a recording app behind the guard, so each test sees exactly how
many body messages the guard pulled and what reached the app. The real-server tests (huge
uploads, raw sockets, workers) are in test_server.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.deps import ReadAuth, WriteAuth, require_write
from api.guard import RequestGuard, route_scopes
from core.db import make_engine
from core.settings import Settings
from tests.api.conftest import KEYS, READ_KEY, WRITE_KEY, auth

LIMIT = 1_024
TIMEOUT = 0.2
CHUNK = 100


@dataclass
class Recorder:
    """The app behind the guard: records what it was handed and answers 200."""

    calls: int = 0
    body: bytes = b""
    later: list[Message] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        first = await receive()
        self.body = first["body"]
        assert first["more_body"] is False
        self.later.append(await receive())  # the server's own next event, passed through
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Exchange:
    status: int | None
    headers: dict[str, str]
    body: bytes
    pulled: int

    def json(self) -> Any:
        return json.loads(self.body)


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'guard.db'}",
        data_dir=tmp_path,
        api_keys=KEYS,
        api_max_body_bytes=LIMIT,
        api_body_read_timeout_seconds=TIMEOUT,
        **overrides,
    )


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[RequestGuard, Recorder]]:
    """The guard of a real app (its routes, keys and limits) in front of a recorder."""
    engine = make_engine(f"sqlite:///{tmp_path / 'guard.db'}")
    app = create_app(_settings(tmp_path), engine=engine)
    recorder = Recorder()
    yield RequestGuard(recorder, services=app.state.services, router=app.router), recorder
    engine.dispose()


def _scope(method: str, path: str, headers: dict[str, str]) -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "scheme": "http",
        "http_version": "1.1",
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def _chunks(total: int) -> list[Message]:
    sizes = [CHUNK] * (total // CHUNK) + ([total % CHUNK] if total % CHUNK else [])
    return [
        {"type": "http.request", "body": b" " * n, "more_body": i < len(sizes) - 1}
        for i, n in enumerate(sizes)
    ]


def exchange(
    guard: RequestGuard,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    messages: list[Message] | None = None,
    stall: bool = False,
) -> Exchange:
    """Run one request through `guard`; `stall` = the client stops after `messages`."""
    empty: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]
    queue = list(empty if messages is None else messages)
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        if queue:
            pulled += 1
            return queue.pop(0)
        if stall:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(guard, _scope(method, path, headers or {}), receive, send)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    return Exchange(
        status=None if start is None else start["status"],
        headers={k.decode(): v.decode() for k, v in (start or {}).get("headers", [])},
        body=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        pulled=pulled,
    )


REFUSED_BEFORE_THE_BODY = [
    # (why, method, path, headers, status, code)
    ("no key", "POST", "/v1/recommendations", {}, 401, "unauthorized"),
    ("unknown key", "POST", "/v1/recommendations", auth("spk_wrong"), 401, "unauthorized"),
    ("not a bearer key", "POST", "/v1/recommendations", {"Authorization": f"Basic {READ_KEY}"},
     401, "unauthorized"),
    ("read key on a write route", "POST", "/v1/snapshot/refresh", auth(READ_KEY), 403,
     "forbidden"),
    ("no key on a router-level protected route", "POST", "/v1/fleet-requests", {}, 401,
     "unauthorized"),
    ("declared length over the limit", "POST", "/v1/recommendations",
     {**auth(), "Content-Length": str(LIMIT + 1)}, 413, "payload_too_large"),
    ("declared length with 40 digits", "POST", "/v1/recommendations",
     {**auth(), "Content-Length": "9" * 40}, 413, "payload_too_large"),
    ("declared length not a number", "POST", "/v1/recommendations",
     {**auth(), "Content-Length": "12abc"}, 400, "bad_request"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "method", "path", "headers", "status", "code"),
    REFUSED_BEFORE_THE_BODY,
    ids=[r[0] for r in REFUSED_BEFORE_THE_BODY],
)
def test_refusals_come_before_any_body_is_read(
    guarded: tuple[RequestGuard, Recorder],
    why: str,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    guard, app = guarded
    answer = exchange(guard, method, path, headers=headers, messages=_chunks(10 * LIMIT))
    assert answer.status == status, why
    assert answer.json()["error"] == code
    assert answer.pulled == 0, "not a byte of the body was read"
    assert app.calls == 0
    assert answer.headers["connection"] == "close", "the unread rest is never received"
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("key", "path"),
    [(READ_KEY, "/v1/recommendations"), (WRITE_KEY, "/v1/snapshot/refresh"),
     (READ_KEY, "/v1/karpenter/nodepools")],
)  # fmt: skip
def test_a_key_with_the_scope_passes_with_its_body(
    guarded: tuple[RequestGuard, Recorder], key: str, path: str
) -> None:
    guard, app = guarded
    answer = exchange(guard, "POST", path, headers=auth(key), messages=_chunks(LIMIT))
    assert answer.status == 200
    assert app.body == b" " * LIMIT, "the whole body, up to the limit exactly, in one message"
    assert app.later == [{"type": "http.disconnect"}], "later events come from the server"


def test_a_streamed_body_is_cut_off_at_the_limit(guarded: tuple[RequestGuard, Recorder]) -> None:
    guard, app = guarded
    answer = exchange(
        guard, "POST", "/v1/recommendations", headers=auth(), messages=_chunks(50 * LIMIT)
    )
    assert answer.status == 413
    assert answer.json() == {
        "error": "payload_too_large",
        "detail": f"request body larger than {LIMIT} bytes (SPOTSEL_API_MAX_BODY_BYTES)",
    }
    assert answer.pulled == LIMIT // CHUNK + 1, "reading stops at the first byte over"
    assert app.calls == 0


def test_a_stalled_body_times_out(guarded: tuple[RequestGuard, Recorder]) -> None:
    guard, app = guarded
    started = time.monotonic()
    answer = exchange(
        guard, "POST", "/v1/recommendations", headers=auth(), messages=_chunks(CHUNK * 2)[:1],
        stall=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert answer.status == 408
    assert answer.json()["error"] == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert TIMEOUT <= elapsed < TIMEOUT + 1
    assert app.calls == 0


def test_a_client_gone_mid_body_gets_no_answer(guarded: tuple[RequestGuard, Recorder]) -> None:
    guard, app = guarded
    answer = exchange(
        guard, "POST", "/v1/recommendations", headers=auth(), messages=_chunks(CHUNK * 2)[:1]
    )
    assert answer.status is None
    assert app.calls == 0


def test_open_routes_and_unknown_paths_need_no_key_but_are_bounded(
    guarded: tuple[RequestGuard, Recorder],
) -> None:
    guard, app = guarded
    assert exchange(guard, "GET", "/healthz").status == 200
    assert exchange(guard, "POST", "/no/such/route", messages=_chunks(LIMIT)).status == 200
    assert exchange(guard, "POST", "/no/such/route", messages=_chunks(LIMIT + 1)).status == 413
    assert app.calls == 2


def test_without_auth_bodies_are_still_bounded(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'guard.db'}")
    app = create_app(_settings(tmp_path, api_auth=False), engine=engine)
    guard = RequestGuard(Recorder(), services=app.state.services, router=app.router)
    assert exchange(guard, "POST", "/v1/snapshot/refresh", messages=_chunks(LIMIT)).status == 200
    over = exchange(guard, "POST", "/v1/recommendations", messages=_chunks(LIMIT + 1))
    assert over.status == 413
    engine.dispose()


def test_route_scopes_follow_the_declared_dependencies(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path), engine=make_engine(f"sqlite:///{tmp_path / 'g.db'}"))
    scopes = {(r.path_format, m): r.scope for r in route_scopes(app.routes) for m in r.methods}
    assert scopes[("/v1/recommendations", "POST")] == "read"
    assert scopes[("/v1/snapshot/refresh", "POST")] == "write"
    # Added where the router is included, not on the route itself.
    assert scopes[("/v1/fleet-requests", "POST")] == "read"
    assert scopes[("/healthz", "GET")] is None
    assert scopes[("/openapi.json", "GET")] is None


def test_a_new_route_is_guarded_by_what_it_declares() -> None:
    """The guard knows no route by name: a route added tomorrow is covered the same way."""
    router = APIRouter(prefix="/v2")

    @router.post("/read")
    async def read(_: ReadAuth) -> None: ...

    @router.post("/write")
    async def write(_: WriteAuth) -> None: ...

    @router.post("/both")
    async def both(_: ReadAuth, __: WriteAuth) -> None: ...

    @router.post("/open")
    async def open_(body: dict[str, int]) -> None: ...

    admin = APIRouter(prefix="/v3")

    @admin.post("/reset")
    async def reset() -> None: ...

    app = FastAPI()
    app.include_router(router)
    app.include_router(admin, dependencies=[Depends(require_write)])
    scopes = {r.path_format: r.scope for r in route_scopes(app.routes)}
    assert scopes["/v3/reset"] == "write", "declared where the router is included"
    assert scopes["/v2/read"] == "read"
    assert scopes["/v2/write"] == "write"
    assert scopes["/v2/both"] == "write", "the widest scope wins"
    assert scopes["/v2/open"] is None


def test_through_the_app_a_malformed_body_without_a_key_is_401_not_422(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'guard.db'}")
    with TestClient(create_app(_settings(tmp_path), engine=engine)) as client:
        anonymous = client.post(
            "/v1/recommendations",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        keyed = client.post(
            "/v1/recommendations",
            content=b"{not json",
            headers={"Content-Type": "application/json", **auth()},
        )
    assert anonymous.status_code == 401, "the key is checked before the body is parsed"
    assert keyed.status_code == 422
    engine.dispose()
