"""The GCP unit-rate price model (collectors/gcp/price_model.py) checked on published prices.

Run with ``.venv/bin/python bench/gcp_price_model.py``. It reads one gcosts snapshot from
../shared/data/gcp-pricing (never copied into the repo): ``pricing_2026-07-30.yml.gz``, the
newest stored, and the only one whose spot prices cover every checked family in every region
(2022-08-04 has no spot prices at all; C3 and G2 launched in 2023). For each family
(A2 split by its bundled GPU model), region and capacity type it fits unit rates to that
family's sizes and prints, per family: regions checked, sizes, the independent checks the
prices put on the model (sizes beyond the rank), which rates the sizes determine, and the
largest relative residual for spot / on-demand. Then the exceptions: sizes left out and why,
prices missing from the file, and the per-GB local-SSD charge of the C3 ``-lssd`` types.
"""

from __future__ import annotations

import gzip
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from collectors.gcp.price_model import PriceFit, billed_vcpus, fit_prices, pricing_family

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gcp-pricing"
SNAPSHOT = DATA / "pricing_2026-07-30.yml.gz"

FAMILIES = ("n1", "n2", "n2d", "e2", "c2", "c3", "g2", "a2")
# pricing.yml keys: capacity type → hourly price field (USD/h; the month fields carry discounts).
PRICE_FIELDS: Mapping[str, str] = {"spot": "hour_spot", "on-demand": "hour"}
# pricing.yml spec keys that count GPUs bundled with the machine (SOURCE.md lists them).
GPU_SPEC_KEYS = ("l4", "a100", "a100-80gb", "h100-80gb", "h100-80gb-mega", "rtx6000")
# pricing.yml bills local SSD per GB-month; machine prices are per hour over a 730-hour month.
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True, slots=True)
class Machine:
    """One predefined type of a checked family, as pricing.yml lists it."""

    name: str
    group: str  # the family, or "a2/a100-80gb": one GPU model per fit, one GPU rate
    vcpus: float  # billed
    memory_gib: float
    gpus: int
    local_ssd_gb: float
    costs: Mapping[str, Mapping[str, float]]  # region → pricing.yml cost fields


@dataclass(frozen=True, slots=True)
class GroupCheck:
    """One fit: a family group's sizes priced in one region for one capacity type."""

    group: str
    region: str
    capacity_type: str
    sizes: tuple[str, ...]
    fit: PriceFit


def load_instances(path: Path = SNAPSHOT) -> Mapping[str, Mapping[str, Any]]:
    with gzip.open(path, "rb") as fh:
        doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    instances: Mapping[str, Mapping[str, Any]] = doc["compute"]["instance"]
    return instances


def exclusion_reason(name: str) -> str | None:
    """Why a type of a checked family is left out of its family's fit (None: it is checked)."""
    if name.endswith("-lssd"):
        return "bundles local SSD billed per GB on top (checked apart: lssd_rates_per_gb_month)"
    if "custom" in name:
        return "custom types bill their own custom-core / custom-RAM SKUs"
    return None


def machines(
    instances: Mapping[str, Mapping[str, Any]], families: Iterable[str] = FAMILIES
) -> list[Machine]:
    wanted = set(families)
    out: list[Machine] = []
    for name, spec in sorted(instances.items()):
        family = pricing_family(name)
        if family not in wanted or exclusion_reason(name) is not None:
            continue
        gpu_models = [key for key in GPU_SPEC_KEYS if spec.get(key)]
        if len(gpu_models) > 1:
            raise ValueError(f"{name} bundles several GPU models: {gpu_models}")
        gpus = int(spec[gpu_models[0]]) if gpu_models else 0
        # One GPU rate per fit: A2 bundles two GPU models, so each model is its own group.
        group = f"{family}/{gpu_models[0]}" if family == "a2" and gpu_models else family
        out.append(
            Machine(
                name=name,
                group=group,
                vcpus=billed_vcpus(name, float(spec["cpu"])),
                memory_gib=float(spec["ram"]),
                gpus=gpus,
                local_ssd_gb=float(spec.get("local-ssd", 0)),
                costs=spec.get("cost", {}),
            )
        )
    return out


def priced_pairs(group: Iterable[Machine]) -> dict[tuple[str, str], list[tuple[Machine, float]]]:
    """(region, capacity type) → the group's machines with a price there."""
    pairs: dict[tuple[str, str], list[tuple[Machine, float]]] = defaultdict(list)
    for machine in group:
        for region, cost in machine.costs.items():
            for capacity_type, field in PRICE_FIELDS.items():
                if field in cost:
                    pairs[region, capacity_type].append((machine, float(cost[field])))
    return pairs


