"""Instance types, offerings and the zone map: recorded API responses and moto's catalog."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from collectors.aws.inventory import (
    fetch_offerings,
    fetch_zones,
    network_gbps,
    parse_instance_types,
    parse_offerings,
    parse_zones,
    usage_classes,
)
from core.errors import SourceDataError
from tests.collectors.aws.fakes import moto_instance_types


def _static(shared_data: Path, name: str) -> dict[str, Any]:
    path = shared_data / "ec2-instance-types" / "ec2-instance-selector-static" / name
    return json.loads(path.read_text())


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rows}


def test_recorded_p3_16xlarge_specs(shared_data: Path, now: datetime) -> None:
    records = _static(shared_data, "DescribeInstanceTypes_t3_micro_and_p3_16xl.json")
    rows = _by_name(parse_instance_types(records["InstanceTypes"], observed_at=now))
    p3 = rows["p3.16xlarge"]
    assert (p3["family"], p3["generation"], p3["size"]) == ("p3", 3, "16xlarge")
    assert (p3["vcpus"], p3["memory_gib"]) == (64, 488.0)
    assert (p3["gpu_count"], p3["gpu_model"], p3["gpu_memory_gib"]) == (8, "V100", 16.0)
    assert p3["accelerator_kind"] == "gpu"
    assert p3["network_gbps"] == 25.0
    t3 = rows["t3.micro"]
    assert (t3["gpu_count"], t3["gpu_model"], t3["accelerator_kind"]) == (0, None, "none")
    assert t3["local_storage_gib"] is None


def test_recorded_group_has_inferentia_and_arm(shared_data: Path, now: datetime) -> None:
    group = _static(shared_data, "DescribeInstanceTypes_g2_2xlarge_group.json")["InstanceTypes"]
    many = _static(shared_data, "DescribeInstanceTypes_25_instances.json")["InstanceTypes"]
    rows = _by_name(parse_instance_types(group + many, observed_at=now))
    assert rows["inf1.2xlarge"]["accelerator_kind"] == "inferentia"
    assert rows["inf1.2xlarge"]["gpu_count"] == 1
    assert rows["g2.2xlarge"]["gpu_model"] == "K520"
    assert rows["a1.large"]["arch"] == "arm64"
    assert rows["c5d.2xlarge"]["local_storage_gib"] == 200.0
    assert len(rows) == len({t["InstanceType"] for t in group + many})


def test_moto_catalog_gpu_and_neuron_types(moto: None, now: datetime) -> None:
    records = moto_instance_types()  # fetch_instance_types, once per process
    rows = _by_name(parse_instance_types(records, observed_at=now))
    assert len(rows) > 1_000, "paginated through every page"
    g5 = rows["g5.xlarge"]
    assert (g5["gpu_count"], g5["gpu_model"]) == (1, "A10G")
    assert g5["gpu_memory_gib"] == pytest.approx(22888 / 1024)
    assert rows["p4d.24xlarge"]["network_gbps"] == 400.0, "four 100 Gbit/s cards"
    assert rows["inf2.xlarge"]["accelerator_kind"] == "inferentia"
    assert rows["trn1.2xlarge"]["accelerator_kind"] == "trainium"
    assert rows["m7g.large"]["arch"] == "arm64"


def test_moto_offerings_keyed_by_zone_id(moto: None, now: datetime) -> None:
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    usage = usage_classes(moto_instance_types())
    rows = parse_offerings(fetch_offerings(ec2), region="eu-west-1", usage=usage, observed_at=now)
    zones = parse_zones(
        fetch_zones(ec2), account="123456789012", region="eu-west-1", observed_at=now
    )
    ids = {z["zone_id"] for z in zones}
    assert ids == {"euw1-az1", "euw1-az2", "euw1-az3"}
    assert {r["zone_id"] for r in rows} == ids
    g4dn = [r for r in rows if r["instance_type"] == "g4dn.xlarge"]
    assert g4dn
    assert all(r["spot"] and r["on_demand"] for r in g4dn)


def test_recorded_offerings_by_zone_name_are_refused_then_mapped(
    shared_data: Path, now: datetime
) -> None:
    """The recorded offerings use AZ *names*; pools must be keyed by ID via the zone map."""
    offerings = _static(shared_data, "DescribeInstanceTypeOfferings_us-east-2a.json")
    azs = _static(shared_data, "DescribeAvailabilityZones_us-east-2.json")["AvailabilityZones"]
    records = offerings["InstanceTypeOfferings"]
    with pytest.raises(SourceDataError, match="availability-zone-id"):
        parse_offerings(records, region="us-east-2", usage={}, observed_at=now)
    zones = parse_zones(azs, account="123456789012", region="us-east-2", observed_at=now)
    name_to_id = {z["zone_name"]: z["zone_id"] for z in zones}
    assert name_to_id == {
        "us-east-2a": "use2-az1",
        "us-east-2b": "use2-az2",
        "us-east-2c": "use2-az3",
    }
    by_id = [
        r | {"Location": name_to_id[r["Location"]], "LocationType": "availability-zone-id"}
        for r in records
    ]
    rows = parse_offerings(by_id, region="us-east-2", usage={}, observed_at=now)
    assert len(rows) == 228
    assert {r["zone_id"] for r in rows} == {"use2-az1"}


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"NetworkPerformance": "Up to 25 Gigabit"}, 25.0),  # burstable: the peak
        ({"NetworkPerformance": "4x 100 Gigabit"}, 400.0),  # p4d-style multi-card label
        ({"NetworkPerformance": "Moderate"}, None),  # old types publish no figure
        (
            {
                "NetworkPerformance": "Up to 10 Gigabit",
                "NetworkCards": [{"PeakBandwidthInGbps": 10.0}],
            },
            10.0,
        ),
    ],
)
def test_network_gbps(info: dict[str, Any], expected: float | None) -> None:
    assert network_gbps(info) == expected


def _type_record(name: str) -> dict[str, Any]:
    return {
        "InstanceType": name,
        "VCpuInfo": {"DefaultVCpus": 4},
        "MemoryInfo": {"SizeInMiB": 16384},
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "NetworkInfo": {"NetworkPerformance": "Up to 10 Gigabit"},
    }


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(_type_record("t" * 129), r"instance_types\.name .* 129 characters",
                     id="129-character type name"),
        pytest.param(_type_record("m5\x00.large"), r"instance_types\.name .* control character",
                     id="NUL byte in a type name"),
        pytest.param(_type_record("m99999999999.large"), r"instance_types\.generation .* range",
                     id="generation beyond INTEGER"),
        pytest.param(_type_record("m5.large") | {"VCpuInfo": {"DefaultVCpus": 2**63}},
                     r"instance_types\.vcpus", id="vCPUs beyond INTEGER"),
        pytest.param(
            _type_record("m5.large") | {"NetworkInfo": {"NetworkCards": [
                {"PeakBandwidthInGbps": float("nan")}]}},
            r"instance_types\.network_gbps .* finite", id="NaN bandwidth"),
    ],
)  # fmt: skip
def test_instance_type_values_the_store_cannot_hold(
    record: dict[str, Any], reason: str, now: datetime
) -> None:
    with pytest.raises(SourceDataError, match=reason) as caught:
        parse_instance_types([_type_record("m5.large"), record], observed_at=now)
    assert len(str(caught.value)) < 300


def test_zone_and_offering_values_the_store_cannot_hold(now: datetime) -> None:
    zone = {"ZoneName": "us-east-1a", "ZoneId": "z" * 65, "RegionName": "us-east-1"}
    with pytest.raises(SourceDataError, match=r"zones\.zone_id .* 65 characters"):
        parse_zones([zone], account="123456789012", region="us-east-1", observed_at=now)
    offering = {
        "InstanceType": "m5.large", "LocationType": "availability-zone-id",
        "Location": "use1-az1\x00",
    }  # fmt: skip
    with pytest.raises(SourceDataError, match=r"offerings\.zone_id .* control character"):
        parse_offerings([offering], region="us-east-1", usage={}, observed_at=now)


def test_moto_catalog_fpga_media_and_other_accelerators(moto: None, now: datetime) -> None:
    """Devices that are not CUDA GPUs keep their own kind, so `gpus: 0` can leave them out."""
    rows = _by_name(parse_instance_types(moto_instance_types(), observed_at=now))
    f2 = rows["f2.12xlarge"]
    assert (f2["accelerator_kind"], f2["gpu_count"]) == ("fpga", 2)
    assert rows["vt1.3xlarge"]["accelerator_kind"] == "media"
    assert rows["dl2q.24xlarge"]["accelerator_kind"] == "qualcomm-ai100"


def test_accelerators_missing_from_the_response_come_from_the_table(now: datetime) -> None:
    """An older response without device blocks: the shipped table still marks the type."""
    bare = {
        "InstanceType": "f1.2xlarge",
        "VCpuInfo": {"DefaultVCpus": 8},
        "MemoryInfo": {"SizeInMiB": 124928},
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
    }
    gaudi = {
        **bare,
        "InstanceType": "dl1.24xlarge",
        "GpuInfo": {
            "Gpus": [
                {"Count": 8, "Manufacturer": "Habana", "Name": "Gaudi HL-205",
                 "MemoryInfo": {"SizeInMiB": 32768}}
            ]
        },
    }  # fmt: skip
    rows = _by_name(parse_instance_types([bare, gaudi], observed_at=now))
    assert (rows["f1.2xlarge"]["accelerator_kind"], rows["f1.2xlarge"]["gpu_count"]) == ("fpga", 1)
    assert rows["dl1.24xlarge"]["accelerator_kind"] == "gaudi"
