"""Numbers and times as people read them, shared by the HTML and Markdown renderers.

Currency with thousands separators ($1,234.56), per-hour prices to a hundredth of a cent,
percentages with one decimal and a space before the sign (12.3 %), dates in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from core.clock import as_utc

__all__ = [
    "age",
    "date",
    "hazard",
    "hours",
    "money",
    "pct",
    "per_hour",
    "signed_money",
    "signed_pct",
    "when",
]

# A per-hour spot price moves in tenths of a cent; four decimals keep $0.0123/h readable.
PRICE_DECIMALS: Final = 4
# λ in interruptions per instance-hour spans 0.001 .. 1: three significant digits.
HAZARD_DIGITS: Final = 3
MISSING: Final = "—"


def money(value: float | None) -> str:
    """$1,234.56 (negative: −$12.00); None → —."""
    if value is None:
        return MISSING
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def signed_money(value: float | None) -> str:
    """A difference: +$12.00, −$3.50; None → —."""
    if value is None:
        return MISSING
    return ("−" if value < 0 else "+") + f"${abs(value):,.2f}"


def per_hour(value: float | None) -> str:
    """$0.4123/h."""
    if value is None:
        return MISSING
    return f"${value:,.{PRICE_DECIMALS}f}/h"


def pct(fraction: float | None) -> str:
    """0.123 → 12.3 %."""
    if fraction is None:
        return MISSING
    return f"{fraction * 100:,.1f} %"


def signed_pct(fraction: float | None) -> str:
    """1.0 → +100.0 %, -0.25 → −25.0 %."""
    if fraction is None:
        return MISSING
    sign = "+" if fraction >= 0 else "−"
    return f"{sign}{abs(fraction) * 100:,.1f} %"


def hazard(rate: float | None) -> str:
    """λ with three significant digits: 0.0412/h."""
    if rate is None:
        return MISSING
    return f"{rate:.{HAZARD_DIGITS}g}/h"


def hours(value: float) -> str:
    """1,234.5 h."""
    return f"{value:,.1f} h"


def when(moment: datetime | None) -> str:
    """2026-11-23 14:05 UTC."""
    if moment is None:
        return MISSING
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def date(moment: datetime) -> str:
    """Mon 23 Nov."""
    return as_utc(moment).strftime("%a %d %b")


def age(delta: timedelta) -> str:
    """How old: 45 min, 5.5 h, 3.2 days."""
    seconds = delta.total_seconds()
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
