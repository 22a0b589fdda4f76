"""Benchmark: loading spot price changes through the project's write path vs PostgreSQL COPY.

Run with ``.venv/bin/python bench/ingest.py [--rows 1000000] [--pg-url URL]``.

Rows are generated like the real DescribeSpotPriceHistory dump (ericpauley 2022-05): its 55
zone IDs in 17 regions and its 509 instance types with their price levels when the file is
found in ``../shared/data``, otherwise a synthetic geography of the same shape; each
(zone, type) series gets price changes a few hours apart, with realistic jitter.

Measured in one run, on the same rows:
1. SQLite (a temporary file): ``core.store.persist_run`` (idempotent upserts, one transaction).
2. PostgreSQL (a temporary schema ``bench_<pid>`` that is dropped afterwards): the same call.
3. PostgreSQL ``COPY ... FROM STDIN`` (psycopg ``cursor.copy``, text form) of the same rows into
   a copy of the table: plain COPY, with no conflict handling at all, the issue's baseline.
4. The same COPY in binary form (``FORMAT BINARY`` with the column types), for reference: the
   write path stages its rows that way.
It prints rows/s per engine, each path's rate as a share of plain COPY's, and whether the
PostgreSQL write path reaches the target share.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from core.db import make_engine, temporary_schema
from core.runs import CollectionResult, TableRows
from core.store import persist_run
from core.tables import Base, SpotPrice

DUMP = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "aws-spot-price-history"
    / "ericpauley_prices_2022-05.tsv.gz"
)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# AWS keeps 90 days of history: the generated series span that window.
HISTORY = timedelta(days=90)
COLUMNS = [c.name for c in SpotPrice.__table__.columns]
# spot_prices' columns as PostgreSQL binary COPY types, in COLUMNS order.
BINARY_TYPES = ["text", "text", "text", "text", "timestamptz", "float8", "text", "timestamptz"]
# The target: the write path at half of plain COPY's rate or better (issue 17, item 5).
TARGET_SHARE = 0.5
# Zone-ID prefixes of the dump's 17 regions (AWS zone-ID naming).
PREFIX_REGION = {
    "apne1": "ap-northeast-1", "apne2": "ap-northeast-2", "apne3": "ap-northeast-3",
    "aps1": "ap-south-1", "apse1": "ap-southeast-1", "apse2": "ap-southeast-2",
    "cac1": "ca-central-1", "euc1": "eu-central-1", "eun1": "eu-north-1", "euw1": "eu-west-1",
    "euw2": "eu-west-2", "euw3": "eu-west-3", "sae1": "sa-east-1", "use1": "us-east-1",
    "use2": "us-east-2", "usw1": "us-west-1", "usw2": "us-west-2",
}  # fmt: skip


def _geography() -> tuple[list[str], dict[str, float]]:
    """Zone IDs and type → typical Linux spot price, from the real dump when available."""
    if DUMP.exists():
        zones: set[str] = set()
        prices: dict[str, float] = {}
        with gzip.open(DUMP, "rt") as fh:
            for zone, itype, product, price, _ts in csv.reader(fh, delimiter="\t"):
                zones.add(zone)
                if product == "Linux/UNIX":
                    prices.setdefault(itype, float(price))
        return sorted(zones), prices
    rng = random.Random(1)
    zones_list = [f"{prefix}-az{i}" for prefix in PREFIX_REGION for i in range(1, 4)]
    sizes = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
    families = [f"{f}{g}" for f in ("c", "m", "r", "g", "p", "i", "t") for g in range(3, 8)]
    types = {f"{fam}.{size}": rng.uniform(0.005, 5.0) for fam in families for size in sizes}
    return zones_list, types


def generate(n_rows: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """``n_rows`` price changes over ~90 days, spread over every (zone, type) series."""
    rng = random.Random(seed)
    zones, prices = _geography()
    series = [(z, t, p) for z in zones for t, p in prices.items()]
    per_series = max(1, -(-n_rows // len(series)))
    step = HISTORY / per_series
    rows: list[dict[str, Any]] = []
    for zone, itype, base in series:
        region = PREFIX_REGION.get(zone.split("-az")[0], "us-east-1")
        price = base
        for k in range(per_series):
            if len(rows) >= n_rows:
                return rows
            price = max(0.0001, price * (1 + rng.uniform(-0.03, 0.03)))
            ts = (
                NOW
                - HISTORY
                + step * k
                + timedelta(seconds=rng.randrange(int(step.total_seconds() or 1)))
            )
            rows.append(
                {
                    "cloud": "aws",
                    "region": region,
                    "zone_id": zone,
                    "instance_type": itype,
                    "ts": ts.replace(microsecond=0),
                    "price_usd_per_hour": round(price, 6),
                    "source": "aws",
                    "observed_at": NOW,
                }
            )
    return rows


def _result(rows: list[dict[str, Any]]) -> CollectionResult:
    table = TableRows()
    table.add("spot_prices", rows)
    regions = tuple(sorted({r["region"] for r in rows}))
    return CollectionResult("bench", NOW, NOW, regions, table)


def _write_path(engine: Engine, rows: list[dict[str, Any]], batch_rows: int) -> float:
    Base.metadata.create_all(engine)
    started = time.perf_counter()
    run = persist_run(engine, _result(rows), batch_rows=batch_rows)
    elapsed = time.perf_counter() - started
    if run.rows_new != len(rows):
        raise SystemExit(f"write path stored {run.rows_new:,} new rows, expected {len(rows):,}")
    return elapsed


def _copy(engine: Engine, rows: list[dict[str, Any]], *, binary: bool = False) -> float:
    """COPY the same rows into an empty copy of ``spot_prices`` (same keys and indexes)."""
    name = "spot_prices_copy_binary" if binary else "spot_prices_copy"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (LIKE spot_prices INCLUDING ALL)"))
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        cursor = raw.cursor()
        columns = ", ".join(COLUMNS)
        form = " (FORMAT BINARY)" if binary else ""
        with cursor.copy(f"COPY {name} ({columns}) FROM STDIN{form}") as copy:  # type: ignore[attr-defined]
            if binary:
                copy.set_types(BINARY_TYPES)
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute(f"SELECT count(*) FROM {name}")
        (count,) = cursor.fetchone()  # type: ignore[misc]
    finally:
        raw.close()
    if count != len(rows):
        raise SystemExit(f"COPY stored {count:,} rows, expected {len(rows):,}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pg-url", default=os.environ.get("SPOTSEL_BENCH_POSTGRES_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--batch-rows", type=int, default=5_000, help="write path batch size")
    args = parser.parse_args()

    started = time.perf_counter()
    rows = generate(args.rows)
    print(
        f"generated {len(rows):,} spot price changes "
        f"({len({r['zone_id'] for r in rows})} zone IDs, "
        f"{len({r['instance_type'] for r in rows})} types) in {time.perf_counter() - started:.1f} s"
    )

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        results["sqlite write path"] = _write_path(engine, rows, args.batch_rows)
        engine.dispose()
    with temporary_schema(args.pg_url, prefix="bench") as pg_url:
        engine = make_engine(pg_url)
        results["postgresql write path"] = _write_path(engine, rows, args.batch_rows)
        results["postgresql COPY"] = _copy(engine, rows)
        results["postgresql COPY binary"] = _copy(engine, rows, binary=True)
        engine.dispose()

    copy_rate = len(rows) / results["postgresql COPY"]
    print(f"{'path':<26}{'seconds':>10}{'rows/s':>14}{'vs COPY':>10}")
    for name, seconds in results.items():
        rate = len(rows) / seconds
        print(f"{name:<26}{seconds:>10.2f}{rate:>14,.0f}{rate / copy_rate:>10.1%}")
    pg_share = (len(rows) / results["postgresql write path"]) / copy_rate
    verdict = "met" if pg_share >= TARGET_SHARE else "NOT met"
    print(
        f"postgresql write path at {pg_share:.1%} of plain COPY: "
        f"target >= {TARGET_SHARE:.0%} {verdict}"
    )


if __name__ == "__main__":
    main()
