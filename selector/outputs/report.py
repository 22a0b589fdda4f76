"""The weekly report's builder: from a week's inputs and each profile's rankings to a `Report`.

Pure like every builder here: the caller ranks (each profile at the week's end, plus a wide
ranking at its start and end for the movers), reads the week's inputs from the store, and
renders the result. Sections that need more than one step live in `report_sections`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from selector.outputs.profile import OutputProfile
from selector.outputs.report_compare import (
    RECOMMENDATIONS_VERSION,
    recommendation,
    week_over_week,
)
from selector.outputs.report_model import (
    CostEstimate,
    ProfileReport,
    RecommendationDiff,
    RecommendedPool,
    Report,
    WeekInputs,
)
from selector.outputs.report_sections import fallback_account, heat_map, movers
from selector.requirements import MAX_SIGNAL_AGE_HOURS, MAX_TOP, Requirements
from selector.results import RankedPool, Ranking

__all__ = [
    "HOURS_PER_WEEK",
    "RECOMMENDATIONS_VERSION",
    "ProfileRankings",
    "build_report",
    "wide_requirements",
]

HOURS_PER_WEEK: Final = 7 * 24.0
NO_DATA_NOTE: Final = "no data was collected in this week"
# Price lines per chart: one distinct colour each (outputs/report/svg.py's eight-colour palette);
# the pools carrying nodes come first, then the rest in rank order.
PRICE_LINES: Final = 8


@dataclass(frozen=True, slots=True)
class ProfileRankings:
    """What the caller ranked for one profile (None = not ranked, `note` says why)."""

    profile: OutputProfile
    spot: Ranking | None  # the profile's own spot ranking at the week's end: the recommendation
    start: Ranking | None = None  # wide rankings (`wide_requirements`) for the movers
    end: Ranking | None = None
    note: str | None = None


def wide_requirements(requirements: Requirements) -> Requirements:
    """The profile's pools as broadly as a ranking lists them, spot only: movers compare every
    matching pool at the week's start and end, not only the ones recommended; a price confirmed
    long ago is still the price in force, and a pool that became dearer than the profile's
    `max_price` is the kind of move the report exists to show."""
    return replace(
        requirements,
        capacity_types=("spot",),
        max_price=None,
        top=MAX_TOP,
        min_instance_types=1,
        min_zones=1,
        max_share_per_type=1.0,
        max_share_per_family=1.0,
        max_share_per_zone=1.0,
        max_price_age_hours=MAX_SIGNAL_AGE_HOURS,
    )


def build_report(
    inputs: WeekInputs,
    rankings: Sequence[ProfileRankings],
    *,
    previous: Mapping[str, Any] | None,
    generated_at: datetime,
) -> Report:
    """The whole report; `previous` is last week's `Report.recommendations` (None = none)."""
    before = _previous_profiles(previous)
    profiles = tuple(_profile(inputs, r, before) for r in rankings)
    simulated = any(p.simulated for p in profiles) or any(
        s.simulated and s.runs for s in inputs.sources
    )
    recommendations = {
        "version": RECOMMENDATIONS_VERSION,
        "week": inputs.week,
        "simulated": simulated,
        "profiles": {p.name: recommendation(p) for p in profiles},
    }
    compared = previous.get("week") if isinstance(previous, Mapping) else None
    return Report(
        week=inputs.week,
        start=inputs.start,
        end=inputs.end,
        cut=inputs.cut,
        generated_at=generated_at,
        has_data=inputs.has_data,
        simulated=simulated,
        profiles=profiles,
        fleet=inputs.fleet,
        sources=inputs.sources,
        compared_with=str(compared) if previous is not None and compared else None,
        recommendations=recommendations,
    )


