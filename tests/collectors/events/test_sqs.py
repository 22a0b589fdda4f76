"""The ``aws-events`` source against moto's SQS: drain, crash between commit and delete, poison.

Payloads are the AWS documentation examples in ../shared/data/interruption-events: the
interruption warning and rebalance recommendation are templates (their ``time`` is the
placeholder "yyyy-mm-ddThh:mm:ssZ"), so valid copies are built here with real times, ids and
instance actions; one untouched template goes in too and must come out as poison.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors import CollectContext, get_source
from collectors.aws.clients import boto_client_config
from collectors.aws.events_source import (
    AWS_EVENTS_SOURCE,
    REASON_ATTRIBUTE,
    SOURCE,
    AwsEventsSource,
    check_events_options,
    decode_body,
    queue_region,
)
from collectors.runner import SourceFailedError, run_source
from core.errors import ConfigError, SpotselError
from core.settings import Settings
from core.tables import CollectionRun, FleetEvent, FleetEventRejected, FleetEventUnmapped

EXAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "interruption-events"
EXAMPLES /= "aws-docs-examples"
WARNING = "eventbridge_ec2-spot-instance-interruption-warning.json"
REBALANCE = "eventbridge_ec2-instance-rebalance-recommendation.json"
STATE_CHANGE = "eventbridge_ec2-instance-state-change-notification_pending.json"
STORED = (FleetEvent, FleetEventUnmapped)  # an event is stored mapped or kept unmapped
PLACEHOLDER_TIME = "yyyy-mm-ddThh:mm:ssZ"
REGION = "us-east-2"  # the examples' region
# Short enough that a test waits for a redelivery, long enough for one ingest transaction.
TEST_VISIBILITY_S = 2


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return document


def valid_copy(name: str, n: int, *, at: datetime) -> dict[str, Any]:
    """The template ``name`` made a real event: its own id, instance and time."""
    event = copy.deepcopy(example(name))
    assert event["time"] == PLACEHOLDER_TIME, "the example is no longer a template"
    instance = f"i-{n:017x}"
    event["id"] = f"{n:08d}-1234-1234-1234-123456789012"
    event["time"] = (at + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event["resources"] = [f"arn:aws:ec2:{event['region']}:123456789012:instance/{instance}"]
    event["detail"]["instance-id"] = instance
    if "instance-action" in event["detail"]:
        event["detail"]["instance-action"] = "terminate"
    return event


def real_events(now: datetime, count: int) -> list[dict[str, Any]]:
    """``count`` valid interruption warnings and rebalance recommendations, alternating."""
    names = [WARNING, REBALANCE]
    return [valid_copy(names[n % 2], n, at=now - timedelta(hours=2)) for n in range(count)]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


class Sqs:
    """Real boto3 SQS clients on moto; ``fail_deletes`` makes the next deletes raise."""

    def __init__(self) -> None:
        self.client = boto3.client("sqs", region_name=REGION)
        self.queue = self.client.create_queue(QueueName="spot-events")["QueueUrl"]
        self.fail_deletes = 0
        self.crash: Any = RuntimeError

    def factory(self, service: str, region: str) -> Any:
        client = boto3.client(service, region_name=region, config=boto_client_config())
        client.meta.events.register("before-call.sqs.DeleteMessageBatch", self._delete_hook)
        return client

    def _delete_hook(self, **_: Any) -> None:
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise self.crash("the process died between the commit and the delete")

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.client.send_message(QueueUrl=self.queue, MessageBody=body)

    def waiting(self, url: str | None = None) -> int:
        """Messages in the queue, visible or in flight (none left = nothing to redeliver)."""
        attrs = self.client.get_queue_attributes(
            QueueUrl=url or self.queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def sqs(aws: None) -> Sqs:
    return Sqs()


def run(
    engine: Engine,
    settings: Settings,
    sqs: Sqs,
    now: datetime,
    source: AwsEventsSource | None = None,
    **options: Any,
) -> CollectionRun:
    ctx = CollectContext(
        settings=settings.model_copy(
            update={"aws_events_queue_url": sqs.queue, "aws_events_wait_seconds": 0}
        ),
        now=now,
        options=options,
        aws_client_factory=sqs.factory,
    )
    return run_source(
        engine, source or AwsEventsSource(visibility_timeout_s=TEST_VISIBILITY_S), ctx
    )


def stored(engine: Engine) -> dict[str, int]:
    """Stored rows of this source per EventBridge event id, mapped or kept unmapped (the
    ingest's external id names the event id; a row of any other id fails the comparison)."""
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for table in STORED:
            for ext in session.scalars(select(table.external_id).where(table.source == SOURCE)):
                key = ext.rsplit(":", 1)[-1]
                counts[key] = counts.get(key, 0) + 1
    return counts


def rejected(engine: Engine) -> list[FleetEventRejected]:
    with Session(engine) as session:
        return list(session.scalars(select(FleetEventRejected)))


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.us-east-1.amazonaws.com/123456789012/q", "us-east-1"),  # the usual form
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),  # China
        ("https://eu-west-1.queue.amazonaws.com/123456789012/q.fifo", "eu-west-1"),  # legacy
        ("https://sqs.us-gov-west-1.amazonaws.com/123456789012/q", "us-gov-west-1"),  # GovCloud
    ],
)
def test_queue_region_of_each_endpoint_form(url: str, region: str) -> None:
    assert queue_region(url) == region


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://sqs.us-east-1.amazonaws.com/123456789012/q", "https://"),  # not TLS
        ("https://example.com/123456789012/q", "names no AWS region"),  # not SQS
        ("https://sqs.us-east-1.amazonaws.com/q", "ACCOUNT-ID/QUEUE-NAME"),  # no account
        ("arn:aws:sqs:us-east-1:123456789012:q", "https://"),  # an ARN, not a URL
    ],
)
def test_a_malformed_queue_url_is_one_clear_error(
    url: str, problem: str, settings: Settings
) -> None:
    with pytest.raises(ConfigError, match=problem):
        check_events_options(settings, {"queue_url": url})


