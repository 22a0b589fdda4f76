"""The ``aws-events`` source places interruption warnings through ``ec2:DescribeInstances``.

An interruption warning names only its instance; moto runs the instance (EC2) and carries the
warning (SQS), and the drain must end with the event in the instance's (region, zone ID, type)
pool. moto's Placement has the zone name only, so its zone IDs are stored in ``zones`` first, as
the ``aws`` collector stores them; the zone-ID path is covered on a recorded-shape instance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.aws.events_source import SOURCE
from collectors.aws.instance_lookup import (
    DESCRIBE_MAX_IDS,
    LOOKUP_WINDOW,
    describe,
    instance_document,
)
from core.fleet_events import ingest_events
from core.fleet_events.parse import EventDataError, InstanceFact, parse_document
from core.settings import Settings
from core.tables import FleetEvent, FleetEventUnmapped, FleetInstance, Zone
from tests.collectors.events.test_sqs import REGION, WARNING, Sqs, run, valid_copy

# The AMI moto's EC2 backend ships for every region.
MOTO_AMI = "ami-12c6146b"
UNKNOWN = "i-0123456789abcdef0"  # well-formed, never launched in moto


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


class Cloud(Sqs):
    """moto's SQS and EC2; records each DescribeInstances call and can refuse them."""

    def __init__(self) -> None:
        super().__init__()
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.described: list[list[str]] = []
        self.deny = False

    def factory(self, service: str, region: str) -> Any:
        client = super().factory(service, region)
        client.meta.events.register(
            "before-parameter-build.ec2.DescribeInstances", self._describe_hook
        )
        return client

    def _describe_hook(self, params: dict[str, Any], **_: Any) -> None:
        self.described.append(list(params.get("InstanceIds", ())))
        if self.deny:
            error = {"Code": "UnauthorizedOperation", "Message": "not authorized"}
            raise ClientError({"Error": error}, "DescribeInstances")

    def launch(self, instance_type: str, zone: str, *, spot: bool = True) -> dict[str, Any]:
        extra: dict[str, Any] = {"InstanceMarketOptions": {"MarketType": "spot"}} if spot else {}
        (instance,) = self.ec2.run_instances(
            ImageId=MOTO_AMI,
            MinCount=1,
            MaxCount=1,
            InstanceType=instance_type,
            Placement={"AvailabilityZone": zone},
            **extra,
        )["Instances"]
        return dict(instance)

    def store_zones(self, engine: Engine, now: datetime) -> dict[str, str]:
        """moto's zone name → ID map of this account, stored in ``zones``; returns it."""
        zones = self.ec2.describe_availability_zones()["AvailabilityZones"]
        account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
        with Session(engine) as session, session.begin():
            for z in zones:
                session.add(
                    Zone(
                        cloud="aws",
                        account=account,
                        zone_id=z["ZoneId"],
                        region=REGION,
                        zone_name=z["ZoneName"],
                        source="test",
                        observed_at=now,
                    )
                )
        return {z["ZoneName"]: z["ZoneId"] for z in zones}

    def warn(self, n: int, instance_id: str, now: datetime) -> dict[str, Any]:
        """Send an interruption warning for ``instance_id`` through the queue."""
        event = valid_copy(WARNING, n, at=now - timedelta(minutes=30))
        event["region"] = REGION
        event["detail"]["instance-id"] = instance_id
        event["resources"] = [f"arn:aws:ec2:{REGION}:123456789012:instance/{instance_id}"]
        self.send(json.dumps(event))
        return event


@pytest.fixture
def cloud(aws: None) -> Cloud:
    return Cloud()


def mapped(engine: Engine) -> dict[str, tuple[str, str, str, str]]:
    """Mapped events of the source: instance id → (region, zone ID, type, kind)."""
    with Session(engine) as session:
        return {
            str(e.detail["instance_id"]): (e.region, e.zone_id, e.instance_type, e.kind)
            for e in session.scalars(select(FleetEvent).where(FleetEvent.source == SOURCE))
            if e.detail
        }


