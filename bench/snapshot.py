"""Benchmark: loading the ranking snapshot at 100,000 pools, in full and after one more run.

Run with ``.venv/bin/python bench/snapshot.py [--pools 100000] [--history 8] [--changed 0.03]
[--pg-url URL]``.

The store is filled through the real write path (``core.store.persist_run``) with the pools of
``bench/_pools.py`` (three clouds, realistic type ladders): their specs, offerings, on-demand
prices, ``--history`` spot price changes per spot pool over the last 30 days (the last one the
pool's price), interruption signals (regional advisor-like buckets for AWS and Azure, zonal
preemption rates for GCP), single-type placement scores and a little fleet evidence. Then one
hourly run lands an hour later: a new spot price for ``--changed`` of the pools, new placement
scores for a fifth as many, a few fleet events and one new pool.

Measured in one run per engine (SQLite in a temporary file, PostgreSQL in a temporary schema
``bench_<hex>`` dropped afterwards):
1. the full load (``core.pool_reader.load_pool_index``, SQL and records) at the first ``now``;
2. the snapshot as the API keeps it (``core.pool_snapshot.load_snapshot``), in full, then
   settled (``core.pool_snapshot.settle``: out of the garbage collector's walks, as the API's
   cache does once a snapshot is in service);
3. after the hourly run, the same call given the previous snapshot (incremental), and a full
   reload at the same ``now``, whose records and index columns the incremental snapshot must
   equal (its index is ``PoolIndex.with_changes`` of the previous one).
``PoolIndex.build`` is timed apart, as the share of each load it takes. Each load prints
"target <= 1 s: met / NOT met".
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench._pools import NOW, make_pools  # noqa: E402
from core.clock import floor_hour  # noqa: E402
from core.db import make_engine, temporary_schema  # noqa: E402
from core.pool_reader import load_pool_index  # noqa: E402
from core.pool_snapshot import load_snapshot, settle  # noqa: E402
from core.runs import CollectionResult, TableRows  # noqa: E402
from core.store import persist_run  # noqa: E402
from core.tables import Base  # noqa: E402
from selector import PoolIndex, PoolRecord  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The target for a snapshot load at 100k pools (issue 17, item 4).
TARGET_SECONDS = 1.0
# Spot price history kept per pool: the trailing month a real store holds after a month of
# hourly runs (AWS itself returns 90 days; most pools change price a few times a week).
HISTORY_SPAN = timedelta(days=30)
# The hourly run lands one hour after the first snapshot.
RUN_GAP = timedelta(hours=1)
SOURCE = "bench"

Row = dict[str, Any]


def store_rows(pools: list[PoolRecord], *, history: int, seed: int = 3) -> TableRows:
    """The rows a store holding ``pools`` would have, with ``history`` price changes each."""
    rng = np.random.default_rng(seed)
    rows = TableRows()
    types: dict[tuple[str, str], Row] = {}
    on_demand: dict[tuple[str, str, str], Row] = {}
    regional: dict[tuple[str, str, str], Row] = {}
    offerings: list[Row] = []
    prices: list[Row] = []
    scores: list[Row] = []
    rates: list[Row] = []
    events: list[Row] = []
    for n, p in enumerate(pools):
        k = p.key
        pool = {"cloud": k.cloud, "region": k.region, "zone_id": k.zone_id,
                "instance_type": k.instance_type}  # fmt: skip
        types.setdefault((k.cloud, k.instance_type), _spec(p))
        offerings.append(pool | {"spot": p.spot_offered, "on_demand": p.on_demand_offered,
                                 "source": SOURCE, "first_seen": NOW - HISTORY_SPAN,
                                 "last_seen": NOW - timedelta(hours=1)})  # fmt: skip
        on_demand.setdefault(
            (k.cloud, k.region, k.instance_type),
            {"cloud": k.cloud, "region": k.region, "instance_type": k.instance_type,
             "os": "linux", "price_usd_per_hour": p.on_demand_price, "source": SOURCE,
             "observed_at": p.on_demand_at},
        )  # fmt: skip
        if p.spot_offered and p.spot_price is not None and p.spot_price_at is not None:
            prices.extend(_history(rng, pool, p.spot_price, p.spot_price_at, history))
        if p.interruption_label is not None:
            regional.setdefault(
                (k.cloud, k.region, k.instance_type),
                pool | {"zone_id": "", "source": p.interruption_source,
                        "observed_at": p.interruption_at, "bucket": None,
                        "label": p.interruption_label, "rate": None, "savings_pct": None},
            )  # fmt: skip
        elif p.interruption_value is not None:
            rates.append(pool | {"source": p.interruption_source, "observed_at": p.interruption_at,
                                 "bucket": None, "label": None, "rate": p.interruption_value,
                                 "savings_pct": None})  # fmt: skip
        if p.capacity_score is not None and p.capacity_at is not None:
            scores.append(_score(pool, p.capacity_score, p.capacity_at))
        if p.fleet_at is not None:
            events.extend(_events(pool, n, p))
    rows.add("instance_types", types.values())
    rows.add("offerings", offerings)
    rows.add("on_demand_prices", on_demand.values())
    rows.add("spot_prices", prices)
    rows.add("placement_scores", scores)
    rows.add("interruption_rates", [*regional.values(), *rates])
    rows.add("fleet_events", events)
    return rows


def _spec(p: PoolRecord) -> Row:
    family = p.family
    return {
        "cloud": p.key.cloud, "name": p.key.instance_type, "family": family, "generation": None,
        "size": p.key.instance_type.rsplit(".", 1)[-1], "vcpus": p.vcpus,
        "memory_gib": p.memory_gib, "arch": p.arch, "gpu_count": p.gpu_count,
        "gpu_model": p.gpu_model, "gpu_memory_gib": p.gpu_memory_gib,
        "accelerator_kind": p.accelerator_kind, "network_gbps": None, "local_storage_gib": None,
        "source": SOURCE, "observed_at": NOW - HISTORY_SPAN,
    }  # fmt: skip


def _history(
    rng: np.random.Generator, pool: Row, price: float, confirmed: Any, n: int
) -> Iterable[Row]:
    """``n`` changes over the history span, the last one ``price``, each confirmed by the hourly
    run after it (the last one by the newest run that saw it)."""
    offsets = np.sort(rng.uniform(0, HISTORY_SPAN.total_seconds() - 7200, size=n))
    jitter = rng.uniform(0.9, 1.1, size=n)
    start = NOW - HISTORY_SPAN
    for i, (offset, scale) in enumerate(zip(offsets.tolist(), jitter.tolist(), strict=True)):
        ts = start + timedelta(seconds=round(offset))
        last = i == n - 1
        yield pool | {
            "ts": ts,
            "price_usd_per_hour": price if last else round(price * scale, 4),
            "source": SOURCE,
            "observed_at": max(floor_hour(confirmed), _next_run(ts)) if last else _next_run(ts),
        }


def _next_run(at: datetime) -> datetime:
    """The first hourly run at or after ``at``: rows carry the time of the run that saw them."""
    hour = floor_hour(at)
    return hour if hour == at else hour + timedelta(hours=1)


def _score(pool: Row, score: float, at: Any) -> Row:
    return {"cloud": pool["cloud"], "region": pool["region"], "zone_id": pool["zone_id"],
            "instance_types": pool["instance_type"], "target_capacity": 1, "observed_at": at,
            "score": score, "raw": str(round(score * 10)), "source": SOURCE}  # fmt: skip


def _events(pool: Row, n: int, p: PoolRecord) -> list[Row]:
    def event(kind: str, k: int, hours_ago: float, hours: float | None = None) -> Row:
        return pool | {"kind": kind, "occurred_at": NOW - timedelta(hours=hours_ago),
                       "instance_hours": hours, "source": SOURCE, "external_id": f"{n}-{k}",
                       "detail": None, "observed_at": NOW - timedelta(hours=1)}  # fmt: skip

    out = [event("usage", 0, 2, p.fleet_instance_hours)]
    out += [event("interruption", 1 + i, 3 + i) for i in range(p.fleet_interruptions)]
    out += [event("insufficient-capacity", 100 + i, 5) for i in range(p.fleet_capacity_errors)]
    return out


def hourly_run(pools: list[PoolRecord], *, changed: float, seed: int = 5) -> TableRows:
    """What one hourly run lands: new prices for ``changed`` of the pools, new scores for a
    fifth as many, fleet events in a few pools and one newly offered pool."""
    rng = np.random.default_rng(seed)
    at = NOW + RUN_GAP
    spot = [p for p in pools if p.spot_offered and p.spot_price is not None]
    picked = rng.choice(len(spot), size=max(1, int(len(pools) * changed)), replace=False)
    rows = TableRows()
    prices, scores, events = [], [], []
    for n, i in enumerate(picked.tolist()):
        p = spot[i]
        k = p.key
        pool = {"cloud": k.cloud, "region": k.region, "zone_id": k.zone_id,
                "instance_type": k.instance_type}  # fmt: skip
        assert p.spot_price is not None
        prices.append(pool | {"ts": at - timedelta(minutes=20), "source": SOURCE,
                              "price_usd_per_hour": round(p.spot_price * 1.05, 4),
                              "observed_at": at})  # fmt: skip
        if n % 5 == 0:
            scores.append(_score(pool, 0.5, at))
        if n % 50 == 0:
            events.append(pool | {"kind": "interruption", "occurred_at": at - RUN_GAP / 2,
                                  "instance_hours": None, "source": SOURCE,
                                  "external_id": f"run-{n}", "detail": None,
                                  "observed_at": at})  # fmt: skip
    new = pools[0].key
    rows.add("offerings", [{"cloud": new.cloud, "region": new.region, "zone_id": "bench-new-z",
                            "instance_type": new.instance_type, "spot": True, "on_demand": True,
                            "source": SOURCE, "first_seen": at, "last_seen": at}])  # fmt: skip
    rows.add("spot_prices", prices)
    rows.add("placement_scores", scores)
    rows.add("fleet_events", events)
    return rows


def _result(rows: TableRows, at: Any) -> CollectionResult:
    regions = tuple(sorted(rows.rows_per_region()))
    return CollectionResult(SOURCE, at, at, regions, rows)


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """The call's result and its wall time; its CPU time (this process) goes to CPU_SECONDS."""
    started, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    CPU_SECONDS[getattr(fn, "__name__", "call")] = time.process_time() - cpu
    return out, time.perf_counter() - started


