"""The ranking snapshot a server keeps: loaded in full, then patched with the runs that land.

A full load reads every table (``core.pool_reader``). An incremental load starts from the
previous snapshot's signals and reads only what can have changed since: the rows the newer
collection runs wrote (their collection times are at or after the earliest start of those
runs) and the rows whose meaning moved with the clock (a price change, event or offering that
came into force, a change or capacity error that left its window; each a range of an indexed
time column). It patches the affected pools and the index (``PoolIndex.with_changes``: only
their rows are read and merged in by key; a regional pool comes or goes only when its type's
zones gain or lose their last spot price). The result equals a full reload at the same ``now``.

A previous snapshot's signals are handed over to exactly one successor: a load that fails
half-way leaves none behind, and the next load is a full one.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from core.clock import parse_utc
from core.pool_reader import (
    OFFERING_COLUMNS,
    SPEC_COLUMNS,
    Signals,
    all_records,
    offering_rows,
    read_signals,
    spec_rows,
    zonal_over_regional,
)
from core.pool_signals import (
    CAPACITY_ERROR_WINDOW,
    ICE_KIND,
    INTERRUPTION_VALUES,
    ON_DEMAND_VALUES,
    SCORE_KEY,
    SCORE_VALUES,
    VOLATILITY_WINDOW,
    Pool,
    Stamps,
    fleet_signals,
    interruption_rows,
    pool_columns,
    raw,
    score_rows,
    spot_signals,
)
from core.tables import (
    REGIONAL_ZONE,
    CollectionRun,
    FleetEvent,
    InstanceType,
    InterruptionRate,
    Offering,
    OnDemandPrice,
    PlacementScore,
    SpotPrice,
)
from selector import PoolIndex, PoolKey, PoolRecord

__all__ = [
    "FULL_RELOAD_AFTER",
    "MAX_PATCH_SPAN",
    "LoadStats",
    "PoolSnapshot",
    "load_snapshot",
    "settle",
]

log = logging.getLogger(__name__)

# A snapshot is reloaded in full at least this often: it bounds what a patch cannot see (a row
# a source dated before its run started, a run that committed after a newer run's id).
FULL_RELOAD_AFTER = timedelta(hours=6)
# New runs whose rows reach back further than this before the previous snapshot (a document
# dated by its publication) are loaded in full: a patch would read most of the store anyway.
MAX_PATCH_SPAN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LoadStats:
    """How a snapshot was loaded, for logs, metrics and status."""

    kind: str  # "full" | "incremental"
    seconds: float  # the whole load, index build included
    build_seconds: float  # PoolIndex.build's share
    pools_patched: int  # records rebuilt (every pool on a full load)
    full_seconds: float  # the newest full load's time (this load's when kind == "full")
    full_loaded_at: datetime  # the ``now`` of the newest full load


@dataclass
class _State:
    signals: Signals
    records: dict[Pool, PoolRecord]  # every pool's record, the ones the index hides included
    # (cloud, region, type) -> its zonal pools with a spot price: while any, the regional pool
    # stays out of the index (``zonal_over_regional``), so a patch looks at the types it touches.
    priced_zones: Counter[tuple[str, str, str]]


@dataclass
class PoolSnapshot:
    """A pool index, the newest run it reflects and what the next load patches."""

    index: PoolIndex
    generation: int
    now: datetime
    stats: LoadStats
    _state: _State | None = field(default=None, repr=False)

    def _take(self) -> _State | None:
        """The signals, handed to one successor only (it patches them in place)."""
        state, self._state = self._state, None
        return state


def load_snapshot(
    engine: Engine, *, now: datetime, previous: PoolSnapshot | None = None
) -> PoolSnapshot:
    """The snapshot at ``now``: ``previous`` patched with what changed since, or a full load."""
    started = time.perf_counter()
    with Session(engine) as session:
        conn = session.connection()
        generation = int(conn.scalar(select(func.max(CollectionRun.id))) or 0)
        since = _patch_window(conn, previous, now)
        state = previous._take() if previous is not None and since is not None else None
        stamps = Stamps()
        full = state is None or previous is None or since is None
        if state is None or previous is None or since is None:
            signals = read_signals(conn, now=now, stamps=stamps)
            records = all_records(signals)
            state = _State(signals, records, Counter(map(_zone_type, _priced_zonal(records))))
            patched = len(records)
        else:
            changed = _patch(conn, state.signals, prev=previous.now, now=now, since=since,
                             stamps=stamps)  # fmt: skip
            put, drop = _repatch(state, changed)
            patched = len(changed)
    built = time.perf_counter()
    if full or previous is None:
        index = PoolIndex.build(zonal_over_regional(state.records), built_at=now)
    else:  # only the changed pools' rows are read; the others are the previous index's
        index = previous.index.with_changes(put=put, drop=drop, built_at=now)
    finished = time.perf_counter()
    last_full = None if full or previous is None else previous.stats
    stats = LoadStats(
        kind="full" if full else "incremental",
        seconds=finished - started,
        build_seconds=finished - built,
        pools_patched=patched,
        full_seconds=finished - started if last_full is None else last_full.full_seconds,
        full_loaded_at=now if last_full is None else last_full.full_loaded_at,
    )
    log.info(
        "pool snapshot loaded (%s) in %.2f s, index build %.2f s; newest full load %.2f s",
        stats.kind,
        stats.seconds,
        stats.build_seconds,
        stats.full_seconds,
        extra={"kind": stats.kind, "seconds": round(stats.seconds, 3),
               "build_seconds": round(stats.build_seconds, 3), "pools": index.size,
               "pools_patched": patched, "generation": generation},
    )  # fmt: skip
    return PoolSnapshot(index, generation, now, stats, state)


def settle() -> None:
    """Take what is alive now (a snapshot just loaded, above all) out of the cyclic garbage
    collector's sight: call once a loaded snapshot is in service.

    A snapshot at 100k pools is millions of long-lived objects, and every full collection
    walked them all: 0.5-0.8 s with the interpreter held, which landed inside an incremental
    load (1.3 s instead of 0.6) or on whatever requests were in flight. Frozen, they are no
    longer walked; they hold no reference cycles, so when a newer snapshot replaces this one
    reference counting still frees them. The young generations are collected first so that
    little cyclic garbage is frozen with them (frozen, it would never be freed).
    """
    gc.collect(1)
    gc.freeze()


def _repatch(state: _State, changed: set[Pool]) -> tuple[list[PoolRecord], list[PoolKey]]:
    """Rebuild the records of ``changed``; the records the index must put and the pools it must
    drop, ``zonal_over_regional`` applied to the (cloud, region, type)s they belong to."""
    records, priced = state.records, state.priced_zones
    touched: set[Pool] = set(changed)
    for pool in changed:
        old = records.get(pool)
        record = state.signals.record(pool)
        if record is None:
            records.pop(pool, None)
        else:
            records[pool] = record
        c, r, z, t = pool
        if z != REGIONAL_ZONE:
            moved = _is_priced(record) - _is_priced(old)
            if moved:
                priced[(c, r, t)] += moved
                touched.add((c, r, REGIONAL_ZONE, t))  # it may have to come or go
    put: list[PoolRecord] = []
    drop: list[PoolKey] = []
    for pool in touched:
        c, r, z, t = pool
        record = records.get(pool)
        if record is not None and (z != REGIONAL_ZONE or priced[(c, r, t)] <= 0):
            put.append(record)  # a regional record the index holds already changes nothing
        elif record is not None or pool in changed:
            drop.append(PoolKey(c, r, z, t))
    return put, drop


def _priced_zonal(records: dict[Pool, PoolRecord]) -> Iterator[Pool]:
    return (pool for pool, record in records.items()
            if pool[2] != REGIONAL_ZONE and record.spot_price is not None)  # fmt: skip


def _is_priced(record: PoolRecord | None) -> int:
    return int(record is not None and record.spot_price is not None)


def _zone_type(pool: Pool) -> tuple[str, str, str]:
    return pool[0], pool[1], pool[3]


def _patch_window(
    conn: Connection, previous: PoolSnapshot | None, now: datetime
) -> datetime | None:
    """The earliest collection time a patch must read from, or None when a full load is due.

    A patch reads rows collected at or after the earliest start (or data time) of the runs
    newer than ``previous``; with no newer run it reads only what the clock moved.
    """
    if previous is None or previous._state is None or now < previous.now:
        return None
    if now - previous.stats.full_loaded_at > FULL_RELOAD_AFTER:
        return None
    first: Any = conn.execute(
        select(raw(func.min(CollectionRun.started_at)), raw(func.min(CollectionRun.data_as_of)))
        .where(CollectionRun.id > previous.generation)
    ).one()  # fmt: skip
    times = [t for t in (parse_utc(first[0]), parse_utc(first[1])) if t is not None]
    since = min(times, default=previous.now)
    if since < previous.now - MAX_PATCH_SPAN:
        return None
    return since


def _between(column: Any, low: datetime, high: datetime) -> Any:
    return and_(column >= low, column <= high)


def _patch(
    conn: Connection, s: Signals, *, prev: datetime, now: datetime, since: datetime,
    stamps: Stamps,
) -> set[Pool]:  # fmt: skip
    """Bring ``s`` from ``prev`` to ``now``; the pools whose record may have changed."""
    pools: set[Pool] = set()
    by_type: set[tuple[str, str]] = set()  # (cloud, type): every pool of the type
    by_region: set[tuple[str, str, str]] = set()  # (cloud, region, type)

    def by_key(keys: Iterable[Pool]) -> None:
        for c, r, z, t in keys:
            if z == REGIONAL_ZONE:
                by_region.add((c, r, t))
            pools.add((c, r, z, t))

    specs = spec_rows(conn.execute(select(*SPEC_COLUMNS).where(InstanceType.observed_at >= since)))
    for type_key, spec in specs.items():
        if s.specs.get(type_key) != spec:
            s.specs[type_key] = spec
            by_type.add(type_key)

    # One OR at the top, each side a range of an indexed time column (see core.tables).
    still = and_(Offering.last_seen >= since, Offering.first_seen <= now)
    came = _between(Offering.first_seen, prev, now)
    offered = offering_rows(conn.execute(select(*OFFERING_COLUMNS).where(or_(still, came))))
    for pool, offering in offered.items():
        if s.offerings.get(pool) != offering:
            s.offerings[pool] = offering
            pools.add(pool)

    listed: Sequence[Any] = conn.execute(
        select(*ON_DEMAND_VALUES).where(
            OnDemandPrice.os == "linux",
            or_(OnDemandPrice.observed_at >= since, _between(OnDemandPrice.observed_at, prev, now)),
        )
    ).all()
    for c, r, t, price, at, source in listed:
        value: tuple[float, datetime, str] | None = (price, stamps(at), source)
        if value is not None and value[1] > now:
            value = None
        if s.on_demand.get((c, r, t)) != value:
            by_region.add((c, r, t))
            if value is None:
                s.on_demand.pop((c, r, t), None)
            else:
                s.on_demand[(c, r, t)] = value

    seen = InterruptionRate.observed_at
    by_key(interruption_rows(conn.execute(
        select(*pool_columns(InterruptionRate), *(raw(v) for v in INTERRUPTION_VALUES))
        .where(or_(seen >= since, _between(seen, prev, now)), seen <= now)
    ).all(), stamps, s.interruptions))  # fmt: skip

    scored = PlacementScore.observed_at
    sets = score_rows(conn.execute(
        select(*SCORE_KEY, *(raw(v) for v in SCORE_VALUES))
        .where(or_(scored >= since, _between(scored, prev, now)), scored <= now)
    ).all(), stamps, s.scores)  # fmt: skip
    rescore: set[Pool] = set()
    for set_key in sets:
        cloud, region, zone, types, _ = set_key
        for itype in types.split(","):
            member = (cloud, region, zone, itype)
            held = s.members.setdefault(member, [])
            if set_key not in held:
                held.append(set_key)
            rescore.add(member)
    by_key(s.rescore(rescore))

    ts = SpotPrice.ts
    repriced = _distinct_pools(conn, SpotPrice, or_(
        SpotPrice.observed_at >= since, _between(ts, prev, now),
        _between(ts, prev - VOLATILITY_WINDOW, now - VOLATILITY_WINDOW),
    ))  # fmt: skip
    latest, volatility = spot_signals(conn, now, stamps, repriced)
    for pool in repriced:
        _put(s.spot, pool, latest.get(pool))
        _put(s.volatility, pool, volatility.get(pool))
    pools |= repriced

    at = FleetEvent.occurred_at
    window = (prev - CAPACITY_ERROR_WINDOW, now - CAPACITY_ERROR_WINDOW)
    evidence = _distinct_pools(conn, FleetEvent, or_(
        FleetEvent.observed_at >= since, _between(at, prev, now),
        and_(FleetEvent.kind == ICE_KIND, _between(at, *window)),
    ))  # fmt: skip
    fleet = fleet_signals(conn, now, stamps, evidence)
    for pool in evidence:
        _put(s.fleet, pool, fleet.get(pool))
    pools |= evidence

    if by_type or by_region:
        for pool in s.offerings:
            c, r, _, t = pool
            if (c, t) in by_type or (c, r, t) in by_region:
                pools.add(pool)
    return pools


def _put(into: dict[Pool, Any], key: Pool, value: Any) -> None:
    if value is None:
        into.pop(key, None)
    else:
        into[key] = value


def _distinct_pools(conn: Connection, model: Any, where: Any) -> set[Pool]:
    # Deduplicated here, not by DISTINCT: SQLite would then walk the pool key index in order
    # (no sort) over the whole table rather than look the few matching rows up by time.
    rows: Sequence[Any] = conn.execute(select(*pool_columns(model)).where(where)).all()
    return {(c, r, z, t) for c, r, z, t in rows}
