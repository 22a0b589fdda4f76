"""What the public feeds leave out: the accelerators of every AWS accelerated instance type.

The Spot Advisor's ``instance_types`` section gives vCPUs and memory only. This table adds the
devices, per the EC2 accelerated-computing instance pages (docs.aws.amazon.com/ec2/latest/
instancetypes/ac.html) and each family's product page: device kind, model, memory per device,
and the device count per size. It covers every accelerated type of the advisor snapshots of
2021-02-10 and 2025-06-28; ``looks_accelerated`` recognises the naming pattern of accelerated
families, so a type of a new family is noticed (and left without specs) instead of being
written as a CPU-only type.

Kinds beyond "gpu": Neuron chips are "inferentia" / "trainium" (as the ``aws`` collector writes
them), and FPGAs, video transcoders and non-NVIDIA training/inference chips get kinds of their
own, so a CPU-only request never matches them and a GPU request never does either. For every
kind the ``gpu_*`` columns describe the devices (count, model, memory per device), the
convention of the simulated catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ACCELERATOR_KINDS",
    "CPU_ONLY",
    "Accelerator",
    "accelerated_types",
    "accelerator_of",
    "looks_accelerated",
]

CPU_ONLY: Final = "none"
# Every accelerator_kind value a type of this table can carry (all fit the String(16) column).
ACCELERATOR_KINDS: Final = (
    "gpu",
    "inferentia",
    "trainium",
    "fpga",  # f1 / f2: Xilinx / AMD FPGAs
    "media",  # vt1: Xilinx Alveo U30 video transcoding cards
    "gaudi",  # dl1: Habana Gaudi training accelerators
    "qualcomm-ai100",  # dl2q: Qualcomm Cloud AI 100 inference cards
)


@dataclass(frozen=True, slots=True)
class Accelerator:
    """The devices of one instance type."""

    kind: str
    model: str
    memory_gib: float | None  # per device, as AWS publishes it
    count: int


@dataclass(frozen=True, slots=True)
class _Family:
    kind: str
    model: str
    memory_gib: float | None
    counts: dict[str, int]  # size -> devices


# Sizes with one GPU in the g4dn / g5 / g6 / g6e / g5g generations.
_SINGLE_GPU_SIZES: Final = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}
# g5, g6 and g6e: 4 GPUs in 12xlarge and 24xlarge, 8 in 48xlarge.
_G5_LIKE_SIZES: Final = {**_SINGLE_GPU_SIZES, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}
# Device memory per device as AWS states it on the family's page (GB/GiB as published).
_FAMILIES: Final[dict[str, _Family]] = {
    # --- NVIDIA / AMD GPUs -------------------------------------------------------------------
    "g2": _Family("gpu", "K520", 4.0, {"2xlarge": 1, "8xlarge": 4}),
    "g3s": _Family("gpu", "M60", 8.0, {"xlarge": 1}),
    "g3": _Family("gpu", "M60", 8.0, {"4xlarge": 1, "8xlarge": 2, "16xlarge": 4}),
    "g4ad": _Family(
        "gpu", "V520", 8.0, {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 2, "16xlarge": 4}
    ),
    "g4dn": _Family("gpu", "T4", 16.0, {**_SINGLE_GPU_SIZES, "12xlarge": 4, "metal": 8}),
    "g5": _Family("gpu", "A10G", 24.0, _G5_LIKE_SIZES),
    "g5g": _Family("gpu", "T4G", 16.0, {**_SINGLE_GPU_SIZES, "16xlarge": 2, "metal": 2}),
    "g6": _Family("gpu", "L4", 24.0, _G5_LIKE_SIZES),
    "gr6": _Family("gpu", "L4", 24.0, {"4xlarge": 1, "8xlarge": 1}),
    "g6e": _Family("gpu", "L40S", 48.0, _G5_LIKE_SIZES),
    "p2": _Family("gpu", "K80", 12.0, {"xlarge": 1, "8xlarge": 8, "16xlarge": 16}),
    "p3": _Family("gpu", "V100", 16.0, {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    "p3dn": _Family("gpu", "V100", 32.0, {"24xlarge": 8}),
    "p4d": _Family("gpu", "A100", 40.0, {"24xlarge": 8}),
    "p4de": _Family("gpu", "A100", 80.0, {"24xlarge": 8}),
    "p5": _Family("gpu", "H100", 80.0, {"48xlarge": 8, "4xlarge": 1}),
    "p5e": _Family("gpu", "H200", 141.0, {"48xlarge": 8}),
    "p5en": _Family("gpu", "H200", 141.0, {"48xlarge": 8}),
    # P6-B200: 8 B200 with 1,440 GB of HBM3e in all (the P6 product page): 180 GB each.
    "p6-b200": _Family("gpu", "B200", 180.0, {"48xlarge": 8}),
    # --- AWS Neuron --------------------------------------------------------------------------
    "inf1": _Family(
        "inferentia", "Inferentia", 8.0, {"xlarge": 1, "2xlarge": 1, "6xlarge": 4, "24xlarge": 16}
    ),
    "inf2": _Family(
        "inferentia",
        "Inferentia2",
        32.0,
        {"xlarge": 1, "8xlarge": 1, "24xlarge": 6, "48xlarge": 12},
    ),
    "trn1": _Family("trainium", "Trainium", 32.0, {"2xlarge": 1, "32xlarge": 16}),
    "trn1n": _Family("trainium", "Trainium", 32.0, {"32xlarge": 16}),
    "trn2": _Family("trainium", "Trainium2", 96.0, {"48xlarge": 16}),
    # --- FPGAs, media and other accelerators -------------------------------------------------
    "f1": _Family("fpga", "VU9P", 64.0, {"2xlarge": 1, "4xlarge": 2, "16xlarge": 8}),
    "f2": _Family("fpga", "VU47P", 16.0, {"6xlarge": 1, "12xlarge": 2, "48xlarge": 8}),
    "vt1": _Family("media", "U30", None, {"3xlarge": 1, "6xlarge": 2, "24xlarge": 8}),
    "dl1": _Family("gaudi", "Gaudi", 32.0, {"24xlarge": 8}),
    "dl2q": _Family("qualcomm-ai100", "AI100", 16.0, {"24xlarge": 8}),
}

# Accelerated family names: p<n>, g<n>, gr<n>, inf<n>, trn<n>, f<n>, vt<n>, dl<n> (with any
# suffix letters or a "-b200"-style variant). Graviton g5g matches too, and is a GPU type.
_ACCELERATED_FAMILY: Final = re.compile(r"^(p|g|gr|inf|trn|f|vt|dl)\d")


def looks_accelerated(instance_type: str) -> bool:
    """Whether the type's family name follows AWS's naming of accelerated families."""
    return bool(_ACCELERATED_FAMILY.match(instance_type.partition(".")[0]))


def accelerator_of(instance_type: str) -> Accelerator | None:
    """The devices of ``instance_type``; None when the table does not know the type."""
    family, _, size = instance_type.partition(".")
    spec = _FAMILIES.get(family)
    if spec is None or size not in spec.counts:
        return None
    return Accelerator(spec.kind, spec.model, spec.memory_gib, spec.counts[size])


def accelerated_types() -> frozenset[str]:
    """Every instance type the table describes."""
    return frozenset(f"{fam}.{size}" for fam, spec in _FAMILIES.items() for size in spec.counts)
