"""The boundary between a cloud's payload and our rows: malformed means `SourceDataError`.

Parsers index into JSON the cloud documents (``record["InstanceType"]``). When a payload breaks
that contract, the ``KeyError`` / ``TypeError`` / ``ValueError`` it raises is the *source's*
fault and becomes a `SourceDataError` naming the parser, so the region fails cleanly. The same
exceptions raised anywhere else are programming errors and stay what they are: a failed run
with a traceback in the log, never a quiet "partial".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from core.errors import SourceDataError
from core.limits import shorten

__all__ = ["MALFORMED", "refuses_malformed"]

P = ParamSpec("P")
R = TypeVar("R")

# What indexing, converting and iterating a malformed document raises.
MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {shorten(exc.args[0] if exc.args else '?')}"
    return f"{type(exc).__name__}: {shorten(str(exc))}"


def refuses_malformed(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a pure parser: a malformed payload raises `SourceDataError` naming ``what``."""

    def decorate(parser: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(parser)
        def parse(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return parser(*args, **kwargs)
            except MALFORMED as exc:
                raise SourceDataError(f"malformed {what}: {_reason(exc)}") from exc

        return parse

    return decorate