# CPU seconds of the last timed call per function: on a shared machine the wall time also
# holds waits for a core, the CPU time what this process itself spent (SQLite's work included;
# the PostgreSQL server's is not).
CPU_SECONDS: dict[str, float] = {}


def _cpu(name: str) -> str:
    seconds = CPU_SECONDS.get(name, 0.0)
    return f"cpu {seconds:.2f} s, {_verdict(seconds)} on cpu"


def _verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_SECONDS else "NOT met"


def bench_engine(name: str, url: str, pools: list[PoolRecord], args: argparse.Namespace) -> None:
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        data = store_rows(pools, history=args.history)
        run, seconds = _timed(persist_run, engine, _result(data, NOW - timedelta(hours=1)))
        print(f"{name}: stored {run.rows_written:,} rows in {seconds:.1f} s")
        index, full = _timed(load_pool_index, engine, now=NOW)
        full_cpu = _cpu("load_pool_index")
        _, build = _timed(PoolIndex.build, list(index.records), built_at=NOW)
        snapshot, first = _timed(load_snapshot, engine, now=NOW)
        settle()  # as the API's cache does once a snapshot is in service
        print(f"  full load       {full:6.2f} s ({full_cpu}; {index.size:,} pools; "
              f"PoolIndex.build {build:.2f} s, {_cpu('build')})  target <= {TARGET_SECONDS:g} s: "
              f"{_verdict(full)}")  # fmt: skip
        print(f"  snapshot, full  {first:6.2f} s ({_cpu('load_snapshot')})  "
              f"target <= {TARGET_SECONDS:g} s: {_verdict(first)}")  # fmt: skip
        landed = hourly_run(pools, changed=args.changed)
        persist_run(engine, _result(landed, NOW + RUN_GAP))
        later = NOW + RUN_GAP
        patched, incremental = _timed(load_snapshot, engine, now=later, previous=snapshot)
        patch_cpu = _cpu("load_snapshot")
        reloaded, again = _timed(load_snapshot, engine, now=later)
        same = set(patched.index.records) == set(reloaded.index.records)
        same = same and _same_columns(patched.index, reloaded.index)
        print(f"  after one run ({landed.count():,} rows, {patched.stats.pools_patched:,} pools "
              f"patched): incremental {incremental:.2f} s ({patch_cpu}; index patch "
              f"{patched.stats.build_seconds:.2f} s of it), full reload {again:.2f} s "
              f"({_cpu('load_snapshot')}); "
              f"equal to the full reload: {same}")  # fmt: skip
        print(f"  incremental target <= {TARGET_SECONDS:g} s: {_verdict(incremental)}")
        if not same:
            raise SystemExit(f"{name}: the incremental snapshot differs from a full reload")
    finally:
        engine.dispose()


def _same_columns(a: PoolIndex, b: PoolIndex) -> bool:
    """Every column of the two indexes equal (NaN where NaN, same dtype): the patched index is
    the fully built one."""
    for name in PoolIndex.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return False
        elif name != "records" and x != y:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=8, help="spot price changes per pool")
    parser.add_argument("--changed", type=float, default=0.03, help="share of pools repriced")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url", default=os.environ.get("SPOTSEL_BENCH_POSTGRES_URL", DEFAULT_PG_URL)
    )
    args = parser.parse_args()
    pools = make_pools(args.pools)
    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as tmp:
            bench_engine("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", pools, args)
    if "postgresql" in engines:
        with temporary_schema(args.pg_url, prefix="bench") as url:
            bench_engine("postgresql", url, pools, args)


if __name__ == "__main__":
    main()
