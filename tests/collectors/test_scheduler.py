"""The scheduler: one leader per database, catch-up of due sources, failures recorded."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from collectors import CollectContext, get_source
from collectors.runner import run_source
from collectors.scheduler import CollectionScheduler, due_sources, leader_lock
from core.db import make_engine
from core.errors import ConfigError
from core.runs import CollectionResult
from core.settings import Settings
from core.tables import CollectionRun
from tests.conftest import POSTGRES_URL
from tests.factories import T0


@dataclass(frozen=True)
class BrokenSource:
    name: str = "broken"
    description: str = "always fails"
    simulated: bool = True
    option_names: frozenset[str] = frozenset()

    def collect(self, ctx: CollectContext) -> CollectionResult:
        raise RuntimeError("upstream is down")


def _scheduler(
    engine: Engine, settings: Settings, schedule: dict[str, float]
) -> CollectionScheduler:
    return CollectionScheduler(
        engine=engine,
        settings=settings.model_copy(update={"schedule": schedule, "sim_scale": 1}),
        sources={"sim": get_source("sim"), "broken": BrokenSource()},
        clock=lambda: T0,
        lock=leader_lock(engine),
    )


def test_only_one_scheduler_holds_the_lock(engine: Engine) -> None:
    first, second = leader_lock(engine), leader_lock(engine)
    assert first.acquire()
    try:
        assert not second.acquire(), "a second scheduler must stand by"
    finally:
        first.release()
    assert second.acquire(), "the lock is free again once the leader lets go"
    second.release()


def test_due_sources_follow_the_last_run(engine: Engine, settings: Settings) -> None:
    schedule = {"sim": 60.0}
    assert due_sources(engine, schedule, now=T0) == ["sim"], "never ran: due"
    run_source(engine, get_source("sim"), CollectContext(settings=settings, now=T0))
    with Session(engine) as s:
        started = s.scalars(select(CollectionRun.started_at)).one()
    assert due_sources(engine, schedule, now=started + timedelta(minutes=59)) == []
    assert due_sources(engine, schedule, now=started + timedelta(minutes=60)) == ["sim"]


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


def test_standby_until_stopped_while_another_leads(engine: Engine, settings: Settings) -> None:
    holder = leader_lock(engine)
    assert holder.acquire()
    states: list[str] = []
    scheduler = _scheduler(
        engine, settings.model_copy(update={"scheduler_standby_seconds": 0.05}), {"sim": 60.0}
    )
    worker = threading.Thread(target=scheduler.serve, kwargs={"on_state": states.append})
    worker.start()
    try:
        for _ in range(100):
            if len(states) >= 2:
                break
            threading.Event().wait(0.02)
    finally:
        scheduler.stop()
        worker.join(timeout=10)
        holder.release()
    assert not worker.is_alive()
    assert states
    assert all(s.startswith("standby") for s in states)
    with Session(engine) as s:
        assert s.scalars(select(CollectionRun)).all() == [], "a standby never collects"


def test_leader_catches_up_then_stops_cleanly(engine: Engine, settings: Settings) -> None:
    states: list[str] = []
    scheduler = _scheduler(engine, settings, {"sim": 60.0})

    def record(state: str) -> None:
        states.append(state)

    worker = threading.Thread(target=scheduler.serve, kwargs={"on_state": record})
    worker.start()
    try:
        for _ in range(500):
            with Session(engine) as s:
                if s.scalars(select(CollectionRun)).first() is not None:
                    break
            threading.Event().wait(0.05)
    finally:
        scheduler.stop()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert states == ["leader: scheduling sim"]
    lock = leader_lock(engine)
    assert lock.acquire(), "the leader released its lock on stop"
    lock.release()


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


def test_memory_database_cannot_be_scheduled() -> None:
    with pytest.raises(ConfigError, match="memory"):
        leader_lock(make_engine("sqlite:///:memory:"))


def test_separate_stores_do_not_share_the_lock(
    engine: Engine, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two deployments (another SQLite file, another PostgreSQL schema) each get a leader."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    if backend == "sqlite":
        other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    else:
        admin = request.getfixturevalue("postgres_admin")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        other = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    mine, theirs = leader_lock(engine), leader_lock(other)
    try:
        assert mine.acquire()
        assert theirs.acquire(), "a lock in one store must not block another store"
    finally:
        mine.release()
        theirs.release()
        other.dispose()
        if backend != "sqlite":
            with request.getfixturevalue("postgres_admin").connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
