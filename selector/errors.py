"""The root of the project's exception tree, and the selector's branch of it.

`SpotselError` is the one root every error of ours derives from (it lives here because
`selector` is the bottom layer; `core.errors` re-exports it), so the CLI and the API catch one
class. Everything the selector raises on bad input derives from `SelectorError`;
`RequirementsError` becomes HTTP 4xx ``{"error": "invalid_requirements", "detail": ...}``.
"""

from __future__ import annotations

__all__ = [
    "PoolIndexError",
    "RequirementsError",
    "SelectorError",
    "SignalError",
    "SpotselError",
]


class SpotselError(Exception):
    """The root: the message is a single line a user can act on; `code` is its stable name."""

    code = "spotsel_error"


class SelectorError(SpotselError):
    """Base class of every error raised by `selector`."""

    code = "unprocessable_request"


class RequirementsError(SelectorError):
    """A requirements mapping is invalid; `field` names the offending key."""

    code = "invalid_requirements"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def to_dict(self) -> dict[str, str]:
        """Stable body for the REST error handler."""
        return {"error": self.code, "field": self.field, "detail": str(self)}


class SignalError(SelectorError):
    """A raw cloud signal (placement score, interruption label) cannot be interpreted."""

    def __init__(self, cloud: str, raw: object, reason: str) -> None:
        super().__init__(f"{cloud} signal {raw!r}: {reason}")
        self.cloud = cloud
        self.raw = raw
        self.reason = reason


class PoolIndexError(SelectorError):
    """PoolIndex or ranking input is inconsistent (duplicate pool keys, naive datetimes)."""
