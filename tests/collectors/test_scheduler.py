"""The scheduler: one leader per database, catch-up of due sources, failures recorded."""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from collectors import CollectContext, get_source
from collectors.base import Source
from collectors.leader_locks import ADVISORY_LOCK_NAME
from collectors.runner import run_source
from collectors.scheduler import (
    EARLY_FIRE_WAIT_SECONDS,
    CollectionScheduler,
    due_sources,
    leader_lock,
    runs_lock,
)
from core.clock import as_utc, utcnow
from core.db import make_engine, temporary_schema
from core.errors import ConfigError
from core.runs import CollectionResult, TableRows
from core.settings import Settings
from core.store import persist_run
from core.tables import Base, CollectionRun, Offering
from tests.conftest import POSTGRES_URL
from tests.factories import T0, make_offering

# The acceptance scenario runs a 0.5-minute schedule; a twentieth of it keeps these tests short.
INTERVAL_MINUTES = 0.025
INTERVAL_SECONDS = INTERVAL_MINUTES * 60
# How long a test waits for what it expects: a bound for a loaded machine, not a duration (the
# wait ends as soon as the condition holds).
PATIENCE_SECONDS = 20
# Lock checks (standby retry and leader heartbeat) in the tests: fast, so a handover is quick.
CHECK_SECONDS = 0.2


@dataclass(frozen=True)
class BrokenSource:
    name: str = "broken"
    description: str = "always fails"
    simulated: bool = True
    option_names: frozenset[str] = frozenset()

    def collect(self, ctx: CollectContext) -> CollectionResult:
        raise RuntimeError("upstream is down")


@dataclass
class StampingSource:
    """Writes one pool per run and keeps each run's start (as recorded: the sources stamp their
    runs); ``seconds`` makes a run slow."""

    name: str = "stamp"
    seconds: float = 0.0
    description: str = "records when it runs"
    simulated: bool = True
    option_names: frozenset[str] = frozenset()
    starts: list[datetime] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)

    def collect(self, ctx: CollectContext) -> CollectionResult:
        started = utcnow()
        self.starts.append(started)
        self.running.set()
        try:
            time.sleep(self.seconds)
        finally:
            self.running.clear()
        return _result(self.name, started, [make_offering(source=self.name)])


@dataclass(frozen=True)
class RaisingSource:
    """Fails inside its run in the way ``fail(ctx)`` does."""

    fail: Callable[[CollectContext], Any]
    name: str = "bad"
    description: str = "fails"
    simulated: bool = True
    option_names: frozenset[str] = frozenset()

    def collect(self, ctx: CollectContext) -> CollectionResult:
        started = utcnow()
        return _result(self.name, started, self.fail(ctx))


def _result(source: str, started: datetime, rows: list[dict[str, Any]]) -> CollectionResult:
    table = TableRows()
    table.add("offerings", rows)
    return CollectionResult(
        source=source,
        started_at=started,
        finished_at=utcnow(),
        regions=("us-east-1",),
        rows=table,
    )


def _scheduler(
    engine: Engine,
    settings: Settings,
    schedule: dict[str, float],
    sources: dict[str, Source] | None = None,
) -> CollectionScheduler:
    return CollectionScheduler(
        engine=engine,
        settings=settings.model_copy(update={"schedule": schedule, "sim_scale": 1}),
        sources=sources or {"sim": get_source("sim"), "broken": BrokenSource()},
        clock=lambda: T0,
        lock=leader_lock(engine),
    )


