"""Trace replay: a checkpointed training job failing over along each strategy's list.

The job needs `work_hours` of progress. It launches on the first pool of the strategy's list
whose trace is 1 at that tick (every pool tried before it that is 0 counts one launch failure,
fed back as an insufficient-capacity error), pays the pool's price while it runs, spends
`restart_minutes` before making progress on every (re)start, checkpoints every
`checkpoint_minutes` of progress, and is preempted at the first tick its pool goes to 0.
The final checkpoint is assumed NOT to fit the 2-minute notice (a multi-GiB training state),
so the progress since the last checkpoint is lost; the ranking is told the same
(`final_checkpoint_seconds` above the notice). After a preemption the strategy re-ranks with
the fleet evidence seen so far (interruptions, instance-hours, recent launch failures per pool)
and fails over. When no pool can be launched for longer than `on_demand_after_hours` the rest of
the job runs on on-demand. Beyond a trace's last tick its last value persists.

The evidence is a `FleetLog` of timestamped events. `replay_job` alone starts from an empty one
(each job remembers only itself); `replay_fleet` runs jobs back to back and hands every job the
log of all earlier ones. A ranking at time t sees only events at or before t, summed as the
store sums them (`core.pool_reader`): interruptions and instance-hours in total, capacity errors
within the trailing `CAPACITY_ERROR_WINDOW`, and the newest event of any kind as `fleet_at`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from core.pool_reader import CAPACITY_ERROR_WINDOW
from selector import PoolKey, PoolRecord

__all__ = [
    "FleetLog",
    "Job",
    "JobOutcome",
    "Ranker",
    "ReplayPool",
    "replay_fleet",
    "replay_job",
]

IntArray = npt.NDArray[np.int64]
# Between launch rounds while nothing is available: SkyPilot's probes ran every 10 minutes.
RETRY_SECONDS: Final = 600.0


@dataclass(frozen=True, slots=True)
class Job:
    work_hours: float = 48.0
    checkpoint_minutes: float = 30.0
    restart_minutes: float = 10.0
    on_demand_after_hours: float = 2.0


@dataclass(frozen=True, slots=True)
class ReplayPool:
    """A pool of the replay: its record template and its availability trace (0/1 per tick)."""

    record: PoolRecord
    values: IntArray
    gap_seconds: float
    next_down: IntArray = field(init=False)  # first tick >= i where the pool is down (or n)

    def __post_init__(self) -> None:
        n = self.values.size
        down = np.flatnonzero(self.values == 0)
        if down.size == 0:
            nxt = np.full(n, n)
        else:
            idx = np.searchsorted(down, np.arange(n))
            nxt = np.where(idx < down.size, down[np.minimum(idx, down.size - 1)], n)
        object.__setattr__(self, "next_down", nxt.astype(np.int64))

    def up(self, tick: int) -> bool:
        return bool(self.values[min(tick, self.values.size - 1)] > 0)

    def down_after(self, tick: int) -> int | None:
        """The first tick >= `tick` at which the pool is down; None = it never goes down."""
        if tick >= self.values.size:
            return None if self.values[-1] > 0 else tick
        t = int(self.next_down[tick])
        if t < self.values.size:
            return t
        return None if self.values[-1] > 0 else t


# (pools with their evidence so far, now) -> pool keys in the strategy's order.
Ranker = Callable[[Sequence[PoolRecord], datetime], list[PoolKey]]


@dataclass(slots=True)
class _PoolLog:
    """One pool's events, each list in time order (seconds from the replay's origin)."""

    interruptions: list[float] = field(default_factory=list)
    usage_at: list[float] = field(default_factory=list)  # when a run's instance-hours landed
    usage_total: list[float] = field(default_factory=list)  # running sum of those hours
    errors: list[float] = field(default_factory=list)


class FleetLog:
    """The fleet's own evidence per pool, as timestamped events; read back as of a time."""

    def __init__(self, keys: Sequence[PoolKey]) -> None:
        self._pools = {k: _PoolLog() for k in keys}

    def interruption(self, key: PoolKey, t: float) -> None:
        _append(self._pools[key].interruptions, t)

    def usage(self, key: PoolKey, t: float, hours: float) -> None:
        log = self._pools[key]
        _append(log.usage_at, t)
        log.usage_total.append((log.usage_total[-1] if log.usage_total else 0.0) + hours)

    def capacity_error(self, key: PoolKey, t: float) -> None:
        _append(self._pools[key].errors, t)

    def as_of(self, key: PoolKey, t: float) -> tuple[int, float, int, float | None]:
        """(interruptions, instance-hours, errors in the trailing window, newest event) at `t`.

        Only events at or before `t` count: a ranking never sees what has not happened yet.
        """
        log = self._pools[key]
        window = CAPACITY_ERROR_WINDOW.total_seconds()
        k = bisect_right(log.interruptions, t)
        u = bisect_right(log.usage_at, t)
        e = bisect_right(log.errors, t)
        recent = e - bisect_left(log.errors, t - window)
        newest = [xs[i - 1] for xs, i in ((log.interruptions, k), (log.usage_at, u),
                                          (log.errors, e)) if i]  # fmt: skip
        return k, log.usage_total[u - 1] if u else 0.0, recent, max(newest, default=None)


