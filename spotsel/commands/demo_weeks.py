"""The demo's two simulated weeks: the market as it stood last week, and both weeks' reports.

The simulated market is a pure function of seed, pool and time, so `spotsel demo` collects it at
a few market times of the previous ISO week before collecting it now; last week's report is
generated and recorded first, then this week's, which compares with it (the week-over-week
section has something to say). This week's report lands in the demo folder as ``report.html``
and ``report.md``, last week's in ``reports/<week>/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from core.weeks import IsoWeek
from spotsel.commands.report import produce_report
from spotsel.state import AppState

__all__ = ["LAST_WEEK_MARKET_TIMES", "collect_last_week", "write_demo_reports"]

# Market times within the previous week, from its start: Monday 00:00 and Thursday 12:00 give
# the price trend a start and a middle; Sunday 23:00 is the market at the week's end, which the
# week's recommendation is ranked on (a price older than the ranking's age limit would leave the
# profiles with no pool). Three collections keep the demo quick.
LAST_WEEK_MARKET_TIMES: Final = (
    timedelta(0),
    timedelta(days=3, hours=12),
    timedelta(days=6, hours=23),
)
# Where last week's report goes inside the demo folder.
PAST_REPORTS_DIR: Final = "reports"


def last_week_times(now: datetime) -> list[datetime]:
    """The market times of the week before ``now``'s, oldest first."""
    start = IsoWeek.containing(now).previous().start
    return [start + offset for offset in LAST_WEEK_MARKET_TIMES]


def collect_last_week(
    state: AppState, *, seed: int | None, scale: int | None, now: datetime
) -> None:
    """The simulated market at last week's market times (before the market of ``now`` is
    collected, so the newest collection is the current one)."""
    from spotsel.commands.collect import run_collection

    for as_of in last_week_times(now):
        run_collection(state, "sim", {"seed": seed, "scale": scale, "as_of": as_of})


def write_demo_reports(
    state: AppState, folder: Path, *, profiles_file: Path, now: datetime
) -> Sequence[Path]:
    """Last week's report, then this week's (compared with last week's); the files written."""
    engine = state.engine()
    discounts = state.get_settings().discounts
    this_week = IsoWeek.containing(now)
    last_week = this_week.previous()
    paths: list[Path] = []
    for week, out_dir in (
        (last_week, folder / PAST_REPORTS_DIR / str(last_week)),
        (this_week, folder),
    ):
        written = produce_report(
            engine,
            week=week,
            profiles_file=profiles_file,
            now=now,
            out_dir=out_dir,
            discounts=discounts,
        )
        paths.extend(written.paths)
    return paths
