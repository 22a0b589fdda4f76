"""`spotsel collect aws-events` end to end: the CLI's flags and settings reach the source, which
builds its own boto3 clients (the production factory, the standard credential chain) on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from collectors.aws.events_source import REASON_ATTRIBUTE, SOURCE
from core.db import make_engine
from core.settings import Settings
from core.tables import FleetEventRejected
from spotsel.cli import app
from spotsel.state import AppState
from tests.collectors.events.test_sqs import EXAMPLES, REBALANCE, REGION, real_events

runner = CliRunner()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def test_collect_aws_events_from_the_setting_then_with_a_dead_letter_flag(
    aws: Any, settings: Settings
) -> None:
    queue = aws.create_queue(QueueName="fleet")["QueueUrl"]
    dead = aws.create_queue(QueueName="fleet-rejected")["QueueUrl"]
    configured = settings.model_copy(
        update={"aws_events_queue_url": queue, "aws_events_wait_seconds": 0}
    )
    _invoke(configured, "db", "upgrade")
    events = real_events(datetime.now(UTC), 4)
    template = (EXAMPLES / REBALANCE).read_text()
    for body in (*(json.dumps(e) for e in events[:2]), template):
        aws.send_message(QueueUrl=queue, MessageBody=body)

    first = _invoke(configured, "collect", "aws-events")  # the queue from the setting

    assert first.exit_code == 0, first.output
    assert f"{SOURCE}: partial — 2 rows written, 2 new" in first.stdout
    assert "1 message(s) moved aside to the store" in first.output
    # The template again, spaced differently: told apart from the first wherever it lands.
    for body in (*(json.dumps(e) for e in events[2:]), template.replace("  ", " ")):
        aws.send_message(QueueUrl=queue, MessageBody=body)

    second = _invoke(configured, "collect", "aws-events", "--dead-letter-url", dead)

    assert second.exit_code == 0, second.output
    assert f"{SOURCE}: partial — 2 rows written, 2 new" in second.stdout
    moved = aws.receive_message(QueueUrl=dead, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in moved] == [template.replace("  ", " ")]
    assert "placeholder" in moved[0]["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]
    third = _invoke(configured, "collect", "aws-events", "--queue-url", queue)
    assert f"{SOURCE}: ok — 0 rows written, 0 new" in third.stdout
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            kept = list(session.scalars(select(FleetEventRejected.body)))
    finally:
        engine.dispose()
    assert kept == [template], "the store keeps only what no dead-letter queue took"
