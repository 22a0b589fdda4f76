"""Resource SKUs → VM size specs and zonal offerings (pure): the real example, built records."""

from __future__ import annotations

from datetime import datetime

import pytest

from collectors.azure.skus import gpu_of, parse_skus, series_of
from core.errors import SourceDataError
from tests.collectors.azure.builders import (
    location_restriction,
    sku_record,
    zone_restriction,
)
from tests.collectors.azure.fakes import SKUS_EXAMPLE, example_body

REGION = "eastus"


def test_the_real_example_parses_into_sizes_and_zonal_offerings(now: datetime) -> None:
    records = example_body(SKUS_EXAMPLE)["value"]
    sizes = parse_skus(records, region="westus", observed_at=now)
    specs = {s["name"]: s for s in sizes.specs}
    assert set(specs) == {"Standard_A0", "Standard_A1"}
    a1 = specs["Standard_A1"]
    assert (a1["vcpus"], a1["memory_gib"], a1["arch"]) == (1, 1.75, "x86_64")
    assert (a1["family"], a1["size"], a1["generation"]) == ("A", "1", 1)
    assert (a1["gpu_count"], a1["accelerator_kind"]) == (0, "none")
    # MaxResourceVolumeMB 71680 = a 70 GiB temp disk.
    assert a1["local_storage_gib"] == pytest.approx(70.0)
    # The example lists A0's zones as ["2", "1"]: stored sorted, as <region>-<zone>.
    zones = {(o["instance_type"], o["zone_id"]): o for o in sizes.offerings}
    assert set(zones) == {
        ("Standard_A0", "westus-1"),
        ("Standard_A0", "westus-2"),
        ("Standard_A1", "westus-1"),
        ("Standard_A1", "westus-2"),
        ("Standard_A1", "westus-3"),
    }
    # LowPriorityCapable False (A0): on demand only; True (A1): Spot too.
    assert {o["spot"] for k, o in zones.items() if k[0] == "Standard_A0"} == {False}
    assert {o["spot"] for k, o in zones.items() if k[0] == "Standard_A1"} == {True}
    assert all(o["on_demand"] and o["source"] == "azure" for o in sizes.offerings)
    assert sizes.spot_sizes == {"Standard_A1"}


def test_other_regions_and_other_resource_types_are_left_out(now: datetime) -> None:
    records = example_body(SKUS_EXAMPLE)["value"]
    assert parse_skus(records, region="eastus", observed_at=now).offerings == []
    disk = {"resourceType": "disks", "name": "Premium_LRS", "locations": [REGION]}
    sizes = parse_skus([disk, sku_record("Standard_D2s_v5", REGION, 2, 8)], region=REGION,
                       observed_at=now)  # fmt: skip
    assert [s["name"] for s in sizes.specs] == ["Standard_D2s_v5"]


def test_restricted_zones_and_regions_are_not_offered(now: datetime) -> None:
    records = [
        # Barred in zone 2 for this subscription: offered in 1 and 3 only.
        sku_record("Standard_NC4as_T4_v3", REGION, 4, 28, gpus=1,
                   restrictions=[zone_restriction(REGION, ["2"])]),
        # Barred in the whole region: no spec, no offering.
        sku_record("Standard_ND96isr_H100_v5", REGION, 96, 1900, gpus=8,
                   restrictions=[location_restriction(REGION)]),
        # Barred in every zone it has: nothing left.
        sku_record("Standard_NV36ads_A10_v5", REGION, 36, 440, gpus=1, zones=["1"],
                   restrictions=[zone_restriction(REGION, ["1"])]),
        # A region without zones: one regional offering.
        sku_record("Standard_D2s_v5", REGION, 2, 8, zones=[]),
    ]  # fmt: skip
    sizes = parse_skus(records, region=REGION, observed_at=now)
    offered = sorted((o["instance_type"], o["zone_id"]) for o in sizes.offerings)
    assert offered == [
        ("Standard_D2s_v5", ""),
        ("Standard_NC4as_T4_v3", "eastus-1"),
        ("Standard_NC4as_T4_v3", "eastus-3"),
    ]
    assert {s["name"] for s in sizes.specs} == {"Standard_D2s_v5", "Standard_NC4as_T4_v3"}
    assert "NotAvailableForSubscription" in sizes.restricted["Standard_ND96isr_H100_v5"]
    assert "every zone" in sizes.restricted["Standard_NV36ads_A10_v5"]
    assert "zones 2" in sizes.restricted["Standard_NC4as_T4_v3"]


