"""Parse fleet event documents into plain values (pure: no store, no clock).

A document is one parsed JSON value. Each parses to zero or more :class:`Sighting` values (an
event of the fleet: interruption, rebalance, insufficient capacity, usage) and
:class:`InstanceFact` values (what an instance is and where it runs: what maps later events
of that instance to a pool), or is ignored for a stated reason (a well-formed document that
carries no fleet signal), or is refused with :class:`EventDataError` naming the field.

Formats: EventBridge EC2 events, the IMDS ``spot/instance-action`` body, Karpenter's
Kubernetes Events (``kubectl get events -o json``), NodeClaims (``kubectl get nodeclaims -o
json``), Karpenter's "launched nodeclaim" log line, and spotsel's normalised event and instance
forms (README).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import SourceDataError

__all__ = [
    "CAPACITY_TYPES",
    "INSTANCE_KIND",
    "KINDS",
    "EventDataError",
    "Ignored",
    "InstanceFact",
    "Parsed",
    "Sighting",
    "parse_document",
]

KINDS = frozenset({"interruption", "rebalance", "insufficient-capacity", "usage"})

# EventBridge detail-types (AWS EC2 user guide, spot-instance-termination-notices,
# rebalance-recommendations, monitoring-instance-state-changes, ec2-fleet-event-types).
INTERRUPTION_WARNING = "EC2 Spot Instance Interruption Warning"
REBALANCE = "EC2 Instance Rebalance Recommendation"
STATE_CHANGE = "EC2 Instance State-change Notification"
FLEET_INSTANCE_CHANGE = ("EC2 Fleet Instance Change", "EC2 Spot Fleet Instance Change")
# Real values of detail.instance-action (the docs' example holds the placeholder "action").
INSTANCE_ACTIONS = frozenset({"hibernate", "stop", "terminate"})
# States that start and end an instance's exposure (monitoring-instance-state-changes).
LAUNCH_STATES = frozenset({"pending", "running"})
END_STATES = frozenset({"terminated"})
EC2_STATES = frozenset({"pending", "running", "stopping", "stopped", "shutting-down", "terminated"})

# Karpenter event reasons (karpenter-provider-aws pkg/controllers/interruption/events/events.go,
# kubernetes-sigs/karpenter pkg/controllers/nodeclaim/lifecycle/events.go).
K8S_REASON_KIND = {
    "SpotInterrupted": "interruption",
    "SpotRebalanceRecommendation": "rebalance",
    "InsufficientCapacityError": "insufficient-capacity",
}
# Karpenter emits the interruption reasons on both the Node and its NodeClaim: count one.
COUNTED_INVOLVED_KIND = "NodeClaim"

# Well-known node labels (Kubernetes and Karpenter).
LABEL_TYPE = "node.kubernetes.io/instance-type"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_ZONE_ID = "topology.k8s.aws/zone-id"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_CAPACITY = "karpenter.sh/capacity-type"

# aws:///<zone name>/<instance id> (Karpenter's providerID for EC2).
_PROVIDER_ID = re.compile(r"^aws:///(?P<zone>[a-z0-9-]+)/(?P<instance>i-[0-9a-zA-Z]+)$")
# A zone name is its region plus a letter (us-east-1a); a zone ID reads use1-az4.
_ZONE_NAME = re.compile(r"\b([a-z]{2}(?:-[a-z]+)+-\d+[a-z])\b")
_ZONE_ID = re.compile(r"\b([a-z]{2,4}\d+-az\d+)\b")
# EC2 type names as EC2's capacity errors print them ("sufficient p3.2xlarge capacity").
_TYPE = re.compile(
    r"\b([a-z][a-z0-9-]*\d[a-z0-9-]*\.(?:\d*x?large|medium|small|micro|nano|metal(?:-\d+xl)?))\b"
)
# Placeholders of the AWS documentation examples: present means the payload is a template.
_PLACEHOLDER_TIME = "yyyy-mm-ddThh:mm:ssZ"


class EventDataError(SourceDataError):
    """A fleet event document that cannot be used; the message names the field."""

    code = "invalid_event"


@dataclass(frozen=True)
class Sighting:
    """One event of the fleet, located as far as its document says."""

    kind: str
    occurred_at: datetime
    external_id: str
    cloud: str = "aws"
    instance_id: str | None = None
    region: str | None = None
    zone_id: str | None = None
    zone_name: str | None = None
    account: str | None = None
    instance_type: str | None = None
    # Usage: exposure is [start, occurred_at]; start None means "since launch".
    instance_hours: float | None = None
    exposure_start: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceFact:
    """What one document says about an instance: where it runs, what it is, when it lived."""

    instance_id: str
    cloud: str = "aws"
    region: str | None = None
    zone_id: str | None = None
    zone_name: str | None = None
    account: str | None = None
    instance_type: str | None = None
    capacity_type: str | None = None
    launched_at: datetime | None = None
    ended_at: datetime | None = None
    nodeclaim: str | None = None
    node_name: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A well-formed document that carries no fleet signal, and why."""

    reason: str


