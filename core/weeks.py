"""ISO weeks as a value: the window a weekly report covers.

A week is named ``YYYY-Www`` (ISO 8601: weeks start on Monday, week 1 holds the year's first
Thursday) and spans Monday 00:00 UTC up to, not including, the next Monday 00:00 UTC. Pure: no
clock, no database — callers pass ``now`` when they want "this week".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.clock import as_utc
from core.errors import ConfigError

__all__ = ["WEEK_LENGTH", "IsoWeek"]

WEEK_LENGTH = timedelta(days=7)

# "2026-W48": four-digit ISO year, literal W, two-digit week. Lower-case w is accepted because
# people type it; the canonical form (str()) is upper-case.
_WEEK_PATTERN = re.compile(r"^(\d{4})-[Ww](\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO week; ``year`` is the ISO year (which differs from the calendar year near 1 Jan)."""

    year: int
    week: int

    def __post_init__(self) -> None:
        last = date(self.year, 12, 28).isocalendar().week  # 28 Dec is always in the last week
        if not 1 <= self.week <= last:
            raise ConfigError(f"ISO year {self.year} has weeks 1..{last}, not {self.week}")

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``"2026-W48"`` → ``IsoWeek(2026, 48)``; anything else is a one-line ``ConfigError``."""
        match = _WEEK_PATTERN.match(text.strip())
        if match is None:
            raise ConfigError(f"week must look like 2026-W48 (ISO year-week), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime) -> IsoWeek:
        """The ISO week (in UTC) that ``moment`` falls in."""
        iso = as_utc(moment).date().isocalendar()
        return cls(iso.year, iso.week)

    @property
    def start(self) -> datetime:
        """Monday 00:00 UTC, inclusive."""
        monday = date.fromisocalendar(self.year, self.week, 1)
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 UTC, exclusive."""
        return self.start + WEEK_LENGTH

    def previous(self) -> IsoWeek:
        return IsoWeek.containing(self.start - WEEK_LENGTH)

    def next(self) -> IsoWeek:
        return IsoWeek.containing(self.end)

    def contains(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) < self.end

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"
