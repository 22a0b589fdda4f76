"""Compute Engine prices from the Cloud Billing Catalog: unit rates → machine prices.

Google prices predefined machine types per vCPU-hour and per GiB-hour of memory, per family and
region, with GPUs billed on their own; a machine's price is therefore
``vCPUs × core rate + GiB × RAM rate (+ GPUs × GPU rate)``. Spot SKUs carry usage type
``Preemptible`` (descriptions say "Spot Preemptible …"), on-demand ones ``OnDemand``.
Commitment, custom, extended-memory, sole-tenant and shared-core SKUs are not the rate of a
predefined on-demand / Spot VM and are excluded with a reason. A SKU the parser cannot read
refuses the whole catalog: half a price list would price some families and silently not others.

Spot prices are stored as *changes* (like AWS's): a pool's row is written only when its price
differs from the newest stored one, stamped with the run's time.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors.gcp.inventory import Inventory, MachineType, region_of
from collectors.gcp.price_model import UnitRates, billed_vcpus, machine_price, pricing_family
from collectors.parsing import refuses_malformed
from core.errors import PriceModelError, SourceDataError
from core.limits import check_rows, shorten
from core.tables import SpotPrice

__all__ = [
    "COMPUTE_SERVICE",
    "SOURCE",
    "Rates",
    "fetch_skus",
    "latest_spot_prices",
    "parse_skus",
    "price_rows",
    "spot_changes",
]

log = logging.getLogger(__name__)

SOURCE = "gcp-billing"
# The Compute Engine service in the Cloud Billing Catalog (cloud-facts.md, GCP).
COMPUTE_SERVICE = "services/6F81-5844-456A"
NANOS_PER_UNIT = 1e9
# Usage types → our capacity types; commitments (Commit1Yr / Commit3Yr) are not list prices.
_CAPACITY = {"OnDemand": "on-demand", "Preemptible": "spot", "Spot": "spot"}
# Units a rate must be quoted in to mean "per vCPU-hour", "per GiB-hour", "per GPU-hour".
_UNITS = {"core": "h", "ram": "GiBy.h", "gpu": "h"}
# Description words that mark a SKU as not a predefined VM's rate, checked in this order.
_EXCLUDED = (
    ("commitment", re.compile(r"\bCommitment\b", re.I)),
    ("sole-tenant", re.compile(r"\bSole Tenancy\b|\bSole Tenant\b", re.I)),
    ("custom", re.compile(r"\bCustom\b|\bExtended\b", re.I)),
    ("shared-core", re.compile(r"\bMicro\b|\bSmall Instance\b|\bburstable\b|\bShared\b", re.I)),
    ("workstation", re.compile(r"\bVirtual Workstation\b", re.I)),
)
_SPOT_PREFIX = re.compile(r"^(?:Spot Preemptible|Preemptible|Spot)\s+", re.I)
# "N2 Instance Core running in Americas", "N2D AMD Instance Ram running in Belgium",
# "N1 Predefined Instance Core running in Americas", "T2A Arm Instance Core running in …".
_MACHINE_RE = re.compile(
    r"^(?P<family>[A-Z][A-Z0-9]*)(?: (?:AMD|Arm|Intel|Predefined))? Instance (?P<unit>Core|Ram)"
    r" running in "
)
# Older families named by purpose instead of series (Compute Engine pricing pages).
_NAMED_FAMILIES = (
    (re.compile(r"^Compute optimized (?P<unit>Core|Ram) running in "), "c2"),
    (re.compile(r"^Memory-optimized Instance (?P<unit>Core|Ram) running in "), "m1"),
)
# "Nvidia Tesla T4 GPU running in Americas",
# "Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas".
_GPU_RE = re.compile(r"^(?P<gpu>Nvidia [\w ]+?) GPU(?: attached to [\w ]+ VMs)? running in ")
# Description GPU names whose accelerator type name is not their plain slug.
_GPU_ALIASES = {"nvidia-tesla-a100-80gb": "nvidia-a100-80gb"}


@dataclass(frozen=True)
class Rates:
    """Unit rates from one catalog: (series, region, capacity) → $/h, and what was left out."""

    core: dict[tuple[str, str, str], float] = field(default_factory=dict)
    ram: dict[tuple[str, str, str], float] = field(default_factory=dict)
    gpu: dict[tuple[str, str, str], float] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)  # SKU description → reason


def fetch_skus(catalog: Any, *, retry: Any) -> list[dict[str, Any]]:
    """Every SKU of Compute Engine (all pages), as camelCase JSON dicts."""
    pager = catalog.list_skus(request={"parent": COMPUTE_SERVICE}, retry=retry)
    return [type(sku).to_dict(sku, preserving_proto_field_name=False) for sku in pager]


def _money(price: Mapping[str, Any]) -> float:
    if price.get("currencyCode", "USD") != "USD":
        raise SourceDataError(f"price in {shorten(price['currencyCode'])}, expected USD")
    value = int(price.get("units") or 0) + int(price.get("nanos") or 0) / NANOS_PER_UNIT
    if not math.isfinite(value) or value < 0:
        raise SourceDataError(f"price {value!r} is not a finite non-negative amount")
    return value


def _rate(sku: Mapping[str, Any], kind: str) -> float:
    """The SKU's current rate: the last tier of its first pricing info (beyond free usage)."""
    expression = sku["pricingInfo"][0]["pricingExpression"]
    unit = str(expression["usageUnit"])
    if unit != _UNITS[kind]:
        raise SourceDataError(
            f"SKU {shorten(sku['description'])} is priced per {shorten(unit)}, "
            f"expected {_UNITS[kind]}"
        )
    tiers = sorted(expression["tieredRates"], key=lambda t: float(t.get("startUsageAmount") or 0))
    return _money(tiers[-1]["unitPrice"])


