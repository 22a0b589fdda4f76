"""`spotsel scheduler`: the scheduled collections in their own process, one leader per database.

Beside the collections it runs the weekly report (SPOTSEL_REPORT_SCHEDULE, default Mondays 06:00
UTC), which reports the ISO week that ended before it fires; a firing missed while no scheduler
led is made up as soon as one leads. The report job is built here, the composition root, and
handed to the scheduler as a callable (`collectors` may not import `outputs`).

SIGTERM or Ctrl-C stops it after the collections that are running; a second Ctrl-C interrupts.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from core.clock import utcnow
from spotsel.consoles import err
from spotsel.state import app_state

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from collectors.scheduler import CollectionScheduler
    from collectors.tasks import ScheduledTask
    from core.settings import Settings

__all__ = ["REPORT_TASK", "report_task", "scheduler"]

REPORT_TASK = "report"


def scheduler(ctx: typer.Context) -> None:
    """Run the scheduled collections (SPOTSEL_SCHEDULE) until SIGTERM or Ctrl-C; one leader."""
    from collectors import SOURCES
    from collectors.scheduler import CollectionScheduler, leader_lock
    from core.db import require_schema

    state = app_state(ctx)
    engine = state.engine()
    require_schema(engine)
    runner = CollectionScheduler(
        engine=engine,
        settings=state.get_settings(),
        sources=SOURCES,
        clock=utcnow,
        lock=leader_lock(engine),
        tasks=_tasks(engine, state.get_settings()),
    )
    _serve_until_signalled(runner)
    err.print("scheduler: stopped")


def _tasks(engine: Engine, settings: Settings) -> dict[str, ScheduledTask]:
    task = report_task(engine, settings)
    return {} if task is None else {REPORT_TASK: task}


def report_task(engine: Engine, settings: Settings) -> ScheduledTask | None:
    """The weekly report job of ``settings`` (None when SPOTSEL_REPORT_SCHEDULE is empty)."""
    from collectors.tasks import ScheduledTask, first_firing_since
    from core.cron import parse_cron
    from core.reports import collected_before, load_week
    from core.weeks import IsoWeek
    from spotsel.commands.outputs import example_profiles
    from spotsel.commands.report import produce_report

    if not settings.report_schedule:
        return None
    cron = parse_cron(settings.report_schedule)

    def run(now: datetime) -> str:
        week = IsoWeek.containing(now).previous()  # the week that ended before this firing
        out_dir = None if settings.report_dir is None else settings.report_dir / str(week)
        if settings.report_profiles is not None:
            written = produce_report(
                engine,
                week=week,
                profiles_file=settings.report_profiles,
                now=now,
                out_dir=out_dir,
                discounts=settings.discounts,
            )
        else:
            with example_profiles() as bundled:
                written = produce_report(
                    engine,
                    week=week,
                    profiles_file=bundled,
                    now=now,
                    out_dir=out_dir,
                    discounts=settings.discounts,
                )
        where = f", wrote {out_dir}" if out_dir is not None else ""
        compared = written.compared_with or "nothing stored"
        return f"week {week} recorded (compared with {compared}){where}"

    def missed(now: datetime) -> bool:
        """This week's firing has passed, the week before has no complete report, and the
        store holds data of it (a fresh deployment does not start with an empty report)."""
        this_week = IsoWeek.containing(now)
        fired = first_firing_since(cron, this_week.start)
        if fired is None or fired > now:
            return False
        stored = load_week(engine, week=str(this_week.previous()))
        if stored is not None and stored.generated_at >= this_week.start:
            return False
        return collected_before(engine, this_week.start)

    return ScheduledTask(cron=cron, run=run, missed=missed)


def _serve_until_signalled(runner: CollectionScheduler) -> None:
    """Serve in a thread until SIGTERM or SIGINT stops it cleanly; a second Ctrl-C interrupts.

    The main thread only waits: a handler that stopped the scheduler from inside one of its own
    waits could deadlock on the lock that wait holds.
    """
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            runner.serve(
                on_state=lambda line: err.print(f"scheduler: {line}", markup=False, soft_wrap=True)
            )
        except BaseException as exc:  # re-raised in the main thread: one line, right exit code
            failed.append(exc)

    def on_signal(signum: int, _frame: object) -> None:
        err.print(f"scheduler: {signal.Signals(signum).name}: stopping after running collections")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        runner.stop()

    # Daemon: after a second Ctrl-C the process exits without waiting for a collection.
    worker = threading.Thread(target=serve, name="spotsel-scheduler", daemon=True)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.start()
        worker.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise failed[0]
