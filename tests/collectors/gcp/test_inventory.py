"""Machine and accelerator types → specs and zonal offerings (pure parsers)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.gcp.inventory import (
    SPOT_OR_FLEX_START_ONLY,
    machine_types_of_page,
    on_demand_offered,
    parse_accelerator_zones,
    parse_machine_types,
    rows_of,
)
from collectors.sim.catalog import by_cloud
from core.errors import SourceDataError
from tests.collectors.gcp.fakes import accelerator_type, machine_type

RECORDED = "gcp-api-examples/libcloud_gce_aggregated_machineTypes.json"


def _recorded(shared_data: Path) -> dict[str, Any]:
    return dict(json.loads((shared_data / RECORDED).read_text()))


def test_recorded_aggregated_list_parses_every_zone(shared_data: Path, now: datetime) -> None:
    records = machine_types_of_page(_recorded(shared_data))
    inventory = parse_machine_types(records, accelerator_zones={}, regions=None, observed_at=now)
    # 5 zones × 20 types in the recording; all DEPRECATED at worst, so all still offered.
    assert sum(len(z) for z in inventory.zones.values()) == len(records) == 100
    std4 = inventory.specs["n1-standard-4"]
    assert (std4["vcpus"], std4["memory_gib"], std4["family"], std4["size"]) == (
        4,
        15.0,
        "n1-standard",
        "4",
    )
    assert std4["generation"] == 1
    assert std4["gpu_count"] == 0
    assert std4["arch"] == "x86_64"
    # The retired "-d" types carry scratch disks: local storage as published (GB).
    assert inventory.specs["n1-highmem-4-d"]["local_storage_gib"] == 1770.0
    specs, offerings = rows_of(inventory, region="us-central1", observed_at=now)
    assert {o["zone_id"] for o in offerings} == {"us-central1-a", "us-central1-b"}
    assert len(offerings) == 40
    assert len(specs) == 20
    assert all(o["spot"] and o["on_demand"] for o in offerings)


def test_region_filter_and_obsolete_types(now: datetime) -> None:
    records = [
        machine_type("n2-standard-8", "us-central1-a", 8, 32.0),
        machine_type("n2-standard-8", "europe-west4-a", 8, 32.0),
        machine_type("n1-old-1", "us-central1-a", 1, 3.75, deprecated={"state": "OBSOLETE"}),
    ]
    inventory = parse_machine_types(
        records, accelerator_zones={}, regions=frozenset({"us-central1"}), observed_at=now
    )
    assert inventory.zones == {"n2-standard-8": frozenset({"us-central1-a"})}


@pytest.mark.parametrize(
    ("name", "gpus", "count", "model", "memory"),
    [
        ("a2-highgpu-2g", ("nvidia-tesla-a100", 2), 2, "A100", 40.0),
        ("a2-ultragpu-1g", ("nvidia-a100-80gb", 1), 1, "A100", 80.0),
        ("a3-highgpu-8g", ("nvidia-h100-80gb", 8), 8, "H100", 80.0),
        ("g2-standard-24", ("nvidia-l4", 2), 2, "L4", 24.0),
    ],
)
def test_bundled_gpus_come_from_the_machine_type(
    name: str, gpus: tuple[str, int], count: int, model: str, memory: float, now: datetime
) -> None:
    record = machine_type(name, "us-central1-a", 12, 85.0, gpus=gpus)
    spec = parse_machine_types([record], accelerator_zones={}, regions=None, observed_at=now).specs[
        name
    ]
    assert (spec["gpu_count"], spec["gpu_model"], spec["gpu_memory_gib"]) == (count, model, memory)
    assert spec["accelerator_kind"] == "gpu"


def test_n1_pairings_match_the_simulated_catalog_names(now: datetime) -> None:
    """Every N1 + GPU type the sim catalog names is produced, with the same family and GPU."""
    zone = "us-central1-a"
    records = [
        machine_type(f"n1-standard-{n}", zone, n, n * 3.75) for n in (1, 2, 4, 8, 16, 32, 64)
    ]
    accelerators = [accelerator_type(a, zone) for a in ("nvidia-tesla-t4", "nvidia-tesla-v100")]
    inventory = parse_machine_types(
        records,
        accelerator_zones=parse_accelerator_zones(accelerators),
        regions=None,
        observed_at=now,
    )
    sim = [t for t in by_cloud("gcp") if "+" in t.name]
    assert sim
    for t in sim:
        spec = inventory.specs[t.name]
        assert (spec["family"], spec["gpu_model"], spec["gpu_count"]) == (
            t.family,
            t.gpu_model,
            t.gpu_count,
        )
        assert (spec["vcpus"], spec["memory_gib"]) == (t.vcpus, t.memory_gib)
    # V100 allows at most 12 vCPUs per GPU; T4 48.
    assert "n1-standard-16+nvidia-tesla-v100" not in inventory.specs
    assert "n1-standard-32+nvidia-tesla-t4" in inventory.specs
    assert "n1-standard-64+nvidia-tesla-t4" not in inventory.specs
    # A zone without the GPU gets no pairing.
    assert inventory.zones["n1-standard-8+nvidia-tesla-t4"] == frozenset({zone})


def test_a_record_without_a_shape_refuses_the_list(now: datetime) -> None:
    record = machine_type("n2-standard-8", "us-central1-a", 8, 32.0)
    del record["guestCpus"]
    with pytest.raises(SourceDataError, match=r"malformed machineTypes.*guestCpus"):
        parse_machine_types([record], accelerator_zones={}, regions=None, observed_at=now)


@pytest.mark.parametrize(
    ("name", "on_demand"),
    [
        pytest.param("a3-highgpu-1g", False, id="A3 High under 8 GPUs: Spot / flex-start only"),
        pytest.param("a3-highgpu-4g", False, id="A3 High 4 GPUs: the same"),
        pytest.param("a3-highgpu-8g", True, id="A3 High 8 GPUs: sold on demand"),
        pytest.param("a2-highgpu-1g", True, id="A2 1 GPU: sold on demand"),
        pytest.param("n1-standard-4+nvidia-tesla-t4", True, id="a pairing: its N1 machine's rule"),
    ],
)
def test_spot_only_types_offer_no_on_demand(name: str, on_demand: bool, now: datetime) -> None:
    machine = name.split("+", 1)[0]
    gpus = {"a3": ("nvidia-h100-80gb", 1), "a2": ("nvidia-tesla-a100", 1)}.get(machine[:2])
    records = [machine_type(machine, "us-central1-a", 4, 15.0, gpus=gpus)]
    zones = parse_accelerator_zones([accelerator_type("nvidia-tesla-t4", "us-central1-a")])
    inventory = parse_machine_types(records, accelerator_zones=zones, regions=None, observed_at=now)
    _, offerings = rows_of(inventory, region="us-central1", observed_at=now)
    [offering] = [o for o in offerings if o["instance_type"] == name]
    assert offering["on_demand"] is on_demand
    assert offering["spot"] is True


def test_the_spot_only_list_names_real_machine_types(shared_data: Path) -> None:
    """Each listed name is in the real machine-type export, so a typo cannot hide a type."""
    path = shared_data / "gcp-pricing" / "tools_machinetypes.csv"
    names = {line.split(";", 1)[0] for line in path.read_text().splitlines()[1:] if line}
    assert names >= SPOT_OR_FLEX_START_ONLY
    a3_high = {n for n in names if n.startswith("a3-highgpu-")}
    assert {n for n in a3_high if on_demand_offered(n)} == {"a3-highgpu-8g"}
