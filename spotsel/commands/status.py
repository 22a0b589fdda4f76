"""`spotsel status`: per source the last run and the age of its data; the store's totals."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from collectors import SIMULATED_SOURCES, SOURCE_NAMES
from core.clock import utcnow
from spotsel import render
from spotsel.commands.common import OutputFormat
from spotsel.consoles import out
from spotsel.render import format_age
from spotsel.state import app_state

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from core.summary import FleetEventSummary

__all__ = ["fleet_line", "print_store", "status"]


def status(
    ctx: typer.Context,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.TABLE,
) -> None:
    """Per source: last run, status, rows and age of the newest data; store totals."""
    from core.db import redact_url, require_schema
    from core.summary import fleet_event_summary, source_statuses, store_totals

    engine = app_state(ctx).engine()
    require_schema(engine)
    now = utcnow()
    if output is OutputFormat.JSON:
        with engine.connect() as connection:  # one read, without loading the ORM
            totals = store_totals(connection)
            statuses = source_statuses(connection)
            fleet = fleet_event_summary(connection, now=now)
        doc = render.status_document(
            database=redact_url(str(engine.url)),
            totals=totals,
            statuses=statuses,
            now=now,
            simulated={name: name in SIMULATED_SOURCES for name in SOURCE_NAMES},
        )
        doc["fleet_events"] = fleet.to_dict()
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    out.print(f"database: {redact_url(str(engine.url))}")
    print_store(engine, now=now)


def print_store(engine: Engine, *, now: datetime) -> None:
    """The store's totals, per cloud, and per source (``spotsel status`` and the demo)."""
    from core.summary import cloud_summaries, fleet_event_summary, source_statuses, store_totals

    with engine.connect() as connection:  # one read, without loading the ORM
        totals = store_totals(connection)
        clouds = cloud_summaries(connection)
        statuses = source_statuses(connection)
        fleet = fleet_event_summary(connection, now=now)
    render.print_totals(out, totals)
    render.print_clouds(out, clouds)
    labels = {name: "(simulated)" for name in SOURCE_NAMES if name in SIMULATED_SOURCES}
    render.print_sources(out, statuses, now=now, labels=labels)
    out.print(fleet_line(fleet))


def fleet_line(fleet: FleetEventSummary) -> str:
    """``fleet events: 12 in 3 pools (interruption 3, …); newest 2.0 h ago; capacity errors in
    the last 12 h (lowering capacity): 2``."""
    from selector.ice import ICE_TTL_HOURS

    if not fleet.total:
        return "fleet events: none (the ranking uses public signals only)"
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in fleet.by_kind.items())
    age = "undated" if fleet.newest_age_seconds is None else format_age(fleet.newest_age_seconds)
    return (
        f"fleet events: {fleet.total:,} in {fleet.pools:,} pools ({kinds}); newest {age} ago; "
        f"capacity errors in the last {ICE_TTL_HOURS:g} h (lowering capacity): "
        f"{fleet.capacity_errors_remembered:,}"
    )
