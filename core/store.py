"""The write path every source shares.

One function persists a :class:`~core.runs.CollectionResult` in one transaction with
idempotent upserts: re-running the same collection writes no duplicates, and nothing is ever
deleted, so a failed or empty fetch cannot replace last-known-good data. Rows are checked
against the schema's limits (``core.limits``) before the transaction opens, so a value one
engine would refuse mid-write fails the run cleanly on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Engine,
    Float,
    Integer,
    String,
    Table,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import UTCDateTime
from core.errors import SourceDataError
from core.limits import check_rows, column_limits, storable
from core.runs import WRITE_ORDER, CollectionResult, RegionError, RunStatus, TableRows
from core.tables import Base, CollectionRun, CollectionRunRegion

__all__ = ["ProgressCallback", "persist_run", "upsert_rows"]

ProgressCallback = Callable[[int], None]

# Longest error class a run record holds (read from the schema, like every limit).
ERROR_CLASS_CHARS = column_limits("collection_runs")["error_class"].max_chars
# The "region" of an error that refused the whole run rather than one region.
WHOLE_RUN = "*"
# Columns an upsert must never change once a row exists.
_KEEP_ON_UPDATE: dict[str, frozenset[str]] = {"offerings": frozenset({"first_seen"})}
# Tables whose natural key is a unique constraint rather than the primary key.
_NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "fleet_events": ("source", "external_id"),
    "fleet_events_rejected": ("source", "external_id"),
}
# fleet_events are facts: a re-delivered event (or poison message) is ignored, not rewritten.
_INSERT_ONLY = frozenset({"fleet_events", "fleet_events_rejected"})


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _key_columns(table: Table) -> tuple[str, ...]:
    return _NATURAL_KEYS.get(table.name) or tuple(c.name for c in table.primary_key.columns)


def _dedupe(rows: Iterable[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    """Last row wins per key: PostgreSQL refuses to touch one row twice in one statement."""
    # itemgetter of one column returns the value, of several a tuple: a key either way.
    key_of = itemgetter(*key)
    return list({key_of(row): row for row in rows}.values())


def upsert_rows(
    session: Session,
    table_name: str,
    rows: Iterable[dict[str, Any]],
    *,
    batch_rows: int = 5_000,
    progress: ProgressCallback | None = None,
) -> int:
    """Insert or update ``rows`` by the table's natural key; returns rows submitted."""
    return _write(session, table_name, rows, batch_rows=batch_rows, progress=progress)[0]


def _write(
    session: Session,
    table_name: str,
    rows: Iterable[dict[str, Any]],
    *,
    batch_rows: int,
    progress: ProgressCallback | None,
) -> tuple[int, int]:
    """Insert or update ``rows`` by the table's natural key: (rows submitted, rows new).

    New rows are counted by the statements themselves, never by counting the table.
    """
    table = _table(table_name)
    key = _key_columns(table)
    unique = _dedupe(rows, key)
    if not unique:
        return 0, 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and table_name not in _INSERT_ONLY:
        new = _upsert_staged(session, table, unique, key, batch_rows=batch_rows, progress=progress)
        return len(unique), new
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt: Any = insert(table)
    if table_name in _INSERT_ONLY:
        # RETURNING answers for the rows inserted only: a conflicting row does nothing.
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key)).returning(literal(1))
    else:
        updates = {c: stmt.excluded[c] for c in _update_columns(table, key)}
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=updates)
    # SQLite gives a new row a rowid above every existing one (nothing is ever deleted here):
    # the rows above the old maximum are the new ones, counted along the rowid index.
    last = None if table_name in _INSERT_ONLY else _max_rowid(session, table)
    new = 0
    for start in range(0, len(unique), batch_rows):
        chunk = unique[start : start + batch_rows]
        # executemany-style: one giant VALUES list would hit PostgreSQL's parameter limit.
        result = session.execute(stmt, chunk)
        if table_name in _INSERT_ONLY:
            new += len(result.all())
        if progress is not None:
            progress(len(chunk))
    if last is not None:
        new = _rows_after(session, table, last)
    return len(unique), new


def _max_rowid(session: Session, table: Table) -> int:
    return int(session.scalar(text(f'SELECT coalesce(max(rowid), 0) FROM "{table.name}"')) or 0)


