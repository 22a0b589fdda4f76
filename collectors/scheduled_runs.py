"""One collection as the scheduler runs it: when a source is due (from the recorded run starts)
and running it now, with one log line and any failure recorded, never raised."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from collectors.base import CollectContext, Source
from collectors.runner import SourceFailedError, error_summary, record_failure, run_source
from core.clock import parse_utc, utcnow
from core.errors import SpotselError
from core.settings import Settings
from core.tables import CollectionRun

__all__ = ["due_sources", "last_starts", "run_and_log", "seconds_until_due"]

# Lines keep the scheduler's logger name (shown in every log line): operators read and filter
# the scheduler's log as one.
log = logging.getLogger("collectors.scheduler")


def last_starts(engine: Engine) -> dict[str, datetime]:
    """Each source's most recent recorded run start (any outcome)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(CollectionRun.source, func.max(CollectionRun.started_at)).group_by(
                CollectionRun.source
            )
        ).all()
    return {name: started for name, value in rows if (started := parse_utc(value)) is not None}


def due_sources(engine: Engine, schedule: Mapping[str, float], *, now: datetime) -> list[str]:
    """Sources whose last run started longer ago than their interval (or never ran)."""
    last = last_starts(engine)
    return [
        name
        for name, minutes in sorted(schedule.items())
        if name not in last or now - last[name] >= timedelta(minutes=minutes)
    ]


def seconds_until_due(engine: Engine, schedule: Mapping[str, float], name: str) -> float:
    """Seconds until ``name`` is due again, its interval after its last recorded start (0 if it
    never ran; negative if overdue)."""
    started = last_starts(engine).get(name)
    if started is None:
        return 0.0
    due = started + timedelta(minutes=schedule[name])
    return (due - utcnow()).total_seconds()


def run_and_log(
    engine: Engine,
    settings: Settings,
    sources: Mapping[str, Source],
    name: str,
    *,
    clock: Callable[[], datetime],
) -> str:
    """Run source ``name`` now and log one line; any failure is recorded as a failed run and
    returned as ``"failed"``, never raised."""
    log.debug("run %s: starting", name, extra={"source": name})
    started, started_at = time.perf_counter(), utcnow()
    try:
        run = run_source(
            engine,
            sources[name],
            CollectContext(settings=settings, now=clock()),
        )
    except Exception as exc:
        if not isinstance(exc, SpotselError):  # raised before run_source could record it
            record_failure(engine, name, started=started_at, error=exc)
        _log_failure(name, exc, time.perf_counter() - started)
        return "failed"
    seconds = time.perf_counter() - started
    note = f" ({run.error_message})" if run.error_message else ""
    log.info(
        "run %s: %s, %s rows in %.1f s%s",
        name,
        run.status,
        f"{run.rows_written:,}",
        seconds,
        note,
        extra={
            "source": name,
            "status": run.status,
            "rows": run.rows_written,
            "seconds": round(seconds, 3),
        },
    )
    return run.status


def _log_failure(name: str, exc: Exception, seconds: float) -> None:
    # A source's own error (credentials, a malformed feed) is expected; anything else may be
    # a bug, so it is logged with its traceback.
    expected = isinstance(exc, SpotselError) and not isinstance(exc, SourceFailedError)
    cause = exc.__cause__ if isinstance(exc, SourceFailedError) and exc.__cause__ else exc
    error_class, message = error_summary(cause)
    log.log(
        logging.WARNING if expected else logging.ERROR,
        "run %s: failed in %.1f s: %s: %s",
        name,
        seconds,
        error_class,
        message,
        exc_info=None if expected else exc,
        extra={
            "source": name,
            "status": "failed",
            "rows": 0,
            "seconds": round(seconds, 3),
            "error_class": error_class,
        },
    )