@pytest.mark.parametrize(
    ("name", "gpus", "expected"),
    [
        # why: each named series maps to its GPU and memory per GPU
        ("Standard_NC4as_T4_v3", 1, ("gpu", 1, "T4", 16.0)),
        ("Standard_NC24ads_A100_v4", 1, ("gpu", 1, "A100", 80.0)),
        ("Standard_ND96asr_v4", 8, ("gpu", 8, "A100", 40.0)),
        ("Standard_ND96amsr_A100_v4", 8, ("gpu", 8, "A100", 80.0)),
        ("Standard_ND96isr_H100_v5", 8, ("gpu", 8, "H100", 80.0)),
        ("Standard_NC40ads_H100_v5", 1, ("gpu", 1, "H100", 94.0)),
        ("Standard_NV36ads_A10_v5", 1, ("gpu", 1, "A10", 24.0)),
        ("Standard_NV72ads_A10_v5", 2, ("gpu", 2, "A10", 24.0)),
        ("Standard_NC6s_v3", 1, ("gpu", 1, "V100", 16.0)),
        ("Standard_NC24rs_v3", 4, ("gpu", 4, "V100", 16.0)),
        # why: a sixth of an A10 reports GPUs=1 but is not a whole GPU
        ("Standard_NV6ads_A10_v5", 1, ("gpu-partition", 0, "A10", 4.0)),
        ("Standard_NV8as_v4", 1, ("gpu-partition", 0, "MI25", 4.0)),
        # why: an unknown GPU series keeps its count, model and memory unknown
        ("Standard_NX12ads_Z9_v9", 2, ("gpu", 2, None, None)),
        # why: no GPUs capability is a CPU size whatever its name
        ("Standard_D2s_v5", 0, ("none", 0, None, None)),
    ],
)
def test_gpu_model_comes_from_the_series_table(
    name: str, gpus: int, expected: tuple[str, int, str | None, float | None]
) -> None:
    assert gpu_of(name, gpus) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Standard_D2s_v5", ("Ds_v5", "2s", 5)),
        ("Standard_NC24ads_A100_v4", ("NCads_A100_v4", "24ads", 4)),
        # why: a constrained-core size belongs to its full size's family
        ("Standard_E4-2ds_v5", ("Eds_v5", "4ds", 5)),
        ("Basic_A0", ("A", "0", 1)),
    ],
)
def test_family_size_and_generation(name: str, expected: tuple[str, str, int]) -> None:
    assert series_of(name) == expected


def test_gpu_sizes_land_with_model_and_spot_flag(now: datetime) -> None:
    records = [
        sku_record("Standard_NC24ads_A100_v4", REGION, 24, 220, gpus=1),
        sku_record("Standard_NV6ads_A10_v5", REGION, 6, 55, gpus=1, spot=False),
        sku_record("Standard_D2ps_v5", REGION, 2, 8, arch="Arm64"),
    ]
    sizes = parse_skus(records, region=REGION, observed_at=now)
    specs = {s["name"]: s for s in sizes.specs}
    a100 = specs["Standard_NC24ads_A100_v4"]
    assert (a100["gpu_count"], a100["gpu_model"], a100["gpu_memory_gib"]) == (1, "A100", 80.0)
    assert a100["accelerator_kind"] == "gpu"
    assert specs["Standard_NV6ads_A10_v5"]["accelerator_kind"] == "gpu-partition"
    assert specs["Standard_D2ps_v5"]["arch"] == "arm64"
    assert sizes.spot_sizes == {"Standard_NC24ads_A100_v4", "Standard_D2ps_v5"}


@pytest.mark.parametrize(
    ("breakage", "why"),
    [
        (lambda r: r.pop("name"), "no name"),
        (lambda r: r["capabilities"].remove({"name": "vCPUs", "value": "2"}), "no vCPUs"),
        (lambda r: r["capabilities"].append({"name": "LowPriorityCapable", "value": "maybe"}),
         "a flag that is neither True nor False"),
        (lambda r: r["capabilities"].append({"name": "CpuArchitectureType", "value": "mips"}),
         "an unknown architecture"),
        (lambda r: r.update(locationInfo=[{"zones": ["1"]}]), "location info without a location"),
    ],
)  # fmt: skip
def test_a_malformed_record_is_refused(now: datetime, breakage: object, why: str) -> None:
    record = sku_record("Standard_D2s_v5", REGION, 2, 8)
    breakage(record)  # type: ignore[operator]
    with pytest.raises(SourceDataError, match="malformed resource SKU list"):
        parse_skus([record], region=REGION, observed_at=now)