def _rows_after(session: Session, table: Table, rowid: int) -> int:
    query = text(f'SELECT count(*) FROM "{table.name}" WHERE rowid > :rowid')
    return int(session.scalar(query, {"rowid": rowid}) or 0)


def _update_columns(table: Table, key: Sequence[str]) -> list[str]:
    keep = set(key) | _KEEP_ON_UPDATE.get(table.name, frozenset()) | {"id"}
    return [c.name for c in table.columns if c.name not in keep]


# PostgreSQL binary COPY types of the column types the staged tables use. Binary COPY spares
# both sides the text formatting and parsing of timestamps and numbers: several times faster
# on this path (bench/ingest.py). A table with any other type is copied as text.
_BINARY_COPY: tuple[tuple[type, str], ...] = (
    (UTCDateTime, "timestamptz"),
    (Boolean, "bool"),
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Float, "float8"),
    (String, "text"),  # varchar and text share their binary form
)


def _binary_types(table: Table, columns: Sequence[str]) -> list[str] | None:
    types = []
    for name in columns:
        kind = next((pg for sa, pg in _BINARY_COPY if isinstance(table.c[name].type, sa)), None)
        if kind is None:
            return None
        types.append(kind)
    return types


def _copy_value(processor: Callable[[Any], Any] | None, column: Any) -> Callable[[Any], Any]:
    """How one column's value goes to COPY: as the ORM path would send it.

    COPY bypasses SQLAlchemy's bind processing. Timestamps go as they are (psycopg sends an
    aware datetime with its offset) once checked to be aware, exactly as ``UTCDateTime``
    refuses naive ones; other types with a processor (JSON) get it.
    """
    if isinstance(column.type, UTCDateTime):
        return _aware
    return processor if processor is not None else _same


def _same(value: Any) -> Any:
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass timezone-aware UTC values")
    return value


def _upsert_staged(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    *,
    batch_rows: int,
    progress: ProgressCallback | None,
) -> int:
    """PostgreSQL: COPY the rows into a temporary table, then upsert them in one statement;
    returns how many rows were new.

    COPY is PostgreSQL's fastest way in; a set-based INSERT … SELECT … ON CONFLICT then costs
    one plan instead of one per VALUES page, which more than doubles the write rate.
    """
    columns = [c.name for c in table.columns if c.name in rows[0]]
    dialect = session.get_bind().dialect
    convert = [_copy_value(table.c[c].type.bind_processor(dialect), table.c[c]) for c in columns]
    checked = [(i, f) for i, f in enumerate(convert) if f is not _same]
    binary = _binary_types(table, columns)
    stage = f"spotsel_stage_{uuid.uuid4().hex[:12]}"
    cols = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            f'CREATE TEMPORARY TABLE "{stage}" (LIKE "{table.name}" INCLUDING DEFAULTS) '
            "ON COMMIT DROP"
        )
        values = itemgetter(*columns)
        form = " (FORMAT BINARY)" if binary else ""
        for start in range(0, len(rows), batch_rows):
            chunk = rows[start : start + batch_rows]
            with cursor.copy(f'COPY "{stage}" ({cols}) FROM STDIN{form}') as copy:
                if binary:
                    copy.set_types(binary)
                for row in chunk:
                    record = values(row)
                    if checked:
                        record = list(record)
                        for i, f in checked:
                            record[i] = f(record[i])
                    copy.write_row(record)
            if progress is not None:
                progress(len(chunk))
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in _update_columns(table, key))
        conflict = ", ".join(f'"{k}"' for k in key)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        # xmax is 0 in a row version that an INSERT created and non-zero in one an ON CONFLICT
        # UPDATE wrote: the statement counts its new rows itself.
        cursor.execute(
            f'WITH written AS (INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{stage}" '
            f"ON CONFLICT ({conflict}) {action} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted) FROM written"
        )
        (new,) = cursor.fetchone() or (0,)
        cursor.execute(f'DROP TABLE "{stage}"')
    finally:
        cursor.close()
    return int(new)


def count_rows(session: Session, table_name: str) -> int:
    return int(session.scalar(select(func.count()).select_from(_table(table_name))) or 0)


