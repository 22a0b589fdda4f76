"""HTTP routes, one module per resource. Each route is parse → call → respond."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody

__all__ = ["ERRORS"]

# Documented error answers shared by the /v1 routes (the body is always `ErrorBody`).
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or invalid API key"},
    403: {"model": ErrorBody, "description": "the key lacks the scope"},
    422: {"model": ErrorBody, "description": "invalid request; `detail` names the field"},
    503: {"model": ErrorBody, "description": "database unavailable or no data yet"},
}
