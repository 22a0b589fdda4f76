"""The unit-rate price model reproduces every published GCP machine price of eight families.

Data: ``../shared/data/gcp-pricing/pricing_2026-07-30.yml.gz`` (gcosts, built from the Cloud
Billing Catalog), the newest snapshot stored and the only one with spot prices for all of N1,
N2, N2D, E2, C2, C3, G2 (L4) and A2 in every region (2022-08-04 has no spot prices; C3 and G2
launched in 2023). For each family, region and capacity type (spot ``hour_spot``, on-demand
``hour``) unit rates are fitted by least squares to that family's sizes there, and every size
must come back within ``REL_TOLERANCE``.

Tolerance: 1e-9 relative. The published prices are not rounded to cents or to a fixed number
of decimals: they are sums of SKU rates written at full float precision (up to 15 decimals), so
the residuals seen are float noise, at most ~5e-15. 1e-9 leaves room for that and for a
future snapshot written with ~9 significant digits, while a real departure (the 16 % C3
local-SSD charge, a 1 % per-size premium) is far above it.

Exceptions, each checked below rather than skipped silently:
- E2 shared-core (e2-micro, e2-small, e2-medium) are *in* the fit at their billed vCPUs
  (0.25, 0.5, 1); at the 2 vCPUs the machine-type list reports they would be mispriced.
- C3 ``-lssd`` types are left out: their price is the base type plus a local-SSD charge of
  one rate per GB-month per region and capacity type (0.08 USD on demand in us-central1).
- ``custom-*-ext`` (legacy N1 custom) types are left out: they bill custom SKUs.
- A2 is fitted per bundled GPU model (A100 40 GB: highgpu / megagpu; A100 80 GB: ultragpu,
  whose local SSD scales with the GPUs and so is part of the GPU-hour), one GPU rate each.
- Rates the sizes cannot separate: every C2 and G2 size has 4 GiB per vCPU, and every A2
  ultragpu size is a multiple of one shape, so their vCPU and GiB rates (and A2's memory
  vs GPU rates) are not identified by prices; the fit then checks that every size is the
  same linear combination, and ``fit_unit_rates`` refuses to name a split.
- Missing prices in the file: N1 on-demand in europe-north2 and northamerica-south1, C2
  on-demand in northamerica-south1, and A2 A100-40GB (spot and on-demand) in
  northamerica-northeast2. Those (region, capacity type) pairs have no sizes to check.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pytest

from bench import gcp_price_model as gpm
from collectors.gcp.price_model import (
    SHARED_CORE_BILLED_VCPUS,
    fit_prices,
    fit_unit_rates,
    machine_price,
    pricing_family,
)
from core.errors import PriceModelError

pytestmark = pytest.mark.skipif(not gpm.SNAPSHOT.exists(), reason="no ../shared/data")

# Published prices are exact float sums of SKU rates (residuals seen <= 5e-15); see docstring.
REL_TOLERANCE = 1e-9
# Families whose sizes span two memory ratios or more, so both rates are identified.
SEPARABLE = ("n1", "n2", "n2d", "e2", "c3")


@pytest.fixture(scope="module")
def instances() -> Mapping[str, Mapping[str, Any]]:
    return gpm.load_instances()


@pytest.fixture(scope="module")
def checks(instances: Mapping[str, Mapping[str, Any]]) -> list[gpm.GroupCheck]:
    return gpm.check_groups(gpm.machines(instances))


def _file_prices(instances: Mapping[str, Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """Every (type, region, capacity) price of a checked type, read straight from the file."""
    out = set()
    for name, spec in instances.items():
        if name.split("-")[0] in gpm.FAMILIES and gpm.exclusion_reason(name) is None:
            for region, cost in spec.get("cost", {}).items():
                out |= {(name, region, ct) for ct, f in gpm.PRICE_FIELDS.items() if f in cost}
    return out


def test_every_size_of_every_family_region_is_reproduced(checks: list[gpm.GroupCheck]) -> None:
    off = [
        (c.group, c.region, c.capacity_type, c.fit.max_rel_residual)
        for c in checks
        if c.fit.max_rel_residual > REL_TOLERANCE
    ]
    assert off == []


def test_every_price_in_the_file_was_checked(
    instances: Mapping[str, Mapping[str, Any]], checks: list[gpm.GroupCheck]
) -> None:
    expected = _file_prices(instances)
    checked = {(s, c.region, c.capacity_type) for c in checks for s in c.sizes}
    assert checked == expected
    # The floor, from the file: all eight families, both capacity types, many regions each.
    assert len(checked) == sum(len(c.sizes) for c in checks)
    families = {pricing_family(name) for name, _, _ in expected}
    assert families == set(gpm.FAMILIES)
    for family in gpm.FAMILIES:
        for capacity_type in gpm.PRICE_FIELDS:
            regions = {r for n, r, ct in expected if ct == capacity_type and n.startswith(family)}
            assert len(regions) >= 30, (family, capacity_type)


def test_each_fit_checks_something(checks: list[gpm.GroupCheck]) -> None:
    # A fit with as many sizes as rates reproduces them by construction and proves nothing.
    total = sum(c.fit.checks for c in checks)
    assert all(c.fit.checks >= 3 for c in checks)
    assert total >= 0.8 * sum(len(c.sizes) for c in checks)


def test_separable_families_yield_unit_rates_everywhere(checks: list[gpm.GroupCheck]) -> None:
    for check in checks:
        if check.group in SEPARABLE:
            assert check.fit.identifiable, (check.group, check.region)
        else:
            assert not check.fit.identifiable, (check.group, check.region)


def test_n1_us_central1_rates_are_the_listed_ones(
    instances: Mapping[str, Mapping[str, Any]],
) -> None:
    # GCP's N1 price list: 0.031611 USD per vCPU-hour, 0.004237 per GiB-hour in us-central1.
    n1 = gpm.machines(instances, ["n1"])
    rows = [(m.vcpus, m.memory_gib, m.gpus, m.costs["us-central1"]["hour"]) for m in n1]
    rates = fit_unit_rates(rows)
    assert rates.cpu_per_hour == pytest.approx(0.031611, rel=1e-9)
    assert rates.mem_gib_per_hour == pytest.approx(0.004237, rel=1e-9)
    # SOURCE.md's example: n2-standard-8 spot in us-central1 on 2026-07-30.
    n2 = gpm.machines(instances, ["n2"])
    spot = fit_unit_rates(
        [(m.vcpus, m.memory_gib, 0, m.costs["us-central1"]["hour_spot"]) for m in n2]
    )
    assert machine_price(spot, 8, 32) == pytest.approx(0.18424, rel=REL_TOLERANCE)


def test_collinear_families_refuse_to_name_a_split(
    instances: Mapping[str, Mapping[str, Any]],
) -> None:
    c2 = gpm.machines(instances, ["c2"])
    rows = [(m.vcpus, m.memory_gib, 0, m.costs["us-central1"]["hour_spot"]) for m in c2]
    assert {m.memory_gib / m.vcpus for m in c2} == {4.0}
    with pytest.raises(PriceModelError, match="cannot be separated"):
        fit_unit_rates(rows)
    g2 = gpm.machines(instances, ["g2"])
    fit = fit_prices([(m.vcpus, m.memory_gib, m.gpus, m.costs["us-central1"]["hour"]) for m in g2])
    assert fit.determined == ("gpu_per_hour",)


def test_shared_core_e2_is_priced_at_its_billed_vcpus(
    instances: Mapping[str, Mapping[str, Any]],
) -> None:
    listed = {}
    with (gpm.DATA / "tools_machinetypes.csv").open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            listed[row["NAME"]] = row
    for name, billed in SHARED_CORE_BILLED_VCPUS.items():
        assert instances[name]["cpu"] == billed
        assert (listed[name]["CPUS"], listed[name]["SHARED_CPU"]) == ("2", "True")
    # At the 2 vCPUs the machine-type list reports, the model no longer fits E2.
    e2 = gpm.machines(instances, ["e2"])
    nominal = [
        (
            2.0 if m.name in SHARED_CORE_BILLED_VCPUS else m.vcpus,
            m.memory_gib,
            0,
            m.costs[r]["hour"],
        )
        for m in e2
        for r in ["us-central1"]
    ]
    assert fit_prices(nominal).max_rel_residual > 0.01


def test_lssd_types_are_base_plus_one_local_ssd_rate(
    instances: Mapping[str, Mapping[str, Any]],
) -> None:
    rates = gpm.lssd_rates_per_gb_month(instances)
    assert len(rates) >= 60  # C3 -lssd is sold in most regions, spot and on-demand
    for key, per_gb in rates.items():
        assert len(per_gb) == 6, key  # c3-standard-{4,8,22,44,88,176}-lssd
        assert min(per_gb) > 0
        assert max(per_gb) - min(per_gb) <= REL_TOLERANCE * max(per_gb), key
    assert rates["us-central1", "on-demand"][0] == pytest.approx(0.08, rel=REL_TOLERANCE)


def test_the_check_fails_when_a_size_is_off_the_model(
    instances: Mapping[str, Mapping[str, Any]],
) -> None:
    # Guard: C3 with its -lssd types priced as if the SSD were free falls far outside.
    c3 = [
        (float(spec["cpu"]), float(spec["ram"]), 0, float(spec["cost"]["us-central1"]["hour"]))
        for name, spec in instances.items()
        if name.startswith("c3-") and "us-central1" in spec.get("cost", {})
    ]
    assert fit_prices(c3).max_rel_residual > 100 * REL_TOLERANCE


def test_missing_prices_are_whole_blocks(instances: Mapping[str, Mapping[str, Any]]) -> None:
    # A family group is priced for all its sizes in a (region, capacity) or for none: a gap
    # inside a block would be a parse error, not a region without the product.
    members = gpm.machines(instances)
    sizes: dict[str, set[str]] = defaultdict(set)
    for m in members:
        sizes[m.group].add(m.name)
    blocks: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for name, region, capacity_type in gpm.missing_prices(members):
        group = next(m.group for m in members if m.name == name)
        blocks[group, region, capacity_type].add(name)
    assert blocks  # the file has gaps (see the docstring)
    for (group, _, _), names in blocks.items():
        assert names == sizes[group]
