"""core.summary_tables describes the store's columns as core.tables maps them."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Table, column, table
from sqlalchemy.sql.expression import TableClause

from core.db import UTCDateTime
from core.summary_tables import SUMMARY_TABLES
from core.tables import Base


def mismatches(light: TableClause, mapped: Table) -> list[str]:
    """The columns of ``light`` that ``mapped`` lacks or types differently."""
    found = []
    for described in light.columns:
        if described.name not in mapped.columns:
            found.append(f"{light.name}.{described.name}: not in the mapped table")
            continue
        wanted = type(mapped.columns[described.name].type)
        if not isinstance(described.type, wanted):
            found.append(f"{light.name}.{described.name}: {described.type!r}, not {wanted}")
    return found


def test_every_summary_column_is_a_mapped_column_of_the_same_type() -> None:
    for light in SUMMARY_TABLES:
        assert light.name in Base.metadata.tables, light.name
        assert mismatches(light, Base.metadata.tables[light.name]) == []


def test_the_check_reports_a_missing_or_retyped_column() -> None:
    # Known violations: a column the table lacks, a timestamp without the UTC decorator.
    mapped = Base.metadata.tables["collection_runs"]
    wrong = table(
        "collection_runs",
        column("id", Integer()),
        column("gone", String()),
        column("started_at", String()),
        column("finished_at", UTCDateTime()),
    )
    assert mismatches(wrong, mapped) == [
        "collection_runs.gone: not in the mapped table",
        f"collection_runs.started_at: String(), not {UTCDateTime}",
    ]
    spot = table("offerings", column("spot", Boolean()))
    assert mismatches(spot, Base.metadata.tables["offerings"]) == []
