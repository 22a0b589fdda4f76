"""Fleet event ingest on both engines: every real example, dedup, mapping, kept unmapped events."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.fleet_events import MAX_EVENTS_PER_CALL, EventDataError, ingest_events, refuse_unusable
from core.tables import CollectionRun, FleetEvent, FleetEventUnmapped, FleetInstance, Zone
from tests.outputs.helpers import REPO

DATA = REPO.parent / "shared" / "data"
AWS_EXAMPLES = DATA / "interruption-events" / "aws-docs-examples"
KARPENTER = DATA / "karpenter-events"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# Why each real file is refused or carries no event: the documented reasons (SOURCE.md).
REFUSED = {
    "eventbridge_ec2-spot-instance-interruption-warning.json": "documentation placeholder",
    "eventbridge_ec2-instance-rebalance-recommendation.json": "documentation placeholder",
    "imds_spot_instance-action_stop.json": "names no instance",
    "imds_spot_instance-action_terminate.json": "names no instance",
    # The annotated API reference has no metadata timestamps (no lifetime to count).
    "docs_nodeclaims_nodeclaim_annotated-example.yaml": "creationTimestamp is missing",
}
# Files that tell where an instance runs (launch events, Karpenter's launch log line).
INSTANCE_FACTS = {
    "eventbridge_ec2-fleet-instance-change_launched.json",
    "eventbridge_ec2-spot-fleet-instance-change_launched.json",
    "eventbridge_ec2-instance-state-change-notification_pending.json",
    "docs_nodeclaims_log_4_launched-nodeclaim.json",
}


def _load(path: Path) -> Any:
    text = path.read_text()
    return yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)


def _real_files() -> list[Path]:
    files = sorted(AWS_EXAMPLES.glob("*.json")) + sorted(
        p for p in KARPENTER.iterdir() if p.suffix in (".json", ".yaml")
    )
    assert len(files) >= 16 + 7, "the shared data directories moved"
    return files


def _count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: p.name)
def test_every_real_example_parses_or_is_refused_for_its_documented_reason(
    engine: Engine, path: Path
) -> None:
    report = ingest_events(engine, _load(path), source="docs", received_at=NOW)
    if path.name in REFUSED:
        [(index, reason)] = report.rejected
        assert index == 0
        assert REFUSED[path.name] in reason, reason
        assert "\n" not in reason
        with pytest.raises(EventDataError, match=REFUSED[path.name]):
            refuse_unusable(_load(path), received_at=NOW)
        assert _count(engine, FleetInstance) == 0
        return
    assert report.rejected == ()
    if path.name in INSTANCE_FACTS:
        assert report.instances == 1
        assert _count(engine, FleetInstance) == 1
    else:
        [(_, reason)] = report.ignored
        assert reason


def test_kubectl_describe_text_is_not_json() -> None:
    """The .txt files are kubectl's human format; the import refuses them as not JSON."""
    for path in KARPENTER.glob("*.txt"):
        with pytest.raises(json.JSONDecodeError):
            json.loads(path.read_text())


def _real_warning(instance: str, at: datetime, event_id: str) -> dict[str, Any]:
    """The documented interruption warning with its placeholders filled in."""
    path = AWS_EXAMPLES / "eventbridge_ec2-spot-instance-interruption-warning.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    doc["time"] = at.isoformat().replace("+00:00", "Z")
    doc["id"] = event_id
    doc["detail"] = {"instance-id": instance, "instance-action": "terminate"}
    doc["resources"] = [f"arn:aws:ec2:us-east-2:123456789012:instance/{instance}"]
    return doc


def test_the_action_placeholder_is_refused_by_name(engine: Engine) -> None:
    doc = _real_warning("i-0abc", NOW, "e-1")
    doc["detail"]["instance-action"] = "action"
    report = ingest_events(engine, doc, source="eb", received_at=NOW)
    [(_, reason)] = report.rejected
    assert "detail.instance-action 'action'" in reason
    assert _count(engine, FleetEvent) + _count(engine, FleetEventUnmapped) == 0


def _normalised(i: int, **over: Any) -> dict[str, Any]:
    return {
        "cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
        "instance_type": "g4dn.xlarge", "kind": "interruption",
        "occurred_at": (NOW - timedelta(hours=i)).isoformat(), "instance_hours": 2.0, **over,
    }  # fmt: skip


