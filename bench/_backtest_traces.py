"""Replay scenarios from the SkyPilot 1-node availability traces, and their strategy runs.

A scenario is one trace directory × one instance type: the zones of that type become pools.
Zones stay account-specific names (``us-east-1a``): the traces' account is unknown, so they
cannot be mapped to zone IDs; the name stands in the pool key's zone_id slot. Prices are
regional: the median over the region's AZ IDs of the last 2022-05-31 Linux price, else the
2021 spot.js price of the region, else that of us-east-1 (same list prices in the US regions
the traces use). On-demand = the 2021 spot.js price / (1 - s/100) with the 2021 advisor's s,
taken in us-east-1 (p2/p3 on-demand list prices are the same in us-east-1/-2 and us-west-2).
The interruption bucket is the 2021 advisor's: the past, as the strategies would have seen it.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
from _backtest_data import (
    load_advisor_pools,
    load_regional_prices_2022,
    load_spot_js,
    make_record,
)
from _backtest_replay import Job, JobOutcome, Ranker, ReplayPool, replay_fleet, replay_job
from _backtest_strategies import STRATEGIES, place
from traces import Trace, TraceDataError, load_advisor, load_skypilot_traces

from selector import PoolIndex, PoolKey, PoolRecord, Requirements, parse_requirements

__all__ = [
    "REPLAY_FINAL_CHECKPOINT_SECONDS",
    "Scenario",
    "load_scenarios",
    "run_fleets",
    "run_replays",
]

# The final checkpoint of a multi-GiB training state does not fit AWS's 120 s notice.
REPLAY_FINAL_CHECKPOINT_SECONDS: Final = 300.0
ON_DEMAND_REGION: Final = "us-east-1"
SPEC_DATE: Final = "2021-02-10"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    start: datetime  # tick 0
    pools: tuple[ReplayPool, ...]
    on_demand_price: float
    price_sources: dict[str, str] = field(default_factory=dict)  # zone -> where the price came from

    @property
    def hours(self) -> float:
        p = self.pools[0]
        return float(p.values.size * p.gap_seconds / 3600.0)


def load_scenarios(data_dir: Path) -> list[Scenario]:
    """Every (trace directory, instance type) of the 1-node availability traces."""
    traces = load_skypilot_traces(data_dir, kind="availability", nodes=1)
    spot_2022 = load_regional_prices_2022(data_dir)
    spot_2021 = load_spot_js(data_dir)
    at = datetime.fromisoformat(SPEC_DATE).replace(tzinfo=UTC)
    advisor = {
        (p.region, p.instance_type): p for p in load_advisor_pools(data_dir, SPEC_DATE, at=at)
    }
    labels = load_advisor(data_dir, SPEC_DATE)
    groups: dict[tuple[str, str], list[Trace]] = defaultdict(list)
    for tr in traces:
        groups[(tr.start, tr.instance_type)].append(tr)
    out = []
    for (start, itype), members in sorted(groups.items()):
        origin = datetime.fromisoformat(start).replace(tzinfo=UTC)
        od_row = advisor.get((ON_DEMAND_REGION, itype))
        od_spot = spot_2021.get((ON_DEMAND_REGION, itype))
        if od_row is None or od_spot is None:
            raise TraceDataError(f"no 2021 advisor/spot.js row for {itype} in {ON_DEMAND_REGION}")
        od = od_spot / (1.0 - od_row.savings_pct / 100.0)
        pools, sources = [], {}
        for tr in members:
            price, source = _price(tr.region, itype, spot_2022, spot_2021)
            sources[tr.zone] = source
            record = make_record(
                PoolKey("aws", tr.region, tr.zone, itype),
                vcpus=od_row.vcpus,
                memory_gib=od_row.memory_gib,
                spot_price=price,
                on_demand_price=od,
                label=labels.get((tr.region, itype), ">20%"),
                at=origin,
            )
            pools.append(ReplayPool(record, tr.values, tr.gap_seconds))
        out.append(
            Scenario(f"{start} {itype} x{len(pools)} zones", origin, tuple(pools), od, sources)
        )
    return out


def _price(
    region: str,
    itype: str,
    spot_2022: dict[tuple[str, str], float],
    spot_2021: dict[tuple[str, str], float],
) -> tuple[float, str]:
    for table, what in ((spot_2022, "2022-05 median"), (spot_2021, "2021 spot.js")):
        if (region, itype) in table:
            return table[(region, itype)], what
    if (ON_DEMAND_REGION, itype) in spot_2021:
        return spot_2021[(ON_DEMAND_REGION, itype)], f"2021 spot.js {ON_DEMAND_REGION}"
    raise TraceDataError(f"no spot price for {itype} in {region}")


def replay_requirements(n_pools: int, job: Job) -> Requirements:
    return parse_requirements(
        {
            "capacity_types": ["spot"],
            "top": n_pools,
            "min_instance_types": 1,
            "checkpoint_interval_minutes": job.checkpoint_minutes,
            "restart_overhead_minutes": job.restart_minutes,
            "final_checkpoint_seconds": REPLAY_FINAL_CHECKPOINT_SECONDS,
        }
    )


def make_ranker(strategy: str, req: Requirements, seed: int) -> Ranker:
    """The strategy's list over the pools' current records (random: a fresh shuffle per call)."""
    rng = random.Random(seed)

    def ranker(records: Sequence[PoolRecord], now: datetime) -> list[PoolKey]:
        snapshot = PoolIndex.build(records, built_at=now)
        placed = place(snapshot, req, strategy, now=now, seed=rng.randrange(2**31))
        return [p.key for p in placed]

    return ranker


def start_ticks(scenario: Scenario, job: Job, every_hours: float) -> list[int]:
    gap = scenario.pools[0].gap_seconds
    last = scenario.hours - job.work_hours
    hours = np.arange(0.0, max(last, 0.0) + 1e-9, every_hours)
    return [int(h * 3600.0 / gap) for h in hours]


def run_replays(
    scenarios: list[Scenario], job: Job, *, every_hours: float, seeds: int
) -> dict[str, dict[str, list[JobOutcome]]]:
    """scenario -> strategy -> one outcome per start (random: per start and seed)."""
    out: dict[str, dict[str, list[JobOutcome]]] = {}
    for sc in scenarios:
        req = replay_requirements(len(sc.pools), job)
        ticks = start_ticks(sc, job, every_hours)
        per: dict[str, list[JobOutcome]] = {}
        for strategy in STRATEGIES:
            runs = range(seeds) if strategy == "random" else range(1)
            per[strategy] = [
                replay_job(
                    sc.pools,
                    make_ranker(strategy, req, seed * 100_003 + tick),
                    start_tick=tick,
                    origin=sc.start,
                    job=job,
                    on_demand_price=sc.on_demand_price,
                )
                for seed in runs
                for tick in ticks
            ]
        out[sc.name] = per
    return out


def run_fleets(
    scenarios: list[Scenario], job: Job, *, seeds: int
) -> dict[str, dict[str, list[list[JobOutcome]]]]:
    """scenario -> strategy -> one back-to-back run of jobs per seed (one run unless random).

    Each run starts at tick 0; no job starts later than the trace's length minus the job's.
    """
    out: dict[str, dict[str, list[list[JobOutcome]]]] = {}
    for sc in scenarios:
        req = replay_requirements(len(sc.pools), job)
        gap = sc.pools[0].gap_seconds
        last = int(max(sc.hours - job.work_hours, 0.0) * 3600.0 / gap)
        per: dict[str, list[list[JobOutcome]]] = {}
        for strategy in STRATEGIES:
            runs = range(seeds) if strategy == "random" else range(1)
            per[strategy] = [
                replay_fleet(
                    sc.pools,
                    make_ranker(strategy, req, seed * 100_003),
                    first_tick=0,
                    last_start_tick=last,
                    origin=sc.start,
                    job=job,
                    on_demand_price=sc.on_demand_price,
                )
                for seed in runs
            ]
        out[sc.name] = per
    return out


def availability(pool: ReplayPool) -> float:
    return float(statistics.fmean(pool.values.tolist())) if pool.values.size else 0.0
