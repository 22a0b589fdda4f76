"""Row and run factories for store tests: ``make_*(**overrides)``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.runs import CollectionResult, RegionError, TableRows

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def make_type(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "name": "g5.xlarge", "family": "g5", "generation": 5,
        "size": "xlarge", "vcpus": 4, "memory_gib": 16.0, "arch": "x86_64", "gpu_count": 1,
        "gpu_model": "A10G", "gpu_memory_gib": 24.0, "accelerator_kind": "gpu",
        "network_gbps": 10.0, "local_storage_gib": 250.0, "source": "test", "observed_at": T0,
    }  # fmt: skip
    return row | overrides


def make_offering(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
        "instance_type": "g5.xlarge", "spot": True, "on_demand": True, "source": "test",
        "first_seen": T0, "last_seen": T0,
    }  # fmt: skip
    return row | overrides


def make_spot_price(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
        "instance_type": "g5.xlarge", "ts": T0 - timedelta(hours=3),
        "price_usd_per_hour": 0.4123, "source": "test", "observed_at": T0,
    }  # fmt: skip
    return row | overrides


def make_result(
    rows: dict[str, list[dict[str, Any]]],
    *,
    regions: tuple[str, ...] = ("us-east-1",),
    errors: tuple[RegionError, ...] = (),
    source: str = "test",
) -> CollectionResult:
    table_rows = TableRows()
    for table, items in rows.items():
        table_rows.add(table, items)
    return CollectionResult(
        source=source,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=5),
        regions=regions,
        rows=table_rows,
        errors=errors,
    )
