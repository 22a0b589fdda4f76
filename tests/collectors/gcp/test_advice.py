"""Capacity advice: the real AdviceClient against the local fake API, both engines, then ranked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.base import CollectContext
from collectors.gcp import GcpSource, gcp_clients
from collectors.gcp.advice import (
    HISTORY_SOURCE,
    MAX_PREEMPTION_FRACTION,
    AdviceTarget,
    parse_capacity,
    parse_capacity_history,
    plan_advice,
)
from collectors.gcp.source import default_retry
from collectors.runner import run_source
from core.errors import SourceDataError
from core.pool_reader import load_pool_index
from core.settings import Settings
from core.tables import (
    REGIONAL_ZONE,
    CollectionRun,
    InterruptionRate,
    OnDemandPrice,
    PlacementScore,
)
from selector import parse_requirements, rank
from tests.collectors.gcp.fakes import (
    ACCELERATOR_TYPES,
    ADVICE_CAPACITY,
    ADVICE_HISTORY,
    MACHINE_TYPES,
    SKUS,
    FakeGoogle,
    accelerator_type,
    aggregated,
    machine_type,
)
from tests.collectors.gcp.test_pricing import catalog

PROJECT = "spotsel-test"
REGIONS = ("us-central1", "us-east1")
ZONES = ("us-central1-a", "us-central1-b", "us-east1-b")
# Obtainability the fake advisor answers per (machine type, zone).
OBTAINABILITY = {
    ("n2-standard-8", "us-central1-a"): 0.9,
    ("n2-standard-8", "us-central1-b"): 0.4,
    ("n2-standard-8", "us-east1-b"): 0.7,
    ("n1-standard-4", "us-central1-a"): 0.6,
    ("n1-standard-4", "us-central1-b"): 0.5,
    ("n1-standard-4", "us-east1-b"): 0.8,
}
ZONE_URL = "https://www.googleapis.com/compute/v1/projects/p/zones/{zone}"


def _history(now: datetime) -> list[dict[str, Any]]:
    """10 days at 0.1 then 10 days at 0.3 (time-weighted 0.2), and a record too old to count."""

    def record(start_days: float, end_days: float, rate: float) -> dict[str, Any]:
        return {
            "interval": {
                "startTime": (now - timedelta(days=start_days)).isoformat(),
                "endTime": (now - timedelta(days=end_days)).isoformat(),
            },
            "preemptionRate": rate,
        }

    return [record(50, 40, 0.9), record(20, 10, 0.1), record(10, 0, 0.3)]


def _capacity_answer(body: dict[str, Any]) -> dict[str, Any]:
    """One recommendation per zone asked, best first, as the advisor ranks them."""
    selection = body["instanceFlexibilityPolicy"]["instanceSelections"]["spot"]
    machine = selection["machineTypes"][0]
    zones = [z["zone"].rsplit("/", 1)[-1] for z in body["distributionPolicy"]["zones"]]
    recs = [
        {
            "scores": {"obtainability": OBTAINABILITY[(machine, z)], "estimatedUptime": "3600s"},
            "shards": [
                {"zone": ZONE_URL.format(zone=z), "machineType": machine, "instanceCount": 1}
            ],
        }
        for z in zones
    ]
    return {"recommendations": sorted(recs, key=lambda r: -r["scores"]["obtainability"])}


def _serve(fake: FakeGoogle, now: datetime) -> None:
    records = [
        machine_type(name, zone, vcpus, gib)
        for zone in ZONES
        for name, vcpus, gib in (("n2-standard-8", 8, 32.0), ("n1-standard-4", 4, 15.0))
    ]
    fake.serve(MACHINE_TYPES.format(project=PROJECT), aggregated("machineTypes", records))
    # A T4 in one zone: n1-standard-4+nvidia-tesla-t4 is asked about with its attached GPU.
    fake.serve(
        ACCELERATOR_TYPES.format(project=PROJECT),
        aggregated("acceleratorTypes", [accelerator_type("nvidia-tesla-t4", "us-central1-a")]),
    )
    skus = catalog()
    for s in skus:
        s["serviceRegions"] = list(REGIONS)
    fake.serve(SKUS, {"skus": skus})
    for region in REGIONS:
        fake.routes[ADVICE_CAPACITY.format(project=PROJECT, region=region)] = _capacity_answer
        fake.routes[ADVICE_HISTORY.format(project=PROJECT, region=region)] = lambda body: {
            "location": "regions/x",
            "machineType": body["instanceProperties"]["machineType"],
            "preemptionHistory": _history(now),
        }


def _source(fake: FakeGoogle, **fields: Any) -> GcpSource:
    def factory(project: str | None) -> Any:
        return gcp_clients(
            project=project or PROJECT,
            credentials=AnonymousCredentials(),
            endpoint=fake.endpoint,
            retry=default_retry(initial=0.01),
        )

    return GcpSource(client_factory=factory, **fields)


def _ctx(settings: Settings, now: datetime) -> CollectContext:
    return CollectContext(
        settings=settings, now=now, options={"regions": list(REGIONS), "project": PROJECT}
    )


def _scores(engine: Engine) -> dict[tuple[str, str], tuple[float | None, str, str]]:
    with Session(engine) as session:
        return {
            (p.zone_id, p.instance_types): (p.score, p.raw, p.source)
            for p in session.scalars(select(PlacementScore))
        }


def test_advice_lands_zonal_scores_and_preempted_fractions(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    _serve(fake_google, now)
    run = run_source(engine, _source(fake_google), _ctx(settings, now))
    assert run.status == "ok", run.error_message
    scores = _scores(engine)
    # Every Spot-priced (zone, type) got its own zonal score, obtainability as the score.
    for (machine, zone), value in OBTAINABILITY.items():
        score, raw, source = scores[(zone, machine)]
        assert score == pytest.approx(value)
        assert (raw, source) == (str(value), "gcp")
    # The N1 + T4 pairing was asked with its GPU attached and scored in its one zone.
    assert scores[("us-central1-a", "n1-standard-4+nvidia-tesla-t4")][2] == "gcp"
    bodies = [b for path, b in fake_google.posted if path.endswith("/advice/capacity")]
    t4 = [
        b
        for b in bodies
        if b["instanceFlexibilityPolicy"]["instanceSelections"]["spot"].get("guestAccelerators")
    ]
    assert [
        b["instanceFlexibilityPolicy"]["instanceSelections"]["spot"]["guestAccelerators"]
        for b in t4
    ] == [[{"acceleratorType": "nvidia-tesla-t4", "acceleratorCount": 1}]]
    assert all(b["instanceProperties"]["scheduling"]["provisioningModel"] == "SPOT" for b in bodies)
    with Session(engine) as session:
        rates = list(session.scalars(select(InterruptionRate)))
    assert {(r.region, r.instance_type) for r in rates} == {
        ("us-central1", "n2-standard-8"),
        ("us-central1", "n1-standard-4"),
        ("us-central1", "n1-standard-4+nvidia-tesla-t4"),
        ("us-east1", "n2-standard-8"),
        ("us-east1", "n1-standard-4"),
    }
    for r in rates:
        # 10 days at 0.1 and 10 at 0.3 within the 30-day window; the 40-day-old 0.9 is out.
        assert r.rate == pytest.approx(0.2)
        assert (r.source, r.zone_id, r.label) == (HISTORY_SOURCE, REGIONAL_ZONE, None)


def test_the_ranking_reads_the_advice(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    _serve(fake_google, now)
    run_source(engine, _source(fake_google), _ctx(settings, now))
    index = load_pool_index(engine, now=now)
    ranking = rank(
        index, parse_requirements({"clouds": ["gcp"], "regions": ["us-central1"]}), now=now
    )
    spot = {
        (p.key.zone_id, p.key.instance_type): p for p in ranking.pools if p.capacity_type == "spot"
    }
    assert spot, "no GCP spot pool ranked"
    for (zone, itype), pool in spot.items():
        expected = OBTAINABILITY.get((itype, zone))
        if expected is None:
            continue
        assert pool.capacity_basis == "zonal"
        assert pool.capacity == pytest.approx(expected)
        assert pool.hazard.kind == "gcp-capacity-history"
        assert pool.hazard.source == HISTORY_SOURCE
    assert ("us-central1-a", "n2-standard-8") in spot
    # The better-advised zone of one type is the more obtainable one.
    assert (
        spot[("us-central1-a", "n2-standard-8")].capacity
        > spot[("us-central1-b", "n2-standard-8")].capacity
    )


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (403, "Forbidden"),  # no compute.advice.* permission, or the API not enabled
        (404, "NotFound"),  # the method not offered to this project / region
        (501, "MethodNotImplemented"),  # UNIMPLEMENTED
    ],
)
def test_no_access_to_advice_is_partial_and_keeps_prices(
    engine: Engine,
    settings: Settings,
    now: datetime,
    fake_google: FakeGoogle,
    status: int,
    error_class: str,
) -> None:
    _serve(fake_google, now)
    path = ADVICE_CAPACITY.format(project=PROJECT, region="us-central1")
    fake_google.failures[path] = [status]
    run = run_source(engine, _source(fake_google), _ctx(settings, now))
    assert run.status == "partial"
    assert run.error_class == error_class
    assert "capacity advice unavailable" in (run.error_message or "")
    # The refusal is project-wide: asking stopped after the one refused call.
    assert sum("/advice/" in p for p, _ in fake_google.posted) == 1
    with Session(engine) as session:
        priced = set(session.scalars(select(OnDemandPrice.region)))
        stored = session.scalars(select(CollectionRun)).one()
    assert priced == set(REGIONS)
    assert stored.status == "partial"
    assert _scores(engine) == {}


def test_a_bad_answer_skips_its_type_only(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    _serve(fake_google, now)

    def out_of_range(body: dict[str, Any]) -> dict[str, Any]:
        answer = _capacity_answer(body)
        answer["recommendations"][0]["scores"]["obtainability"] = 1.5
        return answer

    fake_google.routes[ADVICE_CAPACITY.format(project=PROJECT, region="us-east1")] = out_of_range
    run = run_source(engine, _source(fake_google), _ctx(settings, now))
    assert run.status == "partial"
    assert "failed for 2 of 5 type(s)" in (run.error_message or "")
    regions = {key[0].rsplit("-", 1)[0] for key in _scores(engine)}
    assert regions == {"us-central1"}


def test_the_call_budget_rotates_through_the_types(
    engine: Engine, settings: Settings, now: datetime, fake_google: FakeGoogle
) -> None:
    _serve(fake_google, now)
    source = _source(fake_google, advice_call_limit=4)  # two (region, type) targets a run
    later = now + timedelta(hours=1)
    asked = []
    for at in (now, later):
        fake_google.posted.clear()
        run_source(engine, source, _ctx(settings, at))
        assert sum("/advice/" in path for path, _ in fake_google.posted) == 4
        with Session(engine) as session:
            asked.append(
                {
                    (p.region, p.instance_types)
                    for p in session.scalars(
                        select(PlacementScore).where(PlacementScore.observed_at == at)
                    )
                }
            )
    assert len(asked[0]) == len(asked[1]) == 2
    # The second run asks about targets the first did not (never-asked first).
    assert not asked[0] & asked[1]


# --- pure parsing and planning ------------------------------------------------------------

TARGET = AdviceTarget("us-central1", "n2-standard-8", "n2-standard-8", None, ZONES[:2])


@pytest.mark.parametrize(
    ("recommendations", "expected"),
    [
        # why: a recommendation in one zone is that zone's score; the first per zone wins
        (
            [
                {"scores": {"obtainability": 0.8}, "shards": [{"zone": "us-central1-a"}]},
                {"scores": {"obtainability": 0.2}, "shards": [{"zone": "us-central1-a"}]},
            ],
            {"us-central1-a": 0.8},
        ),
        # why: one spread over two zones says nothing of either alone: a regional score
        (
            [
                {
                    "scores": {"obtainability": 0.5},
                    "shards": [{"zone": "us-central1-a"}, {"zone": "us-central1-b"}],
                }
            ],
            {REGIONAL_ZONE: 0.5},
        ),
        # why: no recommendation, no score (never a made-up one)
        ([], {}),
    ],
)
def test_parse_capacity(
    recommendations: list[dict[str, Any]], expected: dict[str, float], now: datetime
) -> None:
    rows = parse_capacity({"recommendations": recommendations}, target=TARGET, observed_at=now)
    assert {r["zone_id"]: r["score"] for r in rows} == pytest.approx(expected)
    assert all(r["target_capacity"] == 1 and r["observed_at"] == now for r in rows)


@pytest.mark.parametrize(
    "response",
    [
        {"recommendations": [{"scores": {"obtainability": 1.5}, "shards": []}]},  # out of range
        {"recommendations": [{"scores": {}, "shards": []}]},  # no obtainability
        {"recommendations": [{"scores": {"obtainability": 0.5}, "shards": [{"zone": "eu-x-a"}]}]},
    ],
)
def test_parse_capacity_refuses_malformed(response: dict[str, Any], now: datetime) -> None:
    with pytest.raises(SourceDataError, match="advice"):
        parse_capacity(response, target=TARGET, observed_at=now)


def test_parse_history_bounds_the_fraction(now: datetime) -> None:
    every = {
        "preemptionHistory": [
            {
                "interval": {
                    "startTime": (now - timedelta(days=1)).isoformat(),
                    "endTime": now.isoformat(),
                },
                "preemptionRate": 1.0,
            }
        ]
    }
    (row,) = parse_capacity_history(every, target=TARGET, observed_at=now)
    assert row["rate"] == MAX_PREEMPTION_FRACTION  # the hazard takes [0, 1)
    assert parse_capacity_history({}, target=TARGET, observed_at=now) == []
    bad = {"preemptionHistory": [{**every["preemptionHistory"][0], "preemptionRate": -0.1}]}
    with pytest.raises(SourceDataError, match="capacityHistory"):
        parse_capacity_history(bad, target=TARGET, observed_at=now)


def test_plan_asks_never_asked_then_stalest_within_the_budget(now: datetime) -> None:
    targets = [
        AdviceTarget("r", name, name, None, ("r-a",)) for name in ("a-1", "b-1", "c-1", "d-1")
    ]
    history = {("r", "a-1"): now - timedelta(days=1), ("r", "b-1"): now - timedelta(days=3)}
    chosen = plan_advice(targets, history=history, limit=6)
    assert [t.instance_type for t in chosen] == ["c-1", "d-1", "b-1"]
    assert plan_advice(targets, history=history, limit=1) == []
