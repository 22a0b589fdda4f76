"""The store's read path: every pool's signals in force at a time, zone names, newest run.

``load_pool_index`` turns the store into the :class:`selector.PoolIndex` that ranking runs
over (never per-request SQL); the API's cache rebuilds it when ``newest_run_id`` changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from core.errors import ConfigError
from core.pool_signals import (
    CAPACITY_ERROR_WINDOW,
    ON_DEMAND_VALUES,
    VOLATILITY_WINDOW,
    Capacity,
    Fleet,
    Interruption,
    Pool,
    ScoreRow,
    SetKey,
    Stamps,
    best_capacity,
    fleet_signals,
    latest_interruptions,
    latest_score_sets,
    members,
    pool_columns,
    spot_signals,
)
from core.tables import (
    REGIONAL_ZONE,
    CollectionRun,
    InstanceType,
    Offering,
    OnDemandPrice,
    Zone,
)
from selector import PoolIndex, PoolKey, PoolRecord

__all__ = [
    "CAPACITY_ERROR_WINDOW",
    "SIMULATED_SOURCES",
    "VOLATILITY_WINDOW",
    "Signals",
    "load_pool_index",
    "load_pool_records",
    "load_zone_names",
    "newest_run_id",
    "read_signals",
]

log = logging.getLogger(__name__)

# Sources whose rows are simulated: answers built on them are labelled as such.
SIMULATED_SOURCES = frozenset({"sim"})
# Zone names are per AWS account; the other clouds name zones the same for everyone.
AWS = "aws"

# What a pool takes from its type's row: family, vCPUs, memory, arch, GPU count, model and
# memory, accelerator kind.
Spec = tuple[str, int, float, str, int, str | None, float | None, str]
SPEC_COLUMNS = [InstanceType.cloud, InstanceType.name, InstanceType.family, InstanceType.vcpus,
                InstanceType.memory_gib, InstanceType.arch, InstanceType.gpu_count,
                InstanceType.gpu_model, InstanceType.gpu_memory_gib,
                InstanceType.accelerator_kind]  # fmt: skip
# An offering: offered as spot, as on-demand, and its row's source.
Offered = tuple[bool, bool, str]
OFFERING_COLUMNS = [*pool_columns(Offering), Offering.spot, Offering.on_demand, Offering.source]


@dataclass
class Signals:
    """Every signal the pool records are assembled from, keyed as the store keys them.

    A full load fills it from every table; an incremental load patches it with what changed.
    """

    specs: dict[tuple[str, str], Spec]
    offerings: dict[Pool, Offered]
    spot: dict[Pool, tuple[float, datetime, str]]
    volatility: dict[Pool, float]
    on_demand: dict[tuple[str, str, str], tuple[float, datetime, str]]
    interruptions: dict[Pool, Interruption]
    scores: dict[SetKey, ScoreRow]
    fleet: dict[Pool, Fleet]
    # Derived from `scores`: the scored sets holding each pool key, and the score that applies.
    members: dict[Pool, list[SetKey]] = field(default_factory=dict)
    capacity: dict[Pool, Capacity] = field(default_factory=dict)
    # (offering, spot, on-demand, interruption, capacity sources, fleet sources) -> provenance.
    _provenance: dict[tuple[Any, ...], tuple[tuple[str, ...], bool]] = field(default_factory=dict)

    def rescore(self, keys: Iterable[Pool] | None = None) -> set[Pool]:
        """Recompute the capacity of ``keys`` (all when None); the keys whose capacity changed."""
        changed = set()
        for key in self.members if keys is None else keys:
            cap = best_capacity(self.members.get(key, []), self.scores)
            if self.capacity.get(key) != cap:
                changed.add(key)
                if cap is None:
                    self.capacity.pop(key, None)
                else:
                    self.capacity[key] = cap
        return changed

    def record(self, pool: Pool) -> PoolRecord | None:
        """The pool's record, or None when it is not offered or its type has no specs."""
        offered = self.offerings.get(pool)
        if offered is None:
            return None
        cloud, region, _, instance_type = pool
        spec = self.specs.get((cloud, instance_type))
        if spec is None:
            return None  # an offering without specs cannot be matched against requirements
        spot_offered, on_demand_offered, source = offered
        regional = (cloud, region, REGIONAL_ZONE, instance_type)
        price = self.spot.get(pool) if spot_offered else None
        od = self.on_demand.get((cloud, region, instance_type))
        intr = self.interruptions.get(pool) or self.interruptions.get(regional)
        cap = self.capacity.get(pool) or self.capacity.get(regional)
        seen = self.fleet.get(pool)
        sources, simulated = self._sources(source, price, od, intr, cap, seen)
        family, vcpus, memory, arch, gpus, gpu_model, gpu_memory, accelerator = spec
        return PoolRecord(
            key=PoolKey(*pool),
            family=family,
            vcpus=vcpus,
            memory_gib=memory,
            arch=arch,
            gpu_count=gpus,
            gpu_model=gpu_model,
            gpu_memory_gib=gpu_memory,
            accelerator_kind=accelerator,
            spot_offered=spot_offered,
            on_demand_offered=on_demand_offered,
            spot_price=price[0] if price else None,
            spot_price_at=price[1] if price else None,
            spot_price_volatility=self.volatility.get(pool),
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
            sources=sources,
            simulated=simulated,
            on_demand_source=od[2] if od else None,
        )

    def _sources(
        self,
        source: str,
        price: tuple[float, datetime, str] | None,
        od: tuple[float, datetime, str] | None,
        intr: Interruption | None,
        cap: Capacity | None,
        seen: Fleet | None,
    ) -> tuple[tuple[str, ...], bool]:
        """Provenance from each row used, never inferred from the cloud (memoised: a store has
        few distinct combinations)."""
        key = (source, price[2] if price else None, od[2] if od else None,
               intr[3] if intr else None, cap.source if cap else None,
               seen.sources if seen else None)  # fmt: skip
        hit = self._provenance.get(key)
        if hit is None:
            found = {s for s in key[:5] if s is not None} | (seen.sources if seen else set())
            hit = (tuple(sorted(found)), not SIMULATED_SOURCES.isdisjoint(found))
            self._provenance[key] = hit
        return hit


