"""Test factories for the selector: a fixed clock and `make_pool(**overrides)`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from selector import PoolKey, PoolRecord

NOW = datetime(2025, 6, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def make_pool(**overrides: Any) -> PoolRecord:
    """A fresh, healthy AWS g4dn.xlarge spot pool; override any field (or key part) by name."""
    key = PoolKey(
        cloud=overrides.pop("cloud", "aws"),
        region=overrides.pop("region", "us-east-1"),
        zone_id=overrides.pop("zone_id", "use1-az1"),
        instance_type=overrides.pop("instance_type", "g4dn.xlarge"),
    )
    base = PoolRecord(
        key=key,
        family=key.instance_type.split(".")[0],
        vcpus=4,
        memory_gib=16.0,
        arch="x86_64",
        gpu_count=1,
        gpu_model="T4",
        gpu_memory_gib=16.0,
        accelerator_kind="gpu",
        spot_offered=True,
        on_demand_offered=True,
        spot_price=0.20,
        spot_price_at=NOW - HOUR,
        spot_price_volatility=0.05,
        on_demand_price=0.526,
        on_demand_at=NOW - 24 * HOUR,
        interruption_source="aws-advisor",
        interruption_label="<5%",
        interruption_value=None,
        interruption_at=NOW - 12 * HOUR,
        capacity_score=0.9,
        capacity_raw="9",
        capacity_zonal=True,
        capacity_at=NOW - 2 * HOUR,
    )
    return replace(base, **overrides)


def cpu_pool(**overrides: Any) -> PoolRecord:
    """A CPU-only pool (m5.xlarge-like)."""
    defaults: dict[str, Any] = {
        "instance_type": "m5.xlarge",
        "vcpus": 4,
        "memory_gib": 16.0,
        "gpu_count": 0,
        "gpu_model": None,
        "gpu_memory_gib": None,
        "accelerator_kind": "none",
        "spot_price": 0.07,
        "on_demand_price": 0.192,
    }
    defaults.update(overrides)
    return make_pool(**defaults)
