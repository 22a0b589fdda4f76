"""The one place errors become HTTP: every failure answers ``{"error": code, "detail": ...}``.

Domain errors (selector, core) keep their own classes; this module maps them to a status.
API-only errors (`ApiError` subclasses) carry their status themselves. Database failures are
told apart here: a missing or outdated schema is 503 `schema_not_ready` on both engines, an
unreachable database 503 `database_unavailable`. Nothing a client sends can produce a 500:
validation, malformed JSON and unknown routes are all 4xx, and an unexpected exception is
logged here and answered without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    ConfigError,
    DatabaseError,
    DatabaseUnavailableError,
    SchemaNotReadyError,
    SpotselError,
)
from outputs.errors import InvalidOutputError
from selector import RequirementsError, SelectorError

__all__ = [
    "ApiError",
    "ForbiddenError",
    "InvalidCursorError",
    "InvalidRangeError",
    "NoDataError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RequestTimeoutError",
    "UnauthorizedError",
    "database_failure",
    "error_body",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger(__name__)


class ApiError(SpotselError):
    """An error only the HTTP interface raises; carries its own status code."""

    status: ClassVar[int] = 400
    code = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.headers = headers


class UnauthorizedError(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, detail: str) -> None:
        # RFC 6750 §3: a 401 names the scheme the client should use.
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="spotsel"'})


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class InvalidCursorError(ApiError):
    status = 400
    code = "invalid_cursor"


class InvalidRangeError(ApiError):
    status = 422
    code = "invalid_range"


class PayloadTooLargeError(ApiError):
    status = 413
    code = "payload_too_large"


class RequestTimeoutError(ApiError):
    """The client did not finish sending its request body in time."""

    status = 408
    code = "request_timeout"


class NoDataError(ApiError):
    """The store holds nothing to answer from yet (no collection has landed)."""

    status = 503
    code = "no_data"


# Core errors by status; the most specific class listed first wins.
_CORE_STATUS: tuple[tuple[type[SpotselError], int], ...] = (
    (DatabaseUnavailableError, 503),
    (SchemaNotReadyError, 503),
    (DatabaseError, 503),
    (ConfigError, 500),
    # Generated output that fails its own schema is our bug, not the client's.
    (InvalidOutputError, 500),
)
# Generic HTTP statuses (routing, methods, body parsing) -> stable codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def error_body(code: str, detail: Any, **extra: Any) -> dict[str, Any]:
    return {"error": code, **extra, "detail": detail}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


def error_response(exc: ApiError, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """The answer to `exc` (for code outside the app's handlers, e.g. a middleware)."""
    return _json(
        exc.status, error_body(exc.code, str(exc)), {**(exc.headers or {}), **(headers or {})}
    )


# What each engine says when a table or column this code reads does not exist: the schema is
# missing or older than the code (PostgreSQL SQLSTATE undefined_table / undefined_column).
_UNDEFINED_SQLSTATES = frozenset({"42P01", "42703"})
_SQLITE_UNDEFINED = ("no such table", "no such column")
SCHEMA_MISSING = (
    "the database has no spotsel schema, or an older one than this server: run `spotsel db upgrade`"
)
UNREACHABLE = "the database is not reachable"


def database_failure(exc: SQLAlchemyError) -> DatabaseError | None:
    """The project error a database failure means, or None when it is a bug of ours."""
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        message = str(exc.orig).lower()
        if sqlstate in _UNDEFINED_SQLSTATES or message.startswith(_SQLITE_UNDEFINED):
            return SchemaNotReadyError(SCHEMA_MISSING)
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError):
        return DatabaseUnavailableError(UNREACHABLE)
    return None


def _field(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _problem(error: dict[str, Any]) -> dict[str, str]:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        # FastAPI puts the character offset in `loc`; say it in the message instead.
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (error.get("ctx") or {}).get("error", "malformed JSON")
        return {"field": "body", "message": f"invalid JSON{where}: {reason}"}
    return {"field": _field(loc), "message": str(error.get("msg", "invalid value"))}


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    return _json(422, error_body("invalid_request", problems))


async def _requirements(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequirementsError)
    return _json(422, exc.to_dict())


async def _selector(_: Request, exc: Exception) -> JSONResponse:
    return _json(422, error_body("unprocessable_request", str(exc)))


async def _api(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json(exc.status, error_body(exc.code, str(exc)), exc.headers)


async def _spotsel(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpotselError)
    status = next((s for cls, s in _CORE_STATUS if isinstance(exc, cls)), 400)
    if status >= 500:
        log.error("request failed: %s: %s", type(exc).__name__, exc)
    return _json(status, error_body(exc.code, str(exc)))


async def _database(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SQLAlchemyError)
    failure = database_failure(exc)
    if failure is None:
        return await _unexpected(request, exc)
    # Not the client's fault: it should retry (or an operator should migrate), not change it.
    log.error("database error during a request: %s: %s", type(exc).__name__, failure.code)
    return _json(503, error_body(failure.code, str(failure)))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "client_error" if exc.status_code < 500 else "error")
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such route"
    return _json(exc.status_code, error_body(code, detail), getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, error_body("internal_error", "an unexpected error occurred; it was logged"))


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping on `app` (Starlette picks the most specific class)."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(RequirementsError, _requirements)
    app.add_exception_handler(SelectorError, _selector)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(SpotselError, _spotsel)
    app.add_exception_handler(SQLAlchemyError, _database)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