def spec_rows(rows: Iterable[Any]) -> dict[tuple[str, str], Spec]:
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def offering_rows(rows: Iterable[Any]) -> dict[Pool, Offered]:
    return {(c, r, z, t): (bool(spot), bool(od), source) for c, r, z, t, spot, od, source in rows}


def read_signals(conn: Connection, *, now: datetime, stamps: Stamps) -> Signals:
    """Every table read once: the signals in force at ``now``."""
    spot, volatility = spot_signals(conn, now, stamps)
    listed: Sequence[Any] = conn.execute(
        select(*ON_DEMAND_VALUES).where(
            OnDemandPrice.os == "linux", OnDemandPrice.observed_at <= now
        )
    ).all()
    on_demand = {(c, r, t): (p, stamps(at), source) for c, r, t, p, at, source in listed}
    signals = Signals(
        specs=spec_rows(conn.execute(select(*SPEC_COLUMNS))),
        offerings=offering_rows(
            conn.execute(select(*OFFERING_COLUMNS).where(Offering.first_seen <= now))
        ),
        spot=spot,
        volatility=volatility,
        on_demand=on_demand,
        interruptions=latest_interruptions(conn, now, stamps),
        scores=latest_score_sets(conn, now, stamps),
        fleet=fleet_signals(conn, now, stamps),
    )
    signals.members = members(signals.scores)
    signals.rescore()
    return signals


def all_records(signals: Signals) -> dict[Pool, PoolRecord]:
    """Every offered pool's record, by pool."""
    out = {}
    for pool in signals.offerings:
        record = signals.record(pool)
        if record is not None:
            out[pool] = record
    return out


def zonal_over_regional(records: dict[Pool, PoolRecord]) -> list[PoolRecord]:
    """Drop a regional pool (a public feed's) where a zonal pool of its type has a spot price.

    Both describe the same capacity: listing both would count it twice and let the regional row
    pass for one more zone. The zonal pools carry the finer data; the regional interruption
    and capacity signals still reach them (their regional fallback above).
    """
    regional = {(c, r, t) for c, r, z, t in records if z == REGIONAL_ZONE}
    if not regional:
        return list(records.values())
    zonal = {
        (c, r, t)
        for (c, r, z, t), record in records.items()
        if z != REGIONAL_ZONE and (c, r, t) in regional and record.spot_price is not None
    }
    return [
        record
        for (c, r, z, t), record in records.items()
        if z != REGIONAL_ZONE or (c, r, t) not in zonal
    ]


def load_pool_records(session: Session, *, now: datetime) -> list[PoolRecord]:
    """One :class:`PoolRecord` per offered pool with the signals in force at ``now``."""
    signals = read_signals(session.connection(), now=now, stamps=Stamps())
    return zonal_over_regional(all_records(signals))


def load_pool_index(engine: Engine, *, now: datetime) -> PoolIndex:
    """Every pool with the signals in force at ``now``, indexed for ranking."""
    started = time.perf_counter()
    with Session(engine) as session:
        records = load_pool_records(session, now=now)
    read = time.perf_counter() - started
    index = PoolIndex.build(records, built_at=now)
    seconds = time.perf_counter() - started
    log.info(
        "pool index loaded in %.2f s (%d pools)",
        seconds,
        index.size,
        extra={"pools": index.size, "seconds": round(seconds, 3),
               "read_seconds": round(read, 3), "kind": "full"},
    )  # fmt: skip
    return index


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
