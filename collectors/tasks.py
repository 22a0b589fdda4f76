"""Calendar tasks the scheduler runs beside the collections (the weekly report).

A collection runs on an interval; a task runs at crontab times (`core.cron`, in UTC), e.g.
every Monday 06:00. The scheduler knows a task only as this value: what to run, when, and
whether a firing was missed while no scheduler led (then it runs once as soon as one leads).
The work itself is injected by the composition root (`spotsel/commands/scheduler.py`), so this
package needs nothing of the layers above it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.triggers.cron import CronTrigger

from collectors.runner import error_summary
from core.cron import CronSpec
from core.errors import SpotselError

__all__ = ["ScheduledTask", "cron_trigger", "first_firing_since", "run_task"]

log = logging.getLogger(__name__)


def _never_missed(_now: datetime) -> bool:
    return False


@dataclass(frozen=True)
class ScheduledTask:
    """``run(now)`` does the work and returns a one-line outcome; ``missed(now)`` says whether
    a firing passed unserved (checked when a scheduler becomes leader)."""

    cron: CronSpec
    run: Callable[[datetime], str]
    missed: Callable[[datetime], bool] = _never_missed


def cron_trigger(cron: CronSpec) -> CronTrigger:
    """APScheduler's trigger for ``cron``, in UTC (weekday names, so Monday is Monday)."""
    return CronTrigger(**cron.trigger_fields(), timezone=UTC)


def first_firing_since(cron: CronSpec, since: datetime) -> datetime | None:
    """The first time at or after ``since`` that ``cron`` fires (None: never again)."""
    fire: datetime | None = cron_trigger(cron).get_next_fire_time(None, since)
    return fire


def run_task(name: str, task: ScheduledTask, *, now: datetime) -> bool:
    """Run ``task`` once and log its outcome (or its failure, never raised); True if it ran."""
    started = time.perf_counter()
    try:
        outcome = task.run(now)
    except Exception as exc:
        seconds = time.perf_counter() - started
        error_class, message = error_summary(exc)
        # A user's mistake (a profiles file that went missing) is expected; anything else may
        # be a bug, so its traceback is logged.
        expected = isinstance(exc, SpotselError)
        log.log(
            logging.WARNING if expected else logging.ERROR,
            "task %s: failed in %.1f s: %s: %s",
            name,
            seconds,
            error_class,
            message,
            exc_info=None if expected else exc,
            extra={"task": name, "status": "failed", "error_class": error_class},
        )
        return False
    seconds = time.perf_counter() - started
    log.info(
        "task %s: %s in %.1f s",
        name,
        outcome,
        seconds,
        extra={"task": name, "status": "ok", "seconds": round(seconds, 3)},
    )
    return True
