"""Compute Engine inventory: machine types per zone, attachable GPUs, and zonal offerings.

Fetch functions page through ``MachineTypesClient`` / ``AcceleratorTypesClient``
``aggregated_list`` (the clients follow ``nextPageToken``); parse functions are pure and read
the REST JSON shape (camelCase, as recorded or as the clients' messages render), refusing with
:class:`~core.errors.SourceDataError` any record they cannot read.

GCP zone names are the same in every project, so the zone name is the zone ID. GPUs that are
*attached* to N1 VMs (T4, V100, P4, P100) are stored as one synthetic type per pairing,
``"<machine-type>+<accelerator-type>"`` with one GPU and family ``"<n1 family>+<short>"``, the
way the simulated catalog names them (``n1-standard-8+nvidia-tesla-t4`` in ``n1-standard+t4``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collectors.parsing import refuses_malformed
from core.limits import check_rows

__all__ = [
    "ATTACHABLE_GPUS",
    "GPUS",
    "SOURCE",
    "SPOT_OR_FLEX_START_ONLY",
    "GpuSpec",
    "MachineType",
    "fetch_accelerator_types",
    "fetch_machine_types",
    "machine_types_of_page",
    "on_demand_offered",
    "parse_accelerator_zones",
    "parse_machine_types",
    "region_of",
    "rows_of",
]

log = logging.getLogger(__name__)

SOURCE = "gcp"
MIB_PER_GIB = 1024.0
# Bundled Local SSD partitions (A3, C3-lssd, ...) are 375 GB each (Compute Engine Local SSD docs).
LOCAL_SSD_PARTITION_GB = 375.0
# Deprecation states after which a machine type can no longer be created (DEPRECATED still can).
_UNUSABLE_STATES = frozenset({"OBSOLETE", "DELETED"})
# Arm families, for responses that omit ``architecture`` (T2A, C4A, Axion N4A).
_ARM_FAMILIES = frozenset({"t2a", "c4a", "n4a"})
_GENERATION_RE = re.compile(r"^[a-z]+(\d+)")
# N1 families that take attached GPUs (predefined shapes only; custom N1 is not a type).
_N1_FAMILIES = frozenset({"n1-standard", "n1-highmem", "n1-highcpu"})
# Machine types GCP sells only as Spot or flex-start VMs, never on demand: A3 High with fewer
# than 8 GPUs (Compute Engine docs, "GPU machine types", A3 High table). The Billing Catalog
# still prices their vCPUs and GPUs at on-demand rates, so only this list says so.
SPOT_OR_FLEX_START_ONLY = frozenset({"a3-highgpu-1g", "a3-highgpu-2g", "a3-highgpu-4g"})


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One accelerator type: canonical model, memory per GPU, short family suffix."""

    model: str
    memory_gib: float
    short: str
    # Most vCPUs an N1 VM may have with ONE of these attached (Compute Engine GPU docs,
    # "GPU machine types": T4 48, V100 12, P4 24, P100 16); None = not attachable to N1.
    n1_max_vcpus_per_gpu: int | None = None


# Accelerator type names → specs (Compute Engine GPU docs; memory per GPU, GB as published).
GPUS: dict[str, GpuSpec] = {
    "nvidia-tesla-t4": GpuSpec("T4", 16.0, "t4", 48),
    "nvidia-tesla-v100": GpuSpec("V100", 16.0, "v100", 12),
    "nvidia-tesla-p4": GpuSpec("P4", 8.0, "p4", 24),
    "nvidia-tesla-p100": GpuSpec("P100", 16.0, "p100", 16),
    "nvidia-tesla-k80": GpuSpec("K80", 12.0, "k80"),
    "nvidia-tesla-a100": GpuSpec("A100", 40.0, "a100"),
    "nvidia-a100-80gb": GpuSpec("A100", 80.0, "a100-80gb"),
    "nvidia-h100-80gb": GpuSpec("H100", 80.0, "h100"),
    "nvidia-h100-mega-80gb": GpuSpec("H100", 80.0, "h100-mega"),
    "nvidia-h200-141gb": GpuSpec("H200", 141.0, "h200"),
    "nvidia-l4": GpuSpec("L4", 24.0, "l4"),
}
# The GPUs sold attached to N1 VMs rather than as machine types.
ATTACHABLE_GPUS = frozenset(n for n, g in GPUS.items() if g.n1_max_vcpus_per_gpu is not None)