def _wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Serving:
    """A scheduler serving in a thread, with the states it reported."""

    scheduler: CollectionScheduler
    states: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> Serving:
        self.thread = threading.Thread(
            target=self.scheduler.serve, kwargs={"on_state": self.states.append}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.scheduler.stop()
        assert self.thread is not None
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "serve() returns once stopped"

    def said(self, prefix: str) -> bool:
        return any(state.startswith(prefix) for state in self.states)


def _run_starts(engine: Engine, source: str) -> list[datetime]:
    with Session(engine) as s:
        stmt = select(CollectionRun.started_at).where(CollectionRun.source == source)
        return sorted(as_utc(t) for t in s.scalars(stmt))


def _break_leader_lock(engine: Engine, backend: str, request: pytest.FixtureRequest) -> None:
    """Lose the leader's lock behind its back: the way a failover or a reaper would."""
    if backend == "sqlite":
        # Another process would now lock a new file at the same path.
        Path(f"{engine.url.database}.scheduler.lock").unlink()
        return
    with engine.connect() as conn:
        pid: int = conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND mode = 'ExclusiveLock' AND objsubid = 1"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND ((classid::bigint << 32) | objid::bigint)"
                " = hashtextextended(:name || current_schema(), 0)"
            ),
            {"name": ADVISORY_LOCK_NAME},
        ).scalar_one()
    admin: Engine = request.getfixturevalue("postgres_admin")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        gone = text("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = :pid)")
        _wait_for(
            lambda: bool(conn.execute(gone, {"pid": pid}).scalar()),
            seconds=10,
            what="the terminated backend to exit",
        )


# --- the locks ---


def test_only_one_scheduler_holds_the_lock(engine: Engine) -> None:
    first, second = leader_lock(engine), leader_lock(engine)
    assert first.acquire()
    try:
        assert first.still_held()
        assert not second.acquire(), "a second scheduler must stand by"
        assert not second.still_held()
    finally:
        first.release()
    assert not first.still_held()
    assert second.acquire(), "the lock is free again once the leader lets go"
    second.release()


def test_runs_share_the_runs_lock_and_a_new_leader_waits_for_them(engine: Engine) -> None:
    run_a, run_b, new_leader = runs_lock(engine), runs_lock(engine), runs_lock(engine)
    assert run_a.acquire(shared=True)
    assert run_b.acquire(shared=True), "runs of different sources go together"
    try:
        assert not new_leader.acquire(), "a run in flight holds a new leader back"
    finally:
        run_a.release()
        run_b.release()
        new_leader.release()
    assert new_leader.acquire()
    new_leader.release()


def test_a_broken_lock_is_noticed(
    engine: Engine, backend: str, request: pytest.FixtureRequest
) -> None:
    lock = leader_lock(engine)
    assert lock.acquire()
    try:
        _break_leader_lock(engine, backend, request)
        assert not lock.still_held(), "a terminated backend / replaced file is a lost lock"
    finally:
        lock.release()


def test_memory_database_cannot_be_scheduled() -> None:
    with pytest.raises(ConfigError, match="memory"):
        leader_lock(make_engine("sqlite:///:memory:"))