def check_groups(all_machines: Iterable[Machine]) -> list[GroupCheck]:
    by_group: dict[str, list[Machine]] = defaultdict(list)
    for machine in all_machines:
        by_group[machine.group].append(machine)
    checks: list[GroupCheck] = []
    for group, members in sorted(by_group.items()):
        for (region, capacity_type), priced in sorted(priced_pairs(members).items()):
            rows = [(m.vcpus, m.memory_gib, m.gpus, price) for m, price in priced]
            checks.append(
                GroupCheck(
                    group, region, capacity_type, tuple(m.name for m, _ in priced), fit_prices(rows)
                )
            )
    return checks


def missing_prices(all_machines: Iterable[Machine]) -> list[tuple[str, str, str]]:
    """(machine, region, capacity type) with no price although the family is sold there."""
    members = list(all_machines)
    family_regions: dict[str, set[str]] = defaultdict(set)
    for machine in members:
        family_regions[machine.group.split("/")[0]].update(machine.costs)
    missing = []
    for machine in members:
        for region in sorted(family_regions[machine.group.split("/")[0]]):
            for capacity_type, field in PRICE_FIELDS.items():
                if field not in machine.costs.get(region, {}):
                    missing.append((machine.name, region, capacity_type))
    return missing


def lssd_rates_per_gb_month(
    instances: Mapping[str, Mapping[str, Any]],
) -> dict[tuple[str, str], list[float]]:
    """(region, capacity type) → each ``*-lssd`` type's excess over its base type, per GB-month."""
    rates: dict[tuple[str, str], list[float]] = defaultdict(list)
    for name, spec in sorted(instances.items()):
        if not name.endswith("-lssd") or pricing_family(name) not in FAMILIES:
            continue
        base = instances[name.removesuffix("-lssd")]
        for region, cost in spec.get("cost", {}).items():
            for capacity_type, field in PRICE_FIELDS.items():
                base_price = base.get("cost", {}).get(region, {}).get(field)
                if field in cost and base_price is not None:
                    excess = float(cost[field]) - float(base_price)
                    gb = float(spec["local-ssd"])
                    rates[region, capacity_type].append(excess / gb * HOURS_PER_MONTH)
    return rates


def _summarise(checks: list[GroupCheck]) -> list[str]:
    lines = [
        f"{'family':<15} {'regions':>7} {'sizes':>5} {'checks':>6}  {'rates determined':<34} "
        f"{'max |rel resid| spot':>20} {'on-demand':>10}"
    ]
    by_group: dict[str, list[GroupCheck]] = defaultdict(list)
    for check in checks:
        by_group[check.group].append(check)
    for group, group_checks in by_group.items():
        regions = {c.region for c in group_checks}
        sizes = {s for c in group_checks for s in c.sizes}
        n_checks = sum(c.fit.checks for c in group_checks)
        determined = sorted({d for c in group_checks for d in c.fit.determined})
        worst = {
            ct: max(
                (c.fit.max_rel_residual for c in group_checks if c.capacity_type == ct), default=0
            )
            for ct in PRICE_FIELDS
        }
        lines.append(
            f"{group:<15} {len(regions):>7} {len(sizes):>5} {n_checks:>6}  "
            f"{','.join(d.removesuffix('_per_hour') for d in determined):<34} "
            f"{worst['spot']:>20.1e} {worst['on-demand']:>10.1e}"
        )
    return lines


def main() -> None:
    started = time.perf_counter()
    instances = load_instances()
    members = machines(instances)
    checks = check_groups(members)
    print(f"snapshot {SNAPSHOT.name}: {len(members)} sizes of {', '.join(FAMILIES)}")
    print(
        f"{len(checks)} fits (family × region × capacity type), "
        f"{sum(len(c.sizes) for c in checks)} machine-region-capacity prices"
    )
    print("\n".join(_summarise(checks)))
    print("\nleft out of the fits:")
    for name in sorted(instances):
        reason = exclusion_reason(name)
        if pricing_family(name) in FAMILIES and reason is not None:
            print(f"  {name}: {reason}")
    missing = missing_prices(members)
    print(f"\nprices missing where the family is sold ({len(missing)}):")
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, region, capacity_type in missing:
        grouped[region, capacity_type].append(name)
    for (region, capacity_type), names in sorted(grouped.items()):
        print(f"  {region} {capacity_type}: {len(names)} ({', '.join(sorted(names)[:3])} ...)")
    lssd = lssd_rates_per_gb_month(instances)
    spread = max(max(v) - min(v) for v in lssd.values())
    od = sorted(v[0] for (_, ct), v in lssd.items() if ct == "on-demand")
    print(
        f"\nC3 -lssd excess per local-SSD GB-month: one rate per region and capacity type "
        f"(largest spread {spread:.1e} USD); on-demand {od[0]:.4f}..{od[-1]:.4f} USD"
    )
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
