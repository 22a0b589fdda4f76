"""Reading every pool's signals from the store into plain dictionaries, in full or for a few pools.

The full snapshot load (``core.pool_reader``) reads each table once; the incremental load
(``core.pool_snapshot``) re-reads only what changed and patches the same dictionaries. Queries
are SQLAlchemy Core on the session's connection (no ORM row objects), timestamps come back
unprocessed and are converted once per distinct value (a store's timestamps are mostly the
times of its collection runs, so a few hundred values stand for hundreds of thousands of rows).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    MetaData,
    Numeric,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    select,
    text,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import NullType

from core.clock import parse_utc
from core.tables import (
    REGIONAL_ZONE,
    FleetEvent,
    InterruptionRate,
    OnDemandPrice,
    PlacementScore,
    SpotPrice,
)
from selector.capacity import ICE_TTL_HOURS

__all__ = [
    "CAPACITY_ERROR_WINDOW",
    "VOLATILITY_WINDOW",
    "Capacity",
    "Fleet",
    "Pool",
    "SetKey",
    "Stamps",
    "best_capacity",
    "fleet_signals",
    "latest_interruptions",
    "latest_score_sets",
    "pool_columns",
    "raw",
    "spot_signals",
]

# Volatility is measured over the same trailing week the collectors look back by default.
VOLATILITY_WINDOW = timedelta(days=7)
# Insufficient-capacity errors older than this no longer lower a pool's capacity: the selector's
# ICE memory (selector/capacity.py ICE_TTL_HOURS, fitted on real launch probes), one constant.
CAPACITY_ERROR_WINDOW = timedelta(hours=ICE_TTL_HOURS)
ICE_KIND = "insufficient-capacity"
Pool = tuple[str, str, str, str]
# A placement score's set: (cloud, region, zone or "", sorted comma-joined types, target).
SetKey = tuple[str, str, str, str, int]


class Stamps:
    """Driver timestamp values -> aware UTC datetimes, each distinct value converted once."""

    def __init__(self) -> None:
        self._seen: dict[Any, datetime] = {}

    def __call__(self, value: Any) -> datetime:
        hit = self._seen.get(value)
        if hit is None:
            converted = parse_utc(value)
            assert converted is not None, "a NOT NULL timestamp came back NULL"
            hit = self._seen[value] = converted
        return hit

    def maybe(self, value: Any) -> datetime | None:
        return None if value is None else self(value)


def raw(column: Any) -> ColumnElement[Any]:
    """The column as the driver returns it: no per-row result processing (``Stamps`` converts)."""
    key = column.key if isinstance(column, InstrumentedAttribute) else None
    return type_coerce(column, NullType()).label(key)


def pool_columns(model: Any) -> list[Any]:
    return [model.cloud, model.region, model.zone_id, model.instance_type]


def _cv(n: int, mean: float | None, mean_sq: float | None) -> float:
    """Coefficient of variation from count, E[p] and E[p²] (clipped for rounding)."""
    m, m2 = float(mean or 0.0), float(mean_sq or 0.0)
    return math.sqrt(max(0.0, m2 - m * m)) / m if n > 1 and m > 0 else 0.0


_KEYS = MetaData()
# The pools a query is limited to, stored rather than listed (a bounded statement, index use).
_POOL_KEYS = Table(
    "spotsel_pool_keys",
    _KEYS,
    Column("cloud", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("zone_id", String, primary_key=True),
    Column("instance_type", String, primary_key=True),
    prefixes=["TEMPORARY"],
)


Limit = Callable[[Select[Any], Any], Select[Any]]


@contextmanager
def _limit_to(conn: Connection, pools: Collection[Pool] | None) -> Iterator[Limit]:
    """A function that limits a query on a pool table to ``pools`` (None: every pool)."""
    if pools is None:
        yield lambda query, _model: query
        return
    # A table left by a failed load on this connection (SQLite commits DDL at once) goes first.
    schema = "temp" if conn.dialect.name == "sqlite" else "pg_temp"
    conn.execute(text(f"DROP TABLE IF EXISTS {schema}.{_POOL_KEYS.name}"))
    _POOL_KEYS.create(conn)
    try:
        if pools:
            conn.execute(
                _POOL_KEYS.insert(),
                [{"cloud": c, "region": r, "zone_id": z, "instance_type": t}
                 for c, r, z, t in pools],
            )  # fmt: skip
        if conn.dialect.name != "sqlite":
            # Without statistics PostgreSQL plans for a large table and scans the pool table.
            conn.execute(text(f"ANALYZE {_POOL_KEYS.name}"))

        def limit(query: Select[Any], model: Any) -> Select[Any]:
            # IN (subquery), not a join: SQLite then looks each pool up in the table's key
            # index instead of scanning the table (it has no statistics on the temporary one).
            return query.where(tuple_(*pool_columns(model)).in_(select(*_POOL_KEYS.c)))

        yield limit
    finally:
        _POOL_KEYS.drop(conn)


def spot_signals(
    conn: Connection, now: datetime, stamps: Stamps, pools: Collection[Pool] | None = None
) -> tuple[dict[Pool, tuple[float, datetime, str]], dict[Pool, float]]:
    """Per pool: the price in force at ``now`` (when it was confirmed, its row's source), and
    its volatility.

    The price in force is the last change at or before ``now``; volatility is the coefficient
    of variation of the changes within the trailing window.
    """
    price = SpotPrice.price_usd_per_hour
    measured: Any = price
    ts = SpotPrice.ts
    pool = pool_columns(SpotPrice)
    recent = ts >= now - VOLATILITY_WINDOW
    if conn.dialect.name != "sqlite":
        # Exact sums: a float sum depends on the order rows arrive in, which differs between a
        # full and a limited read, and the two loads must agree to the last bit.
        measured = type_coerce(cast(price, Numeric), NullType())
    stats = (
        func.count(case((recent, 1))),
        func.avg(case((recent, measured))),
        func.avg(case((recent, measured * measured))),
    )
    latest: dict[Pool, tuple[float, datetime, str]] = {}
    volatility: dict[Pool, float] = {}
    if conn.dialect.name == "sqlite":
        # One pass: with exactly one max() in a query, SQLite takes the bare columns from the
        # row holding that max, i.e. the change in force.
        query = (
            select(*pool, price, raw(SpotPrice.observed_at), SpotPrice.source, raw(func.max(ts)),
                   *stats)
            .where(ts <= now)
            .group_by(*pool)
        )  # fmt: skip
        with _limit_to(conn, pools) as limit:
            found: Sequence[Any] = conn.execute(limit(query, SpotPrice)).all()
        for c, r, z, t, p, seen, source, _, n, mean, mean_sq in found:
            latest[(c, r, z, t)] = (p, stamps(seen), source)
            volatility[(c, r, z, t)] = _cv(n, mean, mean_sq)
        return latest, volatility
    if pools is None:
        held, moved = _all_pools_spot_rows(conn, now, stats, recent)
    else:
        with _limit_to(conn, pools):
            held, moved = _per_pool_spot_rows(conn, now, stats, recent)
    for c, r, z, t, p, seen, source in held:
        latest[(c, r, z, t)] = (p, stamps(seen), source)
    for c, r, z, t, n, mean, mean_sq in moved:
        volatility[(c, r, z, t)] = _cv(n, mean, mean_sq)
    for key in latest:  # no change in the window: a still price (as SQLite's one pass says)
        volatility.setdefault(key, 0.0)
    return latest, volatility


def _all_pools_spot_rows(
    conn: Connection, now: datetime, stats: tuple[Any, ...], recent: Any
) -> tuple[Sequence[Any], Sequence[Any]]:
    """PostgreSQL: every pool's change in force, and its window statistics (pools with a
    change in the window only)."""
    pool, ts = pool_columns(SpotPrice), SpotPrice.ts
    in_force = (
        select(*pool, SpotPrice.price_usd_per_hour, raw(SpotPrice.observed_at), SpotPrice.source)
        .where(ts <= now)
        .ext(distinct_on(*pool))
        .order_by(*pool, ts.desc())
    )
    moving = select(*pool, *stats).where(ts <= now, recent).group_by(*pool)
    return conn.execute(in_force).all(), conn.execute(moving).all()


def _per_pool_spot_rows(
    conn: Connection, now: datetime, stats: tuple[Any, ...], recent: Any
) -> tuple[Sequence[Any], Sequence[Any]]:
    """PostgreSQL, for the pools of the key table: each pool's change in force, and its window
    statistics (pools with a change in the window only), as `_all_pools_spot_rows` gives them.

    A lateral query per pool walks the primary key (the pool, then ts) over that pool's rows
    only; joined to the key table as a whole, the planner scanned every change of the window
    instead (~250 of the ~900 ms an incremental load took at 100k pools).
    """
    keys, ts = _POOL_KEYS, SpotPrice.ts
    same_pool = and_(*(column == key for column, key in
                       zip(pool_columns(SpotPrice), keys.c, strict=True)))  # fmt: skip
    newest = (
        select(SpotPrice.price_usd_per_hour, raw(SpotPrice.observed_at), SpotPrice.source)
        .where(same_pool, ts <= now)
        .order_by(ts.desc())
        .limit(1)
        .lateral()
    )
    n, mean, mean_sq = stats
    window = (
        select(n.label("n"), mean.label("mean"), mean_sq.label("mean_sq"))
        .where(same_pool, ts <= now, recent)
        .having(func.count() > 0)
        .lateral()
    )
    held = conn.execute(select(*keys.c, *newest.c).select_from(keys.join(newest, true()))).all()
    moved = conn.execute(select(*keys.c, *window.c).select_from(keys.join(window, true()))).all()
    return held, moved


def _newest_first(
    conn: Connection, partition: list[Any], order: Any, values: list[Any], *, where: Any
) -> Iterable[Any]:
    """Per partition, the newest row by ``order`` (``values`` include ``order``).

    ``order`` ties are broken by the last value (a source name) in byte order on both engines,
    as the incremental load's comparisons in Python break them.
    """
    tiebreak = values[-1]
    if conn.dialect.name == "sqlite":
        # One pass: with exactly one max() in a query, SQLite takes the bare columns from the
        # row holding that max. Stored timestamps are fixed-width text, so the concatenation
        # orders by time, then by the tie-break.
        newest = func.max(type_coerce(order, String()) + " " + type_coerce(tiebreak, String()))
        query = select(*partition, *(raw(v) for v in values), newest).where(where)
        return [row[:-1] for row in conn.execute(query.group_by(*partition)).all()]
    query = (
        select(*partition, *(raw(v) for v in values))
        .where(where)
        .ext(distinct_on(*partition))
        .order_by(*partition, order.desc(), tiebreak.collate("C").desc())
    )
    return conn.execute(query).all()


# An interruption signal: (label, rate, observed_at, source).
Interruption = tuple[str | None, float | None, datetime, str]


def interruption_rows(
    rows: Iterable[Any], stamps: Stamps, into: dict[Pool, Interruption]
) -> set[Pool]:
    """Keep per key the newest row (ties: the greater source name); the keys that changed."""
    changed = set()
    for c, r, z, t, label, rate, at, source in rows:
        key = (c, r, z, t)
        row = (label, rate, stamps(at), source)
        held = into.get(key)
        if held is None or (row[2], row[3]) >= (held[2], held[3]):
            if held != row:
                changed.add(key)
            into[key] = row
    return changed


INTERRUPTION_VALUES = [InterruptionRate.label, InterruptionRate.rate,
                       InterruptionRate.observed_at, InterruptionRate.source]  # fmt: skip


def latest_interruptions(
    conn: Connection, now: datetime, stamps: Stamps
) -> dict[Pool, Interruption]:
    """The newest interruption signal per pool key (zone "" = regional) whichever its source."""
    out: dict[Pool, Interruption] = {}
    rows = _newest_first(
        conn, pool_columns(InterruptionRate), InterruptionRate.observed_at, INTERRUPTION_VALUES,
        where=InterruptionRate.observed_at <= now,
    )  # fmt: skip
    interruption_rows(rows, stamps, out)
    return out


# The newest placement score of one set: (observed_at, score, raw, source).
ScoreRow = tuple[datetime, float | None, str, str]
SCORE_KEY = [PlacementScore.cloud, PlacementScore.region, PlacementScore.zone_id,
             PlacementScore.instance_types, PlacementScore.target_capacity]  # fmt: skip
SCORE_VALUES = [PlacementScore.observed_at, PlacementScore.score, PlacementScore.raw,
                PlacementScore.source]  # fmt: skip


def score_rows(rows: Iterable[Any], stamps: Stamps, into: dict[SetKey, ScoreRow]) -> set[SetKey]:
    """Keep per set its newest score; the sets that changed."""
    changed = set()
    for c, r, z, types, target, at, score, raw_value, source in rows:
        key = (c, r, z, types, target)
        row = (stamps(at), score, raw_value, source)
        held = into.get(key)
        if held is None or row[0] >= held[0]:
            if held != row:
                changed.add(key)
            into[key] = row
    return changed


def latest_score_sets(conn: Connection, now: datetime, stamps: Stamps) -> dict[SetKey, ScoreRow]:
    out: dict[SetKey, ScoreRow] = {}
    rows = _newest_first(conn, SCORE_KEY, PlacementScore.observed_at, SCORE_VALUES,
                         where=PlacementScore.observed_at <= now)  # fmt: skip
    score_rows(rows, stamps, out)
    return out


@dataclass(frozen=True, slots=True)
class Capacity:
    score: float | None
    raw: str
    zonal: bool
    at: datetime
    source: str


def members(sets: Iterable[SetKey]) -> dict[Pool, list[SetKey]]:
    """Pool key (zone "" = regional) -> the scored sets that hold its type."""
    out: dict[Pool, list[SetKey]] = {}
    for key in sets:
        cloud, region, zone, types, _ = key
        for itype in types.split(","):
            out.setdefault((cloud, region, zone, itype), []).append(key)
    return out


def best_capacity(sets: list[SetKey], scores: dict[SetKey, ScoreRow]) -> Capacity | None:
    """The score of the most specific set: a smaller set says more about a type; among equals
    the newer, then the smaller target and the first set name (so every load picks alike)."""
    best: tuple[Any, ...] | None = None
    chosen: SetKey | None = None
    for key in sets:
        row = scores.get(key)
        if row is None:
            continue
        rank = (key[3].count(","), -row[0].timestamp(), key[4], key[3])
        if best is None or rank < best:
            best, chosen = rank, key
    if chosen is None:
        return None
    at, score, raw_value, source = scores[chosen]
    return Capacity(score, raw_value, chosen[2] != REGIONAL_ZONE, at, source)


@dataclass(frozen=True, slots=True)
class Fleet:
    interruptions: int
    instance_hours: float
    capacity_errors: int
    at: datetime | None
    sources: frozenset[str]
    capacity_error_at: datetime | None = None  # the newest insufficient-capacity event


def fleet_signals(
    conn: Connection, now: datetime, stamps: Stamps, pools: Collection[Pool] | None = None
) -> dict[Pool, Fleet]:
    """Per pool: interruptions, instance-hours, recent capacity errors, newest event, sources."""
    recent = now - CAPACITY_ERROR_WINDOW

    def count_kind(kind: str, since: datetime | None = None) -> ColumnElement[Any]:
        cond = FleetEvent.kind == kind
        if since is not None:
            cond = cond & (FleetEvent.occurred_at >= since)
        return func.sum(case((cond, 1), else_=0))

    query = (
        select(
            *pool_columns(FleetEvent),
            FleetEvent.source,
            count_kind("interruption"),
            func.sum(func.coalesce(FleetEvent.instance_hours, 0.0)),
            count_kind(ICE_KIND, recent),
            raw(func.max(FleetEvent.occurred_at)),
            raw(func.max(case((FleetEvent.kind == ICE_KIND, FleetEvent.occurred_at)))),
        )
        .where(FleetEvent.occurred_at <= now)
        .group_by(*pool_columns(FleetEvent), FleetEvent.source)
    )
    out: dict[Pool, Fleet] = {}
    with _limit_to(conn, pools) as limit:
        found: Sequence[Any] = conn.execute(limit(query, FleetEvent)).all()
    for c, r, z, t, source, k, h, e, at, ice_at in found:
        part = Fleet(int(k or 0), float(h or 0.0), int(e or 0), stamps.maybe(at),
                     frozenset({source}), stamps.maybe(ice_at))  # fmt: skip
        held = out.get((c, r, z, t))
        out[(c, r, z, t)] = part if held is None else _merge(held, part)
    return out


def _merge(a: Fleet, b: Fleet) -> Fleet:
    """One pool's evidence from two sources, added up."""
    return Fleet(
        a.interruptions + b.interruptions,
        a.instance_hours + b.instance_hours,
        a.capacity_errors + b.capacity_errors,
        _newest(a.at, b.at),
        a.sources | b.sources,
        _newest(a.capacity_error_at, b.capacity_error_at),
    )


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((x for x in (a, b) if x is not None), default=None)


ON_DEMAND_VALUES = [OnDemandPrice.cloud, OnDemandPrice.region, OnDemandPrice.instance_type,
                    OnDemandPrice.price_usd_per_hour, raw(OnDemandPrice.observed_at),
                    OnDemandPrice.source]  # fmt: skip
