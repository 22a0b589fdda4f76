"""The selector's exception tree.

Everything the selector raises on bad input derives from `SelectorError`, so callers
(REST handler, CLI) can map it in one place; `RequirementsError` becomes HTTP 4xx
``{"error": "invalid_requirements", "detail": ...}``.
"""

from __future__ import annotations

__all__ = ["PoolIndexError", "RequirementsError", "SelectorError", "SignalError"]


class SelectorError(Exception):
    """Base class of every error raised by `selector`."""


class RequirementsError(SelectorError):
    """A requirements mapping is invalid; `field` names the offending key."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def to_dict(self) -> dict[str, str]:
        """Stable body for the REST error handler."""
        return {"error": "invalid_requirements", "field": self.field, "detail": str(self)}


class SignalError(SelectorError):
    """A raw cloud signal (placement score, interruption label) cannot be interpreted."""

    def __init__(self, cloud: str, raw: object, reason: str) -> None:
        super().__init__(f"{cloud} signal {raw!r}: {reason}")
        self.cloud = cloud
        self.raw = raw
        self.reason = reason


class PoolIndexError(SelectorError):
    """PoolIndex or ranking input is inconsistent (duplicate pool keys, naive datetimes)."""