def test_the_same_twenty_events_twice_land_once(engine: Engine) -> None:
    events = [_normalised(i) for i in range(20)]
    first = ingest_events(engine, events, source="api", received_at=NOW)
    assert (first.accepted, first.duplicates, first.unmapped) == (20, 0, 0)
    runs = _count(engine, CollectionRun)
    again = ingest_events(
        engine, copy.deepcopy(events), source="api", received_at=NOW + timedelta(1)
    )
    assert (again.accepted, again.duplicates) == (0, 20)
    assert again.run_id is None, "a replay records no run (the snapshot stays)"
    assert _count(engine, FleetEvent) == 20
    assert _count(engine, CollectionRun) == runs


def _nodeclaim(instance: str, *, deleted: datetime | None = None) -> dict[str, Any]:
    """The docs' annotated NodeClaim, with the metadata a live cluster adds."""
    doc: dict[str, Any] = _load(KARPENTER / "docs_nodeclaims_nodeclaim_annotated-example.yaml")
    doc["metadata"]["uid"] = f"uid-{instance}"
    doc["metadata"]["creationTimestamp"] = "2026-11-28T02:00:00Z"
    if deleted is not None:
        doc["metadata"]["deletionTimestamp"] = deleted.isoformat()
    doc["status"]["providerID"] = f"aws:///us-west-2b/{instance}"
    return doc


def _zones(engine: Engine, *accounts: str) -> None:
    with Session(engine) as session, session.begin():
        for n, account in enumerate(accounts):
            session.add(Zone(cloud="aws", account=account, zone_id=f"usw2-az{n + 1}",
                             region="us-west-2", zone_name="us-west-2b", source="aws",
                             observed_at=NOW))  # fmt: skip


def _k8s_event(reason: str, claim: str, uid: str, *, message: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{claim}.1", "namespace": "default", "uid": uid},
        "involvedObject": {"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim", "name": claim},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "firstTimestamp": "2026-11-28T10:00:00Z", "lastTimestamp": "2026-11-28T10:00:00Z",
        "source": {"component": "karpenter"},
    }  # fmt: skip


def test_a_karpenter_interruption_maps_through_an_earlier_nodeclaim(engine: Engine) -> None:
    _zones(engine, "111111111111")
    claims = {"apiVersion": "v1", "kind": "List", "items": [_nodeclaim("i-0aaa")]}
    first = ingest_events(engine, claims, source="k8s", received_at=NOW)
    assert (first.accepted, first.instances) == (1, 1)  # the usage of the live spot node
    events = {"apiVersion": "v1", "kind": "List", "items": [
        _k8s_event("SpotInterrupted", "default-sfpsl", "ev-1",
                   message="Spot interruption warning was triggered"),
        {**_k8s_event("SpotInterrupted", "default-sfpsl", "ev-2"),
         "involvedObject": {"kind": "Node", "name": "ip-10-0-0-1"}},
    ]}  # fmt: skip
    second = ingest_events(engine, events, source="k8s", received_at=NOW)
    assert second.accepted == 1
    assert second.unmapped == 0
    assert "counted from its NodeClaim" in second.ignored[0][1]
    with Session(engine) as session:
        rows = {r.kind: r for r in session.scalars(select(FleetEvent))}
    pool = ("aws", "us-west-2", "usw2-az1", "c5.2xlarge")
    for kind in ("usage", "interruption"):
        row = rows[kind]
        assert (row.cloud, row.region, row.zone_id, row.instance_type) == pool
    assert rows["usage"].instance_hours == pytest.approx(10.0)  # 02:00 → 12:00


def test_exposure_is_counted_once_across_running_and_deleted_snapshots(engine: Engine) -> None:
    _zones(engine, "111111111111")
    ingest_events(engine, _nodeclaim("i-0bbb"), source="k8s", received_at=NOW)
    deleted = NOW + timedelta(hours=3)
    report = ingest_events(engine, _nodeclaim("i-0bbb", deleted=deleted), source="k8s",
                           received_at=deleted)  # fmt: skip
    assert report.accepted == 1
    with Session(engine) as session:
        hours = sorted(h or 0.0 for h in session.scalars(select(FleetEvent.instance_hours)))
    assert hours == pytest.approx([3.0, 10.0])  # 02:00→12:00, then 12:00→15:00 (13 h total)


