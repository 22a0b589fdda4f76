"""The published contract (``/openapi.json``) says what this server does, no more, no less.

FastAPI documents each operation from its route: parameters, body, the answers the route
declares. This module adds the answers given before a route runs: `api.guard`'s — 401 where a
key is needed, 403 where it needs the write scope, 408 and 413 where a body is read — and
FastAPI's 400 for a body it cannot decode, and the server's plain-text 503 when a process is
at `Settings.api_max_connections`. With auth off (``spotsel serve --no-auth``) it removes the
security scheme and the auth answers, so the document never asks for a key the server does
not check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from api.guard import route_scopes

__all__ = ["document_guard", "install_openapi"]

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
AUTH_STATUSES = ("401", "403")
# uvicorn's own answer when a process is at its connection limit.
OVERLOADED = {"text/plain": {"schema": {"type": "string", "example": "Service Unavailable"}}}
OVERLOADED_REASON = "the server is at its connection limit (plain text); retry later"


def _answer(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": ERROR_BODY}},
        **extra,
    }


def _guard_answers(*, max_body_bytes: int, timeout_seconds: float) -> dict[str, dict[str, Any]]:
    return {
        "401": _answer(
            "missing or invalid API key (`Authorization: Bearer <key>`)",
            headers={
                "WWW-Authenticate": {
                    "description": "the scheme to authenticate with (RFC 6750)",
                    "schema": {"type": "string"},
                }
            },
        ),
        "403": _answer("the key has the read scope; this operation needs write"),
        "400": _answer("the body could not be decoded (e.g. it is not UTF-8)"),
        "408": _answer(f"the request body did not arrive within {timeout_seconds:g} s"),
        "413": _answer(f"the request body is larger than {max_body_bytes} bytes"),
    }


def document_guard(
    document: dict[str, Any],
    routes: Iterable[BaseRoute],
    *,
    auth: bool,
    max_body_bytes: int,
    timeout_seconds: float,
) -> None:
    """Add the answers given before a route runs to `document`, in place (see module doc)."""
    answers = _guard_answers(max_body_bytes=max_body_bytes, timeout_seconds=timeout_seconds)
    for route in route_scopes(list(routes)):
        if not route.documented:
            continue
        scope = route.scope
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if not auth:
                operation.pop("security", None)
                for status in AUTH_STATUSES:
                    responses.pop(status, None)
            elif scope is not None:
                responses["401"] = answers["401"]
                if scope == "write":
                    responses["403"] = answers["403"]
            if "requestBody" in operation:
                responses.setdefault("400", answers["400"])  # a route's own reason stays
                responses["408"] = answers["408"]
                responses["413"] = answers["413"]
            _add_overloaded(responses)
    if not auth:
        document.get("components", {}).pop("securitySchemes", None)


def _add_overloaded(responses: dict[str, Any]) -> None:
    unavailable = responses.setdefault("503", {"description": OVERLOADED_REASON})
    if unavailable["description"] != OVERLOADED_REASON:
        unavailable["description"] += f"; or {OVERLOADED_REASON}"
    unavailable.setdefault("content", {}).update(OVERLOADED)


def install_openapi(
    app: FastAPI, *, auth: bool, max_body_bytes: int, timeout_seconds: float
) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) return the completed document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # FastAPI's own, cached on app.openapi_schema
            document_guard(
                document,
                app.routes,
                auth=auth,
                max_body_bytes=max_body_bytes,
                timeout_seconds=timeout_seconds,
            )
            return document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