def test_no_queue_and_a_dead_letter_queue_equal_to_the_queue_are_refused(
    settings: Settings,
) -> None:
    with pytest.raises(ConfigError, match="SPOTSEL_AWS_EVENTS_QUEUE_URL"):
        check_events_options(settings, {})
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    with pytest.raises(ConfigError, match="must not be the queue"):
        check_events_options(settings, {"queue_url": url, "dead_letter_url": url})


def test_decode_body_unwraps_sns_and_names_what_is_not_an_event() -> None:
    event = example(STATE_CHANGE)
    assert decode_body(json.dumps(event)) == event
    wrapped = {"Type": "Notification", "MessageId": "m", "Message": json.dumps(event)}
    assert decode_body(json.dumps(wrapped)) == event
    assert "not JSON" in str(decode_body("<xml/>"))
    assert "JSON list" in str(decode_body("[1, 2]"))
    bad_sns = {"Type": "Notification", "Message": "plain text"}
    assert "Message is not JSON" in str(decode_body(json.dumps(bad_sns)))


def test_the_source_is_registered_and_not_scheduled_by_default(settings: Settings) -> None:
    assert get_source(SOURCE) is AWS_EVENTS_SOURCE
    assert SOURCE not in settings.schedule


# --- draining (both engines) ----------------------------------------------------------------


