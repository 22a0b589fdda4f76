"""The selector's input contract: one canonical pool key and everything known about a pool.

The store layer builds `PoolRecord`s; the selector never reads the database itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["CLOUDS", "PoolKey", "PoolRecord"]

CLOUDS = ("aws", "gcp", "azure")


@dataclass(frozen=True, slots=True, order=True)
class PoolKey:
    """The canonical pool key everywhere: `(cloud, region, zone_id, instance_type)`.

    AWS zones are zone IDs (``use1-az4``), never account-specific names; ``""`` = regional.
    """

    cloud: str
    region: str
    zone_id: str
    instance_type: str

    def to_dict(self) -> dict[str, str]:
        return {
            "cloud": self.cloud,
            "region": self.region,
            "zone_id": self.zone_id,
            "instance_type": self.instance_type,
        }


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """Everything known about one pool, as loaded from the store (timestamps tz-aware UTC)."""

    key: PoolKey
    family: str
    vcpus: int
    memory_gib: float
    arch: str  # "x86_64" | "arm64"
    gpu_count: int
    gpu_model: str | None  # "T4", "A10G", "L4", "V100", "A100", "H100", ...
    gpu_memory_gib: float | None  # per GPU
    # "none" | "gpu" | "inferentia" | "trainium" | "fpga" | "media" | "gaudi" | "qualcomm-ai100"
    accelerator_kind: str
    spot_offered: bool
    on_demand_offered: bool
    spot_price: float | None  # $/h in force now (last change <= now)
    spot_price_at: datetime | None  # last CONFIRMED by a collection (the age basis)
    spot_price_volatility: float | None  # coefficient of variation over the trailing 7 days
    on_demand_price: float | None
    on_demand_at: datetime | None
    # The stored row's source ("aws-advisor", "sim", ...): provenance, not meaning. What the
    # signal means (its conversion to a hazard) is `selector.hazard.signal_kind` of the three.
    interruption_source: str | None
    interruption_label: str | None  # raw bucket label (aws "<5%" .. ">20%", azure "0-5" .. "20+")
    interruption_value: float | None  # gcp: fraction preempted over the trailing 30 days
    interruption_at: datetime | None
    capacity_score: float | None  # placement score normalised to [0, 1]
    capacity_raw: str | None  # raw value as the cloud gave it ("7", "High", "0.83")
    capacity_zonal: bool  # True = per-zone score, False = regional score
    capacity_at: datetime | None
    fleet_interruptions: int = 0  # the user's own fleet: interruptions observed in this pool
    fleet_instance_hours: float = 0.0  # instance-hours observed in this pool
    fleet_capacity_errors: int = 0  # insufficient-capacity errors in the recent window
    fleet_at: datetime | None = None
    # The newest insufficient-capacity error: what the capacity penalty's decay counts from (a
    # later interruption or usage record must not make old errors look fresh). None with errors
    # counted = not known apart: `fleet_at` stands in (see `capacity_errors_dated`).
    fleet_capacity_error_at: datetime | None = None

    @property
    def capacity_errors_dated(self) -> datetime | None:
        """When the newest counted capacity error happened, as well as it is known."""
        return self.fleet_capacity_error_at or self.fleet_at

    # Provenance: the sources of the rows behind this record (offering, spot and on-demand
    # price, interruption signal, placement score, fleet events), and whether any is
    # simulated. A simulated pool is labelled wherever its numbers travel.
    sources: tuple[str, ...] = ()
    simulated: bool = False
    # The on-demand price's row source: a "-derived" source (e.g. "aws-public-derived") marks
    # a price computed from other signals rather than read from a price list.
    on_demand_source: str | None = None