def _newest_observation(result: CollectionResult, tables: Iterable[str]) -> datetime | None:
    newest: datetime | None = None
    for name in tables:
        for row in result.rows.by_table.get(name, ()):
            seen = row.get("observed_at") or row.get("last_seen")
            if seen is not None and (newest is None or seen > newest):
                newest = seen
    return newest


def _refusal(
    result: CollectionResult, to_write: Mapping[str, Sequence[dict[str, Any]]]
) -> SourceDataError | None:
    """The first value of the run the store cannot hold; parsers check first, this is the
    last line of defence so a bad value fails the run instead of the transaction."""
    where = f"source {result.source}"
    try:
        check_rows("collection_run_regions", [{"region": r} for r in result.regions], where=where)
        for name, rows in to_write.items():
            check_rows(name, rows, where=where)
    except SourceDataError as exc:
        return exc
    return None


def _refused_run(result: CollectionResult, error: SourceDataError) -> CollectionResult:
    """The run record of a result whose rows were refused: failed, nothing written."""
    return CollectionResult(
        source=result.source,
        started_at=result.started_at,
        finished_at=result.finished_at,
        regions=(),
        rows=TableRows(),
        errors=(RegionError(WHOLE_RUN, type(error).__name__, str(error)),),
    )


def _failure_summary(failed: Mapping[str, RegionError], attempted: Sequence[str]) -> str:
    """One line for the run record: how many regions failed out of how many, and the first error.

    A run refused as a whole counts no regions; the count covers the regions attempted and any
    region an error names, so it never reads "1 of 0 regions failed".
    """
    first = next(iter(failed.values()))
    if first.region == WHOLE_RUN:
        return first.message
    total = len(set(attempted) | set(failed))
    where = f"{first.region}: {first.message}"
    if total == 1:
        return where
    if len(failed) == total:
        return f"all {total} regions failed; {where}"
    return f"{len(failed)} of {total} regions failed; {where}"


def persist_run(
    engine: Engine,
    result: CollectionResult,
    *,
    batch_rows: int = 5_000,
    progress: ProgressCallback | None = None,
) -> CollectionRun:
    """Write a run's rows and its record in one transaction; failed regions write no rows.

    A value the schema cannot hold refuses the whole run: a failed run is recorded, nothing
    is written, and :class:`SourceDataError` names the value.
    """
    counts = result.region_rows()
    failed = result.failed_regions(counts)
    tables = [name for name in WRITE_ORDER if result.rows.by_table.get(name)]
    to_write = {
        name: [r for r in result.rows.by_table[name] if r.get("region") not in failed]
        for name in tables
    }
    refused = _refusal(result, to_write)
    if refused is not None:
        persist_run(engine, _refused_run(result, refused))
        raise refused
    with Session(engine, expire_on_commit=False) as session, session.begin():
        written = new = 0
        for name in tables:
            submitted, added = _write(
                session, name, to_write[name], batch_rows=batch_rows, progress=progress
            )
            written += submitted
            new += added
        data_as_of = _newest_observation(result, tables) if written else None
        if result.committed is not None:  # written by the source's own, committed transaction
            written += result.committed.written
            new += result.committed.new
            data_as_of = max(
                (t for t in (data_as_of, result.committed.observed_at) if t is not None),
                default=None,
            )
        status = result.status_given(failed)
        first_error = next(iter(failed.values()), None)
        run = CollectionRun(
            source=result.source,
            started_at=result.started_at,
            finished_at=result.finished_at,
            status=status.value,
            rows_written=written,
            rows_new=new,
            data_as_of=data_as_of,
            error_class=_error_class(first_error.error_class) if first_error else None,
            error_message=(
                storable(_failure_summary(failed, result.regions)) if first_error else None
            ),
        )
        session.add(run)
        session.flush()
        for region in result.regions:
            err = failed.get(region)
            session.add(
                CollectionRunRegion(
                    run_id=run.id,
                    region=region,
                    status=RunStatus.FAILED.value if err else RunStatus.OK.value,
                    rows=0 if err else counts.get(region, 0),
                    error_class=_error_class(err.error_class) if err else None,
                    error_message=storable(err.message) if err else None,
                )
            )
    return run


def _error_class(name: str) -> str:
    # Error codes come from clouds and SDKs: fit them to the column rather than fail the record.
    return storable(name, max_chars=ERROR_CLASS_CHARS)
