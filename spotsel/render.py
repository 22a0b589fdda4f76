"""Presentation: turn store summaries into rich tables and JSON. The only place that prints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the store's summaries (SQLAlchemy) load with the command that prints them
    from core.summary import CloudSummary, SourceStatus

__all__ = ["format_age", "print_clouds", "print_sources", "print_totals", "status_document"]


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else (now - then).total_seconds()


def print_totals(console: Console, totals: dict[str, int]) -> None:
    table = Table(title="What the store holds", title_justify="left")
    table.add_column("data")
    table.add_column("rows", justify="right")
    for label, count in totals.items():
        table.add_row(label.replace("_", " "), f"{count:,}")
    console.print(table)


def print_clouds(console: Console, clouds: Sequence[CloudSummary]) -> None:
    table = Table(title="Per cloud", title_justify="left")
    for column in ("cloud", "types", "GPU types", "regions", "zones", "pools", "spot pools"):
        table.add_column(column, justify="left" if column == "cloud" else "right")
    for c in clouds:
        table.add_row(
            c.cloud,
            f"{c.instance_types:,}",
            f"{c.gpu_instance_types:,}",
            f"{c.regions:,}",
            f"{c.zones:,}",
            f"{c.pools:,}",
            f"{c.spot_pools:,}",
        )
    console.print(table)


_STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red"}


def print_sources(
    console: Console,
    statuses: Sequence[SourceStatus],
    *,
    now: datetime,
    labels: dict[str, str],
) -> None:
    if not statuses:
        console.print("No collection has run yet: try `spotsel collect sim`.")
        return
    table = Table(title="Sources", title_justify="left")
    for column in ("source", "last run", "status", "rows", "new", "data age", "problems"):
        table.add_column(column, justify="right" if column in {"rows", "new"} else "left")
    for s in statuses:
        style = _STATUS_STYLE.get(s.last_status, "")
        table.add_row(
            f"{s.source} {labels.get(s.source, '')}".strip(),
            f"{format_age(_age(now, s.last_finished_at))} ago",
            f"[{style}]{s.last_status}[/]" if style else s.last_status,
            f"{s.last_rows_written:,}",
            f"{s.last_rows_new:,}",
            format_age(_age(now, s.data_as_of)),
            s.last_error or "",
        )
    console.print(table)


def status_document(
    *,
    database: str,
    totals: dict[str, int],
    statuses: Sequence[SourceStatus],
    now: datetime,
    simulated: dict[str, bool],
) -> dict[str, Any]:
    """The ``spotsel status --output json`` object: ``totals`` and one entry per source."""
    return {
        "database": database,
        "generated_at": now.isoformat(),
        "totals": totals,
        "sources": [
            {
                "source": s.source,
                "simulated": simulated.get(s.source, False),
                "runs": s.runs,
                "last_run": {
                    "started_at": s.last_started_at.isoformat(),
                    "finished_at": s.last_finished_at.isoformat(),
                    "status": s.last_status,
                    "rows_written": s.last_rows_written,
                    "rows_new": s.last_rows_new,
                    "error": s.last_error,
                    "failed_regions": list(s.failed_regions),
                },
                "data_as_of": s.data_as_of.isoformat() if s.data_as_of else None,
                "data_age_seconds": _age(now, s.data_as_of),
            }
            for s in statuses
        ],
    }
