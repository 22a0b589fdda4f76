"""Option types shared by several commands."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OutputFormat"]


class OutputFormat(StrEnum):
    """``--output``: a table for people, JSON for scripts."""

    TABLE = "table"
    JSON = "json"
