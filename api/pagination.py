"""Keyset pagination: opaque cursors that hold the last key of the previous page.

A key cursor (not an offset) keeps pages stable while collections add rows: no duplicates
and no gaps for rows that existed when paging started. Cursors are URL-safe base64 of a
small JSON list; anything else is a 400 ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import URL

from api.errors import InvalidCursorError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_CURSOR_CHARS",
    "MAX_LIMIT",
    "ResultPage",
    "decode_cursor",
    "encode_cursor",
    "next_link",
]


@dataclass(frozen=True, slots=True)
class ResultPage:
    """One page of any listing, before it becomes a response model."""

    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


# A page of 500 pools is ~250 KB of JSON: large enough for bulk export, small enough to stream.
MAX_LIMIT: Final = 500
DEFAULT_LIMIT: Final = 100
# Real keys are a few short strings; a longer cursor is not one of ours.
MAX_CURSOR_CHARS: Final = 2_048


def encode_cursor(key: tuple[str, ...]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, parts: int) -> tuple[str, ...]:
    """The key inside `cursor`; raises `InvalidCursorError` for anything we did not issue."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursorError("cursor is too long; pass back the `next_cursor` you were given")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidCursorError(
            "cursor is not valid; pass back the `next_cursor` you were given"
        ) from None
    if (
        not isinstance(value, list)
        or len(value) != parts
        or not all(isinstance(v, str) for v in value)
    ):
        raise InvalidCursorError("cursor does not belong to this listing")
    return tuple(value)


def next_link(url: URL, cursor: str | None) -> str | None:
    """`url` (path + query) with its cursor replaced, or None on the last page."""
    if cursor is None:
        return None
    following = url.remove_query_params(["cursor"]).include_query_params(cursor=cursor)
    return f"{following.path}?{following.query}"
