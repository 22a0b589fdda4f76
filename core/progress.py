"""A small progress protocol: long work reports stages and steps; the CLI draws the bars."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullProgress", "Progress"]


class Progress(Protocol):
    def stage(self, description: str, total: int | None) -> None:
        """Start a new stage of ``total`` steps (None = unknown)."""

    def advance(self, steps: int = 1) -> None:
        """Mark ``steps`` more steps of the current stage done."""


class NullProgress:
    """Progress that goes nowhere, for tests, the API and the scheduler."""

    def stage(self, description: str, total: int | None) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None
