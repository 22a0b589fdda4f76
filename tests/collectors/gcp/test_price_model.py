"""collectors/gcp/price_model.py on known answers: pricing, fitting, family names, shared core."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from collectors.gcp.price_model import (
    MachineRow,
    UnitRates,
    billed_vcpus,
    fit_prices,
    fit_unit_rates,
    machine_price,
    pricing_family,
)
from core.errors import PriceModelError

# N1 on-demand in us-central1 as GCP lists it (USD per vCPU-hour, per GiB-hour).
N1_US_CENTRAL1 = UnitRates(cpu_per_hour=0.031611, mem_gib_per_hour=0.004237)
L4_LIKE = UnitRates(cpu_per_hour=0.02, mem_gib_per_hour=0.0025, gpu_per_hour=0.56)

# (vcpus, GiB) of N1 standard, highmem and highcpu shapes: three memory ratios.
N1_SHAPES = [(1, 3.75), (4, 15), (16, 60), (2, 13), (8, 52), (4, 3.6), (32, 28.8)]


def _priced(rates: UnitRates, shapes: Sequence[tuple[float, float, int]]) -> list[MachineRow]:
    return [(v, m, g, machine_price(rates, v, m, g)) for v, m, g in shapes]


def test_machine_price_sums_units() -> None:
    assert machine_price(N1_US_CENTRAL1, 4, 15) == pytest.approx(4 * 0.031611 + 15 * 0.004237)
    assert machine_price(L4_LIKE, 8, 32, 1) == pytest.approx(8 * 0.02 + 32 * 0.0025 + 0.56)


def test_machine_price_refuses_gpus_without_a_gpu_rate() -> None:
    with pytest.raises(PriceModelError, match="no GPU rate"):
        machine_price(N1_US_CENTRAL1, 8, 32, 1)


def test_unit_rates_refuse_negative_or_nan() -> None:
    with pytest.raises(PriceModelError):
        UnitRates(-0.01, 0.004)
    with pytest.raises(PriceModelError):
        UnitRates(0.03, float("nan"))


def test_fit_recovers_the_rates_that_made_the_prices() -> None:
    rates = fit_unit_rates(_priced(N1_US_CENTRAL1, [(v, m, 0) for v, m in N1_SHAPES]))
    assert rates.cpu_per_hour == pytest.approx(0.031611, rel=1e-12)
    assert rates.mem_gib_per_hour == pytest.approx(0.004237, rel=1e-12)
    assert rates.gpu_per_hour is None


def test_fit_with_gpus_recovers_the_gpu_rate() -> None:
    shapes = [(4, 16, 1), (8, 32, 1), (24, 96, 2), (12, 85, 1), (96, 1360, 16), (48, 192, 4)]
    rates = fit_unit_rates(_priced(L4_LIKE, shapes))
    assert rates.gpu_per_hour == pytest.approx(0.56, rel=1e-12)
    assert rates.cpu_per_hour == pytest.approx(0.02, rel=1e-12)


def test_least_squares_shows_the_one_size_priced_off_the_model() -> None:
    # Why least squares: a 1 % premium on one size stays visible in that size's residual.
    rows = _priced(N1_US_CENTRAL1, [(v, m, 0) for v, m in N1_SHAPES])
    v, m, g, p = rows[3]
    rows[3] = (v, m, g, p * 1.01)
    fit = fit_prices(rows)
    worst = max(range(len(rows)), key=lambda i: abs(fit.rel_residuals[i]))
    assert worst == 3
    assert fit.max_rel_residual > 1e-3


def test_one_memory_ratio_cannot_separate_cpu_from_memory() -> None:
    # Every C2 / G2 size has 4 GiB per vCPU: prices fix only cpu + 4 * mem (and G2's GPU rate).
    rows = _priced(L4_LIKE, [(4, 16, 1), (8, 32, 1), (16, 64, 1), (24, 96, 2), (96, 384, 8)])
    fit = fit_prices(rows)
    assert not fit.identifiable
    assert fit.determined == ("gpu_per_hour",)
    assert fit.max_rel_residual < 1e-12  # the min-norm rates still price every size
    assert fit.checks == len(rows) - 2
    with pytest.raises(PriceModelError, match="cpu_per_hour, mem_gib_per_hour cannot be separated"):
        fit_unit_rates(rows)


@pytest.mark.parametrize(
    "rows",
    [
        [],  # nothing to fit
        [(4, 15, 0, 0.0)],  # a free machine is not a price
        [(4, -15, 0, 0.2)],  # negative memory
        [(4, 15, 0)],  # a row without a price
    ],
)
def test_fit_refuses_bad_rows(rows: list[MachineRow]) -> None:
    with pytest.raises(PriceModelError):
        fit_prices(rows)


@pytest.mark.parametrize(
    ("machine_type", "family"),
    [
        ("n1-standard-4", "n1"),
        ("c3-highcpu-88", "c3"),
        ("a2-highgpu-1g", "a2"),
        ("g2-standard-8", "g2"),
        ("e2-medium", "e2"),  # shared core: still the E2 series
        ("n2d-standard-224", "n2d"),
        ("c3-standard-4-lssd", "c3"),
        ("n2-custom-8-16384", "n2"),
        ("custom-4-16384", "n1"),  # legacy custom types are N1
    ],
)
def test_pricing_family(machine_type: str, family: str) -> None:
    assert pricing_family(machine_type) == family


@pytest.mark.parametrize("name", ["", "n1", "N1-standard-4", "-standard-4", "n1 standard 4"])
def test_pricing_family_refuses_non_names(name: str) -> None:
    with pytest.raises(PriceModelError, match="not a GCP machine type"):
        pricing_family(name)


@pytest.mark.parametrize(
    ("machine_type", "vcpus", "billed"),
    [
        ("e2-micro", 2, 0.25),  # reports 2 shared vCPUs, bills a quarter of one
        ("e2-small", 2, 0.5),
        ("e2-medium", 2, 1.0),
        ("e2-standard-2", 2, 2),
        ("n1-standard-4", 4, 4),
    ],
)
def test_billed_vcpus(machine_type: str, vcpus: float, billed: float) -> None:
    assert billed_vcpus(machine_type, vcpus) == billed


@pytest.mark.parametrize("machine_type", ["f1-micro", "g1-small"])
def test_billed_vcpus_refuses_flat_priced_shared_core(machine_type: str) -> None:
    with pytest.raises(PriceModelError, match="flat SKU"):
        billed_vcpus(machine_type, 1)
