"""The store's read path: every pool's signals in force at a time, zone names, newest run.

``load_pool_index`` turns the store into the :class:`selector.PoolIndex` that ranking runs
over (never per-request SQL); the API's cache rebuilds it when ``newest_run_id`` changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, case, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.clock import as_utc, parse_utc
from core.errors import ConfigError
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
    Zone,
)
from selector import PoolIndex, PoolKey, PoolRecord
from selector.capacity import ICE_TTL_HOURS

__all__ = ["load_pool_index", "load_pool_records", "load_zone_names", "newest_run_id"]

# Volatility is measured over the same trailing week the collectors look back by default.
VOLATILITY_WINDOW = timedelta(days=7)
# Insufficient-capacity errors older than this no longer lower a pool's capacity: the selector's
# ICE memory (selector/capacity.py ICE_TTL_HOURS, fitted on real launch probes), one constant.
CAPACITY_ERROR_WINDOW = timedelta(hours=ICE_TTL_HOURS)
# Sources whose rows are simulated: answers built on them are labelled as such.
SIMULATED_SOURCES = frozenset({"sim"})
# Zone names are per AWS account; the other clouds name zones the same for everyone.
AWS = "aws"

Pool = tuple[str, str, str, str]
Column = InstrumentedAttribute[Any]


def _latest_rows(
    session: Session,
    partition: Sequence[Column],
    order: Column,
    values: Sequence[Column],
    *,
    now: datetime,
) -> list[Any]:
    """For each partition, the values of the newest row with ``order <= now``."""
    ranked = (
        select(
            *partition,
            *values,
            func.row_number().over(partition_by=partition, order_by=order.desc()).label("rn"),
        )
        .where(order <= now)
        .subquery()
    )
    wanted = [ranked.c[c.key] for c in (*partition, *values)]
    return list(session.execute(select(*wanted).where(ranked.c.rn == 1)).all())


def _pool_cols(model: Any) -> list[Column]:
    return [model.cloud, model.region, model.zone_id, model.instance_type]


def _cv(n: int, mean: float | None, mean_sq: float | None) -> float:
    """Coefficient of variation from count, E[p] and E[p²] (clipped for rounding)."""
    m, m2 = float(mean or 0.0), float(mean_sq or 0.0)
    return math.sqrt(max(0.0, m2 - m * m)) / m if n > 1 and m > 0 else 0.0


def _spot_signals(
    session: Session, now: datetime
) -> tuple[dict[Pool, tuple[float, datetime, str]], dict[Pool, float]]:
    """Per pool: the price in force at ``now`` (when it was confirmed, its row's source), and
    its volatility.

    The price in force is the last change at or before ``now``; volatility is the coefficient
    of variation of the changes within the trailing window.
    """
    price, ts = SpotPrice.price_usd_per_hour, SpotPrice.ts
    pool = _pool_cols(SpotPrice)
    recent = ts >= now - VOLATILITY_WINDOW
    stats = (
        func.count(case((recent, 1))),
        func.avg(case((recent, price))),
        func.avg(case((recent, price * price))),
    )
    latest: dict[Pool, tuple[float, datetime, str]] = {}
    volatility: dict[Pool, float] = {}
    if session.get_bind().dialect.name == "sqlite":
        # One pass: with exactly one max() in a query, SQLite takes the bare columns from the
        # row holding that max, i.e. the change in force.
        query = (
            select(*pool, price, SpotPrice.observed_at, SpotPrice.source, func.max(ts), *stats)
            .where(ts <= now)
            .group_by(*pool)
        )
        rows: list[Any] = list(session.execute(query).all())
        for c, r, z, t, p, seen, source, _, n, mean, mean_sq in rows:
            latest[(c, r, z, t)] = (float(p), as_utc(seen), str(source))
            volatility[(c, r, z, t)] = _cv(n, mean, mean_sq)
        return latest, volatility
    in_force = (
        select(*pool, price, SpotPrice.observed_at, SpotPrice.source)
        .where(ts <= now)
        .ext(distinct_on(*pool))
        .order_by(*pool, ts.desc())
    )
    rows = list(session.execute(in_force).all())
    for c, r, z, t, p, seen, source in rows:
        latest[(c, r, z, t)] = (float(p), as_utc(seen), str(source))
    moving = select(*pool, *stats).where(ts <= now, recent).group_by(*pool)
    rows = list(session.execute(moving).all())
    for c, r, z, t, n, mean, mean_sq in rows:
        volatility[(c, r, z, t)] = _cv(n, mean, mean_sq)
    return latest, volatility


@dataclass(frozen=True, slots=True)
class _Capacity:
    score: float | None
    raw: str
    zonal: bool
    at: datetime
    set_size: int
    source: str


def _capacity(session: Session, now: datetime) -> dict[tuple[str, str, str, str], _Capacity]:
    """Per (cloud, region, zone or "", type): the score of the most specific set holding it."""
    rows = _latest_rows(
        session,
        [PlacementScore.cloud, PlacementScore.region, PlacementScore.zone_id,
         PlacementScore.instance_types, PlacementScore.target_capacity],
        PlacementScore.observed_at,
        [PlacementScore.observed_at, PlacementScore.score, PlacementScore.raw,
         PlacementScore.source],
        now=now,
    )  # fmt: skip
    out: dict[tuple[str, str, str, str], _Capacity] = {}
    for cloud, region, zone, type_set, _target, at, score, raw, source in rows:
        members = type_set.split(",")
        cap = _Capacity(score, raw, zone != REGIONAL_ZONE, as_utc(at), len(members), str(source))
        for itype in members:
            key = (cloud, region, zone, itype)
            held = out.get(key)
            # A smaller set says more about this type; among equals, newer wins.
            if held is None or (cap.set_size, -cap.at.timestamp()) < (
                held.set_size,
                -held.at.timestamp(),
            ):
                out[key] = cap
    return out


@dataclass(frozen=True, slots=True)
class _Fleet:
    interruptions: int
    instance_hours: float
    capacity_errors: int
    at: datetime | None
    sources: frozenset[str]
    capacity_error_at: datetime | None = None  # the newest insufficient-capacity event


def _fleet(session: Session, now: datetime) -> dict[Pool, _Fleet]:
    """Per pool: interruptions, instance-hours, recent capacity errors, newest event, sources."""
    recent = now - CAPACITY_ERROR_WINDOW

    def count_kind(kind: str, since: datetime | None = None) -> ColumnElement[Any]:
        cond = FleetEvent.kind == kind
        if since is not None:
            cond = cond & (FleetEvent.occurred_at >= since)
        return func.sum(case((cond, 1), else_=0))

    rows: list[Any] = list(
        session.execute(
            select(
                *_pool_cols(FleetEvent),
                FleetEvent.source,
                count_kind("interruption"),
                func.sum(func.coalesce(FleetEvent.instance_hours, 0.0)),
                count_kind("insufficient-capacity", recent),
                func.max(FleetEvent.occurred_at),
                func.max(
                    case((FleetEvent.kind == "insufficient-capacity", FleetEvent.occurred_at))
                ),
            )
            .where(FleetEvent.occurred_at <= now)
            .group_by(*_pool_cols(FleetEvent), FleetEvent.source)
        ).all()
    )
    out: dict[Pool, _Fleet] = {}
    for c, r, z, t, source, k, h, e, at, ice_at in rows:
        part = _Fleet(
            int(k or 0), float(h or 0.0), int(e or 0), parse_utc(at), frozenset({source}),
            parse_utc(ice_at),
        )  # fmt: skip
        held = out.get((c, r, z, t))
        out[(c, r, z, t)] = part if held is None else _merge(held, part)
    return out


def _merge(a: _Fleet, b: _Fleet) -> _Fleet:
    """One pool's evidence from two sources, added up."""
    return _Fleet(
        a.interruptions + b.interruptions,
        a.instance_hours + b.instance_hours,
        a.capacity_errors + b.capacity_errors,
        _newest(a.at, b.at),
        a.sources | b.sources,
        _newest(a.capacity_error_at, b.capacity_error_at),
    )


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((x for x in (a, b) if x is not None), default=None)


def load_pool_records(session: Session, *, now: datetime) -> list[PoolRecord]:
    """One :class:`PoolRecord` per offered pool with the signals in force at ``now``."""
    specs = {(t.cloud, t.name): t for t in session.scalars(select(InstanceType))}
    spot, volatility = _spot_signals(session, now)
    on_demand = {
        (c, r, t): (float(p), as_utc(at), str(source))
        for c, r, t, p, at, source in session.execute(
            select(OnDemandPrice.cloud, OnDemandPrice.region, OnDemandPrice.instance_type,
                   OnDemandPrice.price_usd_per_hour, OnDemandPrice.observed_at,
                   OnDemandPrice.source)
            .where(OnDemandPrice.os == "linux", OnDemandPrice.observed_at <= now)
        ).all()
    }  # fmt: skip
    # The newest signal per pool whichever source stored it; its source travels with it.
    interruptions = {
        (c, r, z, t): (label, rate, as_utc(at), str(source))
        for c, r, z, t, label, rate, at, source in _latest_rows(
            session, _pool_cols(InterruptionRate), InterruptionRate.observed_at,
            [InterruptionRate.label, InterruptionRate.rate, InterruptionRate.observed_at,
             InterruptionRate.source],
            now=now,
        )
    }  # fmt: skip
    capacity = _capacity(session, now)
    fleet = _fleet(session, now)
    offerings: list[Any] = list(
        session.execute(
            select(*_pool_cols(Offering), Offering.spot, Offering.on_demand, Offering.source).where(
                Offering.first_seen <= now
            )
        ).all()
    )
    records = []
    for cloud, region, zone_id, instance_type, spot_offered, on_demand_offered, source in offerings:
        spec = specs.get((cloud, instance_type))
        if spec is None:
            continue  # an offering without specs cannot be matched against requirements
        pool = (cloud, region, zone_id, instance_type)
        regional = (cloud, region, REGIONAL_ZONE, instance_type)
        price = spot.get(pool) if spot_offered else None
        od = on_demand.get((cloud, region, instance_type))
        intr = interruptions.get(pool) or interruptions.get(regional)
        cap = capacity.get(pool) or capacity.get(regional)
        seen = fleet.get(pool)
        # Provenance from each row used, never inferred from the cloud.
        sources = {source} | {
            row_source
            for row_source in (
                price[2] if price else None,
                od[2] if od else None,
                intr[3] if intr else None,
                cap.source if cap else None,
            )
            if row_source is not None
        }
        if seen is not None:
            sources |= seen.sources
        records.append(
            PoolRecord(
                key=PoolKey(*pool),
                family=spec.family,
                vcpus=spec.vcpus,
                memory_gib=spec.memory_gib,
                arch=spec.arch,
                gpu_count=spec.gpu_count,
                gpu_model=spec.gpu_model,
                gpu_memory_gib=spec.gpu_memory_gib,
                accelerator_kind=spec.accelerator_kind,
                spot_offered=spot_offered,
                on_demand_offered=on_demand_offered,
                spot_price=price[0] if price else None,
                spot_price_at=price[1] if price else None,
                spot_price_volatility=volatility.get(pool),
                on_demand_price=od[0] if od else None,
                on_demand_at=od[1] if od else None,
                interruption_source=intr[3] if intr else None,
                interruption_label=intr[0] if intr else None,
                interruption_value=intr[1] if intr else None,
                interruption_at=intr[2] if intr else None,
                capacity_score=cap.score if cap else None,
                capacity_raw=cap.raw if cap else None,
                capacity_zonal=cap.zonal if cap else False,
                capacity_at=cap.at if cap else None,
                fleet_interruptions=seen.interruptions if seen else 0,
                fleet_instance_hours=seen.instance_hours if seen else 0.0,
                fleet_capacity_errors=seen.capacity_errors if seen else 0,
                fleet_at=seen.at if seen else None,
                fleet_capacity_error_at=seen.capacity_error_at if seen else None,
                sources=tuple(sorted(sources)),
                simulated=not SIMULATED_SOURCES.isdisjoint(sources),
                on_demand_source=od[2] if od else None,
            )
        )
    return _zonal_over_regional(records)


def _zonal_over_regional(records: list[PoolRecord]) -> list[PoolRecord]:
    """Drop a regional pool (a public feed's) where a zonal pool of its type has a spot price.

    Both describe the same capacity: listing both would count it twice and let the regional row
    pass for one more zone. The zonal pools carry the finer data; the regional interruption
    and capacity signals still reach them (their regional fallback above).
    """
    zonal = {
        (r.key.cloud, r.key.region, r.key.instance_type)
        for r in records
        if r.key.zone_id != REGIONAL_ZONE and r.spot_price is not None
    }
    return [
        r
        for r in records
        if r.key.zone_id != REGIONAL_ZONE
        or (r.key.cloud, r.key.region, r.key.instance_type) not in zonal
    ]


def load_pool_index(engine: Engine, *, now: datetime) -> PoolIndex:
    """Every pool with the signals in force at ``now``, indexed for ranking."""
    with Session(engine) as session:
        records = load_pool_records(session, now=now)
    return PoolIndex.build(records, built_at=now)


def newest_run_id(engine: Engine) -> int:
    """The id of the newest collection run (0 when none): what a pool index generation is."""
    with Session(engine) as session:
        return int(session.scalar(select(func.max(CollectionRun.id))) or 0)


def load_zone_names(engine: Engine, *, account: str | None) -> dict[str, str]:
    """AWS zone ID -> zone name of `account`, or of the only account in `zones` when unset.

    No account in the table gives an empty map (NodePools then use `topology.k8s.aws/zone-id`);
    several accounts and none chosen is an error that lists them.
    """
    with Session(engine) as session:
        if account is None:
            accounts = sorted(
                session.scalars(select(Zone.account).where(Zone.cloud == AWS).distinct())
            )
            if not accounts:
                return {}
            if len(accounts) > 1:
                raise ConfigError(
                    f"zones table holds several AWS accounts {accounts}: set "
                    "SPOTSEL_OUTPUTS_AWS_ACCOUNT to the cluster's account"
                )
            account = accounts[0]
        rows = session.execute(
            select(Zone.zone_id, Zone.zone_name).where(Zone.cloud == AWS, Zone.account == account)
        ).all()
    if not rows:
        raise ConfigError(f"no AWS zone names stored for account {account!r}")
    return {str(zone_id): str(name) for zone_id, name in rows}