def test_drain_stores_real_events_and_moves_the_template_aside(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    events = real_events(now, 23)  # three receives: 10, 10, 3
    template = (EXAMPLES / WARNING).read_text()  # untouched: the placeholder time
    sqs.send(*(json.dumps(e) for e in events[:12]), template, *(json.dumps(e) for e in events[12:]))
    sqs.send(json.dumps(example(STATE_CHANGE)))  # a real, concrete event: a launch, no sighting

    result = run(engine, settings, sqs, now)

    assert stored(engine) == {e["id"]: 1 for e in events}
    assert sqs.waiting() == 0, "everything stored or moved aside is deleted"
    assert result.status == "partial", "a poison message makes the run partial"
    assert result.rows_new == len(events)
    assert result.error_message is not None
    assert "1 message(s) moved aside" in result.error_message
    (kept,) = rejected(engine)
    assert kept.body == template
    assert "placeholder" in kept.reason
    assert "time" in kept.reason
    assert kept.origin == sqs.queue


def test_sns_wrapped_events_are_stored(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    events = real_events(now, 3)
    sqs.send(*(json.dumps({"Type": "Notification", "Message": json.dumps(e)}) for e in events))
    result = run(engine, settings, sqs, now)
    assert (result.status, result.rows_new) == ("ok", len(events))
    assert stored(engine) == {e["id"]: 1 for e in events}


def test_empty_queue_is_an_ok_run_with_no_rows(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    result = run(engine, settings, sqs, now)
    assert (result.status, result.rows_written, result.rows_new) == ("ok", 0, 0)
    assert result.error_message is None
    assert result.data_as_of is None


def _client_error(*_: object) -> ClientError:
    return ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "Delete")


@pytest.mark.parametrize(
    ("crash", "run_fails"),
    [(RuntimeError, True), (_client_error, False)],
    ids=["the process dies (unexpected error)", "SQS refuses the delete (partial run)"],
)
def test_crash_between_commit_and_delete_loses_nothing_and_counts_nothing_twice(
    crash: Any, run_fails: bool, engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    events = real_events(now, 15)
    sqs.send(*(json.dumps(e) for e in events))
    sqs.fail_deletes, sqs.crash = 1, crash

    if run_fails:
        with pytest.raises(SourceFailedError):
            run(engine, settings, sqs, now)
    else:
        failed = run(engine, settings, sqs, now)
        assert failed.status == "partial"
        assert failed.rows_new == 10
        assert failed.error_message is not None
        assert "InternalError" in failed.error_message
    first = stored(engine)
    assert first == {e["id"]: 1 for e in events[:10]}, "the first batch committed, then died"
    assert sqs.waiting() == len(events), "nothing deleted: the batch comes back"

    time.sleep(TEST_VISIBILITY_S + 0.5)  # the visibility timeout lapses: SQS redelivers
    again = run(engine, settings, sqs, now)

    assert stored(engine) == {e["id"]: 1 for e in events}, "all stored, each once"
    assert again.rows_new == len(events) - 10, "the redelivered batch counts as duplicates"
    assert again.rows_written == len(events)
    assert sqs.waiting() == 0
    with Session(engine) as session:
        rows = [session.scalar(select(func.count()).select_from(t)) or 0 for t in STORED]
    assert sum(rows) == len(events), "no row twice"


def test_a_run_stops_after_the_most_messages_per_run(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    events = real_events(now, 14)
    sqs.send(*(json.dumps(e) for e in events))
    limited = settings.model_copy(update={"aws_events_max_messages": 11})
    first = run(engine, limited, sqs, now)
    assert first.rows_new == 11
    assert sqs.waiting() == len(events) - 11
    second = run(engine, limited, sqs, now)
    assert second.rows_new == len(events) - 11
    assert sqs.waiting() == 0
    assert stored(engine) == {e["id"]: 1 for e in events}


def test_poison_goes_to_the_dead_letter_queue_with_its_reason(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    dead = sqs.client.create_queue(QueueName="spot-events-rejected")["QueueUrl"]
    good = real_events(now, 2)
    poison = {
        "not json": "interruption!",
        "a list": "[1, 2]",
        "sns non-json": json.dumps({"Type": "Notification", "Message": "hello"}),
        "template": (EXAMPLES / REBALANCE).read_text(),
    }
    sqs.send(*poison.values(), *(json.dumps(e) for e in good))

    result = run(engine, settings, sqs, now, dead_letter_url=dead)

    assert stored(engine) == {e["id"]: 1 for e in good}
    assert sqs.waiting() == 0
    assert rejected(engine) == [], "moved to the queue, not kept in the store"
    assert result.status == "partial"
    assert result.rows_new == len(good)
    assert result.error_message is not None
    assert f"{len(poison)} message(s) moved aside to {dead}" in result.error_message
    moved = sqs.client.receive_message(
        QueueUrl=dead, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    reasons = {m["Body"]: m["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] for m in moved}
    assert set(reasons) == set(poison.values())
    assert "not JSON" in reasons[poison["not json"]]
    assert "JSON list" in reasons[poison["a list"]]
    assert "Message is not JSON" in reasons[poison["sns non-json"]]
    assert "placeholder" in reasons[poison["template"]]


def test_a_redelivered_poison_message_is_kept_once(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    sqs.send("not an event")
    sqs.fail_deletes = 1
    with pytest.raises(SourceFailedError):
        run(engine, settings, sqs, now)
    assert len(rejected(engine)) == 1, "kept before the delete was tried"
    time.sleep(TEST_VISIBILITY_S + 0.5)
    result = run(engine, settings, sqs, now)
    assert len(rejected(engine)) == 1
    assert sqs.waiting() == 0
    assert result.status == "partial"


def test_an_unknown_queue_fails_the_run_with_one_line(
    engine: Engine, settings: Settings, sqs: Sqs, now: datetime
) -> None:
    sqs.queue = sqs.queue.replace("spot-events", "no-such-queue")
    with pytest.raises(SpotselError, match=r"QueueDoesNotExist|NonExistentQueue"):
        run(engine, settings, sqs, now)
    with Session(engine) as session:
        (recorded,) = session.scalars(select(CollectionRun).where(CollectionRun.source == SOURCE))
    assert recorded.status == "failed"