def _classify(description: str) -> tuple[str, str] | str:
    """(kind, key) of a usable SKU — kind core/ram/gpu, key the series or GPU — else a reason."""
    for reason, pattern in _EXCLUDED:
        if pattern.search(description):
            return reason
    plain = _SPOT_PREFIX.sub("", description)
    gpu = _GPU_RE.match(plain)
    if gpu:
        slug = "-".join(gpu.group("gpu").lower().split())
        return ("gpu", _GPU_ALIASES.get(slug, slug))
    for pattern, series in _NAMED_FAMILIES:
        named = pattern.match(plain)
        if named:
            return (named.group("unit").lower(), series)
    machine = _MACHINE_RE.match(plain)
    if machine:
        return (machine.group("unit").lower(), machine.group("family").lower())
    return "unrecognised"


@refuses_malformed("Cloud Billing Catalog SKU list")
def parse_skus(skus: Iterable[Mapping[str, Any]]) -> Rates:
    """Compute Engine SKUs → per-series, per-region unit rates for on-demand and Spot VMs."""
    rates = Rates()
    for sku in skus:
        description = str(sku["description"])
        category = sku["category"]
        if category["resourceFamily"] != "Compute":
            continue  # storage, network, licences: not a VM's rate
        usage = str(category["usageType"])
        capacity = _CAPACITY.get(usage)
        classified = _classify(description)
        if isinstance(classified, str):
            rates.excluded[description] = classified
            continue
        if capacity is None:
            rates.excluded[description] = f"usage type {usage}"
            continue
        kind, key = classified
        rate = _rate(sku, kind)
        table = {"core": rates.core, "ram": rates.ram, "gpu": rates.gpu}[kind]
        regions = [str(r) for r in sku["serviceRegions"]]
        if not regions:
            rates.excluded[description] = "no service region"
        for region in regions:
            table.setdefault((key, region, capacity), rate)
    return rates