@dataclass(frozen=True, slots=True)
class MachineType:
    """What pricing needs of one (possibly synthetic) type: its shape and its GPUs."""

    name: str
    family: str
    vcpus: int
    memory_gib: float
    shared_core: bool
    gpu_type: str | None  # accelerator type name
    gpu_count: int
    machine: str  # the real machine type (== name unless an N1 + GPU pairing)


# --- fetch -------------------------------------------------------------------------------


def _dicts(pager: Iterable[Any], field: str) -> list[dict[str, Any]]:
    """Flatten an aggregated-list pager into camelCase JSON dicts of ``field``'s items."""
    out: list[dict[str, Any]] = []
    for _scope, scoped in pager:
        for item in getattr(scoped, field):
            out.append(type(item).to_dict(item, preserving_proto_field_name=False))
    return out


def fetch_machine_types(client: Any, *, project: str, retry: Any) -> list[dict[str, Any]]:
    """Every machine type in every zone of ``project`` (all pages)."""
    pager = client.aggregated_list(request={"project": project}, retry=retry)
    return _dicts(pager, "machine_types")


def fetch_accelerator_types(client: Any, *, project: str, retry: Any) -> list[dict[str, Any]]:
    """Every accelerator type in every zone of ``project`` (all pages)."""
    pager = client.aggregated_list(request={"project": project}, retry=retry)
    return _dicts(pager, "accelerator_types")


# --- parse -------------------------------------------------------------------------------


