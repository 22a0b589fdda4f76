"""Run a source and persist what it returns: the one path every source's data takes."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import Engine

from collectors.base import CollectContext, Source
from core.clock import utcnow
from core.errors import SpotselError
from core.runs import CollectionResult, RegionError, TableRows
from core.store import persist_run
from core.tables import CollectionRun

__all__ = ["run_source"]

log = logging.getLogger(__name__)


def run_source(engine: Engine, source: Source, ctx: CollectContext) -> CollectionRun:
    """Collect from ``source`` and persist the run; a crashed collect is recorded as failed."""
    started = utcnow()
    if ctx.engine is None:
        ctx = replace(ctx, engine=engine)
    try:
        result = source.collect(ctx)
    except SpotselError as exc:
        _record_failure(engine, source, started, exc)
        raise
    except Exception as exc:
        _record_failure(engine, source, started, exc)
        raise SpotselError(f"source {source.name} failed: {type(exc).__name__}: {exc}") from exc
    rows = result.rows.count()
    ctx.progress.stage(f"writing {rows:,} rows", rows)
    run = persist_run(
        engine, result, batch_rows=ctx.settings.write_batch_rows, progress=ctx.progress.advance
    )
    log.info(
        "collection finished",
        extra={"source": source.name, "status": run.status, "rows": run.rows_written},
    )
    return run


def _record_failure(engine: Engine, source: Source, started: object, exc: Exception) -> None:
    from datetime import datetime

    assert isinstance(started, datetime)
    result = CollectionResult(
        source=source.name,
        started_at=started,
        finished_at=utcnow(),
        regions=(),
        rows=TableRows(),
        errors=(RegionError("*", type(exc).__name__, str(exc)),),
    )
    try:
        persist_run(engine, result)
    except Exception:  # the original error matters more than the bookkeeping
        log.exception("could not record the failed run of %s", source.name)
