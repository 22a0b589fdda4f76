"""EC2 inventory: instance-type specs, offerings per zone ID, and the account's zone map.

Fetch functions page through one EC2 client; parse functions are pure and turn API records
(as boto3 returns them, or as recorded JSON) into store rows, refusing with
:class:`~core.errors.SourceDataError` any value the store cannot hold (an over-long or
control-character name, a count beyond INTEGER, a NaN or infinite size).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from collectors.aws.accelerators import accelerator_of
from collectors.parsing import refuses_malformed
from core.errors import SourceDataError
from core.limits import check_rows, shorten
from selector.gpus import normalise_gpu_model

__all__ = [
    "SOURCE",
    "fetch_instance_types",
    "fetch_offerings",
    "fetch_zones",
    "network_gbps",
    "parse_instance_types",
    "parse_offerings",
    "parse_zones",
    "usage_classes",
]

log = logging.getLogger(__name__)

SOURCE = "aws"
MIB_PER_GIB = 1024.0
# "Up to 25 Gigabit", "100 Gigabit", "4x 100 Gigabit", "50 Gigabit" — the number (times the
# card multiplier) is the peak; "Low"/"Moderate"/"High" publish no figure.
_NETWORK_RE = re.compile(r"(?:(\d+)\s*x\s*)?(\d+(?:\.\d+)?)\s*Gigabit", re.IGNORECASE)
# Generation = the first number after the family letters ("g4dn" -> 4, "x2iedn" -> 2).
_GENERATION_RE = re.compile(r"^[a-z]+(\d+)")
# Neuron device names → our accelerator kinds (same vocabulary as the simulated catalog).
_NEURON_KINDS = {"inferentia": "inferentia", "trainium": "trainium"}
# Device blocks of DescribeInstanceTypes besides GPUs and Neuron chips, and the kind each means.
_OTHER_DEVICES = (
    ("FpgaInfo", "Fpgas", "fpga"),
    ("MediaAcceleratorInfo", "Accelerators", "media"),
)
# GpuInfo lists Habana Gaudi cards (dl1) too: they are not CUDA GPUs.
_NON_CUDA_GPU_MAKERS = {"habana": "gaudi"}
# InferenceAcceleratorInfo lists Qualcomm AI 100 cards (dl2q) beside AWS's own chips.
_NON_NEURON_MAKERS = {"qualcomm": "qualcomm-ai100"}


# --- fetch -------------------------------------------------------------------------------


def fetch_instance_types(ec2: Any) -> list[dict[str, Any]]:
    """Every instance type the region offers (DescribeInstanceTypes, all pages)."""
    paginator = ec2.get_paginator("describe_instance_types")
    return [t for page in paginator.paginate() for t in page.get("InstanceTypes", ())]


def fetch_offerings(ec2: Any) -> list[dict[str, Any]]:
    """Type offerings per availability-zone **ID** (never per account-specific name)."""
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    pages = paginator.paginate(LocationType="availability-zone-id")
    return [o for page in pages for o in page.get("InstanceTypeOfferings", ())]


def fetch_zones(ec2: Any) -> list[dict[str, Any]]:
    """The region's availability zones as this account names them."""
    return list(ec2.describe_availability_zones().get("AvailabilityZones", ()))


# --- parse -------------------------------------------------------------------------------


def network_gbps(info: Mapping[str, Any]) -> float | None:
    """Peak network bandwidth in Gbit/s: the sum over network cards, else the label."""
    cards = [c.get("PeakBandwidthInGbps") for c in info.get("NetworkCards") or ()]
    if cards and all(isinstance(c, int | float) for c in cards):
        return float(sum(cards))
    match = _NETWORK_RE.search(str(info.get("NetworkPerformance") or ""))
    if match is None:
        return None
    return float(match.group(2)) * (int(match.group(1)) if match.group(1) else 1)


def _arch(processor: Mapping[str, Any]) -> str:
    archs = {str(a) for a in processor.get("SupportedArchitectures") or ()}
    if any(a.startswith("arm64") for a in archs):  # "arm64", "arm64_mac"
        return "arm64"
    return "x86_64"  # "x86_64", "i386", "x86_64_mac"


