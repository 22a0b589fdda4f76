"""Every request is bounded before the app reads its body: the key first, then size and time.

FastAPI reads and parses a request body before it runs a route's dependencies, so without this
an anonymous client could make the server receive and parse any amount of data before its 401.
`RequestGuard` is a pure ASGI middleware that runs first:

1. a route that declares an auth dependency (`api.deps.required_scope`) is authenticated from
   the ``Authorization`` header alone: 401 / 403 before a byte of the body is read (the
   dependency still runs in the route: it is what FastAPI documents and tests override);
2. a declared ``Content-Length`` over `Settings.api_max_body_bytes` is answered 413 at once;
3. the body is read here, counted against the same limit as it streams (chunked bodies too)
   and against `Settings.api_body_read_timeout_seconds` for the whole read (408), then handed
   to the app from memory.

Refusals carry the usual ``{"error", "detail"}`` body and ``Connection: close``: the server
then closes the connection instead of receiving the rest of an unread body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import authenticate, bearer_token, required_scope
from api.errors import ApiError, PayloadTooLargeError, RequestTimeoutError, error_response
from api.services import Services

__all__ = ["RequestGuard", "RouteScope", "route_scopes"]

# More digits than this cannot be a length we accept (and would be slow to convert).
MAX_LENGTH_DIGITS = 18


@dataclass(frozen=True, slots=True)
class RouteScope:
    """One HTTP route as served (router prefixes applied) and the key scope it needs."""

    matcher: Route
    path_format: str
    methods: frozenset[str]
    scope: str | None
    documented: bool


def _never_called() -> Response:  # a matcher's endpoint: matchers only match
    raise NotImplementedError


def route_scopes(routes: Sequence[BaseRoute]) -> list[RouteScope]:
    """Every HTTP route of an app in routing order, with the scope its dependencies need."""
    found = []
    for context in iter_route_contexts(routes):
        path, methods = context.path, context.methods
        if path is None or not methods:
            continue  # websockets, mounts: nothing of ours
        found.append(
            RouteScope(
                matcher=Route(path, _never_called, methods=sorted(methods)),
                path_format=context.path_format or path,
                methods=frozenset(methods),
                scope=required_scope(getattr(context, "dependant", None)),
                documented=bool(getattr(context, "include_in_schema", False)),
            )
        )
    return found


class RequestGuard:
    """Authenticate, then read the body within the size limit and the read timeout."""

    def __init__(self, app: ASGIApp, *, services: Services, router: Router) -> None:
        self._app = app
        self._services = services
        self._router = router
        self._max_bytes = services.settings.api_max_body_bytes
        self._timeout = services.settings.api_body_read_timeout_seconds
        # Built on the first request, when every router has been included.
        self._routes: list[RouteScope] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            self._authorize(scope)
            self._check_declared_length(scope)
            body = await self._read_body(receive)
        except ApiError as exc:
            # The rest of the body is never read: end the connection with the answer.
            await error_response(exc, headers={"Connection": "close"})(scope, receive, send)
            return
        except ClientDisconnect:
            return
        await self._app(scope, _replay(body, receive), send)

    def _required_scope(self, scope: Scope) -> str | None:
        if self._routes is None:
            self._routes = route_scopes(self._router.routes)
        for route in self._routes:
            match, _ = route.matcher.matches(scope)
            if match is Match.FULL:
                return route.scope
        return None  # unknown route or method: the app answers 404 / 405 without the body

    def _authorize(self, scope: Scope) -> None:
        if not self._services.auth_enabled:
            return
        needed = self._required_scope(scope)
        if needed is not None:
            token = bearer_token(Headers(scope=scope).get("authorization"))
            authenticate(self._services, token, needed)

    def _check_declared_length(self, scope: Scope) -> None:
        declared = Headers(scope=scope).get("content-length")
        if declared is None:
            return
        declared = declared.strip()
        if not declared.isascii() or not declared.isdigit():
            raise ApiError(f"Content-Length {declared[:32]!r} is not a byte count")
        if len(declared) > MAX_LENGTH_DIGITS or int(declared) > self._max_bytes:
            raise self._too_large()

    def _too_large(self) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"request body larger than {self._max_bytes} bytes (SPOTSEL_API_MAX_BODY_BYTES)"
        )

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self._timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnect
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise self._too_large()
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise RequestTimeoutError(
                f"request body not received within {self._timeout:g} s "
                "(SPOTSEL_API_BODY_READ_TIMEOUT_SECONDS)"
            ) from None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the buffered body once, then the server's own events."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
