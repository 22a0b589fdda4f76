"""Shared fixtures for selector tests: a fixed clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.selector.factories import NOW


@pytest.fixture
def now() -> datetime:
    """The fixed clock every selector test ranks at."""
    return NOW
