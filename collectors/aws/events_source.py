"""The ``aws-events`` source: drain an SQS queue fed by an EventBridge rule into ``fleet_events``.

- One run receives batches of up to 10 messages with long polling and stops when a receive
  comes back empty, or after ``settings.aws_events_max_messages`` messages (so a flooded queue
  cannot hold a scheduled run forever; the rest waits for the next run).
- At least once, counted once: each batch is ingested in one transaction
  (:func:`core.fleet_events.ingest_events`), and its messages are deleted only after that
  transaction commits. A crash in between redelivers them after the visibility timeout, and the
  ingest's de-duplication per (source, EventBridge ``id``) makes the replay harmless.
- Poison messages (not JSON, not a JSON object, or refused by the parser) never block the queue:
  each is moved aside with its reason, to the dead-letter queue when one is configured (the
  reason rides along as a message attribute), else into the store's ``fleet_events_rejected``
  table, and only then deleted from the source queue. The run counts them and is ``partial``.
- Events kept unmapped because nothing said where their instance runs (an interruption warning
  names only the instance) are looked up with ``ec2:DescribeInstances`` after each batch, in the
  event's region, and the answers go back through the ingest as instance documents, whose
  re-resolution places them (:mod:`collectors.aws.instance_lookup`). A failing lookup leaves the
  events unmapped and makes the run ``partial``; it never stops the drain.
- Bodies are EventBridge events, raw or wrapped by SNS (``{"Type": "Notification", "Message":
  "<the event as a JSON string>"}``) when the rule targets a topic the queue subscribes to.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collectors.aws.clients import (
    AUTH_ERROR_CODES,
    aws_client_factory,
    error_code,
    one_line,
    raise_if_credentials,
)
from collectors.aws.instance_lookup import LOOKUP_WINDOW, describe, pending_instances
from collectors.base import CollectContext
from core.clock import utcnow
from core.errors import ConfigError, SourceDataError, SpotselError
from core.fleet_events import MAX_EVENTS_PER_CALL, IngestReport, ingest_events
from core.limits import shorten, storable
from core.runs import CollectionResult, CommittedRows, RegionError, TableRows
from core.settings import Settings
from core.store import upsert_rows

__all__ = [
    "AWS_EVENTS_SOURCE",
    "SOURCE",
    "AwsEventsSource",
    "DrainReport",
    "Received",
    "check_events_options",
    "decode_body",
    "queue_region",
]

log = logging.getLogger(__name__)

SOURCE = "aws-events"
# ReceiveMessage, DeleteMessageBatch and SendMessageBatch take at most 10 messages (SQS API
# reference).
SQS_BATCH = 10
# A received batch stays hidden this long: ample for one ingest transaction, and the delay
# before a batch a crash left undeleted is delivered again.
VISIBILITY_TIMEOUT_S = 120
# The message attribute a dead-lettered message carries its reason in, and the reason's
# longest form (SQS allows 256 KiB per message; a reason is a line, not a document).
REASON_ATTRIBUTE = "spotsel-reject-reason"
QUEUE_ATTRIBUTE = "spotsel-source-queue"
REASON_CHARS = 1_000
# The region in an SQS endpoint host: sqs.<region>.amazonaws.com, sqs.<region>.amazonaws.com.cn,
# the legacy <region>.queue.amazonaws.com, and VPC endpoints (vpce-….sqs.<region>.vpce.…).
_HOST_REGION = re.compile(
    r"(?:^|\.)(?:sqs\.)?(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+)\."
    r"(?:vpce\.)?(?:queue\.)?amazonaws\.com(?:\.cn)?$"
)
_QUEUE_PATH = re.compile(r"^/\d{12}/[A-Za-z0-9_-]{1,80}(?:\.fifo)?$")

Ingest = Callable[..., IngestReport]


def queue_region(url: str, *, what: str = "queue") -> str:
    """The AWS region of an SQS queue URL (``https://sqs.us-east-1.amazonaws.com/ACCOUNT/NAME``);
    a URL of another shape is a :class:`ConfigError` naming ``what``."""
    parsed = urlparse(url)
    if parsed.scheme != "https":
        raise ConfigError(f"{what} URL must be https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, got "
                          f"{shorten(url)}")  # fmt: skip
    match = _HOST_REGION.search(parsed.hostname or "")
    if match is None:
        raise ConfigError(f"{what} URL {shorten(url)} names no AWS region in its host "
                          "(expected sqs.REGION.amazonaws.com)")  # fmt: skip
    if not _QUEUE_PATH.match(parsed.path):
        raise ConfigError(f"{what} URL {shorten(url)} must end in /ACCOUNT-ID/QUEUE-NAME")
    return match.group("region")


def _urls(settings: Settings, options: dict[str, Any]) -> tuple[str, str | None]:
    queue = options.get("queue_url") or settings.aws_events_queue_url
    if not queue:
        raise ConfigError("no queue to drain: give --queue-url or set SPOTSEL_AWS_EVENTS_QUEUE_URL")
    dead = options.get("dead_letter_url") or settings.aws_events_dead_letter_url
    queue_region(str(queue))
    if dead:
        queue_region(str(dead), what="dead-letter queue")
        if str(dead) == str(queue):
            raise ConfigError("the dead-letter queue must not be the queue it drains")
    return str(queue), str(dead) if dead else None


def check_events_options(settings: Settings, options: dict[str, Any]) -> None:
    """Refuse, before a run is recorded, a missing or malformed queue URL (the user's typo)."""
    _urls(settings, options)


# --- messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One received message: what deleting it needs, and its body."""

    message_id: str
    receipt_handle: str
    body: str


def decode_body(body: str) -> dict[str, Any] | str:
    """The event a message body holds (unwrapping SNS), or the reason it holds none."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return f"body is not JSON ({type(exc).__name__}: {exc})"
    if (
        isinstance(document, dict)
        and document.get("Type") == "Notification"
        and isinstance(document.get("Message"), str)
    ):
        try:
            document = json.loads(document["Message"])
        except ValueError as exc:
            return f"SNS notification's Message is not JSON ({type(exc).__name__}: {exc})"
    if not isinstance(document, dict):
        return f"not an event: a JSON {type(document).__name__}, expected an object"
    return document


def _receive(sqs: Any, url: str, *, count: int, wait: int, visibility: int) -> list[Received]:
    answer = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        WaitTimeSeconds=wait,
        VisibilityTimeout=visibility,
    )
    return [
        Received(str(m["MessageId"]), str(m["ReceiptHandle"]), str(m.get("Body", "")))
        for m in answer.get("Messages", ())
    ]


def _delete(sqs: Any, url: str, messages: Sequence[Received]) -> list[str]:
    """Delete ``messages``; returns the IDs SQS did not delete (redelivered, then duplicates)."""
    if not messages:
        return []
    entries = [{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)]
    answer = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return [messages[int(f["Id"])].message_id for f in answer.get("Failed", ())]


def _send_aside(
    sqs: Any, dead_url: str, source_url: str, poison: Sequence[tuple[Received, str]]
) -> list[Received]:
    """Send poison messages to the dead-letter queue with their reasons; returns those sent."""
    if not poison:
        return []
    fifo = dead_url.endswith(".fifo")
    entries = []
    for i, (message, reason) in enumerate(poison):
        entry: dict[str, Any] = {
            "Id": str(i),
            "MessageBody": message.body or "(empty body)",
            "MessageAttributes": {
                REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason},
                QUEUE_ATTRIBUTE: {"DataType": "String", "StringValue": source_url},
            },
        }
        if fifo:  # a FIFO dead-letter queue needs a group; the message ID dedups a re-send
            entry |= {"MessageGroupId": SOURCE, "MessageDeduplicationId": message.message_id}
        entries.append(entry)
    answer = sqs.send_message_batch(QueueUrl=dead_url, Entries=entries)
    return [poison[int(s["Id"])][0] for s in answer.get("Successful", ())]


def _keep_rejected(
    engine: Engine, source_url: str, poison: Sequence[tuple[Received, str]], *, now: datetime
) -> None:
    """Keep poison messages in ``fleet_events_rejected`` (one row per message ID: a redelivered
    message is kept once), in a transaction that commits before they are deleted."""
    rows = [
        {
            "source": SOURCE,
            "external_id": message.message_id,
            "origin": source_url,
            "reason": reason,
            "body": message.body,
            "received_at": now,
        }
        for message, reason in poison
    ]
    with Session(engine) as session, session.begin():
        upsert_rows(session, "fleet_events_rejected", rows)


# --- the run ------------------------------------------------------------------------------


@dataclass
class DrainReport:
    """What one run did to the queue, summed over its batches."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    unmapped: int = 0
    poison: int = 0
    dead_lettered: int = 0
    kept: int = 0
    # Instances described by EC2, ids it does not know, and unmapped events placed this run.
    described: int = 0
    unknown: int = 0
    resolved: int = 0
    reasons: list[str] = field(default_factory=list)
    undeleted: list[str] = field(default_factory=list)

    def add(self, report: IngestReport) -> None:
        self.accepted += report.accepted
        self.duplicates += report.duplicates
        self.unmapped += report.unmapped
        self.resolved += report.resolved

    def committed(self, observed_at: datetime | None) -> CommittedRows:
        # Accepted events are new ones (mapped or kept unmapped); duplicates were stored before.
        return CommittedRows(
            written=self.accepted + self.duplicates,
            new=self.accepted,
            observed_at=observed_at if self.accepted else None,
        )

    def errors(self, dead_url: str | None) -> list[RegionError]:
        errors = []
        if self.poison:
            where = dead_url if dead_url else "the store (fleet_events_rejected)"
            errors.append(
                RegionError(
                    "*",
                    "PoisonMessages",
                    f"{self.poison} message(s) moved aside to {where}; first: {self.reasons[0]}",
                )
            )
        if self.undeleted:
            errors.append(
                RegionError(
                    "*",
                    "DeleteFailed",
                    f"{len(self.undeleted)} stored message(s) not deleted (they come back and "
                    f"count as duplicates): {', '.join(self.undeleted[:3])}",
                )
            )
        return errors


def _ingest_batch(
    ingest: Ingest, engine: Engine, documents: list[dict[str, Any]], *, now: datetime
) -> tuple[list[IngestReport], dict[int, str]]:
    """Ingest one batch: the reports and the refusals by index. A batch the ingest refuses as
    a whole is retried event by event, so one bad event cannot hold back the others."""
    try:
        report = ingest(engine, documents, source=SOURCE, received_at=now)
    except SourceDataError as exc:
        if len(documents) == 1:
            return [], {0: one_line(exc)}
        reports: list[IngestReport] = []
        refused: dict[int, str] = {}
        for index, document in enumerate(documents):
            single, bad = _ingest_batch(ingest, engine, [document], now=now)
            reports += single
            if bad:  # one document: at most one refusal
                refused[index] = next(iter(bad.values()))
        return reports, refused
    return [report], dict(report.rejected)


@dataclass(frozen=True)
class AwsEventsSource:
    """The fleet's own EC2 events from an SQS queue an EventBridge rule feeds.

    Options: ``queue_url`` (default ``settings.aws_events_queue_url``) and ``dead_letter_url``
    (default ``settings.aws_events_dead_letter_url``; none = poison kept in the store).
    """

    name: str = SOURCE
    description: str = "AWS fleet events: spot interruptions, rebalances, state changes from SQS"
    simulated: bool = False
    option_names: frozenset[str] = frozenset({"queue_url", "dead_letter_url"})
    visibility_timeout_s: int = VISIBILITY_TIMEOUT_S
    ingest: Ingest = ingest_events

    def collect(self, ctx: CollectContext) -> CollectionResult:
        queue_url, dead_url = _urls(ctx.settings, ctx.options)
        if ctx.engine is None:
            raise ConfigError("the aws-events source stores as it drains: it needs the store")
        factory = aws_client_factory(ctx)
        sqs = factory("sqs", queue_region(queue_url))
        dead = factory("sqs", queue_region(dead_url)) if dead_url else None
        started = utcnow()
        limit = ctx.settings.aws_events_max_messages
        drained = DrainReport()
        errors: list[RegionError] = []
        # Ids described this run (each at most once) and regions whose lookup failed.
        looked_up: set[str] = set()
        lookup_errors: dict[str, RegionError] = {}
        ctx.progress.stage(f"draining {queue_url}", None)  # its length is unknown up front
        try:
            while drained.received < limit:
                batch = _receive(
                    sqs,
                    queue_url,
                    count=min(SQS_BATCH, limit - drained.received),
                    wait=ctx.settings.aws_events_wait_seconds,
                    visibility=self.visibility_timeout_s,
                )
                if not batch:
                    break
                drained.received += len(batch)
                self._handle(ctx.engine, sqs, dead, queue_url, dead_url, batch, drained, ctx.now)
                self._look_up(ctx.engine, factory, drained, looked_up, lookup_errors, ctx.now)
                ctx.progress.advance(len(batch))
        except (ClientError, BotoCoreError) as exc:
            raise_if_credentials(exc, where="sqs")
            if not drained.received:
                raise SpotselError(
                    f"SQS {queue_url} failed: {error_code(exc)}: {one_line(exc)}"
                ) from exc
            # What was stored and deleted stands; the rest waits for the next run.
            errors.append(
                RegionError(
                    "*",
                    error_code(exc),
                    f"SQS stopped the drain after {drained.received} message(s): "
                    f"{error_code(exc)}: {one_line(exc)} (the rest waits for the next run)",
                )
            )
        # Also after an empty drain: events kept unmapped by an earlier run are asked again.
        self._look_up(ctx.engine, factory, drained, looked_up, lookup_errors, ctx.now)
        log.info(
            "aws-events drained",
            extra={
                "queue": queue_url,
                "received": drained.received,
                "accepted": drained.accepted,
                "duplicates": drained.duplicates,
                "unmapped": drained.unmapped,
                "poison": drained.poison,
                "described": drained.described,
                "unknown_instances": drained.unknown,
                "resolved": drained.resolved,
            },
        )
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=(),
            rows=TableRows(),
            errors=(*drained.errors(dead_url), *errors, *lookup_errors.values()),
            committed=drained.committed(ctx.now),
        )

    def _look_up(
        self,
        engine: Engine,
        factory: Callable[[str, str], Any],
        drained: DrainReport,
        looked_up: set[str],
        failed: dict[str, RegionError],
        now: datetime,
    ) -> None:
        """Describe the instances of this source's unmapped events not yet asked about this
        run, per region, and ingest what EC2 says so the ingest places the pending events."""
        pending = pending_instances(engine, source=SOURCE, since=now - LOOKUP_WINDOW)
        for region, ids in pending.items():
            ask = [i for i in ids if i not in looked_up]
            if region in failed or not ask:
                continue
            looked_up.update(ask)
            try:
                found = describe(factory("ec2", region), ask, region=region)
            except (ClientError, BotoCoreError) as exc:
                grant = (
                    " (grant ec2:DescribeInstances)" if error_code(exc) in AUTH_ERROR_CODES else ""
                )
                failed[region] = RegionError(
                    region,
                    error_code(exc),
                    f"ec2:DescribeInstances failed{grant}: {error_code(exc)}: {one_line(exc)}; "
                    f"events of {len(ask)} instance(s) stay unmapped until a later run",
                )
                continue
            drained.described += len(found.documents)
            drained.unknown += len(found.unknown)
            if found.unknown:
                log.info(
                    "aws-events instances unknown to EC2 (ended over an hour ago?) stay unmapped",
                    extra={"region": region, "instances": found.unknown[:10]},
                )
            for start in range(0, len(found.documents), MAX_EVENTS_PER_CALL):
                chunk = found.documents[start : start + MAX_EVENTS_PER_CALL]
                report = self.ingest(engine, chunk, source=SOURCE, received_at=now)
                drained.resolved += report.resolved
                for index, reason in report.rejected:
                    log.warning(
                        "aws-events instance document refused",
                        extra={"instance": chunk[index].get("instance_id"), "reason": reason},
                    )

    def _handle(
        self,
        engine: Engine,
        sqs: Any,
        dead: Any,
        queue_url: str,
        dead_url: str | None,
        batch: list[Received],
        drained: DrainReport,
        now: datetime,
    ) -> None:
        """Store one batch, move its poison aside, then delete what is safely kept."""
        events: list[tuple[Received, dict[str, Any]]] = []
        poison: list[tuple[Received, str]] = []
        for message in batch:
            decoded = decode_body(message.body)
            if isinstance(decoded, str):
                poison.append((message, decoded))
            else:
                events.append((message, decoded))
        if events:
            reports, refused = _ingest_batch(self.ingest, engine, [e for _, e in events], now=now)
            for report in reports:
                drained.add(report)
            poison += [(events[i][0], f"refused: {r}") for i, r in sorted(refused.items())]
        poison = [(m, storable(r, max_chars=REASON_CHARS)) for m, r in poison]
        moved: list[Received] = []
        if poison and dead is not None and dead_url is not None:
            moved = _send_aside(dead, dead_url, queue_url, poison)
            drained.dead_lettered += len(moved)
        elif poison:
            _keep_rejected(engine, queue_url, poison, now=now)
            moved = [m for m, _ in poison]
            drained.kept += len(moved)
        drained.poison += len(moved)
        drained.reasons += [r for m, r in poison if m in moved]
        for message, reason in poison:
            if message not in moved:
                log.warning(
                    "aws-events poison message not moved aside; it stays in the queue",
                    extra={"message_id": message.message_id, "reason": reason},
                )
                continue
            log.warning(
                "aws-events poison message moved aside",
                extra={
                    "message_id": message.message_id,
                    "reason": reason,
                    "kept": dead_url or "store",
                },
            )
        # Never delete a poison message that was not moved aside (a failed send retries later).
        keep_ids = {m.message_id for m, _ in poison} - {m.message_id for m in moved}
        drained.undeleted += _delete(
            sqs, queue_url, [m for m in batch if m.message_id not in keep_ids]
        )


AWS_EVENTS_SOURCE = AwsEventsSource()