def unmapped(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {str(u.instance_id): u.reason for u in session.scalars(select(FleetEventUnmapped))}


# --- the instance form (parse) ----------------------------------------------------------------


def test_the_instance_form_records_where_an_instance_runs() -> None:
    doc = {"kind": "instance", "cloud": "aws", "instance_id": "i-0abc", "region": "us-east-2",
           "zone_id": "use2-az2", "zone_name": "us-east-2b", "account": "123456789012",
           "instance_type": "g4dn.xlarge", "capacity_type": "spot",
           "launched_at": "2026-11-28T10:00:00Z"}  # fmt: skip
    parsed = parse_document(doc, received_at=datetime(2026, 11, 28, 12, tzinfo=UTC))
    assert parsed.sightings == ()
    assert parsed.facts == (
        InstanceFact(
            instance_id="i-0abc", region="us-east-2", zone_id="use2-az2", zone_name="us-east-2b",
            account="123456789012", instance_type="g4dn.xlarge", capacity_type="spot",
            launched_at=datetime(2026, 11, 28, 10, tzinfo=UTC),
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"instance_id": None}, "instance_id is missing"),  # no instance: nothing to record
        ({"capacity_type": "preemptible"}, "capacity_type 'preemptible'"),  # not an AWS type
        ({"launched_at": "yyyy-mm-ddThh:mm:ssZ"}, "placeholder"),  # a template, not a time
        ({"zone": "us-east-2b"}, "unknown field 'zone'"),  # a typo is refused, not dropped
    ],
)
def test_a_bad_instance_document_is_refused_naming_the_field(
    change: dict[str, Any], problem: str
) -> None:
    doc = {"kind": "instance", "cloud": "aws", "instance_id": "i-0abc", **change}
    with pytest.raises(EventDataError, match=problem):
        parse_document(
            {k: v for k, v in doc.items() if v is not None},
            received_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
        )


@pytest.mark.parametrize(
    ("lifecycle", "capacity"),
    [
        ("spot", "spot"),  # a spot instance
        (None, "on-demand"),  # EC2 leaves InstanceLifecycle out for on-demand
        ("capacity-block", "reserved"),  # Karpenter's name for capacity blocks
    ],
)
def test_instance_document_of_a_described_instance(lifecycle: str | None, capacity: str) -> None:
    launched = datetime(2026, 11, 28, 10, tzinfo=UTC)
    described: dict[str, Any] = {  # the shape of a DescribeInstances instance
        "InstanceId": "i-0abc",
        "InstanceType": "g5.xlarge",
        "LaunchTime": launched,
        "Placement": {"AvailabilityZone": "us-east-2b", "AvailabilityZoneId": "use2-az2"},
    }
    if lifecycle:
        described["InstanceLifecycle"] = lifecycle
    doc = instance_document(described, region="us-east-2", account="123456789012")
    (fact,) = parse_document(doc, received_at=launched).facts
    assert (fact.zone_id, fact.zone_name) == ("use2-az2", "us-east-2b")
    assert (fact.instance_type, fact.capacity_type) == ("g5.xlarge", capacity)
    assert (fact.launched_at, fact.account) == (launched, "123456789012")


def test_an_instance_document_places_a_pending_warning_by_its_zone_id(
    engine: Engine, now: datetime
) -> None:
    """Through the ingest alone: no zones table needed when EC2 gives the zone ID."""
    warning = valid_copy(WARNING, 1, at=now - timedelta(minutes=5))
    instance = warning["detail"]["instance-id"]
    first = ingest_events(engine, [warning], source=SOURCE, received_at=now)
    assert first.unmapped == 1
    doc = {"kind": "instance", "cloud": "aws", "instance_id": instance, "region": "us-east-2",
           "zone_id": "use2-az3", "instance_type": "p3.2xlarge"}  # fmt: skip
    second = ingest_events(engine, [doc], source=SOURCE, received_at=now)
    assert (second.accepted, second.resolved) == (0, 1)
    assert mapped(engine) == {instance: ("us-east-2", "use2-az3", "p3.2xlarge", "interruption")}
    assert unmapped(engine) == {}


# --- describe: batches and unknown ids (a fake EC2 that answers like the real one) ------------


class FakeEc2:
    """Knows ``known``; refuses a call naming unknown ids with InvalidInstanceID.NotFound and,
    like EC2, names all of them (or, ``name_none``, none: a Malformed-style message)."""

    def __init__(self, known: set[str], *, name_none: bool = False) -> None:
        self.known = known
        self.name_none = name_none
        self.calls: list[list[str]] = []

    def get_paginator(self, name: str) -> FakeEc2:
        assert name == "describe_instances"
        return self

    def paginate(self, *, InstanceIds: list[str]) -> Iterator[dict[str, Any]]:
        self.calls.append(list(InstanceIds))
        assert len(InstanceIds) <= DESCRIBE_MAX_IDS
        missing = [i for i in InstanceIds if i not in self.known]
        if missing:
            ids = "" if self.name_none else ", ".join(missing)
            message = f"The instance IDs '{ids}' do not exist"
            raise ClientError(
                {"Error": {"Code": "InvalidInstanceID.NotFound", "Message": message}},
                "DescribeInstances",
            )
        instances = [{"InstanceId": i, "InstanceType": "m5.large"} for i in InstanceIds]
        yield {"Reservations": [{"OwnerId": "123456789012", "Instances": instances}]}


def test_describe_asks_1000_ids_a_call_and_drops_the_unknown_ones() -> None:
    ids = [f"i-{n:017x}" for n in range(2_500)]
    known = {ids[5], ids[1_500], ids[2_499]}
    ec2 = FakeEc2(known)
    found = describe(ec2, ids, region="us-east-2")
    assert {d["instance_id"] for d in found.documents} == known
    assert sorted(found.unknown) == sorted(set(ids) - known)
    assert max(len(c) for c in ec2.calls) == DESCRIBE_MAX_IDS
    assert len(ec2.calls) == 6, "per chunk: one refused call, one retry without the unknown ids"