def machine_types_of_page(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The machine types of one recorded ``aggregated/machineTypes`` page, all scopes."""
    return [mt for scoped in page["items"].values() for mt in scoped.get("machineTypes", ())]


def _zone(value: Any) -> str:
    """A bare zone name from a zone name or URL (``…/zones/us-central1-a``)."""
    return str(value).rstrip("/").rsplit("/", 1)[-1]


def region_of(zone: str) -> str:
    """``us-central1-a`` → ``us-central1``."""
    region, sep, _ = zone.rpartition("-")
    if not sep or not region:
        raise ValueError(f"not a zone name: {zone!r}")
    return region


def _family(name: str) -> tuple[str, str]:
    family, sep, size = name.rpartition("-")
    return (family, size) if sep else (name, "")


def _usable(record: Mapping[str, Any]) -> bool:
    return (record.get("deprecated") or {}).get("state") not in _UNUSABLE_STATES


def _arch(record: Mapping[str, Any], name: str) -> str:
    declared = str(record.get("architecture") or "").upper()
    if declared:
        return "arm64" if declared == "ARM64" else "x86_64"
    return "arm64" if name.split("-", 1)[0] in _ARM_FAMILIES else "x86_64"


def _local_gb(record: Mapping[str, Any]) -> float | None:
    scratch = sum(float(d["diskGb"]) for d in record.get("scratchDisks") or ())
    bundled = (record.get("bundledLocalSsds") or {}).get("partitionCount")
    total = scratch + (float(bundled) * LOCAL_SSD_PARTITION_GB if bundled else 0.0)
    return total or None


def _machine(record: Mapping[str, Any]) -> MachineType:
    name = str(record["name"])
    gpus = record.get("accelerators") or ()
    gpu_type = str(gpus[0]["guestAcceleratorType"]) if gpus else None
    return MachineType(
        name=name,
        family=_family(name)[0],
        vcpus=int(record["guestCpus"]),
        memory_gib=int(record["memoryMb"]) / MIB_PER_GIB,
        shared_core=bool(record.get("isSharedCpu")),
        gpu_type=gpu_type,
        gpu_count=sum(int(g["guestAcceleratorCount"]) for g in gpus),
        machine=name,
    )


def _pairings(machine: MachineType, gpu_types: Iterable[str]) -> list[MachineType]:
    """N1 machine × attachable GPU pairings (one GPU) the GPU's vCPU limit allows."""
    if machine.family not in _N1_FAMILIES:
        return []
    out = []
    for gpu_type in sorted(set(gpu_types) & ATTACHABLE_GPUS):
        limit = GPUS[gpu_type].n1_max_vcpus_per_gpu
        if limit is None or machine.vcpus > limit:
            continue
        out.append(
            MachineType(
                name=f"{machine.name}+{gpu_type}",
                family=f"{machine.family}+{GPUS[gpu_type].short}",
                vcpus=machine.vcpus,
                memory_gib=machine.memory_gib,
                shared_core=False,
                gpu_type=gpu_type,
                gpu_count=1,
                machine=machine.name,
            )
        )
    return out


@refuses_malformed("acceleratorTypes.aggregatedList response")
def parse_accelerator_zones(records: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """Zone → the accelerator type names it offers (deprecated-unusable ones left out)."""
    zones: dict[str, set[str]] = {}
    for record in records:
        if _usable(record):
            zones.setdefault(_zone(record["zone"]), set()).add(str(record["name"]))
    return {zone: frozenset(names) for zone, names in zones.items()}


@dataclass(frozen=True, slots=True)
class Inventory:
    """Parsed machine types: one spec row per type, and the zones each type is offered in."""

    specs: dict[str, dict[str, Any]]
    machines: dict[str, MachineType]
    zones: dict[str, frozenset[str]]  # type name → zone names


@refuses_malformed("machineTypes.aggregatedList response")
def parse_machine_types(
    records: Iterable[Mapping[str, Any]],
    *,
    accelerator_zones: Mapping[str, frozenset[str]],
    regions: frozenset[str] | None,
    observed_at: datetime,
) -> Inventory:
    """Machine-type records (+ the zones' attachable GPUs) → specs, shapes and zones.

    Types that can no longer be created (OBSOLETE / DELETED) and zones outside ``regions``
    (None = all) are left out.
    """
    specs: dict[str, dict[str, Any]] = {}
    machines: dict[str, MachineType] = {}
    zones: dict[str, set[str]] = {}
    for record in records:
        zone = _zone(record["zone"])
        if regions is not None and region_of(zone) not in regions:
            continue
        if not _usable(record):
            continue
        machine = _machine(record)
        types = [machine, *_pairings(machine, accelerator_zones.get(zone, ()))]
        for mt in types:
            machines.setdefault(mt.name, mt)
            zones.setdefault(mt.name, set()).add(zone)
            if mt.name not in specs:
                specs[mt.name] = _spec_row(mt, record, observed_at=observed_at)
    rows = list(specs.values())
    check_rows("instance_types", rows, where="machineTypes.aggregatedList")
    return Inventory(specs, machines, {n: frozenset(z) for n, z in zones.items()})


def _spec_row(
    mt: MachineType, record: Mapping[str, Any], *, observed_at: datetime
) -> dict[str, Any]:
    gpu = GPUS.get(mt.gpu_type) if mt.gpu_type else None
    generation = _GENERATION_RE.match(mt.name)
    return {
        "cloud": "gcp",
        "name": mt.name,
        "family": mt.family,
        "generation": int(generation.group(1)) if generation else None,
        "size": _family(mt.machine)[1],
        "vcpus": mt.vcpus,
        "memory_gib": mt.memory_gib,
        "arch": _arch(record, mt.name),
        "gpu_count": mt.gpu_count,
        "gpu_model": gpu.model if gpu else (mt.gpu_type if mt.gpu_count else None),
        "gpu_memory_gib": gpu.memory_gib if gpu else None,
        "accelerator_kind": "gpu" if mt.gpu_count else "none",
        # Machine types publish no bandwidth figure (it depends on the VM's NIC tier).
        "network_gbps": None,
        # GB as Google publishes it (same convention as the simulated catalog).
        "local_storage_gib": _local_gb(record),
        "source": SOURCE,
        "observed_at": observed_at,
    }


def on_demand_offered(name: str) -> bool:
    """Whether GCP sells ``name`` (or the machine of an N1 + GPU pairing) on demand."""
    return name.split("+", 1)[0] not in SPOT_OR_FLEX_START_ONLY


def rows_of(
    inventory: Inventory, *, region: str, observed_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``instance_types`` rows, ``offerings`` rows) of one region; zone_id = zone name."""
    offerings = [
        {
            "cloud": "gcp",
            "region": region,
            "zone_id": zone,
            "instance_type": name,
            # Spot is a provisioning model of every predefined machine type; on demand is
            # too, except for the few sold only as Spot / flex-start.
            "spot": True,
            "on_demand": on_demand_offered(name),
            "source": SOURCE,
            "first_seen": observed_at,
            "last_seen": observed_at,
        }
        for name, zones in sorted(inventory.zones.items())
        for zone in sorted(zones)
        if region_of(zone) == region
    ]
    names = {o["instance_type"] for o in offerings}
    specs = [row for name, row in inventory.specs.items() if name in names]
    check_rows("offerings", offerings, where=f"{region} machine types")
    return specs, offerings
