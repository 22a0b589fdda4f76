"""`spotsel report`: the weekly recommendations report, written to a folder and recorded.

The report itself is built by `outputs.report.generate_report`; this module chooses the week,
loads the previous week's recommendations from the store (what the week-over-week section
compares with), writes ``report.html`` and ``report.md`` and records the week
(`core.reports.save_week`). `produce_report` is shared by the command, the scheduler's weekly
job and `spotsel demo`.

Nothing half-done is left behind: both files are written to temporary names first, the week is
recorded, and only then are the files renamed into place; a failure anywhere removes the
temporary files and leaves the folder and the store as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from core.clock import utcnow
from core.errors import ConfigError
from core.weeks import IsoWeek
from spotsel.consoles import err, out
from spotsel.state import app_state

if TYPE_CHECKING:  # the store (SQLAlchemy) loads when a report is produced, not to start the CLI
    from sqlalchemy import Engine

    from selector.discounts import OnDemandDiscounts

__all__ = [
    "LAST_WEEK",
    "REPORT_HTML",
    "REPORT_MARKDOWN",
    "WrittenReport",
    "produce_report",
    "report_command",
    "resolve_week",
]

REPORT_HTML: Final = "report.html"
REPORT_MARKDOWN: Final = "report.md"
# Generated files are documents meant to be read and shared, not secrets: rw-r--r--, whatever
# mkstemp's private default (0600) was (as outputs.writer does for manifests).
FILE_MODE: Final = 0o644
# `--week last`: the previous complete ISO week, so a job scheduled on Mondays (the deploy
# CronJob) names the week that just ended without date arithmetic in its shell.
LAST_WEEK: Final = "last"


@dataclass(frozen=True, slots=True)
class WrittenReport:
    """What one report run produced: its week, files, and what it compared with."""

    week: IsoWeek
    simulated: bool
    paths: tuple[Path, ...]
    compared_with: IsoWeek | None  # the previous week, when the store held its report


def resolve_week(text: str | None, *, now: datetime) -> IsoWeek:
    """``--week``: a week that has begun; none = the week ``now`` falls in; ``last`` = the week
    before it (the newest complete week)."""
    if text is None:
        return IsoWeek.containing(now)
    if text.strip().lower() == LAST_WEEK:
        return IsoWeek.containing(now).previous()
    week = IsoWeek.parse(text)
    if week.start > now:
        raise ConfigError(
            f"week {week} has not begun (it starts {week.start:%Y-%m-%d}; now {now:%Y-%m-%d})"
        )
    return week


def save_week(engine: Engine, *, week: str, generated_at: datetime, **report: Any) -> None:
    """`core.reports.save_week`, imported when a week is recorded (the store's tables)."""
    from core import reports

    reports.save_week(engine, week=week, generated_at=generated_at, **report)


def produce_report(
    engine: Engine,
    *,
    week: IsoWeek,
    profiles_file: Path,
    now: datetime,
    out_dir: Path | None,
    discounts: OnDemandDiscounts | None = None,
    note: Callable[[str], object] = lambda _line: None,
) -> WrittenReport:
    """Generate ``week``'s report as of ``now``, record it, and write it to ``out_dir`` (if
    given) as ``report.html`` and ``report.md``. ``note`` hears one line per stage."""
    from core.reports import load_week
    from outputs import load_profiles
    from outputs.report import generate_report
    from outputs.writer import StagedFiles, stage_files
    from selector.discounts import NO_DISCOUNTS

    profiles = load_profiles(profiles_file)
    previous_week = week.previous()
    previous = load_week(engine, week=str(previous_week))
    end = min(week.end, now)
    note(
        f"report {week}: {week.start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        f"{'' if end == week.end else ' (so far)'}, {len(profiles)} profiles, compared with "
        + (str(previous_week) if previous is not None else f"nothing ({previous_week} not stored)")
    )
    documents = generate_report(
        engine,
        week=week,
        profiles=profiles,
        now=now,
        previous=None if previous is None else previous.recommendations,
        discounts=NO_DISCOUNTS if discounts is None else discounts,
    )
    files = {REPORT_HTML: documents.html, REPORT_MARKDOWN: documents.markdown}
    staged = stage_files(out_dir, files) if out_dir is not None else StagedFiles(())
    try:
        save_week(
            engine,
            week=str(week),
            generated_at=now,
            simulated=documents.simulated,
            recommendations=documents.recommendations,
            html=documents.html,
            markdown=documents.markdown,
        )
    except BaseException:
        staged.discard()
        raise
    return WrittenReport(
        week=week,
        simulated=documents.simulated,
        paths=tuple(staged.commit()),
        compared_with=previous_week if previous is not None else None,
    )


def report_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for report.html and report.md (created).")
    ],
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            metavar="YYYY-Www|last",
            help="ISO week to report, e.g. 2026-W48 (weeks run Monday 00:00 UTC to the next "
            "Monday), or 'last' for the previous complete week. [default: the current week "
            "so far, Monday 00:00 UTC to now]",
        ),
    ] = None,
    profiles: Annotated[
        Path | None,
        typer.Option(
            "--profiles",
            help="Workload profiles YAML. [default: the example profiles shipped with "
            "spotsel, the same as examples/profiles.yaml]",
        ),
    ] = None,
) -> None:
    """Write the weekly report (HTML + Markdown) and record the week's recommendations, so next
    week's report can say what changed."""
    from core.db import require_schema
    from spotsel.commands.outputs import example_profiles

    now = utcnow()
    chosen = resolve_week(week, now=now)  # a bad week is refused before anything is touched
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is not a directory")
    state = app_state(ctx)
    engine = state.engine()
    require_schema(engine)
    discounts = state.get_settings().discounts

    def progress(line: str) -> None:
        err.print(f"spotsel: {line}", markup=False, soft_wrap=True)

    if profiles is not None:
        written = produce_report(
            engine,
            week=chosen,
            profiles_file=profiles,
            now=now,
            out_dir=out_dir,
            discounts=discounts,
            note=progress,
        )
    else:
        with example_profiles() as bundled:
            written = produce_report(
                engine,
                week=chosen,
                profiles_file=bundled,
                now=now,
                out_dir=out_dir,
                discounts=discounts,
                note=progress,
            )
    if written.simulated:
        err.print(
            "spotsel: note: the report was built from SIMULATED data and says so on its first "
            "line; it is no recommendation for a real cluster",
            markup=False,
            soft_wrap=True,
        )
    for path in written.paths:
        out.print(f"wrote {path}", markup=False)
    out.print(f"recorded week {written.week} (GET /v1/reports/{written.week})", markup=False)
