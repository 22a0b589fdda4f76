"""The weekly report's read path: what the store holds about one week's window.

Fills the plain input values of `selector.outputs.report_model` (the pure builder never reads
the store): spot price series of chosen pools, the fleet's events and node lifetimes, and every
collector source's runs. The signals in force at the week's start and end (prices, buckets,
placement scores) come from `core.pool_reader.load_pool_index`, as for any ranking.

Everything is read up to ``cut`` = the week end, or the report time for a week still running.
A collection run is placed in time by what its data is as of, not by when it ran: a simulated
run of a past market time (``collect sim --as-of``, the demo's last week) starts now but
describes that week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, case, exists, func, select
from sqlalchemy.orm import Session

from core.clock import as_utc, parse_utc
from core.pool_reader import SIMULATED_SOURCES
from core.tables import CollectionRun, FleetEvent, FleetInstance, OnDemandPrice, SpotPrice
from core.weeks import IsoWeek
from selector import PoolKey
from selector.outputs.report_model import (
    NodeLifetime,
    PoolEvents,
    PricePoint,
    PriceSeries,
    SourceHealth,
    WeekInputs,
)

__all__ = ["PRICE_STEP", "load_on_demand_prices", "load_price_series", "load_week_inputs"]

# Price charts sample the price in force once an hour: collectors run hourly, so a finer step
# shows nothing more, and 168 points a line keep a week's chart small.
PRICE_STEP: Final = timedelta(hours=1)
# Run statuses that stored data (core.runs.RunStatus): a partial run still refreshed its regions.
_SUCCESS: Final = ("ok", "partial")
# Fleet event kinds counted per pool (core.tables.FleetEvent.kind).
_INTERRUPTION, _REBALANCE, _ICE, _USAGE = (
    "interruption",
    "rebalance",
    "insufficient-capacity",
    "usage",
)


def load_week_inputs(engine: Engine, *, week: IsoWeek, cut: datetime) -> WeekInputs:
    """The week's fleet events, node lifetimes and collector health, read up to ``cut``."""
    start, cut = week.start, min(as_utc(cut), week.end)
    with Session(engine) as session:
        has_data = _has_data(session, start, cut)
        fleet = _fleet_events(session, start, cut)
        nodes = _node_lifetimes(session, start, cut)
        sources = _sources(session, start, cut)
    return WeekInputs(
        week=str(week),
        start=start,
        end=week.end,
        cut=cut,
        has_data=has_data,
        fleet=fleet,
        nodes=nodes,
        sources=sources,
    )


def _has_data(session: Session, start: datetime, cut: datetime) -> bool:
    """Whether anything was collected or observed inside the window."""
    probes = (
        exists().where(_placed_at() >= start, _placed_at() <= cut),
        exists().where(SpotPrice.ts >= start, SpotPrice.ts <= cut),
        exists().where(FleetEvent.occurred_at >= start, FleetEvent.occurred_at <= cut),
    )
    return any(bool(session.scalar(select(probe))) for probe in probes)


def _placed_at() -> ColumnElement[datetime]:
    """When a run's data is as of: its newest observation; a run that wrote nothing (a failure)
    has no data_as_of and is placed at its start. No index covers the expression; a source runs
    a few times an hour at most, so scanning collection_runs stays cheap."""
    return func.coalesce(CollectionRun.data_as_of, CollectionRun.started_at)


def _fleet_events(session: Session, start: datetime, cut: datetime) -> tuple[PoolEvents, ...]:
    def count(kind: str) -> Any:
        return func.sum(case((FleetEvent.kind == kind, 1), else_=0))

    pool = (FleetEvent.cloud, FleetEvent.region, FleetEvent.zone_id, FleetEvent.instance_type)
    rows: list[Any] = list(
        session.execute(
            select(
                *pool,
                count(_INTERRUPTION),
                count(_REBALANCE),
                count(_ICE),
                func.sum(
                    case((FleetEvent.kind == _USAGE, func.coalesce(FleetEvent.instance_hours, 0.0)))
                ),
            )
            .where(FleetEvent.occurred_at >= start, FleetEvent.occurred_at <= cut)
            .group_by(*pool)
        ).all()
    )
    out = [
        PoolEvents(PoolKey(c, r, z, t), int(k or 0), int(b or 0), int(e or 0), float(h or 0.0))
        for c, r, z, t, k, b, e, h in rows
    ]
    return tuple(sorted(out, key=lambda p: p.key))


def _node_lifetimes(session: Session, start: datetime, cut: datetime) -> tuple[NodeLifetime, ...]:
    """Instances alive for some part of the window (an unknown launch time cannot be counted)."""
    rows = session.scalars(
        select(FleetInstance)
        .where(
            FleetInstance.launched_at.is_not(None),
            FleetInstance.launched_at < cut,
            FleetInstance.ended_at.is_(None) | (FleetInstance.ended_at > start),
        )
        .order_by(FleetInstance.cloud, FleetInstance.instance_id)
    )
    out = []
    for row in rows:
        placed = row.region is not None and row.zone_id is not None and row.instance_type
        out.append(
            NodeLifetime(
                instance_id=row.instance_id,
                nodeclaim=row.nodeclaim,
                key=(
                    PoolKey(row.cloud, str(row.region), str(row.zone_id), str(row.instance_type))
                    if placed
                    else None
                ),
                capacity_type=row.capacity_type,
                launched_at=as_utc(row.launched_at) if row.launched_at else None,
                ended_at=as_utc(row.ended_at) if row.ended_at else None,
            )
        )
    return tuple(out)


