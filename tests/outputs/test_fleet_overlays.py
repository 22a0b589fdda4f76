"""NodeOverlays learn from fleet evidence: interruptions raise the risk adjustment through λ,
recent insufficient-capacity errors add an ICE adjustment until they age out; all CRD-valid."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from outputs.crds import CrdSchemas, load_crds, validate_manifests
from selector import PoolIndex, RankedPool, Ranking
from selector.capacity import ICE_HALF_LIFE_HOURS, ICE_PENALTY_PER_EVENT, ICE_TTL_HOURS
from selector.outputs import karpenter_documents
from selector.outputs.karpenter import OVERLAY_POOL_WEIGHT, ice_adjustment
from tests.outputs.helpers import CRDS
from tests.selector.factories import NOW
from tests.selector.outputs.fixtures import REGION_ZONES, market, profile, ranking

# The pool the fleet reports on: ranked in the fixed market's spot list.
TYPE, ZONE = "g5.xlarge", "use1-az1"


@pytest.fixture(scope="module")
def crds() -> CrdSchemas:
    return load_crds(CRDS)


def _with_fleet(**fleet: Any) -> PoolIndex:
    """The fixed market with fleet evidence on (TYPE, ZONE)."""
    records = [
        replace(r, **fleet) if (r.key.instance_type, r.key.zone_id) == (TYPE, ZONE) else r
        for r in market().records
    ]
    return PoolIndex.build(records, built_at=NOW)


def _overlays(snapshot: PoolIndex, crds: CrdSchemas) -> tuple[Ranking, dict[str, dict[str, Any]]]:
    p = profile()
    spot = ranking(p, "spot", snapshot)
    docs = karpenter_documents(
        p, spot=spot, on_demand=ranking(p, "on-demand", snapshot), region_zones=REGION_ZONES
    )
    validate_manifests(docs.manifests, crds)  # the real Karpenter v1 CRDs, CEL rules included
    own = (o for o in docs.overlays if o["spec"]["weight"] == OVERLAY_POOL_WEIGHT)
    return spot, {o["metadata"]["name"]: o for o in own}


def _pool(spot: Ranking) -> RankedPool:
    return next(p for p in spot.pools if (p.key.instance_type, p.key.zone_id) == (TYPE, ZONE))


# The overlay of (TYPE, ZONE) alone (the type's zone-less catch-all has a lower weight).
NAME = f"{profile().spot_pool_name}-{TYPE}-{ZONE}"


def test_fleet_interruptions_raise_the_overlay_through_lambda(crds: CrdSchemas) -> None:
    """Why: a pool that keeps interrupting must look dearer to Karpenter than its bucket says."""
    base_spot, base = _overlays(market(), crds)
    spot, overlays = _overlays(
        _with_fleet(fleet_interruptions=6, fleet_instance_hours=20.0, fleet_at=NOW), crds
    )
    before, after = _pool(base_spot), _pool(spot)
    assert after.hazard.rate > before.hazard.rate
    assert after.hazard_prior == pytest.approx(before.hazard.rate), "the bucket is the prior"
    adjusted = float(overlays[NAME]["spec"]["priceAdjustment"])
    assert adjusted == pytest.approx(after.effective_cost - after.price, abs=1e-6)
    assert adjusted > float(base[NAME]["spec"]["priceAdjustment"])
    notes = overlays[NAME]["metadata"]["annotations"]
    assert notes["spotsel.io/fleet-evidence"].startswith("6 interruptions in 20 instance-hours")
    assert float(notes["spotsel.io/hazard-prior-per-hour"]) == pytest.approx(
        before.hazard.rate, rel=1e-5
    )
    assert "spotsel.io/fleet-evidence" not in base[NAME]["metadata"]["annotations"]


@pytest.mark.parametrize(
    ("age_hours", "weight"),
    [
        pytest.param(0.0, 1.0, id="fresh errors: full ICE adjustment"),
        pytest.param(
            ICE_TTL_HOURS / 2, 0.5 ** (ICE_TTL_HOURS / 2 / ICE_HALF_LIFE_HOURS), id="half the TTL"
        ),
        pytest.param(ICE_TTL_HOURS + 0.1, 0.0, id="past the TTL: aged out"),
    ],
)
def test_recent_capacity_errors_add_an_ice_adjustment_until_they_age_out(
    crds: CrdSchemas, age_hours: float, weight: float
) -> None:
    errors = 3
    spot, overlays = _overlays(
        _with_fleet(fleet_capacity_errors=errors, fleet_at=NOW - timedelta(hours=age_hours)), crds
    )
    pool = _pool(spot)
    overlay = overlays[NAME]
    risk = pool.effective_cost - pool.price
    expected_ice = pool.price * (1 / ICE_PENALTY_PER_EVENT ** (errors * weight) - 1)
    assert ice_adjustment(pool) == pytest.approx(expected_ice)
    assert float(overlay["spec"]["priceAdjustment"]) == pytest.approx(risk + expected_ice, abs=1e-6)
    annotations = overlay["metadata"]["annotations"]
    if weight > 0:
        assert float(annotations["spotsel.io/capacity-error-adjustment"]) == pytest.approx(
            expected_ice, abs=1e-6
        )
        assert "capacity 0.80 →" in annotations["spotsel.io/fleet-evidence"]
    else:
        assert "spotsel.io/capacity-error-adjustment" not in annotations
        assert "capacity unchanged" in annotations["spotsel.io/fleet-evidence"]
