"""Errors of the output builders (a `SelectorError`, mapped to the project's errors at the edge)."""

from __future__ import annotations

from selector.errors import SelectorError

__all__ = ["OutputError"]


class OutputError(SelectorError):
    """An output cannot be built from this ranking (no pool, too many overrides, bad options)."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject
        self.reason = reason