@dataclass(frozen=True)
class Parsed:
    sightings: tuple[Sighting, ...] = ()
    facts: tuple[InstanceFact, ...] = ()
    ignored: Ignored | None = None


def _str(doc: Mapping[str, Any], key: str, *, where: str, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        if required:
            raise EventDataError(f"{where}{key} is missing")
        return None
    if not isinstance(value, str):
        raise EventDataError(f"{where}{key} must be a string, got {type(value).__name__}")
    return value


def parse_time(value: Any, *, field_name: str) -> datetime:
    """An RFC 3339 timestamp as aware UTC; the docs' template value is refused by name."""
    if not isinstance(value, str) or not value:
        raise EventDataError(f"{field_name} is missing or not a timestamp")
    if value == _PLACEHOLDER_TIME:
        raise EventDataError(
            f"{field_name} is the documentation placeholder {value!r}, not a time: "
            "the payload is a template"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventDataError(f"{field_name} {value!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise EventDataError(f"{field_name} {value!r} has no time zone")
    return parsed.astimezone(UTC)


def _region_of_zone(zone_name: str | None) -> str | None:
    return zone_name[:-1] if zone_name else None


def content_id(payload: Mapping[str, Any]) -> str:
    """A stable id for a document without an emitter id: a hash of its normalised fields."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:40]


# --- EventBridge ---------------------------------------------------------------------------


def _eventbridge(doc: Mapping[str, Any]) -> Parsed:
    detail_type = _str(doc, "detail-type", where="")
    assert detail_type is not None
    detail = doc.get("detail")
    if not isinstance(detail, Mapping):
        raise EventDataError("detail must be an object")
    event_id = _str(doc, "id", where="")
    region = _str(doc, "region", where="")
    account = _str(doc, "account", where="", required=False)
    if detail_type in FLEET_INSTANCE_CHANGE:
        return _fleet_instance_change(doc, detail, region, account)
    if detail_type not in (INTERRUPTION_WARNING, REBALANCE, STATE_CHANGE):
        return Parsed(ignored=Ignored(f"EventBridge {detail_type!r} carries no instance event"))
    at = parse_time(doc.get("time"), field_name="time")
    instance = _str(detail, "instance-id", where="detail.")
    common = {
        "occurred_at": at,
        "external_id": f"eventbridge:{event_id}",
        "instance_id": instance,
        "region": region,
        "account": account,
    }
    if detail_type == INTERRUPTION_WARNING:
        action = _str(detail, "instance-action", where="detail.")
        if action not in INSTANCE_ACTIONS:
            raise EventDataError(
                f"detail.instance-action {action!r} is not one of "
                f"{', '.join(sorted(INSTANCE_ACTIONS))} (the docs' example holds a placeholder)"
            )
        sighting = Sighting(kind="interruption", detail={"action": action}, **common)  # type: ignore[arg-type]
        return Parsed(sightings=(sighting,))
    if detail_type == REBALANCE:
        return Parsed(sightings=(Sighting(kind="rebalance", **common),))  # type: ignore[arg-type]
    state = _str(detail, "state", where="detail.")
    if state not in EC2_STATES:
        raise EventDataError(f"detail.state {state!r} is not an EC2 instance state")
    assert instance is not None
    fact = InstanceFact(instance_id=instance, region=region, account=account)
    if state in LAUNCH_STATES:
        return Parsed(facts=(InstanceFact(**{**fact.__dict__, "launched_at": at}),))
    if state in END_STATES:
        # Termination closes the instance's exposure: usage since launch (or the last count).
        usage = Sighting(kind="usage", detail={"state": state}, **common)  # type: ignore[arg-type]
        return Parsed(
            sightings=(usage,), facts=(InstanceFact(**{**fact.__dict__, "ended_at": at}),)
        )
    return Parsed(facts=(fact,), ignored=Ignored(f"instance state {state!r} changes no exposure"))


def _fleet_instance_change(
    doc: Mapping[str, Any], detail: Mapping[str, Any], region: str | None, account: str | None
) -> Parsed:
    if detail.get("sub-type") != "launched":
        return Parsed(ignored=Ignored(f"fleet instance change {detail.get('sub-type')!r}"))
    instance = _str(detail, "instance-id", where="detail.")
    assert instance is not None
    try:
        described = json.loads(_str(detail, "description", where="detail.") or "")
    except ValueError:
        raise EventDataError("detail.description is not the JSON object EC2 Fleet sends") from None
    if not isinstance(described, Mapping):
        raise EventDataError("detail.description is not a JSON object")
    zone = described.get("availabilityZone")
    fact = InstanceFact(
        instance_id=instance,
        region=region,
        zone_name=zone if isinstance(zone, str) else None,
        account=account,
        instance_type=described.get("instanceType"),
        launched_at=parse_time(doc.get("time"), field_name="time"),
    )
    return Parsed(facts=(fact,))


def _imds(doc: Mapping[str, Any], instance_id: str | None) -> Parsed:
    """IMDS ``spot/instance-action``: the body names no instance, so the caller must."""
    action = doc.get("action")
    if action not in INSTANCE_ACTIONS:
        raise EventDataError(
            f"action {action!r} is not one of {', '.join(sorted(INSTANCE_ACTIONS))}"
        )
    at = parse_time(doc.get("time"), field_name="time")
    if instance_id is None:
        raise EventDataError(
            "an IMDS instance-action body names no instance: add instance_id "
            "(the value of /latest/meta-data/instance-id) to the document"
        )
    payload = {"instance_id": instance_id, "action": action, "time": at.isoformat()}
    return Parsed(
        sightings=(
            Sighting(
                kind="interruption",
                occurred_at=at,
                external_id=content_id(payload),
                instance_id=instance_id,
                detail={"action": action},
            ),
        )
    )


# --- Kubernetes ----------------------------------------------------------------------------


def _meta(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping):
        raise EventDataError("metadata must be an object")
    return meta


def _k8s_event(doc: Mapping[str, Any]) -> Parsed:
    meta = _meta(doc)
    reason = _str(doc, "reason", where="")
    kind = K8S_REASON_KIND.get(reason or "")
    if kind is None:
        return Parsed(ignored=Ignored(f"Kubernetes event reason {reason!r} is no fleet signal"))
    involved = doc.get("involvedObject")
    if not isinstance(involved, Mapping):
        raise EventDataError("involvedObject must be an object")
    obj_kind = involved.get("kind")
    if kind != "insufficient-capacity" and obj_kind != COUNTED_INVOLVED_KIND:
        return Parsed(
            ignored=Ignored(f"{reason} on a {obj_kind}: counted from its NodeClaim's event")
        )
    uid = _str(meta, "uid", where="metadata.")
    count = doc.get("count") or 1
    stamp = doc.get("lastTimestamp") or doc.get("eventTime") or doc.get("firstTimestamp")
    at = parse_time(stamp, field_name="lastTimestamp")
    message = doc.get("message") if isinstance(doc.get("message"), str) else ""
    assert isinstance(message, str)
    zone_ids = _ZONE_ID.findall(message)
    zones = _ZONE_NAME.findall(message)
    types = _TYPE.findall(message)
    lowered = message.lower()
    capacity_type = "spot" if "spot" in lowered else "on-demand" if "on-demand" in lowered else None
    detail: dict[str, Any] = {
        "reason": reason,
        "object": f"{obj_kind}/{involved.get('name')}",
        "message": message[:500],
        "count": count,
    }
    if capacity_type:
        detail["capacity_type"] = capacity_type
    sighting = Sighting(
        kind=kind,
        occurred_at=at,
        external_id=f"k8s:{uid}:{count}",
        region=_region_of_zone(zones[0]) if zones else None,
        zone_id=zone_ids[0] if len(set(zone_ids)) == 1 else None,
        zone_name=zones[0] if len(set(zones)) == 1 else None,
        instance_type=types[0] if len(set(types)) == 1 else None,
        detail={**detail, "nodeclaim": involved.get("name")} if obj_kind == "NodeClaim" else detail,
    )
    return Parsed(sightings=(sighting,))


def _nodeclaim(doc: Mapping[str, Any], received_at: datetime) -> Parsed:
    meta = _meta(doc)
    name = _str(meta, "name", where="metadata.")
    labels = meta.get("labels") or {}
    status = doc.get("status") or {}
    if not isinstance(labels, Mapping) or not isinstance(status, Mapping):
        raise EventDataError("metadata.labels and status must be objects")
    provider = status.get("providerID")
    if not provider:
        return Parsed(ignored=Ignored(f"NodeClaim {name} has no instance yet (no providerID)"))
    match = _PROVIDER_ID.match(str(provider))
    if match is None:
        raise EventDataError(f"status.providerID {provider!r} is not aws:///<zone>/<instance id>")
    instance = match["instance"]
    zone_name = labels.get(LABEL_ZONE) or match["zone"]
    created = parse_time(meta.get("creationTimestamp"), field_name="metadata.creationTimestamp")
    deleted_raw = meta.get("deletionTimestamp")
    deleted = (
        parse_time(deleted_raw, field_name="metadata.deletionTimestamp") if deleted_raw else None
    )
    capacity = labels.get(LABEL_CAPACITY)
    fact = InstanceFact(
        instance_id=instance,
        region=labels.get(LABEL_REGION) or _region_of_zone(zone_name),
        zone_id=labels.get(LABEL_ZONE_ID),
        zone_name=zone_name,
        instance_type=labels.get(LABEL_TYPE),
        capacity_type=capacity,
        launched_at=created,
        ended_at=deleted,
        nodeclaim=name,
        node_name=status.get("nodeName"),
    )
    if capacity != "spot":
        return Parsed(facts=(fact,))
    # Exposure of a live node counts up to the first import; the rest lands at deletion.
    phase = "deleted" if deleted else "running"
    end = deleted or received_at
    usage = Sighting(
        kind="usage",
        occurred_at=end,
        external_id=f"k8s:{_str(meta, 'uid', where='metadata.')}:{phase}",
        instance_id=instance,
        exposure_start=created,
        detail={"nodeclaim": name, "phase": phase},
    )
    return Parsed(sightings=(usage,), facts=(fact,))


def _karpenter_log(doc: Mapping[str, Any]) -> Parsed:
    """Karpenter's "launched nodeclaim" log line says where an instance runs."""
    if doc.get("message") != "launched nodeclaim":
        return Parsed(ignored=Ignored(f"Karpenter log line {doc.get('message')!r}"))
    match = _PROVIDER_ID.match(str(doc.get("provider-id", "")))
    if match is None:
        raise EventDataError(f"provider-id {doc.get('provider-id')!r} is not aws:///<zone>/<id>")
    claim = doc.get("NodeClaim")
    fact = InstanceFact(
        instance_id=match["instance"],
        region=_region_of_zone(doc.get("zone") or match["zone"]),
        zone_name=doc.get("zone") or match["zone"],
        instance_type=doc.get("instance-type"),
        capacity_type=doc.get("capacity-type"),
        launched_at=parse_time(doc.get("time"), field_name="time"),
        nodeclaim=claim.get("name") if isinstance(claim, Mapping) else None,
    )
    return Parsed(facts=(fact,))


# --- spotsel's normalised form -------------------------------------------------------------

NORMALISED_FIELDS = frozenset(
    {"cloud", "region", "zone_id", "instance_type", "kind", "occurred_at", "instance_id",
     "instance_hours", "external_id", "detail"}
)  # fmt: skip


def _normalised(doc: Mapping[str, Any]) -> Parsed:
    unknown = sorted(set(doc) - NORMALISED_FIELDS)
    if unknown:
        raise EventDataError(f"unknown field {unknown[0]!r} in a normalised event")
    kind = _str(doc, "kind", where="")
    if kind not in KINDS:
        raise EventDataError(f"kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
    at = parse_time(doc.get("occurred_at"), field_name="occurred_at")
    cloud = _str(doc, "cloud", where="")
    assert cloud is not None
    hours = doc.get("instance_hours")
    if hours is not None and (
        isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours < 1e7
    ):
        raise EventDataError(f"instance_hours {hours!r} must be a number of hours ≥ 0")
    instance = _str(doc, "instance_id", where="", required=False)
    pool = {k: _str(doc, k, where="", required=instance is None) for k in
            ("region", "zone_id", "instance_type")}  # fmt: skip
    detail = doc.get("detail") or {}
    if not isinstance(detail, Mapping):
        raise EventDataError("detail must be an object")
    external = _str(doc, "external_id", where="", required=False)
    payload = {k: doc.get(k) for k in sorted(NORMALISED_FIELDS - {"external_id", "detail"})}
    payload["occurred_at"] = at.isoformat()
    return Parsed(
        sightings=(
            Sighting(
                kind=kind,
                occurred_at=at,
                external_id=external or content_id(payload),
                cloud=cloud,
                instance_id=instance,
                instance_hours=float(hours) if hours is not None else None,
                detail=dict(detail),
                **pool,  # type: ignore[arg-type]
            ),
        )
    )


# spotsel's instance form: what an instance is and where it runs (the ``aws-events`` collector
# writes it from ec2:DescribeInstances), so events naming only the instance can be placed.
INSTANCE_KIND = "instance"
INSTANCE_FIELDS = frozenset(
    {"kind", "cloud", "instance_id", "region", "zone_id", "zone_name", "account",
     "instance_type", "capacity_type", "launched_at"}
)  # fmt: skip
# Karpenter's karpenter.sh/capacity-type values (EC2 capacity blocks are its "reserved").
CAPACITY_TYPES = frozenset({"spot", "on-demand", "reserved"})


def _instance(doc: Mapping[str, Any]) -> Parsed:
    unknown = sorted(set(doc) - INSTANCE_FIELDS)
    if unknown:
        raise EventDataError(f"unknown field {unknown[0]!r} in an instance document")
    instance = _str(doc, "instance_id", where="")
    cloud = _str(doc, "cloud", where="")
    assert instance is not None
    assert cloud is not None
    text = {k: _str(doc, k, where="", required=False) for k in ("region", "zone_id",
            "zone_name", "account", "instance_type", "capacity_type")}  # fmt: skip
    if text["capacity_type"] is not None and text["capacity_type"] not in CAPACITY_TYPES:
        raise EventDataError(
            f"capacity_type {text['capacity_type']!r} is not one of "
            f"{', '.join(sorted(CAPACITY_TYPES))}"
        )
    launched = doc.get("launched_at")
    fact = InstanceFact(
        instance_id=instance,
        cloud=cloud,
        region=text["region"],
        zone_id=text["zone_id"],
        zone_name=text["zone_name"],
        account=text["account"],
        instance_type=text["instance_type"],
        capacity_type=text["capacity_type"],
        launched_at=parse_time(launched, field_name="launched_at") if launched else None,
    )
    return Parsed(facts=(fact,))


def parse_document(doc: Any, *, received_at: datetime) -> Parsed:
    """Parse one document (not a list); raises :class:`EventDataError` naming the field."""
    if not isinstance(doc, Mapping):
        raise EventDataError(f"an event must be a JSON object, got {type(doc).__name__}")
    if "detail-type" in doc:
        return _eventbridge(doc)
    kind = doc.get("kind")
    if kind == "Event" or ("involvedObject" in doc and "reason" in doc):
        return _k8s_event(doc)
    if kind == "NodeClaim":
        return _nodeclaim(doc, received_at)
    if kind == INSTANCE_KIND:
        return _instance(doc)
    if "occurred_at" in doc:
        return _normalised(doc)
    if "action" in doc and "time" in doc:
        return _imds(
            doc, doc.get("instance_id") if isinstance(doc.get("instance_id"), str) else None
        )
    if "level" in doc and "message" in doc and "controller" in doc:
        return _karpenter_log(doc)
    if "level" in doc and "message" in doc:
        return Parsed(ignored=Ignored(f"Karpenter log line {doc.get('message')!r}"))
    keys = ", ".join(sorted(str(k) for k in doc)[:6])
    raise EventDataError(
        f"not a known fleet event format (keys: {keys}); see README 'Fleet events'"
    )
