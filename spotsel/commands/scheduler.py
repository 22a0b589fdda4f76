"""`spotsel scheduler`: the scheduled collections in their own process, one leader per database.

SIGTERM or Ctrl-C stops it after the collections that are running; a second Ctrl-C interrupts.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

import typer

from core.clock import utcnow
from core.db import require_schema
from spotsel.consoles import err
from spotsel.state import app_state

if TYPE_CHECKING:
    from collectors.scheduler import CollectionScheduler

__all__ = ["scheduler"]


def scheduler(ctx: typer.Context) -> None:
    """Run the scheduled collections (SPOTSEL_SCHEDULE) until SIGTERM or Ctrl-C; one leader."""
    from collectors import SOURCES
    from collectors.scheduler import CollectionScheduler, leader_lock

    state = app_state(ctx)
    engine = state.engine()
    require_schema(engine)
    runner = CollectionScheduler(
        engine=engine,
        settings=state.get_settings(),
        sources=SOURCES,
        clock=utcnow,
        lock=leader_lock(engine),
    )
    _serve_until_signalled(runner)
    err.print("scheduler: stopped")


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
