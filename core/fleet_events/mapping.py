"""Map a parsed fleet event to its pool ``(cloud, region, zone_id, instance_type)``.

What an event lacks comes from what earlier documents said about the same instance
(``fleet_instances``: EventBridge launches, NodeClaims, Karpenter's launch log); account-specific
zone names become zone IDs through the stored ``zones`` table. An event that still lacks a piece
is not dropped: the resolver says why, and the caller keeps it for a later retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.clock import as_utc
from core.fleet_events.parse import InstanceFact, Sighting

__all__ = ["Instances", "Mapped", "ZoneRow", "merge_fact", "resolve", "zone_id_for"]

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class ZoneRow:
    cloud: str
    account: str
    zone_id: str
    region: str
    zone_name: str


@dataclass(frozen=True)
class Mapped:
    """An event placed in its pool; ``counted_until`` is the exposure end it moves forward."""

    row: dict[str, Any]
    instance_id: str | None
    counted_until: datetime | None


def merge_fact(held: InstanceFact | None, new: InstanceFact) -> InstanceFact:
    """What two documents say about one instance: known values stand unless the new one
    states them; the lifetime widens (earliest launch, latest end)."""
    if held is None:
        return new
    values = {
        name: getattr(new, name) if getattr(new, name) is not None else getattr(held, name)
        for name in ("region", "zone_id", "zone_name", "account", "instance_type",
                     "capacity_type", "nodeclaim", "node_name")
    }  # fmt: skip
    launches = [t for t in (held.launched_at, new.launched_at) if t is not None]
    ends = [t for t in (held.ended_at, new.ended_at) if t is not None]
    return replace(
        held,
        launched_at=min(launches) if launches else None,
        ended_at=max(ends) if ends else None,
        **values,
    )


class Instances:
    """The fleet's instances by id and by Karpenter name, plus exposure already counted."""

    def __init__(self, facts: Iterable[InstanceFact], counted: Mapping[str, datetime]) -> None:
        self.by_id: dict[tuple[str, str], InstanceFact] = {}
        self.counted_until: dict[str, datetime] = dict(counted)
        for fact in facts:
            self.add(fact)

    def add(self, fact: InstanceFact) -> None:
        key = (fact.cloud, fact.instance_id)
        self.by_id[key] = merge_fact(self.by_id.get(key), fact)

    def by_nodeclaim(self, name: str) -> InstanceFact | None:
        return next((f for f in self.by_id.values() if f.nodeclaim == name), None)


def zone_id_for(
    zones: Iterable[ZoneRow], *, cloud: str, zone_name: str, account: str | None
) -> tuple[str | None, str | None]:
    """(zone ID, None) or (None, why not): names map to IDs per account."""
    named = [z for z in zones if z.cloud == cloud and z.zone_name == zone_name]
    if account is not None:
        named = [z for z in named if z.account == account]
        if not named:
            return None, f"zone name {zone_name} of account {account} is not in the zones table"
        return named[0].zone_id, None
    if not named:
        return None, f"zone name {zone_name} is not in the zones table"
    accounts = sorted({z.account for z in named})
    if len(accounts) > 1:
        return None, (
            f"zone name {zone_name} is account-specific and {len(accounts)} accounts are stored "
            f"({', '.join(accounts)}); the event names no account"
        )
    return named[0].zone_id, None


def _hours(seconds: float) -> float:
    return max(0.0, seconds) / SECONDS_PER_HOUR


def resolve(
    event: Sighting, *, instances: Instances, zones: Iterable[ZoneRow], source: str,
    observed_at: datetime,
) -> Mapped | str:  # fmt: skip
    """The event as a ``fleet_events`` row, or the reason it cannot be placed yet."""
    fact: InstanceFact | None = None
    instance_id = event.instance_id
    if instance_id is not None:
        fact = instances.by_id.get((event.cloud, instance_id))
    elif isinstance(event.detail.get("nodeclaim"), str):
        fact = instances.by_nodeclaim(event.detail["nodeclaim"])
        instance_id = fact.instance_id if fact is not None else None

    def known(name: str) -> Any:
        value = getattr(event, name)
        return value if value is not None or fact is None else getattr(fact, name)

    region, zone_id, instance_type = known("region"), known("zone_id"), known("instance_type")
    if zone_id is None and known("zone_name") is not None:
        zone_id, why = zone_id_for(
            zones, cloud=event.cloud, zone_name=known("zone_name"), account=known("account")
        )
        if why is not None:
            return why
        region = region or next(
            (z.region for z in zones if z.zone_id == zone_id and z.cloud == event.cloud), None
        )
    missing = [n for n, v in (("instance type", instance_type), ("zone", zone_id),
                              ("region", region)) if v is None]  # fmt: skip
    if missing:
        who = f"instance {instance_id}" if instance_id else "the event"
        seen = "" if fact is not None or instance_id is None else " (instance not seen yet)"
        return f"{who} names no {' or '.join(missing)}{seen}"
    hours = event.instance_hours
    counted = None
    if event.kind == "usage" and hours is None:
        start = event.exposure_start or (fact.launched_at if fact else None)
        if start is None or instance_id is None:
            return f"launch time of instance {instance_id} unknown: its exposure cannot be counted"
        held = instances.counted_until.get(instance_id)
        start = max(as_utc(start), as_utc(held)) if held is not None else as_utc(start)
        hours = _hours((event.occurred_at - start).total_seconds())
        counted = max(event.occurred_at, start)
        instances.counted_until[instance_id] = counted
    detail = dict(event.detail)
    if instance_id is not None:
        detail["instance_id"] = instance_id
    row = {
        "cloud": event.cloud,
        "region": region,
        "zone_id": zone_id,
        "instance_type": instance_type,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "instance_hours": hours,
        "source": source,
        "external_id": event.external_id,
        "detail": detail or None,
        "observed_at": observed_at,
    }
    return Mapped(row=row, instance_id=instance_id, counted_until=counted)
