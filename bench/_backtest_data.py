"""Real data for the backtest: 2021 advisor pools with spot.js prices, regional 2022 prices.

Read from ../shared/data (never copied here); trace and advisor-label loaders live in
`traces.py`. Each reader raises `traces.TraceDataError` with the file named on bad input.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from traces import ADVISOR_DIR, TraceDataError

from collectors.aws.accelerators import accelerator_of as shipped_accelerator
from collectors.aws.accelerators import looks_accelerated
from collectors.aws.advisor import parse_advisor
from core.errors import SourceDataError
from selector import PoolKey, PoolRecord

__all__ = [
    "LEGACY_REGIONS",
    "AdvisorPool",
    "accelerator_of",
    "load_advisor_pools",
    "load_regional_prices_2022",
    "load_spot_js",
    "make_record",
]

PRICES_DIR: Final = Path("aws-spot-price-history")
SPOT_JS_FILE: Final = PRICES_DIR / "spotinfo_spot-js-price-test-data_2021-04-06.json"
PRICES_2022_FILE: Final = PRICES_DIR / "ericpauley_prices_2022-05.tsv.gz"

# spot.js speaks legacy region names; spotinfo's own mapping (SOURCE.md of the price dir).
LEGACY_REGIONS: Final[dict[str, str]] = {
    "us-east": "us-east-1",
    "us-west": "us-west-1",
    "eu-ireland": "eu-west-1",
    "apac-syd": "ap-southeast-2",
    "us-east-2": "us-east-2",
}
# AZ-ID prefix of the 2022 dump -> region (only the regions the traces use).
AZ_ID_REGIONS: Final[dict[str, str]] = {
    "use1": "us-east-1",
    "use2": "us-east-2",
    "usw2": "us-west-2",
    "usw1": "us-west-1",
}

# Graviton families: "a1" and any family with a "g" right after the generation digit.
_ARM_FAMILY: Final = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)$")


def accelerator_of(instance_type: str) -> tuple[str, int, str | None, float | None] | None:
    """(kind, count, model, GiB per device) from the shipped accelerator table.

    ("none", 0, None, None) for a CPU type; None for an accelerated-looking type the table
    does not describe (left out, as the collector leaves it without specs).
    """
    acc = shipped_accelerator(instance_type)
    if acc is not None:
        return (acc.kind, acc.count, acc.model, acc.memory_gib)
    return None if looks_accelerated(instance_type) else ("none", 0, None, None)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TraceDataError(f"{path}: unreadable ({exc})") from exc


def load_spot_js(data_dir: Path) -> dict[tuple[str, str], float]:
    """{(region, type): Linux spot $/h} from the 2021 spot.js sample; "N/A*" = not offered."""
    path = data_dir / SPOT_JS_FILE
    doc = _read_json(path)
    out: dict[tuple[str, str], float] = {}
    try:
        for region in doc["config"]["regions"]:
            name = LEGACY_REGIONS[region["region"]]
            for group in region["instanceTypes"]:
                for size in group["sizes"]:
                    linux = next(c for c in size["valueColumns"] if c["name"] == "linux")
                    text = linux["prices"]["USD"]
                    if text.startswith("N/A"):
                        continue
                    out[(name, size["size"])] = float(text)
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise TraceDataError(f"{path}: not a spot.js price feed ({exc!r})") from exc
    return out


def load_regional_prices_2022(data_dir: Path) -> dict[tuple[str, str], float]:
    """{(region, type): median over the region's AZ IDs of the last Linux price} (2022-05-31)."""
    path = data_dir / PRICES_2022_FILE
    latest: dict[tuple[str, str], tuple[str, float]] = {}
    try:
        with gzip.open(path, "rt") as fh:
            for line in fh:
                az_id, itype, product, price, stamp = line.rstrip("\n").split("\t")
                if product != "Linux/UNIX":
                    continue
                held = latest.get((az_id, itype))
                if held is None or stamp > held[0]:
                    latest[(az_id, itype)] = (stamp, float(price))
    except (OSError, ValueError) as exc:
        raise TraceDataError(f"{path}: not the 5-column price dump ({exc})") from exc
    by_region: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (az_id, itype), (_, last) in latest.items():
        region = AZ_ID_REGIONS.get(az_id.split("-")[0])
        if region is not None:
            by_region[(region, itype)].append(last)
    return {key: statistics.median(prices) for key, prices in by_region.items()}


@dataclass(frozen=True, slots=True)
class AdvisorPool:
    """One (region, type) of an advisor snapshot with its bucket, savings and specs."""

    region: str
    instance_type: str
    label: str
    savings_pct: float
    vcpus: int
    memory_gib: float


def load_advisor_pools(data_dir: Path, date: str, *, at: datetime) -> list[AdvisorPool]:
    """Linux rows of one advisor snapshot, parsed by the shipped collector's parser."""
    path = data_dir / ADVISOR_DIR / f"spot-advisor-data_{date}.json"
    try:
        raw = path.read_bytes()
        rows = parse_advisor(raw, observed_at=at)
        specs = json.loads(raw)["instance_types"]
    except (OSError, SourceDataError, KeyError, ValueError) as exc:
        raise TraceDataError(f"{path}: {exc}") from exc
    out = []
    for row in rows:
        spec = specs.get(row["instance_type"])
        if not spec:
            continue
        out.append(
            AdvisorPool(
                region=row["region"],
                instance_type=row["instance_type"],
                label=row["label"],
                savings_pct=float(row["savings_pct"]),
                vcpus=int(spec["cores"]),
                memory_gib=float(spec["ram_gb"]),
            )
        )
    return out


def make_record(
    key: PoolKey,
    *,
    vcpus: int,
    memory_gib: float,
    spot_price: float,
    on_demand_price: float | None,
    label: str,
    at: datetime,
    interruptions: int = 0,
    instance_hours: float = 0.0,
    capacity_errors: int = 0,
    fleet_at: datetime | None = None,
) -> PoolRecord:
    """A real-data pool: advisor bucket, prices and specs; no placement score (none exists).

    Raises `TraceDataError` for an accelerated type the accelerator table does not know.
    """
    acc = accelerator_of(key.instance_type)
    if acc is None:
        raise TraceDataError(f"no accelerator specs for {key.instance_type}")
    kind, count, model, memory = acc
    family = key.instance_type.partition(".")[0]
    return PoolRecord(
        key=key,
        family=family,
        vcpus=vcpus,
        memory_gib=memory_gib,
        arch="arm64" if _ARM_FAMILY.match(family) else "x86_64",
        gpu_count=count,
        gpu_model=model,
        gpu_memory_gib=memory,
        accelerator_kind=kind,
        spot_offered=True,
        on_demand_offered=on_demand_price is not None,
        spot_price=spot_price,
        spot_price_at=at,
        spot_price_volatility=None,
        on_demand_price=on_demand_price,
        on_demand_at=at if on_demand_price is not None else None,
        interruption_source="aws-advisor",
        interruption_label=label,
        interruption_value=None,
        interruption_at=at,
        capacity_score=None,
        capacity_raw=None,
        capacity_zonal=False,
        capacity_at=None,
        fleet_interruptions=interruptions,
        fleet_instance_hours=instance_hours,
        fleet_capacity_errors=capacity_errors,
        fleet_at=fleet_at,
        sources=("aws-advisor", "spot-price"),
        simulated=False,
    )