def _append(times: list[float], t: float) -> None:
    if times and t < times[-1]:
        raise ValueError("fleet events must be logged in time order")
    times.append(t)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    completed_hours: float  # wall clock from start to done
    cost: float  # $ spent (spot and on-demand)
    interruptions: int
    lost_work_hours: float
    launch_failures: int
    on_demand: bool  # fell back to on-demand
    pools_used: tuple[str, ...]
    started_hours: float  # start, hours from the trace's tick 0


def _records(
    pools: Sequence[ReplayPool], log: FleetLog, origin: datetime, t: float
) -> list[PoolRecord]:
    """Each pool's record as of replay time `t` with the fleet evidence observed so far."""
    now = origin + timedelta(seconds=t)
    out = []
    for p in pools:
        interruptions, hours, errors, last = log.as_of(p.record.key, t)
        out.append(
            _with(
                p.record,
                now,
                interruptions=interruptions,
                hours=hours,
                errors=errors,
                last=None if last is None else origin + timedelta(seconds=last),
            )
        )
    return out


def _with(
    r: PoolRecord, now: datetime, *, interruptions: int, hours: float, errors: int,
    last: datetime | None,
) -> PoolRecord:  # fmt: skip
    return replace(
        r,
        spot_price_at=now,
        on_demand_at=now if r.on_demand_price is not None else None,
        interruption_at=now,
        fleet_interruptions=interruptions,
        fleet_instance_hours=hours,
        fleet_capacity_errors=errors,
        fleet_at=last,
    )


def replay_job(
    pools: Sequence[ReplayPool],
    ranker: Ranker,
    *,
    start_tick: int,
    origin: datetime,
    job: Job,
    on_demand_price: float,
    log: FleetLog | None = None,
) -> JobOutcome:
    """Run one job from `start_tick`; `origin` is the trace's tick 0 (for the ranker's clock).

    `log` holds the fleet's evidence before this job and receives this job's (default: an empty
    log, so the job remembers only itself). All pools must share one tick gap.
    """
    gap = pools[0].gap_seconds
    if any(p.gap_seconds != gap for p in pools):
        raise ValueError("all pools of a replay must share one tick gap")
    by_key = {p.record.key: p for p in pools}
    if log is None:
        log = FleetLog([p.record.key for p in pools])
    restart = job.restart_minutes * 60.0
    ckpt = job.checkpoint_minutes * 60.0
    work = job.work_hours * 3600.0
    saved = 0.0  # checkpointed progress, seconds
    cost = 0.0
    interruptions = failures = 0
    lost = 0.0
    used: list[str] = []
    t0 = start_tick * gap
    t = t0
    waiting_since = t
    retry_ticks = max(1, math.ceil(RETRY_SECONDS / gap))
    while True:
        tick = round(t / gap)
        order = ranker(_records(pools, log, origin, t), origin + timedelta(seconds=t))
        chosen: ReplayPool | None = None
        for key in order:
            pool = by_key[key]
            if pool.up(tick):
                chosen = pool
                break
            failures += 1
            log.capacity_error(key, t)
        if chosen is None:
            if t - waiting_since > job.on_demand_after_hours * 3600.0:
                left = restart + work - saved
                return JobOutcome(
                    (t + left - t0) / 3600.0,
                    cost + left / 3600.0 * on_demand_price,
                    interruptions,
                    lost / 3600.0,
                    failures,
                    True,
                    (*used, "on-demand"),
                    t0 / 3600.0,
                )
            t = (tick + retry_ticks) * gap
            continue
        used.append(f"{chosen.record.key.zone_id}/{chosen.record.key.instance_type}")
        price = float(chosen.record.spot_price or 0.0)
        needed = restart + work - saved
        down = chosen.down_after(tick)
        run = math.inf if down is None else (down - tick) * gap
        key = chosen.record.key
        if run >= needed:
            cost += needed / 3600.0 * price
            log.usage(key, t + needed, needed / 3600.0)
            return JobOutcome(
                (t + needed - t0) / 3600.0,
                cost,
                interruptions,
                lost / 3600.0,
                failures,
                False,
                tuple(used),
                t0 / 3600.0,
            )
        cost += run / 3600.0 * price
        progress = max(run - restart, 0.0)
        kept = math.floor(progress / ckpt) * ckpt
        saved += kept
        lost += progress - kept
        interruptions += 1
        t += run
        log.interruption(key, t)
        log.usage(key, t, run / 3600.0)
        waiting_since = t


def replay_fleet(
    pools: Sequence[ReplayPool],
    ranker: Ranker,
    *,
    first_tick: int,
    last_start_tick: int,
    origin: datetime,
    job: Job,
    on_demand_price: float,
) -> list[JobOutcome]:
    """One team running `job` back to back from `first_tick`, remembering every earlier job.

    The next job starts at the first tick at or after the previous one's completion; no job
    starts after `last_start_tick`. One `FleetLog` carries all the jobs' evidence.
    """
    gap = pools[0].gap_seconds
    log = FleetLog([p.record.key for p in pools])
    out: list[JobOutcome] = []
    tick = first_tick
    while tick <= last_start_tick:
        done = replay_job(
            pools,
            ranker,
            start_tick=tick,
            origin=origin,
            job=job,
            on_demand_price=on_demand_price,
            log=log,
        )
        out.append(done)
        end = (done.started_hours + done.completed_hours) * 3600.0
        # The hours -> seconds round trip is inexact: a job ending on a tick starts the next there.
        tick = math.ceil(end / gap - 1e-9)
    return out
