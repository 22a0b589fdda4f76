"""HTTP routes, one module per resource. Each route is parse → call → respond.

Routes document the error answers they give with `answers(...)`; the answers given before a
route runs (the request guard's 401 / 403 / 408 / 413, an undecodable body, an overloaded
server) are added by `api.openapi`.
"""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody

__all__ = ["answers"]

# Why each error status happens; the body is always `ErrorBody`.
_REASONS = {
    400: "a value the schema cannot check is wrong (a cursor not issued here, a profile that "
    "fails its checks, no pool matching an output); `detail` says which",
    404: "no such resource",
    422: "invalid request; `detail` names the field",
    500: "generated output failed its own validation: a bug, logged, nothing is returned",
    503: "the database is unreachable (`database_unavailable`), its schema is missing "
    "(`schema_not_ready`: run `spotsel db upgrade`) or it holds no data yet (`no_data`)",
}


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route, e.g. ``responses=answers(422, 503)``."""
    return {status: {"model": ErrorBody, "description": _REASONS[status]} for status in statuses}