def _accelerators(record: Mapping[str, Any]) -> tuple[str, int, str | None, float | None]:
    """(kind, count, model, memory GiB per device) of a type's accelerators, if any."""
    gpus = (record.get("GpuInfo") or {}).get("Gpus") or ()
    if gpus:
        main = max(gpus, key=lambda g: int(g.get("Count") or 0))
        memory = (main.get("MemoryInfo") or {}).get("SizeInMiB")
        maker = str(main.get("Manufacturer") or "").lower()
        return (
            _NON_CUDA_GPU_MAKERS.get(maker, "gpu"),
            sum(int(g.get("Count") or 0) for g in gpus),
            normalise_gpu_model(str(main.get("Name") or "")) or None,
            memory / MIB_PER_GIB if memory else None,
        )
    devices = (record.get("NeuronInfo") or {}).get("NeuronDevices") or (
        (record.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or ()
    )
    if devices:
        main = devices[0]
        name = str(main.get("Name") or "")
        maker = str(main.get("Manufacturer") or "").lower()
        kind = _NON_NEURON_MAKERS.get(maker) or next(
            (k for key, k in _NEURON_KINDS.items() if key in name.lower()), "inferentia"
        )
        memory = (main.get("MemoryInfo") or {}).get("SizeInMiB")
        return (
            kind,
            sum(int(d.get("Count") or 0) for d in devices),
            name or None,
            memory / MIB_PER_GIB if memory else None,
        )
    for info, devices_key, kind in _OTHER_DEVICES:
        devices = (record.get(info) or {}).get(devices_key) or ()
        if devices:
            main = devices[0]
            memory = (main.get("MemoryInfo") or {}).get("SizeInMiB")
            return (
                kind,
                sum(int(d.get("Count") or 0) for d in devices),
                str(main.get("Name") or "") or None,
                memory / MIB_PER_GIB if memory else None,
            )
    # Older responses omit the device blocks: the shipped table still knows the family, so an
    # FPGA or media type never passes for CPU-only.
    known = accelerator_of(str(record.get("InstanceType") or ""))
    if known is not None:
        return (known.kind, known.count, known.model, known.memory_gib)
    return ("none", 0, None, None)


@refuses_malformed("DescribeInstanceTypes response")
def parse_instance_types(
    records: Iterable[Mapping[str, Any]], *, observed_at: datetime
) -> list[dict[str, Any]]:
    """DescribeInstanceTypes records → ``instance_types`` rows (one per type name)."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        name = str(record["InstanceType"])
        family, _, size = name.partition(".")
        generation = _GENERATION_RE.match(family)
        kind, count, model, memory = _accelerators(record)
        storage = (record.get("InstanceStorageInfo") or {}).get("TotalSizeInGB")
        rows[name] = {
            "cloud": "aws",
            "name": name,
            "family": family,
            "generation": int(generation.group(1)) if generation else None,
            "size": size,
            "vcpus": int(record["VCpuInfo"]["DefaultVCpus"]),
            "memory_gib": float(record["MemoryInfo"]["SizeInMiB"]) / MIB_PER_GIB,
            "arch": _arch(record.get("ProcessorInfo") or {}),
            "gpu_count": count,
            "gpu_model": model,
            "gpu_memory_gib": memory,
            "accelerator_kind": kind,
            "network_gbps": network_gbps(record.get("NetworkInfo") or {}),
            # GB as AWS publishes it (same convention as the simulated catalog).
            "local_storage_gib": float(storage) if storage else None,
            "source": SOURCE,
            "observed_at": observed_at,
        }
    checked = list(rows.values())
    check_rows("instance_types", checked, where="DescribeInstanceTypes")
    return checked


@refuses_malformed("DescribeInstanceTypes response")
def usage_classes(records: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """Instance type → capacity types it is sold as ("spot", "on-demand", ...)."""
    return {
        str(r["InstanceType"]): frozenset(r.get("SupportedUsageClasses") or ()) for r in records
    }


@refuses_malformed("DescribeInstanceTypeOfferings response")
def parse_offerings(
    records: Iterable[Mapping[str, Any]],
    *,
    region: str,
    usage: Mapping[str, frozenset[str]],
    observed_at: datetime,
) -> list[dict[str, Any]]:
    """Zone-ID offerings → ``offerings`` rows; capacity types come from the type's usage classes.

    A record keyed by zone *name* (``LocationType=availability-zone``) is refused: pools are
    keyed by zone ID everywhere, and names differ per account.
    """
    rows = []
    unknown = 0
    for record in records:
        if record.get("LocationType") != "availability-zone-id":
            raise SourceDataError(
                f"offering {shorten(record.get('InstanceType'))} is keyed by "
                f"{shorten(record.get('LocationType'))}"
                ", expected availability-zone-id"
            )
        name = str(record["InstanceType"])
        classes = usage.get(name)
        if classes is None:
            unknown += 1
            classes = frozenset({"spot", "on-demand"})  # offered here, so assume both
        rows.append(
            {
                "cloud": "aws",
                "region": region,
                "zone_id": str(record["Location"]),
                "instance_type": name,
                "spot": "spot" in classes,
                "on_demand": "on-demand" in classes,
                "source": SOURCE,
                "first_seen": observed_at,
                "last_seen": observed_at,
            }
        )
    if unknown:
        log.info("offerings of undescribed types", extra={"region": region, "count": unknown})
    check_rows("offerings", rows, where=f"{shorten(region)} DescribeInstanceTypeOfferings")
    return rows


@refuses_malformed("DescribeAvailabilityZones response")
def parse_zones(
    records: Iterable[Mapping[str, Any]], *, account: str, region: str, observed_at: datetime
) -> list[dict[str, Any]]:
    """DescribeAvailabilityZones → ``zones`` rows (real AZs only; local zones are left out)."""
    rows = [
        {
            "cloud": "aws",
            "account": account,
            "zone_id": str(z["ZoneId"]),
            "region": region,
            "zone_name": str(z["ZoneName"]),
            "source": SOURCE,
            "observed_at": observed_at,
        }
        for z in records
        if z.get("ZoneType", "availability-zone") == "availability-zone"
        and z.get("RegionName", region) == region
    ]
    check_rows("zones", rows, where=f"{shorten(region)} DescribeAvailabilityZones")
    return rows
