"""Ingest fleet events into the store: parse, map to pools, dedupe, write in one transaction.

:func:`ingest_events` is the one entry point (the CLI, the REST route and queue consumers call
it). Dedup is per event by ``(source, external_id)``, the emitter's own id, so a replay or a
retry changes nothing. An event that cannot be placed in a pool yet is kept in
``fleet_events_unmapped`` with its reason; every call retries those, so a later NodeClaim or
launch event of the same instance maps them. A call that changes anything records a collection
run, which makes the API's pool index rebuild and ``spotsel status`` show the ingest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.errors import SourceDataError
from core.fleet_events.mapping import Instances, Mapped, ZoneRow, resolve
from core.fleet_events.parse import EventDataError, InstanceFact, Sighting, parse_document
from core.limits import check_rows, storable
from core.tables import (
    SOURCE_CHARS,
    CollectionRun,
    FleetEvent,
    FleetEventUnmapped,
    FleetInstance,
    Zone,
)

__all__ = [
    "DEFAULT_SOURCE",
    "MAX_EVENTS_PER_CALL",
    "EventBatchTooLargeError",
    "IngestReport",
    "flatten",
    "ingest_events",
    "refuse_unusable",
]

# Most documents one call takes: bounds the transaction (an SQS batch is 10, a kubectl dump of
# a busy cluster a few hundred); a larger import is split by the caller.
MAX_EVENTS_PER_CALL = 1_000
# Source name of events sent without one (CLI and REST share it, so the two dedupe together).
DEFAULT_SOURCE = "fleet-events"
_FACT_FIELDS = ("region", "zone_id", "zone_name", "account", "instance_type", "capacity_type",
                "launched_at", "ended_at", "nodeclaim", "node_name")  # fmt: skip


class EventBatchTooLargeError(EventDataError):
    code = "event_batch_too_large"


@dataclass(frozen=True)
class IngestReport:
    """What one call did: new events, replays, events kept unmapped, and refusals by index.

    ``accepted`` counts new events stored (mapped or kept unmapped); ``unmapped`` those of them
    not yet in a pool, with ``unmapped_reasons`` counting why; ``resolved`` earlier unmapped
    events this call placed; ``ignored`` well-formed documents with no fleet signal.
    """

    accepted: int
    duplicates: int
    unmapped: int
    rejected: tuple[tuple[int, str], ...] = ()
    resolved: int = 0
    ignored: tuple[tuple[int, str], ...] = ()
    instances: int = 0
    unmapped_reasons: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rejected"] = [{"index": i, "reason": r} for i, r in self.rejected]
        out["ignored"] = [{"index": i, "reason": r} for i, r in self.ignored]
        return out


def flatten(documents: Any) -> list[Any]:
    """One document, a JSON list of them, or a Kubernetes ``List`` → the documents in order."""
    out: list[Any] = []

    def walk(doc: Any) -> None:
        if isinstance(doc, list):
            for item in doc:
                walk(item)
        elif isinstance(doc, Mapping) and isinstance(doc.get("items"), list) and "kind" in doc:
            for item in doc["items"]:
                walk(item)
        else:
            out.append(doc)

    walk(documents)
    return out


def _sighting_json(event: Sighting) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(event).items()}


def _sighting_from_json(data: Mapping[str, Any]) -> Sighting:
    times = ("occurred_at", "exposure_start")
    values: dict[str, Any] = {
        k: datetime.fromisoformat(v) if k in times and v else v for k, v in data.items()
    }
    return Sighting(**values)


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _stored_ids(session: Session, table: Any, source: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        found |= set(
            session.scalars(
                select(table.external_id).where(
                    table.source == source, table.external_id.in_(chunk)
                )
            )
        )
    return found


def _load_instances(
    session: Session, ids: set[str], nodeclaims: set[str]
) -> tuple[dict[tuple[str, str], FleetInstance], Instances]:
    rows: dict[tuple[str, str], FleetInstance] = {}
    for chunk in _chunks(sorted(ids)):
        for row in session.scalars(
            select(FleetInstance).where(FleetInstance.instance_id.in_(chunk))
        ):
            rows[(row.cloud, row.instance_id)] = row
    for chunk in _chunks(sorted(nodeclaims)):
        for row in session.scalars(select(FleetInstance).where(FleetInstance.nodeclaim.in_(chunk))):
            rows[(row.cloud, row.instance_id)] = row
    facts = [
        InstanceFact(
            instance_id=r.instance_id, cloud=r.cloud, **{n: getattr(r, n) for n in _FACT_FIELDS}
        )
        for r in rows.values()
    ]
    counted = {r.instance_id: r.counted_until for r in rows.values() if r.counted_until}
    return rows, Instances(facts, counted)


def _parse_all(
    docs: list[Any], received_at: datetime
) -> tuple[
    list[tuple[int, Sighting]], list[InstanceFact], list[tuple[int, str]], list[tuple[int, str]]
]:
    sightings: list[tuple[int, Sighting]] = []
    facts: list[InstanceFact] = []
    rejected: list[tuple[int, str]] = []
    ignored: list[tuple[int, str]] = []
    for index, doc in enumerate(docs):
        try:
            parsed = parse_document(doc, received_at=received_at)
        except SourceDataError as exc:
            rejected.append((index, str(exc)))
            continue
        sightings.extend((index, s) for s in parsed.sightings)
        facts.extend(parsed.facts)
        if parsed.ignored is not None and not parsed.sightings:
            ignored.append((index, parsed.ignored.reason))
    return sightings, facts, rejected, ignored


def ingest_events(
    engine: Engine, documents: Any, *, source: str, received_at: datetime
) -> IngestReport:
    """Ingest ``documents`` (one parsed JSON event, a list of them, or a Kubernetes ``List``).

    Bad documents are refused one by one (``rejected``, by index in the flattened input); the
    rest are written in one transaction. More than :data:`MAX_EVENTS_PER_CALL` documents, or a
    source name the store cannot hold, refuse the whole call with :class:`EventDataError`.
    """
    if not source or len(source) > SOURCE_CHARS:
        raise EventDataError(f"source must be 1 to {SOURCE_CHARS} characters, got {source!r}")
    received_at = as_utc(received_at)
    docs = flatten(documents)
    if len(docs) > MAX_EVENTS_PER_CALL:
        raise EventBatchTooLargeError(
            f"{len(docs)} documents in one call; the most is {MAX_EVENTS_PER_CALL}: split the input"
        )
    sightings, facts, rejected, ignored = _parse_all(docs, received_at)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        ext_ids = sorted({s.external_id for _, s in sightings})
        seen = _stored_ids(session, FleetEvent, source, ext_ids) | _stored_ids(
            session, FleetEventUnmapped, source, ext_ids
        )
        fresh: list[tuple[int, Sighting]] = []
        duplicates = 0
        for index, event in sightings:
            if event.external_id in seen:
                duplicates += 1
                continue
            seen.add(event.external_id)
            fresh.append((index, event))
        pending = list(session.scalars(select(FleetEventUnmapped)))
        pending_events = [(row, _sighting_from_json(row.event)) for row in pending]
        ids = {f.instance_id for f in facts} | {
            e.instance_id
            for e in [*(s for _, s in fresh), *(s for _, s in pending_events)]
            if e.instance_id
        }
        claims = {f.nodeclaim for f in facts if f.nodeclaim} | {
            str(e.detail["nodeclaim"])
            for e in [*(s for _, s in fresh), *(s for _, s in pending_events)]
            if isinstance(e.detail.get("nodeclaim"), str)
        }
        rows, instances = _load_instances(session, ids, claims)
        before = dict(instances.by_id)
        for fact in facts:
            instances.add(fact)
        zones = [
            ZoneRow(z.cloud, z.account, z.zone_id, z.region, z.zone_name)
            for z in session.scalars(select(Zone))
        ]

        def place(event: Sighting) -> Mapped | str:
            return resolve(event, instances=instances, zones=zones, source=source,
                           observed_at=received_at)  # fmt: skip

        mapped_rows: list[dict[str, Any]] = []
        unmapped_reasons: Counter[str] = Counter()
        resolved_ids: list[int] = []
        refused = 0
        # Oldest first, so exposure is counted forward in time across old and new events.
        work: list[tuple[datetime, int, Any]] = [
            (as_utc(e.occurred_at), 0, (row, e)) for row, e in pending_events
        ] + [(as_utc(e.occurred_at), 1, (index, e)) for index, e in fresh]
        work.sort(key=lambda w: (w[0], w[1]))
        for _, is_new, (ref, event) in work:
            outcome = place(event) if is_new else resolve(
                event, instances=instances, zones=zones, source=ref.source,
                observed_at=received_at)  # fmt: skip
            if isinstance(outcome, str):
                if is_new:
                    unmapped_reasons[outcome] += 1
                    session.add(_unmapped_row(event, outcome, source, received_at))
                elif outcome != ref.reason:
                    ref.reason = storable(outcome)
                continue
            try:
                check_rows("fleet_events", [outcome.row], where=f"source {source}")
            except SourceDataError as exc:
                if is_new:
                    rejected.append((ref, str(exc)))
                    refused += 1
                continue
            mapped_rows.append(outcome.row)
            if not is_new:
                resolved_ids.append(ref.id)
        if resolved_ids:
            session.execute(
                delete(FleetEventUnmapped).where(FleetEventUnmapped.id.in_(resolved_ids))
            )
        if mapped_rows:
            session.execute(insert(FleetEvent), mapped_rows)
        changed = _write_instances(session, rows, before, instances, source, received_at)
        accepted = len(fresh) - refused
        run_id = None
        if accepted or resolved_ids or changed:
            run = CollectionRun(
                source=source,
                started_at=received_at,
                finished_at=received_at,
                status="ok",
                rows_written=len(mapped_rows) + sum(unmapped_reasons.values()) + changed,
                rows_new=accepted + len(resolved_ids),
                data_as_of=received_at,
            )
            session.add(run)
            session.flush()
            run_id = run.id
    return IngestReport(
        accepted=accepted,
        duplicates=duplicates,
        unmapped=sum(unmapped_reasons.values()),
        rejected=tuple(sorted(rejected)),
        resolved=len(resolved_ids),
        ignored=tuple(ignored),
        instances=changed,
        unmapped_reasons=dict(unmapped_reasons),
        run_id=run_id,
    )


def _unmapped_row(
    event: Sighting, reason: str, source: str, received_at: datetime
) -> FleetEventUnmapped:
    return FleetEventUnmapped(
        source=source,
        external_id=event.external_id,
        kind=event.kind,
        occurred_at=event.occurred_at,
        instance_id=event.instance_id,
        reason=storable(reason),
        event=_sighting_json(event),
        observed_at=received_at,
    )


def _write_instances(
    session: Session,
    rows: dict[tuple[str, str], FleetInstance],
    before: Mapping[tuple[str, str], InstanceFact],
    instances: Instances,
    source: str,
    received_at: datetime,
) -> int:
    """Store what changed about each instance; returns how many rows changed."""
    changed = 0
    for key, fact in instances.by_id.items():
        counted = instances.counted_until.get(fact.instance_id)
        row = rows.get(key)
        if row is not None and before.get(key) == fact and row.counted_until == counted:
            continue
        values = {n: getattr(fact, n) for n in _FACT_FIELDS}
        if row is None:
            row = FleetInstance(cloud=fact.cloud, instance_id=fact.instance_id)
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.counted_until = counted
        row.source = source
        row.observed_at = received_at
        changed += 1
    return changed


def refuse_unusable(documents: Any, *, received_at: datetime) -> None:
    """Raise :class:`EventDataError` when no document of the input is usable (none, or every
    one refused), so an interface can answer a bad input with one error and write nothing."""
    docs = flatten(documents)
    if not docs:
        raise EventDataError("the input holds no events")
    if len(docs) > MAX_EVENTS_PER_CALL:
        raise EventBatchTooLargeError(
            f"{len(docs)} documents in one call; the most is {MAX_EVENTS_PER_CALL}: split the input"
        )
    _, _, rejected, _ = _parse_all(docs, as_utc(received_at))
    if len(rejected) == len(docs):
        index, reason = rejected[0]
        where = f"document {index}: " if len(docs) > 1 else ""
        more = f" (and {len(docs) - 1} more refused)" if len(docs) > 1 else ""
        raise EventDataError(f"{where}{reason}{more}")
