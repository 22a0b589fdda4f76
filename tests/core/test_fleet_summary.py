"""Fleet events as `spotsel status` and `/readyz` report them, and the ICE memory's window in the
store's reader: on every engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.pool_reader import CAPACITY_ERROR_WINDOW, load_pool_records
from core.store import persist_run
from core.summary import FLEET_EVENT_KINDS, fleet_event_summary
from selector.capacity import ICE_TTL_HOURS
from tests.factories import T0, make_offering, make_result, make_type

NOW = T0


def fleet_event(
    kind: str, hours_ago: float, n: int, *, zone: str = "use1-az1", **extra: Any
) -> dict[str, Any]:
    """One stored fleet event of `kind`, `hours_ago` before NOW."""
    return {
        "cloud": "aws", "region": "us-east-1", "zone_id": zone, "instance_type": "g5.xlarge",
        "kind": kind, "occurred_at": NOW - timedelta(hours=hours_ago), "instance_hours": None,
        "source": "test", "external_id": f"{kind}-{n}", "detail": None, "observed_at": NOW,
    } | extra  # fmt: skip


# (kind, hours ago) of the events the summary tests store; one is in NOW's future.
EVENTS = [
    ("interruption", 30.0),
    ("interruption", 2.0),
    ("rebalance", 2.5),
    ("usage", 1.5),
    ("insufficient-capacity", 3.0),
    ("insufficient-capacity", ICE_TTL_HOURS + 1.0),  # past the memory: counted, not remembered
    ("interruption", -5.0),  # after `now`: not yet happened
]


def store_fleet_events(engine: Engine, events: list[dict[str, Any]]) -> None:
    persist_run(
        engine,
        make_result(
            {
                "instance_types": [make_type()],
                "offerings": [make_offering()],
                "fleet_events": events,
            }
        ),
    )


def test_summary_counts_every_kind_and_the_newest_age(engine: Engine) -> None:
    store_fleet_events(
        engine,
        [
            fleet_event(kind, ago, n, zone="use1-az1" if n % 2 else "use1-az2",
                        instance_hours=10.0 if kind == "usage" else None)
            for n, (kind, ago) in enumerate(EVENTS)
        ],
    )  # fmt: skip
    with Session(engine) as session:
        summary = fleet_event_summary(session, now=NOW)
    past = [(k, ago) for k, ago in EVENTS if ago >= 0]
    expected = {kind: sum(1 for k, _ in past if k == kind) for kind in FLEET_EVENT_KINDS}
    assert summary.by_kind == expected
    assert summary.total == len(past)
    newest = min(ago for _, ago in past)
    assert summary.newest_at == NOW - timedelta(hours=newest)
    assert summary.newest_age_seconds == newest * 3600
    remembered = [ago for k, ago in past if k == "insufficient-capacity" and ago <= ICE_TTL_HOURS]
    assert summary.capacity_errors_remembered == len(remembered)
    assert summary.pools == 2
    body = summary.to_dict()
    assert body["by_kind"] == expected
    assert body["newest_at"] == (NOW - timedelta(hours=newest)).isoformat()
    assert body["capacity_error_memory_hours"] == ICE_TTL_HOURS


def test_summary_of_an_empty_store(engine: Engine) -> None:
    with Session(engine) as session:
        summary = fleet_event_summary(session, now=NOW)
    assert summary.total == 0
    assert summary.by_kind == dict.fromkeys(FLEET_EVENT_KINDS, 0), "every kind, even at zero"
    assert (summary.newest_at, summary.newest_age_seconds) == (None, None)


def test_reader_remembers_capacity_errors_for_the_selector_ttl(engine: Engine) -> None:
    """Why: one constant, so the store stops counting an ICE when the ranking stops fading it."""
    assert timedelta(hours=ICE_TTL_HOURS) == CAPACITY_ERROR_WINDOW
    minute = 1 / 60
    store_fleet_events(
        engine,
        [
            fleet_event("insufficient-capacity", ICE_TTL_HOURS - minute, 1),
            fleet_event("insufficient-capacity", ICE_TTL_HOURS + minute, 2),
        ],
    )
    with Session(engine) as session:
        [pool] = load_pool_records(session, now=NOW)
        [later] = load_pool_records(session, now=NOW + timedelta(minutes=2))
    assert pool.fleet_capacity_errors == 1, "inside the memory counts, just past it does not"
    assert later.fleet_capacity_errors == 0
