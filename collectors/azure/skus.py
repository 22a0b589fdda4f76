"""Azure VM sizes from Resource SKUs: specs, and where each size is offered (zones, spot).

``fetch_skus`` reads one region's ``resource_skus.list(filter="location eq '<region>'")`` (the
client follows ``nextLink``) and renders each model as REST JSON (camelCase); ``parse_skus``
is pure and refuses a malformed record with :class:`~core.errors.SourceDataError`.

What the list says, and how it is read:

- Only ``resourceType == "virtualMachines"`` records are sizes (disks, availability sets and
  the rest share the list). Capabilities are strings: ``vCPUs``, ``MemoryGB``, ``GPUs``,
  ``CpuArchitectureType`` (``x64`` / ``Arm64``), ``LowPriorityCapable`` (``True`` / ``False``:
  whether the size runs as Spot / low priority at all), ``MaxResourceVolumeMB`` (temp disk).
- ``restrictions`` are "the restrictions because of which the SKU cannot be used" (Resource
  SKUs spec): type ``Location`` means the size cannot be deployed in the region at all, type
  ``Zone`` lists the zones it cannot be deployed in (reason ``NotAvailableForSubscription``,
  or ``QuotaId`` for an offer type that excludes it). Either way the size is not offered there.
- Zones: Azure's zones ``"1"``, ``"2"``, ``"3"`` are *logical*, mapped to physical zones per
  subscription (as AWS zone names are per account). The store keeps them as
  ``"<region>-<n>"`` (``eastus-1``): that is the ``topology.kubernetes.io/zone`` label AKS puts
  on its nodes, the form the simulated catalog uses, and unique across regions (a bare ``"1"``
  would make every region's zone 1 the same zone to a zone-spread constraint). A size offered
  in a region without zones gets one regional offering (``zone_id = ""``).
- The GPU model is not a capability: it comes from the size's series (:data:`GPU_SERIES`).
  Sizes that get a *fraction* of one GPU (NVadsA10 v5 below 36 vCPUs, NVv4 below 32) report
  ``GPUs = 1``; they are stored as accelerator kind ``gpu-partition`` with ``gpu_count = 0`` and
  the slice's memory, so a request for whole GPUs never matches a sixth of one and a CPU-only
  request does not match them either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.parsing import refuses_malformed
from core.limits import check_rows
from core.tables import REGIONAL_ZONE

__all__ = [
    "GPU_PARTITIONS",
    "GPU_SERIES",
    "SOURCE",
    "Sizes",
    "fetch_skus",
    "gpu_of",
    "parse_skus",
    "series_of",
    "zone_id",
]

SOURCE = "azure"
MIB_PER_GIB = 1024.0
_VM = "virtualMachines"
_ARCH = {"x64": "x86_64", "arm64": "arm64"}
# "Standard_NC24ads_A100_v4" → prefix NC, vCPUs 24 (constrained-core sizes add "-8": the
# same hardware with fewer active cores), features + accelerator + version "ads_A100_v4".
_SIZE_RE = re.compile(r"^(?P<prefix>[A-Z]+)(?P<n>\d+)(?:-\d+)?(?P<rest>.*)$")
# Pricing tiers that prefix an ARM size name ("Standard_D2s_v5", "Basic_A0").
_TIERS = frozenset({"Standard", "Basic"})
_VERSION_RE = re.compile(r"_v(\d+)$")


@dataclass(frozen=True, slots=True)
class GpuSeries:
    """A GPU series: its model and memory per GPU (GiB, as Azure's size pages publish it)."""

    model: str
    memory_gib: float


# Size-name patterns (without the "Standard_" tier) → GPU model and memory per GPU, from
# Azure's size-series pages ("GPU - accelerated compute" sizes). First match wins; a GPU size
# matching none keeps its GPU count with model and memory unknown.
GPU_SERIES: tuple[tuple[re.Pattern[str], GpuSeries], ...] = (
    (re.compile(r"^NC\d+as_T4_v3$"), GpuSeries("T4", 16.0)),  # NCasT4_v3
    (re.compile(r"^NC\d+ads_A100_v4$"), GpuSeries("A100", 80.0)),  # NC A100 v4 (PCIe 80 GB)
    (re.compile(r"^ND\d+asr_v4$"), GpuSeries("A100", 40.0)),  # ND A100 v4
    (re.compile(r"^ND\d+amsr_A100_v4$"), GpuSeries("A100", 80.0)),  # NDm A100 v4
    (re.compile(r"^ND\d+isr_H100_v5$"), GpuSeries("H100", 80.0)),  # ND H100 v5
    (re.compile(r"^ND\d+isr_H200_v5$"), GpuSeries("H200", 141.0)),  # ND H200 v5
    (re.compile(r"^NCC?\d+ads_H100_v5$"), GpuSeries("H100", 94.0)),  # NC / NCC H100 v5 (NVL)
    (re.compile(r"^ND\d+isr_MI300X_v5$"), GpuSeries("MI300X", 192.0)),  # ND MI300X v5
    (re.compile(r"^NV\d+adm?s_A10_v5$"), GpuSeries("A10", 24.0)),  # NVadsA10 v5
    (re.compile(r"^NC\d+ads_A10_v4$"), GpuSeries("A10", 24.0)),  # NC A10 v4
    (re.compile(r"^NC\d+r?s_v3$"), GpuSeries("V100", 16.0)),  # NCv3
    (re.compile(r"^ND\d+rs_v2$"), GpuSeries("V100", 32.0)),  # NDv2
    (re.compile(r"^NC\d+r?s_v2$"), GpuSeries("P100", 16.0)),  # NCv2 (retired)
    (re.compile(r"^ND\d+r?s$"), GpuSeries("P40", 24.0)),  # ND (retired)
    (re.compile(r"^NV\d+s_v3$"), GpuSeries("M60", 8.0)),  # NVv3
    (re.compile(r"^NV\d+as_v4$"), GpuSeries("MI25", 16.0)),  # NVv4
    (re.compile(r"^NC\d+r?$"), GpuSeries("K80", 12.0)),  # NC (retired)
)
# Partial-GPU sizes → the slice's memory (GiB). Resource SKUs report GPUs = 1 for them; the
# NVadsA10 v5 page gives 1/6, 1/3, 1/2 of an A10 (4, 8, 12 GiB), the NVv4 page 1/8, 1/4, 1/2
# of an MI25 (2, 4, 8 GiB).
GPU_PARTITIONS: dict[str, float] = {
    "NV6ads_A10_v5": 4.0,
    "NV12ads_A10_v5": 8.0,
    "NV18ads_A10_v5": 12.0,
    "NV4as_v4": 2.0,
    "NV8as_v4": 4.0,
    "NV16as_v4": 8.0,
}


@dataclass(frozen=True, slots=True)
class Sizes:
    """One region's sizes: spec rows, offering rows, and what was left out (name → reason)."""

    specs: list[dict[str, Any]] = field(default_factory=list)
    offerings: list[dict[str, Any]] = field(default_factory=list)
    restricted: dict[str, str] = field(default_factory=dict)

    @property
    def spot_sizes(self) -> set[str]:
        """Sizes offered as Spot somewhere in the region."""
        return {o["instance_type"] for o in self.offerings if o["spot"]}


# --- fetch -------------------------------------------------------------------------------


def fetch_skus(compute: Any, *, region: str) -> list[dict[str, Any]]:
    """Every resource SKU of ``region`` (all pages), as REST JSON dicts."""
    pager = compute.resource_skus.list(filter=f"location eq '{region}'")
    return [sku.as_dict() for sku in pager]


# --- parse -------------------------------------------------------------------------------


def zone_id(region: str, zone: str) -> str:
    """Logical zone ``"1"`` of ``eastus`` → ``"eastus-1"`` (AKS's zone label)."""
    return f"{region}-{zone}"


def _bare(name: str) -> str:
    """The size name without its tier: ``Standard_D2s_v5`` → ``D2s_v5``."""
    tier, sep, rest = name.partition("_")
    return rest if sep and tier in _TIERS else name


def series_of(name: str) -> tuple[str, str, int | None]:
    """``Standard_NC24ads_A100_v4`` → (family ``NCads_A100_v4``, size ``24ads``, generation 4).

    The family is the size name without its vCPU count: the unit Azure's size pages call a
    series, and what a one-family blast-radius limit should group (constrained-core sizes
    such as ``E4-2ds_v5`` belong to their full size's family).
    """
    bare = _bare(name)
    match = _SIZE_RE.match(bare)
    if match is None:
        return bare, "", None
    rest = match.group("rest")
    version = _VERSION_RE.search(rest)
    features = rest.split("_", 1)[0]
    return (
        match.group("prefix") + rest,
        match.group("n") + features,
        int(version.group(1)) if version else 1,
    )


def gpu_of(name: str, gpus: int) -> tuple[str, int, str | None, float | None]:
    """(accelerator kind, GPU count, model, memory per GPU) of a size reporting ``gpus``."""
    bare = _bare(name)
    if gpus <= 0:
        return "none", 0, None, None
    series = next((s for pattern, s in GPU_SERIES if pattern.match(bare)), None)
    model = series.model if series else None
    if bare in GPU_PARTITIONS:
        return "gpu-partition", 0, model, GPU_PARTITIONS[bare]
    return "gpu", gpus, model, series.memory_gib if series else None


def _capabilities(record: Mapping[str, Any]) -> dict[str, str]:
    return {str(c["name"]): str(c["value"]) for c in record.get("capabilities") or ()}


def _flag(value: str | None) -> bool:
    if value is None:
        return False
    if value not in ("True", "False"):
        raise ValueError(f"expected True or False, got {value[:20]!r}")
    return value == "True"


def _restrictions(record: Mapping[str, Any], region: str) -> tuple[str | None, set[str]]:
    """(the reason the size is barred from the whole region or None, its barred zones)."""
    whole: str | None = None
    zones: set[str] = set()
    for restriction in record.get("restrictions") or ():
        kind = str(restriction["type"])
        reason = str(restriction.get("reasonCode") or "restricted")
        info = restriction.get("restrictionInfo") or {}
        if kind == "Location":
            locations = [str(v).lower() for v in info.get("locations") or restriction["values"]]
            if region in locations:
                whole = reason
        elif kind == "Zone":
            zones.update(str(z) for z in info.get("zones") or ())
    return whole, zones


def _location_info(record: Mapping[str, Any], region: str) -> Mapping[str, Any] | None:
    for info in record.get("locationInfo") or ():
        if str(info["location"]).lower() == region:
            return info  # type: ignore[no-any-return]
    return None


@refuses_malformed("resource SKU list")
def parse_skus(
    records: Iterable[Mapping[str, Any]], *, region: str, observed_at: datetime
) -> Sizes:
    """One region's resource SKUs → its VM sizes' spec rows and offering rows."""
    sizes = Sizes()
    seen: set[str] = set()
    for record in records:
        if record["resourceType"] != _VM:
            continue
        name = str(record["name"])
        info = _location_info(record, region)
        if info is None or name in seen:
            continue  # listed for another location, or a repeat
        seen.add(name)
        barred, barred_zones = _restrictions(record, region)
        if barred is not None:
            sizes.restricted[name] = f"not available in {region} ({barred})"
            continue
        caps = _capabilities(record)
        zones = sorted(str(z) for z in info.get("zones") or ())
        open_zones = [z for z in zones if z not in barred_zones]
        if zones and not open_zones:
            sizes.restricted[name] = f"restricted in every zone of {region}"
            continue
        if barred_zones & set(zones):
            sizes.restricted[name] = f"restricted in zones {','.join(sorted(barred_zones))}"
        spot = _flag(caps.get("LowPriorityCapable"))
        sizes.specs.append(_spec_row(name, caps, observed_at=observed_at))
        sizes.offerings.extend(
            {
                "cloud": "azure",
                "region": region,
                "zone_id": zone_id(region, zone) if zone else REGIONAL_ZONE,
                "instance_type": name,
                "spot": spot,
                "on_demand": True,
                "source": SOURCE,
                "first_seen": observed_at,
                "last_seen": observed_at,
            }
            for zone in (open_zones or [""])
        )
    check_rows("instance_types", sizes.specs, where=f"{region} resource SKUs")
    check_rows("offerings", sizes.offerings, where=f"{region} resource SKUs")
    return sizes


def _spec_row(name: str, caps: Mapping[str, str], *, observed_at: datetime) -> dict[str, Any]:
    family, size, generation = series_of(name)
    kind, count, model, memory = gpu_of(name, int(caps.get("GPUs") or 0))
    arch = caps.get("CpuArchitectureType", "x64")
    if arch.lower() not in _ARCH:
        raise ValueError(f"{name}: unknown CpuArchitectureType {arch[:20]!r}")
    temp_gib = int(caps.get("MaxResourceVolumeMB") or 0) / MIB_PER_GIB
    return {
        "cloud": "azure",
        "name": name,
        "family": family,
        "generation": generation,
        "size": size,
        "vcpus": int(caps["vCPUs"]),
        "memory_gib": float(caps["MemoryGB"]),
        "arch": _ARCH[arch.lower()],
        "gpu_count": count,
        "gpu_model": model,
        "gpu_memory_gib": memory,
        "accelerator_kind": kind,
        # Resource SKUs publish no bandwidth figure (the size pages do, in prose).
        "network_gbps": None,
        # The temp (resource) disk; 0 = a diskless size.
        "local_storage_gib": temp_gib or None,
        "source": SOURCE,
        "observed_at": observed_at,
    }