def test_separate_stores_do_not_share_the_lock(
    engine: Engine, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two deployments (another SQLite file, another PostgreSQL schema) each get a leader."""
    with ExitStack() as stack:
        if backend == "sqlite":
            other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        else:
            request.getfixturevalue("postgres_admin")
            other = make_engine(stack.enter_context(temporary_schema(POSTGRES_URL)))
        stack.callback(other.dispose)
        mine, theirs = leader_lock(engine), leader_lock(other)
        try:
            assert mine.acquire()
            assert theirs.acquire(), "a lock in one store must not block another store"
        finally:
            mine.release()
            theirs.release()


# --- scheduling ---


def test_due_sources_follow_the_last_run(engine: Engine, settings: Settings) -> None:
    schedule = {"sim": 60.0}
    assert due_sources(engine, schedule, now=T0) == ["sim"], "never ran: due"
    run_source(engine, get_source("sim"), CollectContext(settings=settings, now=T0))
    with Session(engine) as s:
        started = s.scalars(select(CollectionRun.started_at)).one()
    assert due_sources(engine, schedule, now=started + timedelta(minutes=59)) == []
    assert due_sources(engine, schedule, now=started + timedelta(minutes=60)) == ["sim"]


def test_standby_until_stopped_while_another_leads(engine: Engine, settings: Settings) -> None:
    holder = leader_lock(engine)
    assert holder.acquire()
    scheduler = _scheduler(
        engine, settings.model_copy(update={"scheduler_standby_seconds": 0.05}), {"sim": 60.0}
    )
    serving = Serving(scheduler).start()
    try:
        _wait_for(lambda: bool(serving.states), seconds=5, what="the standby")
        time.sleep(0.3)  # a few retries
    finally:
        serving.stop()
        holder.release()
    assert serving.states == ["standby: another scheduler holds the lock"], "said once"
    with Session(engine) as s:
        assert s.scalars(select(CollectionRun)).all() == [], "a standby never collects"


def test_leader_catches_up_then_stops_cleanly(engine: Engine, settings: Settings) -> None:
    serving = Serving(_scheduler(engine, settings, {"sim": 60.0})).start()
    try:
        _wait_for(lambda: bool(_run_starts(engine, "sim")), seconds=30, what="the catch-up run")
    finally:
        serving.stop()
    assert serving.states == ["leader: scheduling sim"]
    lock = leader_lock(engine)
    assert lock.acquire(), "the leader released its lock on stop"
    lock.release()


def test_a_new_leader_continues_the_cadence(engine: Engine, settings: Settings) -> None:
    """A source that ran recently is not run again at takeover, only once it is due."""
    stamp = StampingSource()
    run_source(engine, stamp, CollectContext(settings=settings, now=T0))
    scheduler = _scheduler(
        engine,
        settings.model_copy(update={"scheduler_standby_seconds": CHECK_SECONDS}),
        {"stamp": INTERVAL_MINUTES},
        {"stamp": stamp},
    )
    serving = Serving(scheduler).start()
    try:
        _wait_for(lambda: len(stamp.starts) >= 2, seconds=PATIENCE_SECONDS, what="a run")
    finally:
        serving.stop()
    starts = _run_starts(engine, "stamp")
    assert starts[1] - starts[0] >= timedelta(seconds=INTERVAL_SECONDS)
    assert starts[1] - starts[0] < timedelta(seconds=INTERVAL_SECONDS + 1), "and not much later"


def test_a_run_is_never_started_before_it_is_due(engine: Engine, settings: Settings) -> None:
    """A timer firing a moment early (jitter) waits; one firing far too early (another process
    ran the source meanwhile) is rescheduled instead of run."""
    interval = timedelta(seconds=EARLY_FIRE_WAIT_SECONDS + 7)
    stamp = StampingSource()
    scheduler = _scheduler(
        engine, settings, {"stamp": interval.total_seconds() / 60}, {"stamp": stamp}
    )
    lately = interval - timedelta(seconds=0.5)
    persist_run(engine, _result("stamp", utcnow() - lately, [make_offering(source="stamp")]))
    assert scheduler.lock.acquire()
    try:
        scheduler._run_if_leader("stamp")  # half a second early
        assert len(stamp.starts) == 1, "waited until due, then ran"
        scheduler._run_if_leader("stamp")  # a whole interval early
        assert len(stamp.starts) == 1, "not due: not run"
    finally:
        scheduler.lock.release()
    first, second = _run_starts(engine, "stamp")
    assert second - first >= interval


# --- losing the lock ---


@pytest.mark.parametrize(
    ("heartbeat_seconds", "noticed_by"),
    [
        pytest.param(CHECK_SECONDS, "heartbeat", id="heartbeat notices it between runs"),
        pytest.param(3_600.0, "checked before a run", id="the check before a run notices it"),
    ],
)
def test_a_leader_that_loses_its_lock_stops_scheduling(
    engine: Engine,
    settings: Settings,
    backend: str,
    request: pytest.FixtureRequest,
    heartbeat_seconds: float,
    noticed_by: str,
) -> None:
    stamp = StampingSource()
    scheduler = _scheduler(
        engine,
        settings.model_copy(update={"scheduler_standby_seconds": heartbeat_seconds}),
        {"stamp": INTERVAL_MINUTES},
        {"stamp": stamp},
    )
    serving = Serving(scheduler).start()
    successor = leader_lock(engine)  # takes the lock over, as a standby would
    try:
        _wait_for(lambda: len(_run_starts(engine, "stamp")) == 1, seconds=10, what="a first run")
        _break_leader_lock(engine, backend, request)
        broken = utcnow()
        assert successor.acquire()
        _wait_for(
            lambda: serving.said("lost the lock"),
            seconds=PATIENCE_SECONDS,
            what="the leader to notice",
        )
    finally:
        serving.stop()
        successor.release()
    assert [s for s in stamp.starts if s > broken] == [], "no run after the lock was lost"
    lost = next(i for i, s in enumerate(serving.states) if s.startswith("lost the lock"))
    assert noticed_by in serving.states[lost]
    assert not any(s.startswith("leader") for s in serving.states[lost:]), "nor leads again"
    assert len(_run_starts(engine, "stamp")) == 1


@pytest.mark.slow
def test_standby_takes_over_a_lost_lock_without_running_a_source_twice(
    engine: Engine, settings: Settings, backend: str, request: pytest.FixtureRequest
) -> None:
    """The acceptance scenario: two schedulers on one database, the leader's lock lost while
    one of its runs is in flight; no two runs of the source closer together than the interval."""
    fast = settings.model_copy(update={"scheduler_standby_seconds": CHECK_SECONDS})
    old_source = StampingSource(seconds=1.5)  # slow: the lock is lost in the middle of a run
    new_source = StampingSource()  # quick: stopping waits for no run in flight
    old = Serving(_scheduler(engine, fast, {"stamp": INTERVAL_MINUTES}, {"stamp": old_source}))
    new = Serving(_scheduler(engine, fast, {"stamp": INTERVAL_MINUTES}, {"stamp": new_source}))
    old.start()
    try:
        _wait_for(lambda: old.said("leader"), seconds=10, what="the first leader")
        new.start()
        _wait_for(lambda: new.said("standby"), seconds=10, what="the standby")
        _wait_for(old_source.running.is_set, seconds=10, what="a run in flight")
        _break_leader_lock(engine, backend, request)
        broken = utcnow()
        _wait_for(lambda: len(new_source.starts) >= 2, seconds=20, what="the new leader's runs")
    finally:
        new.stop()
        old.stop()
    assert old.said("lost the lock"), "the old leader noticed"
    assert [s for s in old_source.starts if s > broken] == [], "the old leader stopped"
    assert any(s.startswith("leader: waiting for the previous leader's runs") for s in new.states)
    starts = sorted(old_source.starts + new_source.starts)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= timedelta(seconds=INTERVAL_SECONDS), gaps
    assert _run_starts(engine, "stamp") == starts, "every run is recorded, once"


# --- failures are recorded and the others carry on ---


def test_a_failing_source_is_recorded_and_does_not_stop_the_others(
    engine: Engine, settings: Settings
) -> None:
    scheduler = _scheduler(engine, settings, {"broken": 30.0, "sim": 60.0})
    outcome = scheduler.run_due()
    assert outcome == {"broken": "failed", "sim": "ok"}
    with Session(engine) as s:
        runs = dict(s.execute(select(CollectionRun.source, CollectionRun.status)).all())
        message = s.scalar(
            select(CollectionRun.error_message).where(CollectionRun.source == "broken")
        )
    assert runs == {"broken": "failed", "sim": "ok"}
    assert "upstream is down" in (message or "")


def test_each_run_logs_source_outcome_rows_and_duration_at_info(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    sources: dict[str, Source] = {"broken": BrokenSource(), "stamp": StampingSource()}
    scheduler = _scheduler(engine, settings, {"broken": 30.0, "stamp": 60.0}, sources)
    with caplog.at_level(logging.INFO, logger="collectors.scheduler"):
        scheduler.run_due()
    ours = [r for r in caplog.records if r.name == "collectors.scheduler"]
    lines = {r.getMessage().split(":")[0]: r for r in ours}
    ok = lines["run stamp"]
    assert ok.levelno == logging.INFO
    assert re.fullmatch(r"run stamp: ok, 1 rows in \d+\.\d s", ok.getMessage()), ok.getMessage()
    fields = {k: getattr(ok, k) for k in ("source", "status", "rows", "seconds")}
    assert fields["source"] == "stamp"
    assert (fields["status"], fields["rows"]) == ("ok", 1)
    assert fields["seconds"] >= 0
    failed = lines["run broken"]
    assert failed.levelno >= logging.INFO
    message = failed.getMessage()
    assert re.match(r"run broken: failed in \d+\.\d s: \w+: .*upstream is down", message)
    assert [getattr(failed, k) for k in ("source", "status", "rows")] == ["broken", "failed", 0]


def _raise_value_error(ctx: CollectContext) -> Any:
    raise ValueError("could not convert string to float: 'N/A'")


def _null_in_a_required_column(ctx: CollectContext) -> Any:
    # Fits every column limit, but NOT NULL is the database's to enforce: fails mid-write.
    return [make_offering(source="bad"), make_offering(zone_id="use1-az2", spot=None)]


def _region_of_65_characters(ctx: CollectContext) -> Any:
    return [make_offering(source="bad", region="r" * 65)]


def _string_data_right_truncation(ctx: CollectContext) -> Any:
    assert ctx.engine is not None
    with ctx.engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE probe (region varchar(64)) ON COMMIT DROP"))
        conn.execute(text("INSERT INTO probe VALUES (:region)"), {"region": "r" * 65})
    return []


@pytest.mark.parametrize(
    ("fail", "error_classes", "message"),
    [
        pytest.param(_raise_value_error, {"ValueError"}, "could not convert", id="a bug"),
        pytest.param(_null_in_a_required_column, {"NotNullViolation", "IntegrityError"}, "null",
                     id="the write transaction fails"),
    ],
)  # fmt: skip
def test_any_exception_is_a_failed_run_and_the_others_still_run(
    engine: Engine,
    settings: Settings,
    fail: Callable[[CollectContext], Any],
    error_classes: set[str],
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sources: dict[str, Source] = {"bad": RaisingSource(fail), "stamp": StampingSource()}
    scheduler = _scheduler(engine, settings, {"bad": 30.0, "stamp": 60.0}, sources)
    assert scheduler.run_due() == {"bad": "failed", "stamp": "ok"}
    with Session(engine) as s:
        [failed] = s.scalars(select(CollectionRun).where(CollectionRun.source == "bad")).all()
        stored = s.scalar(select(func.count()).where(Offering.source == "bad"))
    assert failed.status == "failed"
    assert failed.error_class in error_classes
    assert message in (failed.error_message or "").lower()
    assert stored == 0, "a failed write leaves none of its rows"
    [line] = [r for r in caplog.records if r.getMessage().startswith("run bad: failed")]
    assert line.exc_info is not None, "an unexpected error is logged with its traceback"


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A PostgreSQL schema with the full schema, whatever ``--db`` says about SQLite."""
    request.getfixturevalue("postgres_admin")  # reachable, or a clear failure
    with temporary_schema(POSTGRES_URL) as url:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()


@pytest.mark.parametrize(
    ("fail", "error_class"),
    [
        pytest.param(_string_data_right_truncation, "StringDataRightTruncation",
                     id="the database refuses a value"),
        pytest.param(_region_of_65_characters, None, id="the issue's 65-character region"),
    ],
)  # fmt: skip
def test_a_value_postgresql_refuses_is_a_failed_run(
    pg_engine: Engine,
    tmp_path: Path,
    fail: Callable[[CollectContext], Any],
    error_class: str | None,
) -> None:
    settings = Settings(database_url=str(pg_engine.url), data_dir=tmp_path)
    sources: dict[str, Source] = {"bad": RaisingSource(fail), "stamp": StampingSource()}
    scheduler = _scheduler(pg_engine, settings, {"bad": 30.0, "stamp": 60.0}, sources)
    assert scheduler.run_due() == {"bad": "failed", "stamp": "ok"}
    with Session(pg_engine) as s:
        [failed] = s.scalars(select(CollectionRun).where(CollectionRun.source == "bad")).all()
    assert failed.status == "failed", "recorded once, as failed"
    assert failed.error_class is not None
    if error_class is not None:
        assert failed.error_class == error_class
    assert failed.finished_at >= failed.started_at
    assert utcnow() - as_utc(failed.started_at) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        pytest.param({"nosuch": 5.0}, "unknown source", id="schedule names an unknown source"),
        pytest.param({}, "nothing to schedule", id="empty schedule"),
    ],
)
def test_bad_schedules_are_refused(
    engine: Engine, settings: Settings, schedule: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _scheduler(engine, settings, schedule)
