"""The weekly report's pure builder on the fixed market: diff and implied edits per cloud,
movers, heat map, cost, and the recommendation it stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from selector import PoolIndex, PoolKey, rank
from selector.outputs.report import HOURS_PER_WEEK, ProfileRankings, build_report, wide_requirements
from selector.outputs.report_model import WeekInputs
from selector.outputs.report_sections import MIN_MOVE, movers
from tests.selector.factories import NOW
from tests.selector.outputs.fixtures import market, profile, ranking

INPUTS = WeekInputs(
    week="2025-W26", start=NOW - timedelta(days=5), end=NOW + timedelta(days=2), cut=NOW,
    has_data=True,
)  # fmt: skip
PREVIOUS_ONLY = "p4d.24xlarge"


def _previous(**extra: Any) -> dict[str, Any]:
    spot = ranking(profile(), "spot")
    types = [*spot.instance_types, PREVIOUS_ONLY]
    zones = [*sorted({p.key.zone_id for p in spot.pools}), "use1-az9"]
    entry = {"instance_types": types, "zones": zones, **extra}
    return {"week": "2025-W25", "profiles": {"gpu-trainer": entry}}


def _build(p: Any = None, previous: Any = None, **kw: Any) -> Any:
    p = p or profile()
    spot = ranking(profile(), "spot")
    return build_report(
        INPUTS, [ProfileRankings(p, spot, **kw)], previous=previous, generated_at=NOW
    )


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        # why: AWS profiles edit the spot NodePool's requirements and the Fleet overrides
        ("aws", [
            f"NodePool gpu-trainer-spot: remove {PREVIOUS_ONLY} from "
            "node.kubernetes.io/instance-type",
            "NodePool gpu-trainer-spot: remove use1-az9 from topology.k8s.aws/zone-id",
            f"EC2 Fleet / ASG: remove {PREVIOUS_ONLY} from the launch template overrides",
        ]),
        # why: GKE and AKS get one spot node pool per type: a removed type deletes a pool
        ("gcp", [f"GKE: delete the spot node pool for {PREVIOUS_ONLY}",
                 "GKE node pools: remove use1-az9 from node locations"]),
        ("azure", [f"AKS: delete the spot node pool for {PREVIOUS_ONLY}",
                   "AKS node pools: remove use1-az9 from availability zones"]),
    ],
)  # fmt: skip
def test_a_removed_type_and_zone_become_the_clouds_edits(cloud: str, expected: list[str]) -> None:
    p = profile()
    p = replace(p, requirements=replace(p.requirements, clouds=(cloud,)))
    [report] = _build(p, _previous()).profiles
    assert report.diff.removed_types == (PREVIOUS_ONLY,)
    assert report.diff.removed_zones == ("use1-az9",)
    assert report.diff.added_types == ()
    assert list(report.diff.changes) == expected


def test_a_profile_unavailable_last_week_is_not_compared() -> None:
    [report] = _build(previous=_previous(available=False)).profiles
    assert not report.diff.compared


def test_the_stored_recommendation_round_trips_as_unchanged() -> None:
    first = _build()
    [again] = _build(previous=first.recommendations).profiles
    assert again.diff.unchanged
    assert first.recommendations["profiles"]["gpu-trainer"]["available"] is True


def _doubled(snapshot: PoolIndex, key: PoolKey) -> PoolIndex:
    records = [
        replace(r, spot_price=(r.spot_price or 0) * 2) if r.key == key else r
        for r in snapshot.records
    ]
    return PoolIndex.build(records, built_at=NOW)


def test_movers_rank_the_doubled_price_first_and_skip_noise() -> None:
    p = profile()
    wide = wide_requirements(p.requirements)
    before = market()
    key = next(r.key for r in before.records if r.key.instance_type == "g6.xlarge")
    start = rank(before, wide, now=NOW)
    end = rank(_doubled(before, key), wide, now=NOW)
    price = [m for m in movers(start, end) if m.metric == "price"]
    assert price[0].key == key
    assert price[0].change == pytest.approx(1.0)
    assert all(abs(m.change) >= MIN_MOVE for m in movers(start, end))
    assert movers(start, start) == ()  # nothing moved, nothing listed
    # A pool priced out of the profile's max_price by the move is still compared.
    capped = replace(p.requirements, max_price=price[0].before * 1.5)
    wide_capped = wide_requirements(capped)
    assert rank(_doubled(before, key), capped, now=NOW).pools  # others still qualify
    assert key not in {q.key for q in rank(_doubled(before, key), capped, now=NOW).pools}
    capped_movers = movers(rank(before, wide_capped, now=NOW),
                           rank(_doubled(before, key), wide_capped, now=NOW))  # fmt: skip
    assert capped_movers[0].key == key
    assert movers(None, end) == ()


def test_cost_heat_map_and_no_data() -> None:
    spot = ranking(profile(), "spot")
    [report] = _build().profiles
    pools = [q for q in spot.pools if q.capacity_type == "spot"]
    assert report.cost is not None
    assert report.cost.spot == pytest.approx(sum(q.nodes * q.price for q in pools) * 168)
    assert report.cost.hours == HOURS_PER_WEEK
    assert report.cost.on_demand == pytest.approx(
        report.cost.nodes * (spot.verdict.best_on_demand_price or 0) * 168
    )
    zones = {q.key.zone_id for q in pools}
    assert len(report.heat) == len(report.instance_types) * len(zones)
    empty = build_report(
        replace(INPUTS, has_data=False), [ProfileRankings(profile(), spot)], previous=None,
        generated_at=NOW,
    )  # fmt: skip
    [nothing] = empty.profiles
    assert not nothing.available
    assert nothing.heat == ()
    assert nothing.cost is None
