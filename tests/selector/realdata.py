"""Build us-east-1 PoolRecords from the real public data in ../shared/data (never copied here).

Sources (see each folder's SOURCE.md):
- aws-spot-advisor/spot-advisor-data_2025-06-28.json: interruption buckets and vCPU / memory;
- aws-spot-price-history/ericpauley_prices_2022-05.tsv.gz: DescribeSpotPriceHistory dump
  (zone ID, type, product, price, ts; no header), the last Linux/UNIX price per pool;
- spotlake/aws_price_sps_if_2022-07-12.csv: single-type zonal placement scores (1-3) and
  savings, from
  which an on-demand price estimate per type is derived (price / (1 - savings)).

The files are years apart; the test treats each as current at its own timestamp and ranks at
a `now` just after the SpotLake snapshot with a generous price-age allowance.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selector import PoolKey, PoolRecord, normalise_placement

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ADVISOR = DATA / "aws-spot-advisor" / "spot-advisor-data_2025-06-28.json"
PRICES = DATA / "aws-spot-price-history" / "ericpauley_prices_2022-05.tsv.gz"
SPOTLAKE = DATA / "spotlake" / "aws_price_sps_if_2022-07-12.csv"

REGION = "us-east-1"
ZONE_PREFIX = "use1-"
NOW = datetime(2022, 7, 12, 6, 0, tzinfo=UTC)
SPOTLAKE_AT = datetime(2022, 7, 12, 4, 20, 2, tzinfo=UTC)
PRICES_CONFIRMED_AT = datetime(2022, 6, 1, 0, 0, tzinfo=UTC)  # end of the dump's window
ADVISOR_AT = NOW - timedelta(days=1)  # the 2025 buckets stand in for "current"

# GPU family -> (model, memory GiB per GPU, accelerator kind); from the AWS instance-type pages.
GPU_FAMILIES: dict[str, tuple[str | None, float | None, str]] = {
    "g4dn": ("T4", 16.0, "gpu"),
    "g4ad": ("Radeon Pro V520", 8.0, "gpu"),
    "g5": ("A10G", 24.0, "gpu"),
    "g5g": ("T4G", 16.0, "gpu"),
    "g6": ("L4", 24.0, "gpu"),
    "gr6": ("L4", 24.0, "gpu"),
    "g6e": ("L40S", 48.0, "gpu"),
    "g3": ("M60", 8.0, "gpu"),
    "g3s": ("M60", 8.0, "gpu"),
    "p2": ("K80", 12.0, "gpu"),
    "p3": ("V100", 16.0, "gpu"),
    "p3dn": ("V100", 32.0, "gpu"),
    "p4d": ("A100", 40.0, "gpu"),
    "p4de": ("A100", 80.0, "gpu"),
    "p5": ("H100", 80.0, "gpu"),
    "inf1": (None, None, "inferentia"),
    "inf2": (None, None, "inferentia"),
    "trn1": (None, None, "trainium"),
}
# GPUs per size where it is not 1 (AWS instance-type pages).
GPU_COUNTS: dict[str, int] = {
    "g4dn.12xlarge": 4, "g4dn.metal": 8, "g4ad.8xlarge": 2, "g4ad.16xlarge": 4,
    "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8, "g5g.16xlarge": 2, "g5g.metal": 2,
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8, "g6e.12xlarge": 4,
    "g6e.24xlarge": 4, "g6e.48xlarge": 8, "g3.8xlarge": 2, "g3.16xlarge": 4,
    "p2.8xlarge": 8, "p2.16xlarge": 16, "p3.8xlarge": 4, "p3.16xlarge": 8,
    "p3dn.24xlarge": 8, "p4d.24xlarge": 8, "p4de.24xlarge": 8, "p5.48xlarge": 8,
}  # fmt: skip
_ARM = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)$")


def available() -> bool:
    return ADVISOR.exists() and PRICES.exists() and SPOTLAKE.exists()


def _advisor() -> tuple[dict[str, str], dict[str, tuple[int, float]]]:
    data = json.loads(ADVISOR.read_text())
    labels = {r["index"]: r["label"] for r in data["ranges"]}
    buckets = {t: labels[v["r"]] for t, v in data["spot_advisor"][REGION]["Linux"].items()}
    specs = {t: (int(v["cores"]), float(v["ram_gb"])) for t, v in data["instance_types"].items()}
    return buckets, specs


def _prices() -> dict[tuple[str, str], float]:
    last: dict[tuple[str, str], tuple[str, float]] = {}
    with gzip.open(PRICES, "rt") as fh:
        for zone, itype, product, price, ts in csv.reader(fh, delimiter="\t"):
            if product != "Linux/UNIX" or not zone.startswith(ZONE_PREFIX):
                continue
            if (zone, itype) not in last or ts > last[(zone, itype)][0]:
                last[(zone, itype)] = (ts, float(price))
    return {k: v[1] for k, v in last.items()}


def _spotlake() -> tuple[dict[tuple[str, str], str], dict[str, float]]:
    sps: dict[tuple[str, str], str] = {}
    od_estimates: dict[str, list[float]] = defaultdict(list)
    with SPOTLAKE.open() as fh:
        for row in csv.DictReader(fh):
            if row["Region"] != REGION:
                continue
            sps[(row["AZ"], row["InstanceType"])] = row["SPS"]
            savings = int(row["Savings"])
            if 0 < savings < 100:
                od_estimates[row["InstanceType"]].append(
                    float(row["SpotPrice"]) / (1 - savings / 100)
                )
    return sps, {t: statistics.median(v) for t, v in od_estimates.items()}


def load_us_east_1() -> list[PoolRecord]:
    """One PoolRecord per (zone ID, type) seen in the price dump or SpotLake, with known specs."""
    buckets, specs = _advisor()
    prices = _prices()
    sps, on_demand = _spotlake()
    records = []
    for zone, itype in sorted(set(prices) | set(sps)):
        if itype not in specs:
            continue
        vcpus, memory = specs[itype]
        family = itype.split(".")[0]
        model, gpu_mem, kind = GPU_FAMILIES.get(family, (None, None, "none"))
        gpus = GPU_COUNTS.get(itype, 1) if kind == "gpu" else 0
        price = prices.get((zone, itype))
        raw = sps.get((zone, itype))
        bucket = buckets.get(itype)
        records.append(
            PoolRecord(
                key=PoolKey("aws", REGION, zone, itype),
                family=family,
                vcpus=vcpus,
                memory_gib=memory,
                arch="arm64" if _ARM.match(family) else "x86_64",
                gpu_count=gpus,
                gpu_model=model,
                gpu_memory_gib=gpu_mem,
                accelerator_kind=kind,
                spot_offered=True,
                on_demand_offered=itype in on_demand,
                spot_price=price,
                spot_price_at=PRICES_CONFIRMED_AT if price is not None else None,
                spot_price_volatility=None,
                on_demand_price=on_demand.get(itype),
                on_demand_at=SPOTLAKE_AT if itype in on_demand else None,
                interruption_source="aws-advisor" if bucket else None,
                interruption_label=bucket,
                interruption_value=None,
                interruption_at=ADVISOR_AT if bucket else None,
                capacity_score=normalise_placement("aws", raw, types_in_query=1) if raw else None,
                capacity_raw=raw,
                capacity_zonal=True,
                capacity_at=SPOTLAKE_AT if raw else None,
            )
        )
    return records
