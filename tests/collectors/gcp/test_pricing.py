"""Billing Catalog SKUs → unit rates → machine prices, exclusions, and spot changes (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from collectors.gcp.inventory import Inventory, parse_accelerator_zones, parse_machine_types
from collectors.gcp.pricing import parse_skus, price_rows, spot_changes
from core.errors import SourceDataError
from tests.collectors.gcp.fakes import accelerator_type, machine_type, sku

REGION = "us-central1"
ZONES = ("us-central1-a", "us-central1-b")
# Unit rates of the SKUs below ($/vCPU-h, $/GiB-h, $/GPU-h), round enough to check by hand.
N2 = {"on-demand": (0.031611, 0.004237), "spot": (0.0076, 0.001)}
N1 = {"on-demand": (0.031611, 0.004237), "spot": (0.00698, 0.00094)}
A2 = {"on-demand": (0.031611, 0.004237), "spot": (0.0094, 0.00124)}
GPU = {
    ("nvidia-tesla-t4", "on-demand"): 0.35,
    ("nvidia-tesla-t4", "spot"): 0.14,
    ("nvidia-tesla-a100", "on-demand"): 2.933908,
    ("nvidia-tesla-a100", "spot"): 1.14,
}


def catalog() -> list[dict[str, Any]]:
    skus = []
    for series, label, rates in (("N2", "N2", N2), ("N1", "N1 Predefined", N1), ("A2", "A2", A2)):
        for capacity, (core, ram) in rates.items():
            prefix = "Spot Preemptible " if capacity == "spot" else ""
            skus.append(sku(f"{prefix}{label} Instance Core running in Americas", core))
            skus.append(sku(f"{prefix}{label} Instance Ram running in Americas", ram))
        assert series
    for (gpu, capacity), rate in GPU.items():
        name = {"nvidia-tesla-t4": "Nvidia Tesla T4", "nvidia-tesla-a100": "Nvidia Tesla A100"}[gpu]
        suffix = " attached to Spot Preemptible VMs" if capacity == "spot" else ""
        skus.append(sku(f"{name} GPU{suffix} running in Americas", rate, group="GPU"))
    # Not a predefined VM's rate: each excluded with its reason, none priced.
    skus += [
        sku("N2 Custom Instance Core running in Americas", 9.0),
        sku("N2 Custom Extended Instance Ram running in Americas", 9.0),
        sku("Sole Tenancy Instance Core running in Americas", 9.0),
        sku("Commitment v1: N2 Cpu in Americas for 1 Year", 9.0, usage="Commit1Yr"),
        sku("Micro Instance with burstable CPU running in Americas", 9.0),
        sku("Nvidia Tesla T4 Virtual Workstation GPU running in Americas", 9.0, group="GPU"),
    ]
    return skus


def inventory(now: datetime) -> Inventory:
    records = [
        machine_type(name, zone, vcpus, gib, gpus=gpus)
        for zone in ZONES
        for name, vcpus, gib, gpus in (
            ("n2-standard-8", 8, 32.0, None),
            ("n1-standard-8", 8, 30.0, None),
            ("a2-highgpu-2g", 24, 170.0, ("nvidia-tesla-a100", 2)),
            ("z9-mega-4", 4, 16.0, None),  # a series the catalog does not price (yet)
        )
    ]
    gpus = parse_accelerator_zones([accelerator_type("nvidia-tesla-t4", ZONES[0])])
    return parse_machine_types(records, accelerator_zones=gpus, regions=None, observed_at=now)


def _expected(name: str, capacity: str) -> float:
    core_ram = {"n2": N2, "n1": N1, "a2": A2}[name[:2]][capacity]
    shapes = {
        "n2-standard-8": (8, 32.0, None, 0),
        "n1-standard-8": (8, 30.0, None, 0),
        "n1-standard-8+nvidia-tesla-t4": (8, 30.0, "nvidia-tesla-t4", 1),
        "a2-highgpu-2g": (24, 170.0, "nvidia-tesla-a100", 2),
    }
    vcpus, gib, gpu, count = shapes[name]
    price = vcpus * core_ram[0] + gib * core_ram[1]
    return price + (count * GPU[(gpu, capacity)] if gpu else 0.0)


def test_machine_price_is_vcpus_times_core_plus_gib_times_ram_plus_gpus(now: datetime) -> None:
    rates = parse_skus(catalog())
    on_demand, spot, unpriced = price_rows(inventory(now), rates, region=REGION, observed_at=now)
    od = {r["instance_type"]: r["price_usd_per_hour"] for r in on_demand}
    assert set(od) == {
        "n2-standard-8",
        "n1-standard-8",
        "n1-standard-8+nvidia-tesla-t4",
        "a2-highgpu-2g",
    }
    for name, price in od.items():
        assert price == pytest.approx(_expected(name, "on-demand")), name
    # Spot: one row per zone the type is offered in; the T4 pairing only where the T4 is.
    by_pool = {(r["zone_id"], r["instance_type"]): r["price_usd_per_hour"] for r in spot}
    assert ("us-central1-b", "n1-standard-8+nvidia-tesla-t4") not in by_pool
    for (_zone, name), price in by_pool.items():
        assert price == pytest.approx(_expected(name, "spot")), name
    assert len(by_pool) == 2 * 3 + 1
    assert all(r["ts"] == now and r["source"] == "gcp-billing" for r in spot)
    # Spot is cheaper than on-demand for every type priced both ways.
    assert all(p < od[name] for (_z, name), p in by_pool.items())
    # The unknown series is not priced, and is named, never guessed.
    assert unpriced == ["z9-mega-4"]


def test_excluded_skus_carry_their_reason() -> None:
    excluded = parse_skus(catalog()).excluded
    assert excluded == {
        "N2 Custom Instance Core running in Americas": "custom",
        "N2 Custom Extended Instance Ram running in Americas": "custom",
        "Sole Tenancy Instance Core running in Americas": "sole-tenant",
        "Commitment v1: N2 Cpu in Americas for 1 Year": "commitment",
        "Micro Instance with burstable CPU running in Americas": "shared-core",
        "Nvidia Tesla T4 Virtual Workstation GPU running in Americas": "workstation",
    }


def test_rates_are_per_region_listed_by_the_sku() -> None:
    rates = parse_skus(
        [sku("N2 Instance Core running in Belgium", 0.0348, regions=("europe-west1",))]
    )
    assert rates.core == {("n2", "europe-west1", "on-demand"): pytest.approx(0.0348)}


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda s: s.pop("category"), "no category"),
        (lambda s: s["pricingInfo"].clear(), "no pricing info"),
        (
            lambda s: s["pricingInfo"][0]["pricingExpression"]["tieredRates"][0][
                "unitPrice"
            ].update(units="lots"),
            "units not an integer",
        ),
        (lambda s: s["pricingInfo"][0]["pricingExpression"].update(usageUnit="GiBy.mo"), "unit"),
        (
            lambda s: s["pricingInfo"][0]["pricingExpression"]["tieredRates"][0][
                "unitPrice"
            ].update(currencyCode="EUR"),
            "currency",
        ),
    ],
)
def test_one_malformed_sku_refuses_the_whole_catalog(mutate: Any, why: str) -> None:
    skus = catalog()
    mutate(skus[0])
    with pytest.raises(SourceDataError):
        parse_skus(skus)


def test_spot_rows_are_written_only_when_the_price_changed(now: datetime) -> None:
    rates = parse_skus(catalog())
    _, spot, _ = price_rows(inventory(now), rates, region=REGION, observed_at=now)
    latest = {
        (r["region"], r["zone_id"], r["instance_type"]): r["price_usd_per_hour"] for r in spot
    }
    assert spot_changes(spot, latest) == []
    moved = dict(latest)
    key = (REGION, "us-central1-a", "n2-standard-8")
    moved[key] *= 1.1
    changed = spot_changes(spot, moved)
    assert [(r["region"], r["zone_id"], r["instance_type"]) for r in changed] == [key]
    assert len(spot_changes(spot, {})) == len(spot)


def test_shared_core_e2_bills_its_vcpu_fraction_and_flat_types_stay_unpriced() -> None:
    """e2-micro is billed 0.25 vCPU at the E2 rates (as GCP's published prices show); f1-micro
    has a flat SKU of its own that no unit rate prices."""
    from collectors.gcp.inventory import MachineType
    from collectors.gcp.pricing import Rates, _machine_price

    key = ("e2", "us-central1", "on-demand")
    rates = Rates(core={key: 0.02}, ram={key: 0.003})
    micro = MachineType("e2-micro", "e2", 2, 1.0, True, None, 0, "e2-micro")
    assert _machine_price(micro, rates, region="us-central1", capacity="on-demand") == (
        pytest.approx(0.25 * 0.02 + 1.0 * 0.003)
    )
    flat = MachineType("f1-micro", "f1", 1, 0.6, True, None, 0, "f1-micro")
    assert _machine_price(flat, rates, region="us-central1", capacity="on-demand") is None
