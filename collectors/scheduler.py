"""The collection scheduler: one process runs every source on its interval.

APScheduler 3.x is not multi-process safe (two schedulers on one job store run every job
twice), so only the holder of a leader lock schedules: a PostgreSQL advisory lock on a
dedicated connection, or an exclusive file lock beside a SQLite database. Other replicas
stand by and take over when the leader's connection (and so its lock) goes away.

A lock can be lost without its holder noticing (a terminated backend, a failover, an idle
connection reaper), so the leader confirms it still holds the lock before every run and on a
heartbeat, and stops scheduling the moment it does not. Each run also holds a second, shared
"runs" lock; a new leader takes that one exclusively once before it schedules, so it waits out
any run its predecessor still had in flight, then continues each source's cadence from the
last recorded start: no two runs of one source start closer together than its interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from collectors.base import Source
from collectors.leader_locks import (
    FileLock,
    LeaderLock,
    PostgresAdvisoryLock,
    leader_lock,
    runs_lock,
)
from collectors.scheduled_runs import due_sources, last_starts, run_and_log, seconds_until_due
from collectors.tasks import ScheduledTask, cron_trigger, run_task
from core.clock import utcnow
from core.errors import ConfigError
from core.settings import Settings

__all__ = [
    "CollectionScheduler",
    "FileLock",
    "LeaderLock",
    "PostgresAdvisoryLock",
    "due_sources",
    "leader_lock",
    "runs_lock",
]

log = logging.getLogger(__name__)

# A job that could not start on time still runs if it is at most this late (then coalesces).
MISFIRE_GRACE_SECONDS = 300
# A run that fires up to this much before its source is due (timer jitter against the recorded
# start of the last run) waits for the due time; one due later is rescheduled to it.
EARLY_FIRE_WAIT_SECONDS = 5.0
# A new leader re-checks this often whether its predecessor's runs have finished.
RUNS_POLL_SECONDS = 1.0


@dataclass
class CollectionScheduler:
    """Runs each scheduled source on its interval while holding the leader lock.

    ``clock`` gives each run's ``now`` (the simulated market's time); timing uses the wall
    clock, as APScheduler and the recorded run starts do.
    """

    engine: Engine
    settings: Settings
    sources: Mapping[str, Source]
    clock: Callable[[], datetime]
    lock: LeaderLock
    # A new handle on the runs lock; default: the one beside ``engine``'s leader lock.
    runs_lock: Callable[[], LeaderLock] | None = None
    # Calendar tasks beside the collections (the weekly report), by name.
    tasks: Mapping[str, ScheduledTask] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    # Set when the current leadership ends: stopped, or the lock was lost.
    _term: threading.Event = field(default_factory=threading.Event, init=False)
    _lost: str | None = field(default=None, init=False)
    _jobs: BackgroundScheduler | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.settings.schedule) - set(self.sources))
        if unknown:
            raise ConfigError(
                f"SPOTSEL_SCHEDULE names unknown source(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(self.sources))})"
            )
        if not self.settings.schedule:
            raise ConfigError("SPOTSEL_SCHEDULE is empty: nothing to schedule")

    def run_job(self, name: str) -> str:
        """Run one source now and log one line; any failure is recorded as a failed run and
        returned as ``"failed"``, never raised."""
        return run_and_log(self.engine, self.settings, self.sources, name, clock=self.clock)

    def run_due(self) -> dict[str, str]:
        """Run every source whose data is older than its interval, now, one after another."""
        due = due_sources(self.engine, self.settings.schedule, now=utcnow())
        return {name: self.run_job(name) for name in due}

    def serve(self, *, on_state: Callable[[str], Any] = log.info) -> None:
        """Block until :meth:`stop`: stand by until leader, then schedule while the lock holds;
        a leader that loses the lock stops scheduling and stands by again. ``on_state`` hears
        of each change of state."""
        standing_by = False
        while not self._stop.is_set():
            if not self.lock.acquire():
                if not standing_by:
                    on_state("standby: another scheduler holds the lock")
                    standing_by = True
                self._stop.wait(self.settings.scheduler_standby_seconds)
                continue
            standing_by = False
            self._term, self._lost = threading.Event(), None
            if self._stop.is_set():  # stop() came while the term began
                self._term.set()
            on_state("leader: scheduling " + ", ".join(self._scheduled_names()))
            try:
                self._lead(on_state)
            except Exception as exc:  # e.g. the database went away while taking over
                log.exception("leading failed")
                self._lose(f"{type(exc).__name__} while leading")
            finally:
                self.lock.release()
            if self._lost is not None:
                on_state(f"lost the lock ({self._lost}): stopped scheduling, standing by")
                # Give the standby that took over the lock the chance to keep it.
                self._stop.wait(self.settings.scheduler_standby_seconds)

    def stop(self) -> None:
        """Stop scheduling; :meth:`serve` returns once running collections have finished."""
        self._stop.set()
        self._term.set()

    def _lose(self, reason: str) -> None:
        if self._lost is None and not self._stop.is_set():
            self._lost = reason
            log.warning("scheduler lost the leader lock (%s): stopping", reason)
        self._term.set()

    def _lead(self, on_state: Callable[[str], Any]) -> None:
        if not self._wait_out_previous_runs(on_state):
            return
        jobs = BackgroundScheduler(timezone="UTC")
        now, last = utcnow(), last_starts(self.engine)
        for name, minutes in sorted(self.settings.schedule.items()):
            # Continue the source's cadence from its last recorded start, whoever ran it.
            due = last[name] + timedelta(minutes=minutes) if name in last else now
            jobs.add_job(
                self._scheduled_run,
                "interval",
                minutes=minutes,
                args=[name],
                id=name,
                next_run_time=max(now, due),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )
        for name, task in sorted(self.tasks.items()):
            # A firing missed while no scheduler led runs now, once; then the calendar rules.
            catch_up = {"next_run_time": now} if task.missed(now) else {}
            jobs.add_job(
                self._scheduled_task,
                cron_trigger(task.cron),
                args=[name],
                id=f"task:{name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                **catch_up,
            )
        self._jobs = jobs
        jobs.start()
        try:
            while not self._term.wait(self.settings.scheduler_standby_seconds):
                if not self.lock.still_held():  # the heartbeat: notice a loss between runs
                    self._lose("heartbeat: the lock is no longer held")
        finally:
            jobs.shutdown(wait=True)  # a run in flight finishes and is recorded
            self._jobs = None

    def _new_runs_lock(self) -> LeaderLock:
        return self.runs_lock() if self.runs_lock is not None else runs_lock(self.engine)

    def _wait_out_previous_runs(self, on_state: Callable[[str], Any]) -> bool:
        """Wait until no run of a previous leader is in flight; False if the term ended."""
        gate = self._new_runs_lock()
        announced = False
        try:
            while not self._term.is_set():
                if gate.acquire():
                    return True
                if not announced:
                    on_state("leader: waiting for the previous leader's runs to finish")
                    announced = True
                if self._term.wait(RUNS_POLL_SECONDS):
                    break
                if not self.lock.still_held():
                    self._lose("the lock is no longer held")
            return False
        finally:
            gate.release()

    def _scheduled_run(self, name: str) -> None:
        """One firing of a source's timer; APScheduler only logs what a job raises, so
        nothing is raised."""
        try:
            self._run_if_leader(name)
        except Exception:
            log.exception("scheduled run of %s could not start", name)

    def _run_if_leader(self, name: str) -> None:
        if self._term.is_set():
            return
        gate = self._new_runs_lock()
        try:
            if not gate.acquire(shared=True):
                # Only a new leader holds it exclusively: this scheduler leads no more.
                self._lose("a new leader is taking over")
                return
            wait = seconds_until_due(self.engine, self.settings.schedule, name)
            if wait > EARLY_FIRE_WAIT_SECONDS:
                self._reschedule(name, wait)
                return
            if wait > 0 and self._term.wait(wait):
                return
            if not self.lock.still_held():  # confirm leadership right before every run
                self._lose("checked before a run: the lock is no longer held")
                return
            if not self._term.is_set():
                self.run_job(name)
        finally:
            gate.release()

    def _scheduled_names(self) -> list[str]:
        tasks = [f"{name} ({task.cron.text})" for name, task in sorted(self.tasks.items())]
        return sorted(self.settings.schedule) + tasks

    def _scheduled_task(self, name: str) -> None:
        """One firing of a calendar task, run like a collection: as leader, under the runs
        lock; its failure is logged (`run_task`), never raised into APScheduler."""
        if self._term.is_set():
            return
        gate = self._new_runs_lock()
        try:
            if not gate.acquire(shared=True):
                self._lose("a new leader is taking over")
                return
            if not self.lock.still_held():
                self._lose("checked before a task: the lock is no longer held")
                return
            run_task(name, self.tasks[name], now=self.clock())
        finally:
            gate.release()

    def _reschedule(self, name: str, wait: float) -> None:
        # Another process ran the source since this timer was set (a manual collect, the run a
        # previous leader finished after the takeover): run it when it is due instead.
        next_run = utcnow() + timedelta(seconds=wait)
        log.info("run %s: not due yet, next at %s", name, next_run.isoformat(timespec="seconds"))
        if self._jobs is not None:
            self._jobs.modify_job(name, next_run_time=next_run)