def test_describe_goes_one_by_one_when_the_error_names_no_id() -> None:
    ids = ["i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c"]
    ec2 = FakeEc2({ids[1]}, name_none=True)
    found = describe(ec2, ids, region="us-east-2")
    assert [d["instance_id"] for d in found.documents] == [ids[1]]
    assert sorted(found.unknown) == [ids[0], ids[2]]
    assert ec2.calls == [ids, [ids[0]], [ids[1]], [ids[2]]]


# --- the drain on moto (both engines) -------------------------------------------------------


def test_a_warning_naming_only_its_instance_ends_in_the_instances_pool(
    engine: Engine, settings: Settings, cloud: Cloud, now: datetime
) -> None:
    zone_ids = cloud.store_zones(engine, now)
    instance = cloud.launch("g4dn.xlarge", f"{REGION}b")
    zone = instance["Placement"]["AvailabilityZone"]
    cloud.warn(1, instance["InstanceId"], now)

    result = run(engine, settings, cloud, now)

    assert result.status == "ok"
    assert mapped(engine) == {
        instance["InstanceId"]: (REGION, zone_ids[zone], "g4dn.xlarge", "interruption")
    }
    assert unmapped(engine) == {}
    assert cloud.described == [[instance["InstanceId"]]]
    with Session(engine) as session:
        row = session.scalars(select(FleetInstance)).one()
    assert (row.instance_id, row.capacity_type, row.zone_name) == (
        instance["InstanceId"],
        "spot",
        zone,
    )


def test_an_id_ec2_does_not_know_stays_unmapped_and_the_others_are_placed(
    engine: Engine, settings: Settings, cloud: Cloud, now: datetime
) -> None:
    zone_ids = cloud.store_zones(engine, now)
    spot = cloud.launch("g5.xlarge", f"{REGION}a")
    plain = cloud.launch("m5.large", f"{REGION}c", spot=False)
    for n, instance_id in enumerate([spot["InstanceId"], UNKNOWN, plain["InstanceId"]]):
        cloud.warn(n, instance_id, now)

    result = run(engine, settings, cloud, now)

    assert result.status == "ok", "an instance AWS has forgotten is no failure of the run"
    assert mapped(engine) == {
        spot["InstanceId"]: (REGION, zone_ids[f"{REGION}a"], "g5.xlarge", "interruption"),
        plain["InstanceId"]: (REGION, zone_ids[f"{REGION}c"], "m5.large", "interruption"),
    }
    reasons = unmapped(engine)
    assert list(reasons) == [UNKNOWN]
    assert "instance not seen yet" in reasons[UNKNOWN]
    assert UNKNOWN in cloud.described[0], "all three were asked in one call first"
    assert all(UNKNOWN not in call for call in cloud.described[1:]), "then without it"


def test_a_refused_lookup_makes_the_run_partial_and_a_later_run_places_the_event(
    engine: Engine, settings: Settings, cloud: Cloud, now: datetime
) -> None:
    zone_ids = cloud.store_zones(engine, now)
    instance = cloud.launch("g4dn.xlarge", f"{REGION}b")
    cloud.warn(1, instance["InstanceId"], now)
    cloud.deny = True

    first = run(engine, settings, cloud, now)

    assert first.status == "partial"
    assert first.error_message is not None
    assert "grant ec2:DescribeInstances" in first.error_message
    assert list(unmapped(engine)) == [instance["InstanceId"]]
    assert len(cloud.described) == 1, "a refused region is not asked again in the same run"
    assert cloud.waiting() == 0, "the event is stored, so its message is deleted"

    cloud.deny = False
    second = run(engine, settings, cloud, now + timedelta(minutes=5))  # the queue is empty

    assert second.status == "ok"
    assert mapped(engine) == {
        instance["InstanceId"]: (REGION, zone_ids[f"{REGION}b"], "g4dn.xlarge", "interruption")
    }
    assert unmapped(engine) == {}


def test_events_kept_unmapped_past_the_lookup_window_are_not_asked_again(
    engine: Engine, settings: Settings, cloud: Cloud, now: datetime
) -> None:
    cloud.store_zones(engine, now)
    cloud.warn(1, UNKNOWN, now)
    run(engine, settings, cloud, now)
    assert cloud.described == [[UNKNOWN]]

    run(engine, settings, cloud, now + timedelta(minutes=10))  # within the window: asked again
    run(engine, settings, cloud, now + LOOKUP_WINDOW + timedelta(minutes=1))  # past it: not

    assert cloud.described == [[UNKNOWN], [UNKNOWN]]
    assert list(unmapped(engine)) == [UNKNOWN]
