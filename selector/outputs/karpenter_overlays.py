"""Karpenter `karpenter.sh/v1alpha1` NodeOverlays as plain dicts: each offering's risk as a price.

`priceAdjustment` adds each offering's risk (effective cost - price) so Karpenter's own
cheapest-first choice follows effective cost.

Overlay coverage: a NodePool allows every type x zone of its requirements, more than the ranked
pools. So each ranked type gets a NodeOverlay without a zone (weight `OVERLAY_TYPE_WEIGHT`, the
type's highest ranked adjustment: an unranked zone is assumed no safer than the worst ranked
one), and each ranked pool one with its zone and its own adjustment (`OVERLAY_POOL_WEIGHT`,
higher, so it takes precedence): every offering the spot NodePool allows is covered.

On-demand discounts (`requirements.on_demand_discounts`): Karpenter prices on-demand at list, so
under a Savings Plan it would think spot cheaper than it is. With overlays on, each type of the
on-demand fallback that has a discount gets a NodeOverlay lowering its price by that percentage
(`priceAdjustment: "-20%"`), so Karpenter's own comparisons see what on-demand really costs.

Fleet evidence: the user's own interruptions raise a pool's λ (Gamma-Poisson), so its risk and
its overlay's adjustment rise with them. Recent insufficient-capacity errors add an ICE
adjustment on top, price × (1/f − 1) with f the capacity factor the errors still apply
(`selector.capacity.ice_weight`): a launch whose odds the errors cut to f costs price / f per node
obtained. It fades with the errors and is gone after ICE_TTL_HOURS, where Karpenter's own
unavailable-offerings cache forgets an ICE after 3 minutes. Overlays of pools with fleet evidence
say what it moved (`spotsel.io/fleet-evidence`, the prior λ, the ICE part in $/h).
"""

from __future__ import annotations

from typing import Any, Final

from selector.capacity import ICE_PENALTY_PER_EVENT
from selector.outputs.karpenter_nodepools import (
    CAPACITY_TYPE_KEY,
    INSTANCE_TYPE_KEY,
    MANAGED_BY,
    NODEPOOL_KEY,
    instance_types,
    requirement,
    spot_pools,
    zone_requirement,
)
from selector.outputs.labels import PROFILE_LABEL
from selector.outputs.profile import OutputProfile
from selector.outputs.provenance import Provenance
from selector.results import RankedPool, Ranking

__all__ = [
    "OVERLAY_API_VERSION",
    "OVERLAY_POOL_WEIGHT",
    "OVERLAY_TYPE_WEIGHT",
    "discount_adjustment",
    "ice_adjustment",
    "node_overlays",
]

OVERLAY_API_VERSION: Final = "karpenter.sh/v1alpha1"
# NodeOverlays with a higher weight take precedence (CRD: 1..10000): a ranked pool's own overlay
# beats its type's zone-less catch-all. Overlays only match their own NodePool's offerings.
OVERLAY_TYPE_WEIGHT: Final = 10
OVERLAY_POOL_WEIGHT: Final = 20
# $/h precision of priceAdjustment: a hundredth of a cent per hour is below any real price step.
PRICE_DECIMALS: Final = 6
# Discount overlays state a percentage, not $/h: it applies to whatever list price Karpenter holds
# (its pricing refresh need not match ours). The CRD takes a decrease as "-NN.NN%" (below 100,
# `^-\d{1,2}(\.\d+)?%$`); a hundredth of a percent is finer than any price agreement.
PERCENT_DECIMALS: Final = 2
MAX_PERCENT_OFF: Final = 99.99


def node_overlays(
    profile: OutputProfile,
    spot: Ranking,
    *,
    on_demand: Ranking | None = None,
    provenance: Provenance | None = None,
) -> list[dict[str, Any]]:
    """NodeOverlays covering every offering of the spot NodePool (see the module docstring):
    one zone-less catch-all per ranked type, then one per ranked pool (higher weight); with
    `on_demand` (the fallback's ranking), one discount overlay per discounted fallback type."""
    pools = spot_pools(spot)
    label = (provenance or Provenance.of(spot, on_demand)).annotations()
    out = []
    for itype in instance_types(pools):
        worst = max((p for p in pools if p.key.instance_type == itype), key=_adjustment)
        out.append(
            _overlay(
                profile,
                name=f"{profile.spot_pool_name}-{itype}",
                pool=worst,
                weight=OVERLAY_TYPE_WEIGHT,
                zone=None,
                annotations=label,
            )
        )
    # A regional pool has no zone of its own: its type's zone-less catch-all covers it.
    for pool in (p for p in pools if p.key.zone_id):
        out.append(
            _overlay(
                profile,
                name=f"{profile.spot_pool_name}-{pool.key.instance_type}-{pool.key.zone_id}",
                pool=pool,
                weight=OVERLAY_POOL_WEIGHT,
                zone=zone_requirement([pool.key.zone_id]),
                annotations=label,
            )
        )
    if on_demand is not None:
        od_pools = [p for p in on_demand.pools if p.capacity_type == "on-demand"]
        for itype in instance_types(od_pools):
            # A discount is per cloud / region / family, so every zone of a type shares it.
            pool = next(p for p in od_pools if p.key.instance_type == itype)
            adjustment = discount_adjustment(pool.on_demand_discount)
            if adjustment is not None:
                out.append(_discount_overlay(profile, pool, adjustment, annotations=label))
    return out


