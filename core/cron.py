"""Five-field crontab expressions (minute hour day-of-month month day-of-week), checked.

Settings hold schedules such as the weekly report's ``0 6 * * 1`` (Mondays 06:00 UTC); this
module refuses a malformed one when the settings load, in one line, and gives the scheduler the
fields APScheduler's ``CronTrigger`` takes. Day-of-week numbers follow crontab (0 and 7 are
Sunday, 1 is Monday) and are handed over as day *names*: APScheduler 3 numbers days from Monday
= 0, so ``CronTrigger.from_crontab("0 6 * * 1")`` fires on Tuesdays (its issue #286). Pure: no
clock, no scheduler import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["CronSpec", "parse_cron"]

# (name, lowest, highest) of the first four fields, crontab's bounds.
_FIELDS: Final = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12))
# Crontab's day numbers: 0 = Sunday ... 6 = Saturday, 7 = Sunday again.
_DAY_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_MAX: Final = 7
# One list item of a numeric field: *, */n, a, a-b, a-b/n.
_ITEM = re.compile(r"^(?:\*|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?$")
_EXAMPLE: Final = "'0 6 * * 1' (minute hour day month weekday: Mondays 06:00)"


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A checked expression: its text and the ``CronTrigger`` keyword arguments it means."""

    text: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str

    def trigger_fields(self) -> dict[str, str]:
        """``CronTrigger(**spec.trigger_fields(), timezone=UTC)``."""
        return {
            "minute": self.minute,
            "hour": self.hour,
            "day": self.day,
            "month": self.month,
            "day_of_week": self.day_of_week,
        }


def _check_numeric(name: str, text: str, low: int, high: int) -> str:
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"{name} field {text!r}: {item!r} is not *, N, N-M or a /step")
        first, last, step = (int(g) if g is not None else None for g in match.groups())
        for value in (first, last):
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} field {text!r}: {value} is outside {low}-{high}")
        if first is not None and last is not None and first > last:
            raise ValueError(f"{name} field {text!r}: range {first}-{last} runs backwards")
        if step == 0:
            raise ValueError(f"{name} field {text!r}: a step of 0 never advances")
    return text


def _day_number(token: str, text: str) -> int:
    name = token.lower()
    if name in _DAY_NAMES:
        return _DAY_NAMES.index(name)
    if not token.isdigit() or int(token) > _DAY_MAX:
        raise ValueError(f"weekday field {text!r}: {token!r} is not 0-7 or sun..sat")
    return int(token)  # 7 stays 7 here, so "5-7" (Friday to Sunday) is a forward range


def _days_of_week(text: str) -> str:
    """The weekday field as APScheduler day names (crontab numbering in, names out)."""
    if text == "*":
        return "*"
    days: set[int] = set()
    for item in text.split(","):
        if "/" in item:
            raise ValueError(f"weekday field {text!r}: steps are not supported; list the days")
        first, _, last = item.partition("-")
        start = _day_number(first, text)
        end = _day_number(last, text) if last else start
        if end < start:
            raise ValueError(f"weekday field {text!r}: range {item} runs backwards")
        days.update(day % len(_DAY_NAMES) for day in range(start, end + 1))  # 7 is Sunday
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def parse_cron(text: str) -> CronSpec:
    """Check a five-field crontab expression; ``ValueError`` with one line if it is not one."""
    fields = text.split()
    if len(fields) != len(_FIELDS) + 1:
        raise ValueError(f"{text!r} has {len(fields)} fields, not 5: e.g. {_EXAMPLE}")
    minute, hour, day, month = (
        _check_numeric(name, value, low, high)
        for (name, low, high), value in zip(_FIELDS, fields, strict=False)
    )
    if day != "*" and fields[-1] != "*":
        # crontab fires when either matches, APScheduler only when both do: refuse the ambiguity.
        raise ValueError(f"{text!r} restricts both day of month and weekday: restrict one")
    return CronSpec(
        text=" ".join(fields),
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_days_of_week(fields[-1]),
    )
