"""bench/backtest.py: the replay machinery on tiny synthetic traces with known answers, the
scoring on a tiny advisor pair, the bench-side strategies, and one pass over the real data."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from _backtest_advisor import PROFILES, advisor_records, run_advisor_backtest, score_placements
from _backtest_data import AdvisorPool, make_record
from _backtest_replay import FleetLog, Job, ReplayPool, replay_fleet, replay_job
from _backtest_strategies import STRATEGIES, Placement, place
from _backtest_traces import load_scenarios, make_ranker, replay_requirements, run_fleets

from core.pool_reader import CAPACITY_ERROR_WINDOW
from selector import PoolIndex, PoolKey, PoolRecord, estimate_hazard, parse_requirements
from selector.cost import lost_hours

ORIGIN = datetime(2023, 2, 15, tzinfo=UTC)
GAP = 600.0  # 10-minute ticks
TICKS = 200
JOB = Job(work_hours=3.0, checkpoint_minutes=30.0, restart_minutes=10.0, on_demand_after_hours=1.0)
OD_PRICE = 3.0
JOB_48H = Job()  # the bench's job


def _pool(zone: str, price: float, up: list[int]) -> ReplayPool:
    record = make_record(
        PoolKey("aws", "us-east-1", zone, "p3.2xlarge"),
        vcpus=8,
        memory_gib=61.0,
        spot_price=price,
        on_demand_price=OD_PRICE,
        label=">20%",
        at=ORIGIN,
    )
    return ReplayPool(record, np.array(up, dtype=np.int64), GAP)


def _fixed(order: list[ReplayPool], seen: list[Sequence[PoolRecord]] | None = None):  # type: ignore[no-untyped-def]
    def ranker(records: Sequence[PoolRecord], now: datetime) -> list[PoolKey]:
        if seen is not None:
            seen.append(records)
        return [p.record.key for p in order]

    return ranker


def test_first_pool_always_down_runs_on_the_second_with_the_real_price_ranking() -> None:
    # Why: the cheap pool never has capacity; `price` lists it first, so every launch tries it
    # once, fails, and lands on the dearer pool, which never goes down.
    down = _pool("us-east-1a", 0.5, [0] * TICKS)
    up = _pool("us-east-1b", 0.9, [1] * TICKS)
    ranker = make_ranker("price", replay_requirements(2, JOB), seed=0)
    out = replay_job([down, up], ranker, start_tick=0, origin=ORIGIN, job=JOB, on_demand_price=3.0)
    hours = JOB.work_hours + JOB.restart_minutes / 60
    assert out.launch_failures == 1
    assert out.interruptions == 0
    assert out.completed_hours == pytest.approx(hours)
    assert out.cost == pytest.approx(hours * 0.9)
    assert out.pools_used == ("us-east-1b/p3.2xlarge",)
    assert not out.on_demand


def test_preemption_loses_the_work_since_the_last_checkpoint_then_fails_over() -> None:
    # A is up for 2 h: 10 min restart + 110 min progress = 3 checkpoints (90 min) kept, 20 min
    # lost. Then B (down for those 2 h) takes the rest: restart + 3 h - 90 min.
    a = _pool("us-east-1a", 0.5, [1] * 12 + [0] * (TICKS - 12))
    b = _pool("us-east-1b", 0.8, [0] * 12 + [1] * (TICKS - 12))
    seen: list[Sequence[PoolRecord]] = []
    out = replay_job(
        [a, b], _fixed([a, b], seen), start_tick=0, origin=ORIGIN, job=JOB, on_demand_price=3.0
    )
    second = (10 + 180 - 90) / 60
    assert out.interruptions == 1
    assert out.lost_work_hours == pytest.approx(20 / 60)
    assert out.launch_failures == 1  # A at the preemption tick
    assert out.completed_hours == pytest.approx(2.0 + second)
    assert out.cost == pytest.approx(2.0 * 0.5 + second * 0.8)
    # The re-rank after the preemption saw A's interruption and its 2 instance-hours.
    after = {r.key.zone_id: r for r in seen[1]}
    assert after["us-east-1a"].fleet_interruptions == 1
    assert after["us-east-1a"].fleet_instance_hours == pytest.approx(2.0)
    assert after["us-east-1b"].fleet_interruptions == 0


def test_no_capacity_for_longer_than_the_limit_falls_back_to_on_demand() -> None:
    a = _pool("us-east-1a", 0.5, [0] * TICKS)
    b = _pool("us-east-1b", 0.8, [0] * TICKS)
    out = replay_job(
        [a, b], _fixed([a, b]), start_tick=0, origin=ORIGIN, job=JOB, on_demand_price=OD_PRICE
    )
    needed = JOB.work_hours + JOB.restart_minutes / 60
    assert out.on_demand
    assert out.pools_used == ("on-demand",)
    assert out.cost == pytest.approx(needed * OD_PRICE)
    assert out.completed_hours > JOB.on_demand_after_hours + needed
    assert out.launch_failures % 2 == 0  # both pools tried in every round
    assert out.launch_failures >= 2 * 6  # a round every 10 min for over an hour


def test_effective_cost_steers_away_from_a_pool_the_fleet_saw_interrupted() -> None:
    # Same price, same bucket: only the fleet evidence tells the pools apart.
    a = _pool("us-east-1a", 0.9, [1] * TICKS)
    b = _pool("us-east-1b", 0.9, [1] * TICKS)
    req = replay_requirements(2, JOB)
    fresh = [a.record, b.record]
    ranker = make_ranker("effective-cost", req, seed=0)
    assert ranker(fresh, ORIGIN)[0].zone_id == "us-east-1a"  # ties end with the pool key
    from dataclasses import replace

    hit = [
        replace(a.record, fleet_interruptions=3, fleet_instance_hours=4.0, fleet_at=ORIGIN),
        b.record,
    ]
    assert ranker(hit, ORIGIN)[0].zone_id == "us-east-1b"
    assert make_ranker("price", req, seed=0)(hit, ORIGIN)[0].zone_id == "us-east-1a"


def _advisor_pool(itype: str, label: str, vcpus: int = 2) -> AdvisorPool:
    return AdvisorPool("us-east-1", itype, label, 70.0, vcpus, 8.0)


def test_scoring_against_a_later_advisor() -> None:
    truth = {("us-east-1", "m5.large"): "<5%", ("us-east-1", "c5.large"): ">20%"}
    placed = [
        Placement(PoolKey("aws", "us-east-1", "", "m5.large"), 2, 1.0),
        Placement(PoolKey("aws", "us-east-1", "", "c5.large"), 1, 2.0),
        Placement(PoolKey("aws", "us-east-1", "", "m1.large"), 1, 1.0),  # gone by then
        Placement(PoolKey("aws", "us-east-1", "", "r5.large"), 0, 9.0),  # listed, no node
    ]
    req = parse_requirements({})
    lost = lost_hours("aws", req)
    s = score_placements(placed, truth, lost=lost)
    u_safe = 1 - estimate_hazard("aws-advisor", "<5%").rate * lost
    u_risky = 1 - estimate_hazard("aws-advisor", ">20%").rate * lost
    assert (s.nodes, s.vanished, s.risky) == (4, 1, 1)
    assert s.risky_share == pytest.approx(0.25)
    assert s.vanished_share == pytest.approx(0.25)
    assert s.cost_per_useful_hour == pytest.approx((2 * 1.0 + 2.0) / (2 * u_safe + u_risky))


def test_pco_like_keeps_pools_within_one_bucket_of_the_best_then_cheapest() -> None:
    pools = [
        _advisor_pool("m5.large", "<5%"),
        _advisor_pool("c5.large", "5-10%"),
        _advisor_pool("t3.large", ">20%"),
        _advisor_pool("r5.large", "10-15%"),
    ]
    prices = {
        ("us-east-1", "m5.large"): 3.0,
        ("us-east-1", "c5.large"): 2.0,
        ("us-east-1", "t3.large"): 1.0,
        ("us-east-1", "r5.large"): 1.5,
    }
    snap = PoolIndex.build(advisor_records(pools, prices, at=ORIGIN), built_at=ORIGIN)
    req = parse_requirements({"capacity_types": ["spot"], "min_instance_types": 1, "top": 4})
    pco = place(snap, req, "pco-like", now=ORIGIN)
    assert [p.key.instance_type for p in pco] == ["c5.large", "m5.large"]
    assert place(snap, req, "price", now=ORIGIN)[0].key.instance_type == "t3.large"
    shuffled = {tuple(p.key.instance_type for p in place(snap, req, "random", now=ORIGIN, seed=s))
                for s in range(8)}  # fmt: skip
    assert len(shuffled) > 1
    assert all(len(order) == 4 for order in shuffled)


def test_real_data_every_strategy_places_the_same_nodes(shared_data: Path) -> None:
    res = run_advisor_backtest(shared_data, seeds=1)
    assert res.pools > 1000
    assert set(res.scores) == set(PROFILES)
    for profile, scores in res.scores.items():
        nodes = {s: scores[s].nodes for s in STRATEGIES}
        assert len(set(nodes.values())) == 1, (profile, nodes)
        assert scores["price"].nodes >= len(res.scopes)
    scenarios = load_scenarios(shared_data)
    sizes = sorted(len(sc.pools) for sc in scenarios)
    assert sizes == [2, 2, 2, 2, 9]


# --- fleet mode: evidence carried across jobs ------------------------------------------------

FLEET_TICKS = 600  # 100 h of 10-minute ticks: ~30 back-to-back 3 h jobs


def _recording(ranker, seen: list[tuple[datetime, Sequence[PoolRecord], list[PoolKey]]]):  # type: ignore[no-untyped-def]
    def wrapped(records: Sequence[PoolRecord], now: datetime) -> list[PoolKey]:
        order = ranker(records, now)
        seen.append((now, records, order))
        return order

    return wrapped


def _hourly_and_steady() -> tuple[ReplayPool, ReplayPool]:
    # Same price, same bucket: A goes down for one tick every hour, B never.
    a = _pool("us-east-1a", 0.9, ([1] * 5 + [0]) * (FLEET_TICKS // 6))
    b = _pool("us-east-1b", 0.9, [1] * FLEET_TICKS)
    return a, b


def _fleet(pools: list[ReplayPool], ranker, last_start_tick: int = FLEET_TICKS - 24):  # type: ignore[no-untyped-def]
    return replay_fleet(
        pools,
        ranker,
        first_tick=0,
        last_start_tick=last_start_tick,
        origin=ORIGIN,
        job=JOB,
        on_demand_price=OD_PRICE,
    )


def test_fleet_effective_cost_starts_later_jobs_in_the_pool_it_learned_is_steady() -> None:
    # Why: with no evidence the pool key breaks the tie (A first); the first job is preempted in
    # A and finishes in B, and every later job remembers that. `price` ignores the evidence.
    a, b = _hourly_and_steady()
    req = replay_requirements(2, JOB)
    seen: list[tuple[datetime, Sequence[PoolRecord], list[PoolKey]]] = []
    jobs = _fleet([a, b], _recording(make_ranker("effective-cost", req, seed=0), seen))
    assert len(jobs) >= 10
    assert jobs[0].pools_used[0] == "us-east-1a/p3.2xlarge"
    assert jobs[0].interruptions >= 1
    assert all(j.pools_used == ("us-east-1b/p3.2xlarge",) for j in jobs[1:])
    assert sum(j.interruptions for j in jobs[1:]) == 0
    first = {round(j.started_hours * 3600): None for j in jobs}
    starts = [
        (now, order) for now, _, order in seen if round((now - ORIGIN).total_seconds()) in first
    ]
    assert all(order[0].zone_id == "us-east-1b" for _, order in starts[1:])
    # Without the carried log the same ranking at a later job's start goes back to A.
    ticks = [round(j.started_hours * 3600 / GAP) for j in jobs[1:]]
    a_up = [t for t in ticks if a.up(t)]
    assert a_up
    for tick in a_up:
        alone = replay_job(
            [a, b],
            make_ranker("effective-cost", req, seed=0),
            start_tick=tick,
            origin=ORIGIN,
            job=JOB,
            on_demand_price=OD_PRICE,
        )
        assert alone.pools_used[0] == "us-east-1a/p3.2xlarge"

    price_seen: list[tuple[datetime, Sequence[PoolRecord], list[PoolKey]]] = []
    price_jobs = _fleet([a, b], _recording(make_ranker("price", req, seed=0), price_seen))
    assert all(order[0].zone_id == "us-east-1a" for _, _, order in price_seen)
    assert sum(j.interruptions for j in price_jobs) >= len(price_jobs)
    assert price_seen[-1][1][0].fleet_interruptions >= len(price_jobs)  # seen, and ignored


def test_fleet_jobs_run_back_to_back_and_stop_at_the_last_start() -> None:
    a, b = _hourly_and_steady()
    ranker = make_ranker("price", replay_requirements(2, JOB), seed=0)
    jobs = _fleet([a, b], ranker, last_start_tick=300)
    assert jobs[0].started_hours == 0.0
    for before, after in itertools.pairwise(jobs):
        end = before.started_hours + before.completed_hours
        assert end <= after.started_hours < end + GAP / 3600
    assert jobs[-1].started_hours * 3600 <= 300 * GAP
    assert (jobs[-1].started_hours + jobs[-1].completed_hours) * 3600 > 300 * GAP - GAP


def test_fleet_log_reads_only_the_past_and_sums_as_the_store_does() -> None:
    key = PoolKey("aws", "us-east-1", "us-east-1a", "p3.2xlarge")
    log = FleetLog([key])
    window = CAPACITY_ERROR_WINDOW.total_seconds()
    log.capacity_error(key, 0.0)
    log.interruption(key, 100.0)
    log.usage(key, 100.0, 2.0)
    log.capacity_error(key, window + 50.0)
    log.usage(key, 2 * window, 5.0)
    assert log.as_of(key, 99.0) == (0, 0.0, 1, 0.0)
    assert log.as_of(key, 100.0) == (1, 2.0, 1, 100.0)
    # The error at 0 leaves the store's window; interruptions and hours never do.
    assert log.as_of(key, window) == (1, 2.0, 1, 100.0)
    assert log.as_of(key, window + 1.0) == (1, 2.0, 0, 100.0)
    assert log.as_of(key, window + 50.0) == (1, 2.0, 1, window + 50.0)
    assert log.as_of(key, 3 * window) == (1, 7.0, 0, 2 * window)
    with pytest.raises(ValueError, match="time order"):
        log.interruption(key, 50.0)


def test_fleet_rankings_never_see_a_later_job() -> None:
    # Why: a job's rankings must be the same whether or not later jobs follow it, and no record
    # may carry an event newer than the ranking's clock.
    a, b = _hourly_and_steady()
    req = replay_requirements(2, JOB)
    long_seen: list[tuple[datetime, Sequence[PoolRecord], list[PoolKey]]] = []
    long = _fleet([a, b], _recording(make_ranker("effective-cost", req, seed=0), long_seen))
    cut = round(long[3].started_hours * 3600 / GAP)
    short_seen: list[tuple[datetime, Sequence[PoolRecord], list[PoolKey]]] = []
    short = _fleet([a, b], _recording(make_ranker("effective-cost", req, seed=0), short_seen), cut)
    assert len(short) == 4 < len(long)
    assert short == long[:4]
    assert short_seen == long_seen[: len(short_seen)]
    for now, records, _ in long_seen:
        assert all(r.fleet_at is None or r.fleet_at <= now for r in records)
    # The evidence grows across jobs: the last ranking sees every earlier interruption.
    last = {r.key.zone_id: r for r in long_seen[-1][1]}
    assert last["us-east-1a"].fleet_interruptions == sum(j.interruptions for j in long)


def test_real_data_fleet_runs_chain_jobs_over_the_trace(shared_data: Path) -> None:
    scenarios = [sc for sc in load_scenarios(shared_data) if len(sc.pools) == 2][:1]
    runs = run_fleets(scenarios, JOB_48H, seeds=2)
    per = runs[scenarios[0].name]
    assert set(per) == set(STRATEGIES)
    assert len(per["random"]) == 2
    hours = scenarios[0].hours
    for strategy_runs in per.values():
        for jobs in strategy_runs:
            assert len(jobs) >= int(hours // 60)  # ~50 h a job over the trace
            assert jobs[-1].started_hours <= hours - JOB_48H.work_hours
            for before, after in itertools.pairwise(jobs):
                assert after.started_hours >= before.started_hours + before.completed_hours