# --- helpers ----------------------------------------------------------------------------------


def _adjustment(pool: RankedPool) -> float:
    """What the overlay adds in $/h: the risk (effective cost - price, never negative) plus the
    ICE adjustment."""
    return max(pool.effective_cost - pool.price, 0.0) + ice_adjustment(pool)


def ice_adjustment(pool: RankedPool) -> float:
    """$/h for the pool's remembered insufficient-capacity errors: price × (1/f − 1), f the
    capacity factor they still apply; 0 without errors or once they are past the TTL."""
    if pool.fleet is None or pool.fleet.capacity_error_weight <= 0:
        return 0.0
    factor: float = ICE_PENALTY_PER_EVENT**pool.fleet.capacity_error_weight
    return pool.price * (1.0 / factor - 1.0)


def _fleet_annotations(pool: RankedPool) -> dict[str, str]:
    """What the pool's own fleet evidence moved; nothing when it has none."""
    if pool.fleet is None:
        return {}
    out = {"spotsel.io/fleet-evidence": "; ".join(pool.fleet.notes) or "none in effect"}
    if pool.hazard_prior is not None:
        out["spotsel.io/hazard-prior-per-hour"] = f"{pool.hazard_prior:.6g}"
    ice = ice_adjustment(pool)
    if ice > 0:
        out["spotsel.io/capacity-error-adjustment"] = f"{ice:.{PRICE_DECIMALS}f}"
    return out


def discount_adjustment(discount: float) -> str | None:
    """``"-20%"`` for a 0.2 discount; None when it rounds to no discount at all."""
    percent = min(round(discount * 100.0, PERCENT_DECIMALS), MAX_PERCENT_OFF)
    if percent <= 0:
        return None
    return f"-{percent:.{PERCENT_DECIMALS}f}".rstrip("0").rstrip(".") + "%"


def _discount_overlay(
    profile: OutputProfile, pool: RankedPool, adjustment: str, *, annotations: dict[str, str]
) -> dict[str, Any]:
    """The fallback's on-demand price of `pool`'s type lowered by `adjustment` (its discount)."""
    prices = {
        "spotsel.io/on-demand-discount": f"{pool.on_demand_discount:.6g}",
        "spotsel.io/on-demand-list-price": _money(pool.on_demand_list_price),
        "spotsel.io/on-demand-price": _money(pool.on_demand_price),
    }
    return {
        "apiVersion": OVERLAY_API_VERSION,
        "kind": "NodeOverlay",
        "metadata": {
            "name": f"{profile.on_demand_pool_name}-{pool.key.instance_type}",
            "labels": {**MANAGED_BY, PROFILE_LABEL: profile.name},
            "annotations": {**annotations, **prices},
        },
        "spec": {
            # Only the fallback's own offerings match, so no other overlay competes with it.
            "weight": OVERLAY_TYPE_WEIGHT,
            "priceAdjustment": adjustment,
            "requirements": [
                requirement(NODEPOOL_KEY, [profile.on_demand_pool_name]),
                requirement(CAPACITY_TYPE_KEY, ["on-demand"]),
                requirement(INSTANCE_TYPE_KEY, [pool.key.instance_type]),
            ],
        },
    }


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.{PRICE_DECIMALS}f}"


def _overlay(
    profile: OutputProfile,
    *,
    name: str,
    pool: RankedPool,
    weight: int,
    zone: dict[str, Any] | None,
    annotations: dict[str, str],
) -> dict[str, Any]:
    requirements = [
        requirement(NODEPOOL_KEY, [profile.spot_pool_name]),
        requirement(CAPACITY_TYPE_KEY, ["spot"]),
        requirement(INSTANCE_TYPE_KEY, [pool.key.instance_type]),
    ]
    if zone is not None:
        requirements.append(zone)
    return {
        "apiVersion": OVERLAY_API_VERSION,
        "kind": "NodeOverlay",
        "metadata": {
            "name": name,
            "labels": {**MANAGED_BY, PROFILE_LABEL: profile.name},
            "annotations": {
                **annotations,
                "spotsel.io/effective-cost": f"{pool.effective_cost:.{PRICE_DECIMALS}f}",
                "spotsel.io/spot-price": f"{pool.price:.{PRICE_DECIMALS}f}",
                "spotsel.io/hazard-per-hour": f"{pool.hazard.rate:.6g}",
                **_fleet_annotations(pool),
            },
        },
        "spec": {
            "weight": weight,
            "priceAdjustment": f"+{_adjustment(pool):.{PRICE_DECIMALS}f}",
            "requirements": requirements,
        },
    }
