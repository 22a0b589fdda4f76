"""The store of weekly reports: one row per ISO week, written whole and read back.

A report's ``recommendations`` are what the next week's report compares against; its HTML and
Markdown are what ``GET /v1/reports/{week}`` serves. Re-generating a week replaces that week in
one statement (an upsert), so a reader never sees half of a report and two writers racing on
the same week both succeed, the later one winning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from core.clock import as_utc
from core.db import session_scope
from core.errors import ConfigError
from core.tables import CollectionRun, WeeklyReport
from core.weeks import IsoWeek

__all__ = [
    "ReportSummary",
    "StoredReport",
    "collected_before",
    "count_weeks",
    "list_weeks",
    "load_week",
    "save_week",
]


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """One stored week as the list shows it (no documents)."""

    week: str
    generated_at: datetime
    simulated: bool
    html_chars: int
    markdown_chars: int


@dataclass(frozen=True, slots=True)
class StoredReport:
    """One stored week, documents included."""

    week: str
    generated_at: datetime
    simulated: bool
    recommendations: dict[str, Any]
    html: str
    markdown: str


def _canonical(week: str) -> str:
    """``"2026-w48"`` → ``"2026-W48"``; a malformed week is a one-line ``ConfigError``."""
    return str(IsoWeek.parse(week))


def save_week(
    engine: Engine,
    *,
    week: str,
    generated_at: datetime,
    simulated: bool,
    recommendations: Mapping[str, Any],
    html: str,
    markdown: str,
) -> None:
    """Store ``week``'s report, replacing any earlier one of the same week (one transaction)."""
    if generated_at.tzinfo is None:
        raise ConfigError(f"generated_at {generated_at!r} is naive: pass an aware UTC time")
    row = {
        "week": _canonical(week),
        "generated_at": as_utc(generated_at),
        "simulated": simulated,
        "recommendations": dict(recommendations),
        "html": html,
        "markdown": markdown,
    }
    with session_scope(engine) as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(WeeklyReport)
        stmt = stmt.on_conflict_do_update(
            index_elements=["week"],
            set_={column: stmt.excluded[column] for column in row if column != "week"},
        )
        session.execute(stmt, [row])


def load_week(engine: Engine, *, week: str) -> StoredReport | None:
    """The stored report of ``week``, or ``None`` when that week was never reported."""
    with session_scope(engine) as session:
        row = session.get(WeeklyReport, _canonical(week))
        if row is None:
            return None
        return StoredReport(
            week=row.week,
            generated_at=row.generated_at,
            simulated=row.simulated,
            recommendations=dict(row.recommendations),
            html=row.html,
            markdown=row.markdown,
        )


def list_weeks(
    engine: Engine, *, limit: int | None = None, before: str | None = None
) -> list[ReportSummary]:
    """Stored weeks, newest first (``"YYYY-Www"`` sorts like the weeks themselves); ``before``
    keeps only weeks older than that one, so a listing can page by its last week."""
    query = select(
        WeeklyReport.week,
        WeeklyReport.generated_at,
        WeeklyReport.simulated,
        func.length(WeeklyReport.html).label("html_chars"),
        func.length(WeeklyReport.markdown).label("markdown_chars"),
    ).order_by(WeeklyReport.week.desc())
    if before is not None:
        query = query.where(WeeklyReport.week < _canonical(before))
    if limit is not None:
        query = query.limit(limit)
    with session_scope(engine) as session:
        return [
            ReportSummary(
                week=row.week,
                generated_at=row.generated_at,
                simulated=bool(row.simulated),
                html_chars=int(row.html_chars or 0),
                markdown_chars=int(row.markdown_chars or 0),
            )
            for row in session.execute(query)
        ]


def count_weeks(engine: Engine) -> int:
    """How many weeks are stored (the total of a paginated list)."""
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(WeeklyReport)) or 0)


def collected_before(engine: Engine, moment: datetime) -> bool:
    """Whether any collection wrote data observed before ``moment`` (its ``data_as_of``): a
    week the store has no data of is not worth a catch-up report."""
    with session_scope(engine) as session:
        first = session.scalar(
            select(CollectionRun.id).where(CollectionRun.data_as_of < moment).limit(1)
        )
        return first is not None
