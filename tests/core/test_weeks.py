"""IsoWeek: parsing, window bounds across year ends, previous/next, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import ConfigError
from core.weeks import IsoWeek


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # why: an ordinary week in the middle of a year
        ("2026-W48", datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
        # why: ISO week 1 of 2026 starts in December 2025 (1 Jan 2026 is a Thursday)
        ("2026-W01", datetime(2025, 12, 29, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC)),
        # why: 2020 has 53 ISO weeks; week 53 ends in January 2021
        ("2020-W53", datetime(2020, 12, 28, tzinfo=UTC), datetime(2021, 1, 4, tzinfo=UTC)),
        # why: a lower-case w is accepted
        ("2026-w02", datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)),
    ],
)
def test_window(text: str, start: datetime, end: datetime) -> None:
    week = IsoWeek.parse(text)
    assert (week.start, week.end) == (start, end)
    assert week.start.weekday() == 0
    assert str(IsoWeek.parse(str(week))) == str(week)


def test_previous_and_next_cross_year_ends() -> None:
    assert str(IsoWeek.parse("2026-W01").previous()) == "2025-W52"
    assert str(IsoWeek.parse("2021-W01").previous()) == "2020-W53"
    assert str(IsoWeek.parse("2020-W53").next()) == "2021-W01"
    assert IsoWeek.parse("2026-W48").previous().end == IsoWeek.parse("2026-W48").start


def test_containing_and_contains() -> None:
    sunday_night = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    week = IsoWeek.containing(sunday_night)
    assert str(week) == "2026-W48"
    assert week.contains(sunday_night)
    assert not week.contains(week.end)
    assert week.contains(week.start)


@pytest.mark.parametrize(
    "text",
    ["2026-48", "2026W48", "26-W48", "2026-W5", "2026-W00", "2026-W54", "2025-W53", ""],
)
def test_bad_weeks_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        IsoWeek.parse(text)
