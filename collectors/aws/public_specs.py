"""Instance specs from public data: the Spot Advisor's vCPUs and RAM plus the accelerator table.

Used where the store holds no specs of a type yet: specs from the ``aws`` collector
(DescribeInstanceTypes) are richer and are never overwritten. Family, generation, size and
architecture derive from the name; a type whose family looks accelerated but that the
accelerator table does not know gets no specs at all (reported back), so it can never be
ranked as a CPU-only type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.aws.accelerators import CPU_ONLY, accelerator_of, looks_accelerated
from core.errors import SourceDataError
from core.limits import row_problem, shorten
from core.tables import InstanceType

__all__ = ["SOURCE", "SpecRows", "arch_of", "known_types", "name_parts", "spec_rows"]

# The specs come from the advisor document: its rows say so.
SOURCE = "aws-advisor"
# Leading letters then the generation digits of a family name ("c7gn" -> "c", "7", "gn").
_FAMILY: Final = re.compile(r"^([a-z]+)(\d+)([a-z]*)")
# Graviton (arm64) families that do not follow the "g after the generation" rule.
_ARM_FAMILIES: Final = frozenset({"a1"})


@dataclass(frozen=True)
class SpecRows:
    rows: list[dict[str, Any]]
    unknown_accelerated: tuple[str, ...]  # accelerated-looking types the table lacks: skipped


def name_parts(instance_type: str) -> tuple[str, int | None, str]:
    """(family, generation, size) of an EC2 type name: ``"c7gn.xlarge"`` -> ``("c7gn", 7,
    "xlarge")``; ``"u-12tb1.112xlarge"`` has no generation."""
    family, _, size = instance_type.partition(".")
    match = _FAMILY.match(family)
    return family, int(match.group(2)) if match else None, size


def arch_of(instance_type: str) -> str:
    """arm64 for Graviton families (a ``g`` right after the generation: m6g, c7gn, g5g, im4gn,
    is4gen, x2gd, t4g; and a1), else x86_64."""
    family = instance_type.partition(".")[0]
    match = _FAMILY.match(family)
    if family in _ARM_FAMILIES or (match is not None and match.group(3).startswith("g")):
        return "arm64"
    return "x86_64"


def known_types(engine: Engine | None) -> frozenset[str]:
    """Names of the AWS types the store holds specs of (from any source)."""
    if engine is None:
        return frozenset()
    with Session(engine) as session:
        return frozenset(
            session.scalars(select(InstanceType.name).where(InstanceType.cloud == "aws"))
        )


def _fail(reason: str) -> SourceDataError:
    return SourceDataError(f"the Spot Advisor document is malformed: {reason}")


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{what} is {shorten(value)}, expected a number")
    if not math.isfinite(value) or value <= 0:
        raise _fail(f"{what} is {shorten(value)}, expected a positive number")
    return float(value)


def spec_rows(
    doc: Mapping[str, Any], *, observed_at: datetime, known: Collection[str] = ()
) -> SpecRows:
    """``instance_types`` rows for every type of the advisor document not in ``known``.

    A document without the section gives none (its buckets stand on their own); a section that
    is not an object, or a type's unusable specs, raise :class:`SourceDataError`.
    """
    section = doc.get("instance_types", {})
    if not isinstance(section, Mapping):
        raise _fail("'instance_types' is not an object")
    rows: list[dict[str, Any]] = []
    unknown: list[str] = []
    for name, spec in section.items():
        where = f"instance_types[{shorten(name)}]"
        if not isinstance(spec, Mapping):
            raise _fail(f"{where} is not an object")
        cores = _positive(spec.get("cores"), f"{where}.cores")
        if not cores.is_integer():
            raise _fail(f"{where}.cores = {shorten(spec.get('cores'))} is not a whole number")
        memory = _positive(spec.get("ram_gb"), f"{where}.ram_gb")
        if name in known:
            continue
        accelerator = accelerator_of(str(name))
        if accelerator is None and looks_accelerated(str(name)):
            unknown.append(str(name))
            continue
        family, generation, size = name_parts(str(name))
        row = {
            "cloud": "aws",
            "name": str(name),
            "family": family,
            "generation": generation,
            "size": size,
            "vcpus": int(cores),
            "memory_gib": memory,
            "arch": arch_of(str(name)),
            "gpu_count": accelerator.count if accelerator else 0,
            "gpu_model": accelerator.model if accelerator else None,
            "gpu_memory_gib": accelerator.memory_gib if accelerator else None,
            "accelerator_kind": accelerator.kind if accelerator else CPU_ONLY,
            "network_gbps": None,
            "local_storage_gib": None,
            "source": SOURCE,
            "observed_at": observed_at,
        }
        problem = row_problem("instance_types", row)
        if problem is not None:
            raise _fail(f"{where}: {problem}")
        rows.append(row)
    return SpecRows(rows, tuple(unknown))