def test_unmapped_events_are_kept_and_mapped_by_a_later_launch(engine: Engine) -> None:
    _zones(engine, "123456789012")
    warnings = [_real_warning("i-08b90df1e09c30c9b", NOW, f"w-{n}") for n in range(3)]
    first = ingest_events(engine, warnings, source="eb", received_at=NOW)
    assert (first.accepted, first.unmapped) == (3, 3)
    [reason] = first.unmapped_reasons
    assert "not seen yet" in reason
    assert _count(engine, FleetEvent) == 0
    assert _count(engine, FleetEventUnmapped) == 3
    launched = _load(AWS_EXAMPLES / "eventbridge_ec2-spot-fleet-instance-change_launched.json")
    launched["detail"]["description"] = launched["detail"]["description"].replace(
        "us-east-1a", "us-west-2b"
    )
    launched["region"] = "us-west-2"
    second = ingest_events(engine, launched, source="eb", received_at=NOW)
    assert (second.accepted, second.resolved) == (0, 3)
    assert _count(engine, FleetEventUnmapped) == 0
    with Session(engine) as session:
        pools = set(session.execute(select(FleetEvent.zone_id, FleetEvent.instance_type)).all())
    assert pools == {("usw2-az1", "r4.2xlarge")}
    replay = ingest_events(engine, warnings, source="eb", received_at=NOW)
    assert (replay.accepted, replay.duplicates) == (0, 3)


def test_a_zone_name_of_several_accounts_stays_unmapped_with_that_reason(engine: Engine) -> None:
    _zones(engine, "111111111111", "222222222222")
    report = ingest_events(engine, _nodeclaim("i-0ccc"), source="k8s", received_at=NOW)
    assert report.unmapped == 1
    [reason] = report.unmapped_reasons
    assert "2 accounts are stored" in reason
    assert "us-west-2b" in reason
    with Session(engine) as session:
        kept = session.scalars(select(FleetEventUnmapped)).one()
    assert kept.reason == reason
    assert kept.instance_id == "i-0ccc"


def test_insufficient_capacity_reads_type_and_zone_from_the_message(engine: Engine) -> None:
    _zones(engine, "111111111111")
    message = (
        "NodeClaim default-x event: creating instance, insufficient capacity, with fleet error(s), "
        "InsufficientInstanceCapacity: We currently do not have sufficient p3.2xlarge capacity "
        "in the Availability Zone you requested (us-west-2b)."
    )
    event = _k8s_event("InsufficientCapacityError", "default-x", "ice-1", message=message)
    report = ingest_events(engine, event, source="k8s", received_at=NOW)
    assert (report.accepted, report.unmapped) == (1, 0)
    with Session(engine) as session:
        row = session.scalars(select(FleetEvent)).one()
    assert (row.kind, row.zone_id, row.instance_type) == ("insufficient-capacity", "usw2-az1",
                                                          "p3.2xlarge")  # fmt: skip


def test_too_many_documents_is_one_clear_error_and_writes_nothing(engine: Engine) -> None:
    events = [_normalised(i % 50, external_id=f"x{i}") for i in range(MAX_EVENTS_PER_CALL + 1)]
    with pytest.raises(EventDataError, match=f"the most is {MAX_EVENTS_PER_CALL}"):
        ingest_events(engine, events, source="api", received_at=NOW)
    assert _count(engine, FleetEvent) == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        pytest.param(_normalised(0, kind="reboot"), "kind 'reboot'", id="unknown kind"),
        pytest.param(_normalised(0, occurred_at="yyyy-mm-ddThh:mm:ssZ"), "occurred_at",
                     id="placeholder time"),
        pytest.param(_normalised(0, instance_hours=-1), "instance_hours", id="negative hours"),
        pytest.param(_normalised(0, zone="use1-az1"), "unknown field 'zone'", id="unknown field"),
        pytest.param("text", "must be a JSON object", id="not an object"),
        pytest.param({"hello": 1}, "not a known fleet event format", id="unknown format"),
    ],
)  # fmt: skip
def test_malformed_documents_are_refused_naming_the_field(
    engine: Engine, doc: Any, message: str
) -> None:
    report = ingest_events(engine, [doc], source="api", received_at=NOW)
    [(index, reason)] = report.rejected
    assert index == 0
    assert message in reason
    assert _count(engine, FleetEvent) + _count(engine, CollectionRun) == 0