def _previous_profiles(previous: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Last week's recommendation per profile; entries not in the expected shape are dropped
    (they cannot be compared with, and the diff then says so)."""
    if not isinstance(previous, Mapping):
        return {}
    profiles = previous.get("profiles")
    if not isinstance(profiles, Mapping):
        return {}
    return {
        str(name): entry
        for name, entry in profiles.items()
        if isinstance(entry, Mapping)
        and entry.get("available", True)
        and isinstance(entry.get("instance_types"), list)
        and isinstance(entry.get("zones"), list)
    }


def _profile(
    inputs: WeekInputs, ranked: ProfileRankings, before: Mapping[str, Mapping[str, Any]]
) -> ProfileReport:
    profile = ranked.profile
    region = profile.requirements.regions[0] if profile.requirements.regions else ""
    base = ProfileReport(
        name=profile.name,
        cloud=profile.cloud,
        region=region,
        nodepool=profile.nodepool,
        available=False,
        note=ranked.note,
    )
    if not inputs.has_data:
        return replace(base, note=NO_DATA_NOTE)
    spot = ranked.spot
    pools = _spot_pools(spot)
    fallback = fallback_account(profile, inputs, spot)
    if spot is None or not pools:
        note = ranked.note or "no spot pool matches the profile's requirements at the week's end"
        return replace(base, note=note, fallback=fallback)
    types = tuple(dict.fromkeys(p.key.instance_type for p in pools))
    zones = tuple(sorted({p.key.zone_id for p in pools if p.key.zone_id}))
    charted = [p.key for p in pools if p.nodes > 0] + [p.key for p in pools if p.nodes <= 0]
    series = {s.key: s for s in inputs.prices}
    report = replace(
        base,
        available=True,
        instance_types=types,
        zones=zones,
        pools=tuple(
            RecommendedPool(p.key, p.nodes, p.price, p.effective_cost, p.hazard.rate, p.capacity)
            for p in pools
        ),
        diff=_diff(profile, types, zones, before.get(profile.name)),
        cost=_cost(spot, pools),
        verdict=spot.verdict.message,
        spot_pays_off=spot.verdict.spot_pays_off,
        movers=movers(ranked.start, ranked.end),
        prices=tuple(series[k] for k in charted[:PRICE_LINES] if k in series),
        heat=heat_map(ranked.end or spot, types),
        fallback=fallback,
        simulated=spot.simulated,
    )
    previous = before.get(profile.name)
    return replace(report, diff=replace(report.diff, numbers=week_over_week(report, previous)))


def _spot_pools(ranking: Ranking | None) -> list[RankedPool]:
    return [] if ranking is None else [p for p in ranking.pools if p.capacity_type == "spot"]


def _cost(spot: Ranking, pools: Sequence[RankedPool]) -> CostEstimate:
    """A week of the recommended nodes: spot prices, effective cost, and on-demand for as many
    nodes at the profile's best on-demand price."""
    nodes = sum(p.nodes for p in pools)
    spot_cost = sum(p.nodes * p.price for p in pools) * HOURS_PER_WEEK
    effective = sum(p.nodes * p.effective_cost for p in pools) * HOURS_PER_WEEK
    od_price = spot.verdict.best_on_demand_price
    if od_price is None:  # no on-demand offering ranked: fall back to the pools' own list prices
        known = [p for p in pools if p.on_demand_price is not None]
        od_price = (
            sum(p.nodes * (p.on_demand_price or 0.0) for p in known) / sum(p.nodes for p in known)
            if known and sum(p.nodes for p in known)
            else None
        )
    on_demand = None if od_price is None else nodes * od_price * HOURS_PER_WEEK
    savings = 1.0 - effective / on_demand if on_demand else None
    return CostEstimate(HOURS_PER_WEEK, nodes, spot_cost, effective, on_demand, savings)


def _diff(
    profile: OutputProfile,
    types: tuple[str, ...],
    zones: tuple[str, ...],
    before: Mapping[str, Any] | None,
) -> RecommendationDiff:
    if before is None:
        return RecommendationDiff(compared=False)
    old_types = [str(t) for t in before["instance_types"]]
    old_zones = [str(z) for z in before["zones"]]
    added_t = tuple(t for t in types if t not in old_types)
    removed_t = tuple(t for t in old_types if t not in types)
    added_z = tuple(z for z in zones if z not in old_zones)
    removed_z = tuple(z for z in old_zones if z not in zones)
    return RecommendationDiff(
        compared=True,
        added_types=added_t,
        removed_types=removed_t,
        added_zones=added_z,
        removed_zones=removed_z,
        changes=_changes(profile, added_t, removed_t, added_z, removed_z),
    )


def _changes(
    profile: OutputProfile,
    added_t: tuple[str, ...],
    removed_t: tuple[str, ...],
    added_z: tuple[str, ...],
    removed_z: tuple[str, ...],
) -> tuple[str, ...]:
    """The edits to the generated outputs, one line each, in the outputs' own vocabulary."""
    lines: list[str] = []

    def edit(target: str, what: str, added: tuple[str, ...], removed: tuple[str, ...]) -> None:
        if added:
            lines.append(f"{target}: add {', '.join(added)} to {what}")
        if removed:
            lines.append(f"{target}: remove {', '.join(removed)} from {what}")

    managed = {"gcp": ("GKE", "node locations"), "azure": ("AKS", "availability zones")}
    if profile.cloud in managed:  # one spot node pool per ranked type on GKE and AKS
        service, where = managed[profile.cloud]
        for t in added_t:
            lines.append(f"{service}: create the spot node pool for {t}")
        for t in removed_t:
            lines.append(f"{service}: delete the spot node pool for {t}")
        edit(f"{service} node pools", where, added_z, removed_z)
        return tuple(lines)
    nodepool = f"NodePool {profile.spot_pool_name}"
    edit(nodepool, "node.kubernetes.io/instance-type", added_t, removed_t)
    edit(nodepool, "topology.k8s.aws/zone-id", added_z, removed_z)
    edit("EC2 Fleet / ASG", "the launch template overrides", added_t, removed_t)
    return tuple(lines)
