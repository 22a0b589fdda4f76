"""`spotsel status`: per source the last run and the age of its data; the store's totals."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collectors import SOURCES
from core.clock import utcnow
from core.db import redact_url, require_schema
from core.summary import (
    FleetEventSummary,
    cloud_summaries,
    fleet_event_summary,
    source_statuses,
    store_totals,
)
from selector.capacity import ICE_TTL_HOURS
from spotsel import render
from spotsel.commands.common import OutputFormat
from spotsel.consoles import out
from spotsel.render import format_age
from spotsel.state import app_state

__all__ = ["fleet_line", "print_store", "status"]


def status(
    ctx: typer.Context,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.TABLE,
) -> None:
    """Per source: last run, status, rows and age of the newest data; store totals."""
    engine = app_state(ctx).engine()
    require_schema(engine)
    now = utcnow()
    if output is OutputFormat.JSON:
        with Session(engine) as session:
            totals = store_totals(session)
            statuses = source_statuses(session)
            fleet = fleet_event_summary(session, now=now)
        doc = render.status_document(
            database=redact_url(str(engine.url)),
            totals=totals,
            statuses=statuses,
            now=now,
            simulated={name: s.simulated for name, s in SOURCES.items()},
        )
        doc["fleet_events"] = fleet.to_dict()
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    out.print(f"database: {redact_url(str(engine.url))}")
    print_store(engine, now=now)


def print_store(engine: Engine, *, now: datetime) -> None:
    """The store's totals, per cloud, and per source (``spotsel status`` and the demo)."""
    with Session(engine) as session:
        totals = store_totals(session)
        clouds = cloud_summaries(session)
        statuses = source_statuses(session)
        fleet = fleet_event_summary(session, now=now)
    render.print_totals(out, totals)
    render.print_clouds(out, clouds)
    labels = {name: "(simulated)" for name, s in SOURCES.items() if s.simulated}
    render.print_sources(out, statuses, now=now, labels=labels)
    out.print(fleet_line(fleet))


def fleet_line(fleet: FleetEventSummary) -> str:
    """``fleet events: 12 in 3 pools (interruption 3, …); newest 2.0 h ago; capacity errors in
    the last 12 h (lowering capacity): 2``."""
    if not fleet.total:
        return "fleet events: none (the ranking uses public signals only)"
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in fleet.by_kind.items())
    age = "undated" if fleet.newest_age_seconds is None else format_age(fleet.newest_age_seconds)
    return (
        f"fleet events: {fleet.total:,} in {fleet.pools:,} pools ({kinds}); newest {age} ago; "
        f"capacity errors in the last {ICE_TTL_HOURS:g} h (lowering capacity): "
        f"{fleet.capacity_errors_remembered:,}"
    )