def _machine_price(mt: MachineType, rates: Rates, *, region: str, capacity: str) -> float | None:
    """The unit-rate price of ``mt`` in ``region`` (``price_model.machine_price``, checked on
    real published prices; shared-core E2 types at their billed vCPU fraction); None when a
    rate is missing or the type bills by a flat SKU of its own (f1-micro, g1-small)."""
    try:
        vcpus = billed_vcpus(mt.machine, mt.vcpus)
        family = pricing_family(mt.machine)
    except PriceModelError:
        return None
    key = (family, region, capacity)
    core, ram = rates.core.get(key), rates.ram.get(key)
    gpu = rates.gpu.get((str(mt.gpu_type), region, capacity)) if mt.gpu_count else None
    if core is None or ram is None or (mt.gpu_count and gpu is None):
        return None
    return machine_price(UnitRates(core, ram, gpu), vcpus, mt.memory_gib, mt.gpu_count)


def price_rows(
    inventory: Inventory, rates: Rates, *, region: str, observed_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(``on_demand_prices`` rows, ``spot_prices`` rows per zone, unpriced type names)."""
    on_demand: list[dict[str, Any]] = []
    spot: list[dict[str, Any]] = []
    unpriced: list[str] = []
    for name, zones in sorted(inventory.zones.items()):
        here = sorted(z for z in zones if region_of(z) == region)
        if not here:
            continue
        mt = inventory.machines[name]
        od = _machine_price(mt, rates, region=region, capacity="on-demand")
        sp = _machine_price(mt, rates, region=region, capacity="spot")
        if od is None and sp is None:
            unpriced.append(name)
        if od is not None and od > 0:
            on_demand.append(
                {
                    "cloud": "gcp",
                    "region": region,
                    "instance_type": name,
                    "os": "linux",
                    "price_usd_per_hour": od,
                    "source": SOURCE,
                    "observed_at": observed_at,
                }
            )
        if sp is not None and sp > 0:
            spot.extend(
                {
                    "cloud": "gcp",
                    "region": region,
                    "zone_id": zone,
                    "instance_type": name,
                    "ts": observed_at,
                    "price_usd_per_hour": sp,
                    "source": SOURCE,
                    "observed_at": observed_at,
                }
                for zone in here
            )
    check_rows("on_demand_prices", on_demand, where=f"{region} billing catalog")
    check_rows("spot_prices", spot, where=f"{region} billing catalog")
    return on_demand, spot, unpriced


# A stored price this close (relative) to the new one is the same price re-read, not a change.
_SAME_PRICE = 1e-9


def latest_spot_prices(
    engine: Engine | None, *, regions: Sequence[str]
) -> dict[tuple[str, str, str], float]:
    """(region, zone, type) → the newest stored GCP spot price."""
    if engine is None or not regions:
        return {}
    key = (SpotPrice.region, SpotPrice.zone_id, SpotPrice.instance_type)
    newest = (
        select(*key, func.max(SpotPrice.ts).label("ts"))
        .where(SpotPrice.cloud == "gcp", SpotPrice.region.in_(list(regions)))
        .group_by(*key)
        .subquery()
    )
    stmt = select(*key, SpotPrice.price_usd_per_hour).join(
        newest,
        (SpotPrice.region == newest.c.region)
        & (SpotPrice.zone_id == newest.c.zone_id)
        & (SpotPrice.instance_type == newest.c.instance_type)
        & (SpotPrice.ts == newest.c.ts),
    )
    stmt = stmt.where(SpotPrice.cloud == "gcp")
    with Session(engine) as session:
        return {(r, z, t): float(p) for r, z, t, p in session.execute(stmt)}


def spot_changes(
    rows: Iterable[dict[str, Any]], latest: Mapping[tuple[str, str, str], float]
) -> list[dict[str, Any]]:
    """The rows whose price differs from the pool's newest stored price (or that are new)."""
    out = []
    for row in rows:
        before = latest.get((row["region"], row["zone_id"], row["instance_type"]))
        if before is None or not math.isclose(
            before, row["price_usd_per_hour"], rel_tol=_SAME_PRICE
        ):
            out.append(row)
    return out
