"""GCP machine prices as sums of unit rates: vCPU-hours, GiB-hours and GPU-hours.

Compute Engine bills a predefined machine type by SKU: one per-vCPU-hour and one per-GiB-hour
rate per machine series and region (separate SKUs for spot and on-demand), plus one per-GPU-hour
rate for the GPU a series bundles (L4 in G2, A100 in A2). A machine's price is therefore

    price = vcpus * cpu_per_hour + memory_gib * mem_gib_per_hour + gpus * gpu_per_hour

with the vCPU count *billed* (shared-core E2 types bill a fraction of their 2 vCPUs). The
collector prices a machine with :func:`machine_price` from Cloud Billing Catalog SKUs;
:func:`fit_prices` / :func:`fit_unit_rates` recover the rates from published machine prices, which
is how the model is checked against real data (``bench/gcp_price_model.py``).

Pure: no I/O, no clock. Plain floats out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import PriceModelError

__all__ = [
    "FLAT_PRICED_SHARED_CORE",
    "SHARED_CORE_BILLED_VCPUS",
    "MachineRow",
    "PriceFit",
    "UnitRates",
    "billed_vcpus",
    "fit_prices",
    "fit_unit_rates",
    "machine_price",
    "pricing_family",
]

# E2 shared-core types report 2 vCPUs (guestCpus, isSharedCpu) but bill the fraction of a vCPU
# they may use on sustained load, at the E2 per-vCPU rate. Source: cloud.google.com/compute/docs/
# general-purpose-machines#sharedcore ("e2-micro 0.25 vCPU, e2-small 0.5, e2-medium 1"); the
# published gcosts prices (pricing_2026-07-30) carry the same fractions as `cpu`.
SHARED_CORE_BILLED_VCPUS: Mapping[str, float] = {
    "e2-micro": 0.25,
    "e2-small": 0.5,
    "e2-medium": 1.0,
}
# The N1-era shared-core types have their own flat SKUs ("Micro Instance with burstable CPU",
# "Small Instance with 1 VCPU"), not per-vCPU and per-GiB rates: the model does not price them.
FLAT_PRICED_SHARED_CORE = frozenset({"f1-micro", "g1-small"})

# Legacy custom machine types carry no series prefix ("custom-4-16384"); they are N1.
_LEGACY_CUSTOM_FAMILY = "n1"
_MACHINE_TYPE = re.compile(r"^([a-z][a-z0-9]*)-[a-z0-9][a-z0-9-]*$")

# Two sizes count as collinear (rates not separable) when the normalised design matrix's
# singular values fall below this; well above float noise (~1e-15), far below a real
# difference in shape (the smallest seen, N1 highcpu vs standard, gives ~0.1).
_RANK_TOLERANCE = 1e-9

_CPU, _MEM, _GPU = "cpu_per_hour", "mem_gib_per_hour", "gpu_per_hour"

# (billed vCPUs, memory GiB, GPUs, USD per hour): one machine size and its price.
MachineRow = tuple[float, float, int, float]


@dataclass(frozen=True, slots=True)
class UnitRates:
    """USD per vCPU-hour, per GiB-hour and (for a GPU-bundling series) per GPU-hour."""

    cpu_per_hour: float
    mem_gib_per_hour: float
    gpu_per_hour: float | None = None

    def __post_init__(self) -> None:
        for name in (_CPU, _MEM, _GPU):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0.0):
                raise PriceModelError(f"unit rate {name} must be a finite non-negative number")


def machine_price(rates: UnitRates, vcpus: float, memory_gib: float, gpus: int = 0) -> float:
    """The hourly price of a machine of *billed* ``vcpus``, ``memory_gib`` and ``gpus``."""
    if vcpus < 0 or memory_gib < 0 or gpus < 0:
        raise PriceModelError(f"machine shape must be non-negative: {vcpus}, {memory_gib}, {gpus}")
    price = vcpus * rates.cpu_per_hour + memory_gib * rates.mem_gib_per_hour
    if gpus:
        if rates.gpu_per_hour is None:
            raise PriceModelError(f"no GPU rate to price a machine with {gpus} GPU(s)")
        price += gpus * rates.gpu_per_hour
    return float(price)


def pricing_family(machine_type: str) -> str:
    """The SKU series of a machine type: ``n1-standard-4`` → ``n1``, ``a2-highgpu-1g`` → ``a2``.

    Custom types keep their series (``n2-custom-8-16384`` → ``n2``); legacy ``custom-*`` is N1.
    This is the series that owns the rates, not the inventory's shape family (``n1-standard``).
    """
    match = _MACHINE_TYPE.match(machine_type)
    if match is None:
        raise PriceModelError(f"not a GCP machine type name: {machine_type!r}")
    series = match.group(1)
    return _LEGACY_CUSTOM_FAMILY if series == "custom" else series


def billed_vcpus(machine_type: str, vcpus: float) -> float:
    """The vCPUs a type is billed for: its vCPUs, or the shared-core fraction for E2 micro..medium.

    Refuses the flat-priced N1 shared-core types, which no unit rates price.
    """
    if machine_type in FLAT_PRICED_SHARED_CORE:
        raise PriceModelError(f"{machine_type} is billed by its own flat SKU, not per vCPU")
    return SHARED_CORE_BILLED_VCPUS.get(machine_type, vcpus)


@dataclass(frozen=True, slots=True)
class PriceFit:
    """Least-squares unit rates for a set of machines, and how well they reproduce each price.

    ``determined`` names the rates the sizes pin down. When the sizes share one shape (every
    C2 or G2 size has 4 GiB per vCPU) the vCPU and GiB rates cannot be told apart from prices;
    ``rates`` is then the minimum-norm solution, which still prices every such shape right.
    """

    rates: UnitRates
    unknowns: tuple[str, ...]
    determined: tuple[str, ...]
    rank: int
    rel_residuals: tuple[float, ...]

    @property
    def identifiable(self) -> bool:
        return self.rank == len(self.unknowns)

    @property
    def checks(self) -> int:
        """Independent checks the prices put on the model: sizes beyond those fixing the rates."""
        return len(self.rel_residuals) - self.rank

    @property
    def max_rel_residual(self) -> float:
        return max((abs(r) for r in self.rel_residuals), default=0.0)


def fit_prices(machines: Sequence[MachineRow]) -> PriceFit:
    """Fit unit rates to ``(billed vcpus, memory_gib, gpus, price)`` rows by least squares.

    Least squares over every size rather than exact from two: every size then gets a residual,
    so one size priced off the model shows up instead of being absorbed into the rates, and no
    pair of sizes has to be chosen (two small, similar sizes would amplify their rounding).
    The GPU rate is an unknown only when some machine has GPUs.
    """
    if not machines:
        raise PriceModelError("no machines to fit unit rates to")
    rows = np.asarray(machines, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 4:
        raise PriceModelError("machines must be (vcpus, memory_gib, gpus, price) rows")
    if not np.isfinite(rows).all() or (rows[:, :3] < 0).any() or (rows[:, 3] <= 0).any():
        raise PriceModelError("machine shapes must be finite and non-negative, prices positive")
    with_gpu = bool((rows[:, 2] > 0).any())
    unknowns = (_CPU, _MEM, _GPU) if with_gpu else (_CPU, _MEM)
    design = rows[:, : len(unknowns)]
    prices = rows[:, 3]
    # Columns are scaled to unit max so the rank test compares shapes, not units.
    scale = np.abs(design).max(axis=0)
    scale[scale == 0.0] = 1.0
    normalised = design / scale
    _, singular, vt = np.linalg.svd(normalised, full_matrices=False)
    rank = int((singular > _RANK_TOLERANCE * singular[0]).sum()) if singular[0] > 0 else 0
    solution, *_ = np.linalg.lstsq(normalised, prices, rcond=_RANK_TOLERANCE)
    coefficients = solution / scale
    # A rate is determined iff its unit vector lies in the row space of the design.
    basis = vt[:rank]
    determined = tuple(
        name
        for j, name in enumerate(unknowns)
        if np.linalg.norm(basis[:, j]) > 1.0 - _RANK_TOLERANCE**0.5
    )
    fitted = design @ coefficients
    residuals = tuple(float(r) for r in (fitted - prices) / prices)
    # Float noise can leave a zero rate a hair below zero; anything more is inconsistent prices.
    values = [0.0 if -_RANK_TOLERANCE < c < 0.0 else float(c) for c in coefficients]
    if any(v < 0 for v in values):
        implied = dict(zip(unknowns, values, strict=True))
        raise PriceModelError(f"prices imply a negative unit rate: {implied}")
    rates = UnitRates(values[0], values[1], values[2] if with_gpu else None)
    return PriceFit(rates, unknowns, determined, rank, residuals)


def fit_unit_rates(machines: Sequence[MachineRow]) -> UnitRates:
    """The unit rates the machines' prices imply; refuses sizes that cannot separate them."""
    fit = fit_prices(machines)
    if not fit.identifiable:
        loose = ", ".join(u for u in fit.unknowns if u not in fit.determined)
        raise PriceModelError(
            f"{len(machines)} machine(s) span {fit.rank} shape(s) for {len(fit.unknowns)} "
            f"unit rates: {loose} cannot be separated from their prices"
        )
    return fit.rates
