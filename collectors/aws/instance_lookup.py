"""Where the fleet's unplaced instances run, from ``ec2:DescribeInstances`` (for ``aws-events``).

An EventBridge interruption warning names only its instance. When no earlier document said
where that instance runs, the ``aws-events`` collector asks EC2 and feeds each answer back
through the ingest as spotsel's instance form (``{"kind": "instance", ...}``), so the ingest's
own re-resolution of ``fleet_events_unmapped`` places the pending events: one code path for
mapping, and zone names without an ID go through the stored ``zones`` table as elsewhere.

Fetch (:func:`describe`: batches of 1,000, unknown ids dropped and the rest retried) is apart
from parse (:func:`instance_document`, pure). EC2 keeps a terminated instance describable for
about an hour only: events of instances it has forgotten stay unmapped with their reason until
another document (a NodeClaim, a launch event) names the instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.aws.clients import error_code
from core.fleet_events.parse import INSTANCE_KIND
from core.tables import FleetEventUnmapped

__all__ = [
    "DESCRIBE_MAX_IDS",
    "LOOKUP_WINDOW",
    "Described",
    "describe",
    "instance_document",
    "pending_instances",
]

# DescribeInstances takes at most 1,000 instance IDs per call (EC2 API reference, InstanceIds).
DESCRIBE_MAX_IDS = 1_000
# The errors of an id EC2 does not know (any more) or cannot read; the message names the ids.
UNKNOWN_ID_CODES = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})
_INSTANCE_ID = re.compile(r"\bi-[0-9A-Za-z]+\b")
# EC2 forgets a terminated instance about an hour after it ends (EC2 user guide, "Terminate
# Amazon EC2 instances"), and an interruption warning comes 2 minutes before the end: an event
# first kept unmapped longer ago than this is not looked up again, so an id AWS no longer knows
# costs at most this hour of retries and never a lookup on every later run.
LOOKUP_WINDOW = timedelta(hours=1)
# InstanceLifecycle → Karpenter's capacity type; an instance without one is on-demand.
LIFECYCLE_CAPACITY = {"spot": "spot", "capacity-block": "reserved", "scheduled": "on-demand"}
ON_DEMAND = "on-demand"


@dataclass
class Described:
    """What one region's lookup found: instance documents, and the ids EC2 does not know."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def pending_instances(engine: Engine, *, source: str, since: datetime) -> dict[str, list[str]]:
    """Instance ids of AWS events ``source`` kept unmapped since ``since``, by region (the
    event's own region: an EventBridge event comes from the instance's region)."""
    by_region: dict[str, set[str]] = {}
    with Session(engine) as session:
        rows = session.execute(
            select(FleetEventUnmapped.instance_id, FleetEventUnmapped.event).where(
                FleetEventUnmapped.source == source,
                FleetEventUnmapped.instance_id.is_not(None),
                FleetEventUnmapped.observed_at >= since,
            )
        )
        for instance_id, event in rows:
            if not isinstance(event, Mapping) or event.get("cloud", "aws") != "aws":
                continue
            region = event.get("region")
            if isinstance(instance_id, str) and isinstance(region, str):
                by_region.setdefault(region, set()).add(instance_id)
    return {region: sorted(ids) for region, ids in sorted(by_region.items())}


def instance_document(
    instance: Mapping[str, Any], *, region: str, account: str | None
) -> dict[str, Any]:
    """One ``describe_instances`` instance as spotsel's instance form (pure)."""
    placement = instance.get("Placement") or {}
    launched = instance.get("LaunchTime")
    if isinstance(launched, datetime):
        launched = launched.astimezone(UTC).isoformat()
    lifecycle = instance.get("InstanceLifecycle")
    document = {
        "kind": INSTANCE_KIND,
        "cloud": "aws",
        "instance_id": instance.get("InstanceId"),
        "region": region,
        "zone_id": placement.get("AvailabilityZoneId"),
        "zone_name": placement.get("AvailabilityZone"),
        "account": account,
        "instance_type": instance.get("InstanceType"),
        "capacity_type": LIFECYCLE_CAPACITY.get(lifecycle, ON_DEMAND) if lifecycle else ON_DEMAND,
        "launched_at": launched,
    }
    return {k: v for k, v in document.items() if v is not None}


def _chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _describe_known(ec2: Any, ids: list[str], region: str, out: Described) -> None:
    """Describe ``ids``; an id EC2 does not know is set aside and the others asked again.

    EC2 refuses the whole call for one unknown id and names the unknown ids in its message
    (all of them, or only the first): those are dropped and the rest retried, and a message
    naming none of ours falls back to one call per id.
    """
    remaining = list(ids)
    while remaining:
        try:
            pages = ec2.get_paginator("describe_instances").paginate(InstanceIds=remaining)
            for page in pages:
                for reservation in page.get("Reservations", ()):
                    account = reservation.get("OwnerId")
                    for instance in reservation.get("Instances", ()):
                        out.documents.append(
                            instance_document(instance, region=region, account=account)
                        )
            return
        except ClientError as exc:
            if error_code(exc) not in UNKNOWN_ID_CODES:
                raise
            message = str(exc.response.get("Error", {}).get("Message", ""))
            named = set(_INSTANCE_ID.findall(message)) & set(remaining)
            if not named and len(remaining) == 1:
                named = set(remaining)
            if not named:
                for one in remaining:
                    _describe_known(ec2, [one], region, out)
                return
            out.unknown += sorted(named)
            remaining = [i for i in remaining if i not in named]


def describe(ec2: Any, ids: Sequence[str], *, region: str) -> Described:
    """Describe ``ids`` of one region, :data:`DESCRIBE_MAX_IDS` per call. Errors other than an
    unknown id (throttling past botocore's retries, permissions) propagate to the caller."""
    out = Described()
    for chunk in _chunks(ids, DESCRIBE_MAX_IDS):
        _describe_known(ec2, chunk, region, out)
    return out
