"""Instance-type listing (SQL, keyset-paginated on the primary key ``(cloud, name)``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from api.pagination import ResultPage, decode_cursor, encode_cursor
from core.tables import InstanceType
from selector.gpus import expand_gpu_models

__all__ = ["TypeFilters", "list_instance_types"]

KEY_PARTS = 2


@dataclass(frozen=True, slots=True)
class TypeFilters:
    cloud: str | None = None
    family: str | None = None
    arch: str | None = None
    min_vcpus: int | None = None
    min_memory_gib: float | None = None
    gpu_model: str | None = None  # a model or an equivalence class
    min_gpu_memory: float | None = None
    gpus: int | None = None  # exact GPUs per instance; 0 = CPU only


def _conditions(f: TypeFilters) -> list[ColumnElement[bool]]:
    t = InstanceType
    out: list[ColumnElement[bool]] = []
    if f.cloud is not None:
        out.append(t.cloud == f.cloud)
    if f.family is not None:
        out.append(t.family == f.family)
    if f.arch is not None:
        out.append(t.arch == f.arch)
    if f.min_vcpus is not None:
        out.append(t.vcpus >= f.min_vcpus)
    if f.min_memory_gib is not None:
        out.append(t.memory_gib >= f.min_memory_gib)
    if f.gpus is not None:
        out.append(t.gpu_count == f.gpus)
    if f.min_gpu_memory is not None:
        out.append(t.gpu_memory_gib >= f.min_gpu_memory)
    if f.gpu_model is not None:
        # Stored names vary ("NVIDIA A10G", "a10g"); compare upper-cased and allow a vendor
        # prefix, the same normalisation the selector applies.
        models = expand_gpu_models((f.gpu_model,))
        upper = func.upper(t.gpu_model)
        out.append(
            or_(*(or_(upper == m, upper.like(f"% {_escape(m)}", escape="\\")) for m in models))
        )
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _columns() -> list[Any]:
    return list(InstanceType.__table__.columns)


def list_instance_types(
    session: Session, filters: TypeFilters, *, limit: int, cursor: str | None
) -> ResultPage:
    """One page of instance types matching `filters`, ordered by (cloud, name)."""
    conditions = _conditions(filters)
    total = int(
        session.scalar(select(func.count()).select_from(InstanceType).where(*conditions)) or 0
    )
    query: Select[Any] = select(*_columns()).where(*conditions)
    if cursor is not None:
        cloud, name = decode_cursor(cursor, parts=KEY_PARTS)
        query = query.where(
            or_(
                InstanceType.cloud > cloud,
                and_(InstanceType.cloud == cloud, InstanceType.name > name),
            )
        )
    rows = session.execute(
        query.order_by(InstanceType.cloud, InstanceType.name).limit(limit + 1)
    ).mappings()
    items = [dict(row) for row in rows]
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    return ResultPage(
        items=items,
        total=total,
        next_cursor=encode_cursor((last["cloud"], last["name"])) if more and last else None,
    )