def _sources(session: Session, start: datetime, cut: datetime) -> tuple[SourceHealth, ...]:
    """Every source with a run placed up to ``cut``: its runs in the window and its newest
    success (see `_newest_success`)."""
    in_window = (_placed_at() >= start) & (_placed_at() <= cut)

    def count(status: str | None) -> Any:
        cond = in_window if status is None else in_window & (CollectionRun.status == status)
        return func.sum(case((cond, 1), else_=0))

    success = CollectionRun.status.in_(_SUCCESS)
    rows: list[Any] = list(
        session.execute(
            select(
                CollectionRun.source,
                count(None),
                count("ok"),
                count("partial"),
                count("failed"),
                func.max(case((success, CollectionRun.data_as_of))),
            )
            .where(_placed_at() <= cut)
            .group_by(CollectionRun.source)
            .order_by(CollectionRun.source)
        ).all()
    )
    out = []
    for source, runs, ok, partial, failed, as_of in rows:
        last = session.execute(
            select(CollectionRun.status, CollectionRun.error_message)
            .where(CollectionRun.source == source, in_window)
            .order_by(_placed_at().desc(), CollectionRun.id.desc())
            .limit(1)
        ).first()
        out.append(
            SourceHealth(
                source=str(source),
                runs=int(runs or 0),
                ok=int(ok or 0),
                partial=int(partial or 0),
                failed=int(failed or 0),
                newest_success=_newest_success(session, str(source), cut),
                data_as_of=parse_utc(as_of),
                last_status=str(last[0]) if last else None,
                last_error=str(last[1]) if last and last[1] else None,
                simulated=source in SIMULATED_SOURCES,
            )
        )
    return tuple(out)


def _newest_success(session: Session, source: str, cut: datetime) -> datetime | None:
    """When the source's newest ok / partial run placed up to ``cut`` finished, on its data's
    clock: its placement plus its duration. A live run's data is as of its start, so this is
    its finish; a simulated run of a past market ends that long after the market time it
    describes, not now. A run still going at ``cut`` counts as done by then."""
    row = session.execute(
        select(_placed_at(), CollectionRun.started_at, CollectionRun.finished_at)
        .where(
            CollectionRun.source == source,
            CollectionRun.status.in_(_SUCCESS),
            _placed_at() <= cut,
        )
        .order_by(_placed_at().desc(), CollectionRun.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    started, finished = as_utc(row.started_at), as_utc(row.finished_at)
    placed = parse_utc(row[0]) or started  # SQLite hands the expression back as text
    return min(placed + (finished - started), cut)


def load_price_series(
    engine: Engine,
    *,
    pools: Sequence[PoolKey],
    start: datetime,
    cut: datetime,
    step: timedelta = PRICE_STEP,
) -> tuple[PriceSeries, ...]:
    """The spot price in force (last change at or before t) every ``step`` from ``start`` to
    ``cut``, per pool; a pool with no price in the window has no points."""
    out = []
    with Session(engine) as session:
        for key in dict.fromkeys(pools):
            changes = _changes(session, key, start, cut)
            out.append(PriceSeries(key, _sample(changes, start, cut, step)))
    return tuple(out)


def _changes(
    session: Session, key: PoolKey, start: datetime, cut: datetime
) -> list[tuple[datetime, float]]:
    """The change in force at ``start`` and every change after it up to ``cut``, oldest first."""
    pool = (
        (SpotPrice.cloud == key.cloud)
        & (SpotPrice.region == key.region)
        & (SpotPrice.zone_id == key.zone_id)
        & (SpotPrice.instance_type == key.instance_type)
    )
    columns = (SpotPrice.ts, SpotPrice.price_usd_per_hour)
    first = session.execute(
        select(*columns).where(pool, SpotPrice.ts <= start).order_by(SpotPrice.ts.desc()).limit(1)
    ).first()
    later = session.execute(
        select(*columns)
        .where(pool, SpotPrice.ts > start, SpotPrice.ts <= cut)
        .order_by(SpotPrice.ts)
    ).all()
    rows = ([first] if first else []) + list(later)
    return [(as_utc(ts), float(price)) for ts, price in rows]


def _sample(
    changes: list[tuple[datetime, float]], start: datetime, cut: datetime, step: timedelta
) -> tuple[PricePoint, ...]:
    points: list[PricePoint] = []
    index, in_force = 0, None
    at = start
    while at <= cut:
        while index < len(changes) and changes[index][0] <= at:
            in_force = changes[index][1]
            index += 1
        if in_force is not None:
            points.append(PricePoint(at, in_force))
        at += step
    return tuple(points)


def load_on_demand_prices(
    engine: Engine,
) -> dict[tuple[str, str, str], tuple[float, datetime, str]]:
    """Every stored Linux on-demand list price, (cloud, region, type) -> (price, observed at,
    source). The table keeps the last known good price only (each collection moves its
    ``observed_at``), so a report on a past week uses it where nothing older is stored."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                OnDemandPrice.cloud,
                OnDemandPrice.region,
                OnDemandPrice.instance_type,
                OnDemandPrice.price_usd_per_hour,
                OnDemandPrice.observed_at,
                OnDemandPrice.source,
            ).where(OnDemandPrice.os == "linux")
        ).all()
    return {(c, r, t): (float(p), as_utc(at), str(src)) for c, r, t, p, at, src in rows}
