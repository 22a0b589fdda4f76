"""Calendar tasks: crontab times in UTC (Monday is Monday), failures logged not raised, and a
missed firing made up once when a scheduler becomes leader."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from collectors.scheduler import CollectionScheduler, leader_lock
from collectors.tasks import ScheduledTask, cron_trigger, first_firing_since, run_task
from core.cron import parse_cron
from core.errors import ConfigError
from core.settings import Settings
from tests.collectors.test_scheduler import Serving, StampingSource, _wait_for

TUESDAY = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "after", "fires"),
    [
        pytest.param("0 6 * * 1", TUESDAY, datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
                     id="Mondays 06:00: next Monday"),
        pytest.param("0 6 * * 0", TUESDAY, datetime(2026, 12, 6, 6, 0, tzinfo=UTC),
                     id="0 is Sunday"),
        pytest.param("30 5 * * mon-fri", TUESDAY, datetime(2026, 12, 1, 5, 30, tzinfo=UTC),
                     id="weekdays: later the same day"),
        pytest.param("0 0 1 * *", TUESDAY, datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
                     id="monthly"),
    ],
)  # fmt: skip
def test_triggers_fire_when_crontab_would(text: str, after: datetime, fires: datetime) -> None:
    assert first_firing_since(parse_cron(text), after) == fires


def test_apschedulers_own_crontab_reading_would_fire_on_tuesday() -> None:
    """Why core.cron hands over day names: APScheduler 3 numbers weekdays from Monday = 0."""
    naive = CronTrigger.from_crontab("0 6 * * 1", timezone=UTC)
    assert naive.get_next_fire_time(None, TUESDAY).weekday() == 1  # Tuesday: the trap
    assert cron_trigger(parse_cron("0 6 * * 1")).get_next_fire_time(None, TUESDAY).weekday() == 0


def test_a_failing_task_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_now: datetime) -> str:
        raise ConfigError("profiles file /nowhere.yaml does not exist")

    task = ScheduledTask(cron=parse_cron("0 6 * * 1"), run=broken)
    with caplog.at_level(logging.INFO, logger="collectors.tasks"):
        assert run_task("report", task, now=TUESDAY) is False
    [record] = caplog.records
    assert record.levelno == logging.WARNING, "a user's mistake is no bug: no traceback"
    assert "task report: failed" in record.getMessage()
    assert "/nowhere.yaml" in record.getMessage()


def test_a_task_logs_its_outcome(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[datetime] = []

    def work(now: datetime) -> str:
        seen.append(now)
        return "week 2026-W48 recorded"

    task = ScheduledTask(cron=parse_cron("0 6 * * 1"), run=work)
    with caplog.at_level(logging.INFO, logger="collectors.tasks"):
        assert run_task("report", task, now=TUESDAY) is True
    assert seen == [TUESDAY]
    assert "task report: week 2026-W48 recorded in" in caplog.text


def _scheduler(engine: Engine, settings: Settings, task: ScheduledTask) -> CollectionScheduler:
    return CollectionScheduler(
        engine=engine,
        # The collection is scheduled far apart: only its catch-up run happens in the test.
        settings=settings.model_copy(update={"schedule": {"stamp": 600.0}}),
        sources={"stamp": StampingSource()},
        clock=lambda: TUESDAY,
        lock=leader_lock(engine),
        tasks={"report": task},
    )


@pytest.mark.parametrize("missed", [True, False])
def test_a_missed_firing_runs_once_when_a_leader_starts(
    engine: Engine, settings: Settings, missed: bool
) -> None:
    ran: list[datetime] = []
    done = threading.Event()

    def work(now: datetime) -> str:
        ran.append(now)
        done.set()
        return "ok"

    # Fires next on 1 January: within the test only a catch-up can run it.
    task = ScheduledTask(cron=parse_cron("0 0 1 1 *"), run=work, missed=lambda _now: missed)
    scheduler = _scheduler(engine, settings, task)
    serving = Serving(scheduler).start()
    try:
        source = scheduler.sources["stamp"]
        assert isinstance(source, StampingSource)
        _wait_for(lambda: bool(source.starts), seconds=30, what="the collection's catch-up run")
        done.wait(timeout=5 if missed else 1)
    finally:
        serving.stop()
    assert serving.states == ["leader: scheduling stamp, report (0 0 1 1 *)"]
    assert ran == ([TUESDAY] if missed else []), "the task's now is the scheduler's clock"
