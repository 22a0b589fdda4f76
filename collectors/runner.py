"""Run a source and persist what it returns: the one path every source's data takes."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from collectors.base import CollectContext, Source
from core.clock import utcnow
from core.errors import SourceDataError, SpotselError
from core.runs import CollectionResult, RegionError, TableRows
from core.store import persist_run
from core.tables import CollectionRun

__all__ = ["SourceFailedError", "error_summary", "record_failure", "run_source"]

log = logging.getLogger(__name__)

# A failure is reported in one line of at most this many characters: a driver's error can quote
# a whole batch of rows after its first line, or one huge value in it.
ERROR_LINE_CHARS = 300


class SourceFailedError(SpotselError):
    """A source, or the write of its run, raised something unexpected (maybe a bug).

    The original exception is chained as ``__cause__``; the failed run is already recorded.
    """

    code = "source_failed"


def run_source(engine: Engine, source: Source, ctx: CollectContext) -> CollectionRun:
    """Collect from ``source`` and persist the run.

    Any failure, in the collect or in the write, leaves one failed run in ``collection_runs``
    (written in a transaction of its own: the write's transaction is rolled back) and is
    raised as a :class:`SpotselError`: the source's own errors as they are, anything else as
    :class:`SourceFailedError`.
    """
    started = utcnow()
    try:
        if ctx.engine is None:
            ctx = replace(ctx, engine=engine)
        result = source.collect(ctx)
        rows = result.rows.count()
        ctx.progress.stage(f"writing {rows:,} rows", rows)
    except SpotselError as exc:
        record_failure(engine, source.name, started=started, error=exc)
        raise
    except Exception as exc:
        record_failure(engine, source.name, started=started, error=exc)
        raise SourceFailedError(f"source {source.name} failed: {_line(exc)}") from exc
    try:
        run = persist_run(
            engine, result, batch_rows=ctx.settings.write_batch_rows, progress=ctx.progress.advance
        )
    except SourceDataError:
        raise  # persist_run refused a value the schema cannot hold and recorded the failed run
    except Exception as exc:
        record_failure(engine, source.name, started=started, error=exc)
        raise SourceFailedError(
            f"source {source.name}: writing the run failed: {_line(exc)}"
        ) from exc
    log.debug(
        "collection finished",
        extra={"source": source.name, "status": run.status, "rows": run.rows_written},
    )
    return run


def error_summary(error: BaseException) -> tuple[str, str]:
    """``(class name, first line of the message)`` of ``error``, the line bounded.

    SQLAlchemy's wrapper gives way to the driver's error it wraps: ``StringDataRightTruncation``
    says more than ``DataError``, and its message does not quote the statement.
    """
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    lines = str(error).strip().splitlines()
    line = lines[0] if lines else ""
    if len(line) > ERROR_LINE_CHARS:
        line = line[: ERROR_LINE_CHARS - 1] + "…"
    return type(error).__name__, line


def _line(error: BaseException) -> str:
    error_class, message = error_summary(error)
    return f"{error_class}: {message}" if message else error_class


def record_failure(
    engine: Engine, source_name: str, *, started: datetime, error: BaseException
) -> None:
    """Record a failed run of ``source_name`` in a transaction of its own.

    Never raises: the original error matters more than the bookkeeping (it is logged instead).
    """
    error_class, message = error_summary(error)
    result = CollectionResult(
        source=source_name,
        started_at=started,
        finished_at=utcnow(),
        regions=(),
        rows=TableRows(),
        errors=(RegionError("*", error_class, message),),
    )
    try:
        persist_run(engine, result)
    except Exception:
        log.exception("could not record the failed run of %s", source_name)
