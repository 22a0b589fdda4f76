"""Week over week in numbers: one profile's recommendation against the one stored last week —
the node split per pool, the weekly cost, the recommended pools' price and hazard, the verdict.

Pure: reads last week's stored entry (`Report.recommendations["profiles"][name]`, see
`recommendation`) and this week's `ProfileReport`. Stored layouts by `version`: 1 kept each
pool's nodes, price and effective cost; 2 adds each pool's hazard, the weekly cost and the
verdict. A field an older document lacks is "not recorded" (its `Compared.before` is None),
never a zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from selector.outputs.report_model import (
    Compared,
    NodeMove,
    PoolChange,
    ProfileReport,
    WeekOverWeek,
)
from selector.pools import PoolKey

__all__ = ["POOL_CHANGES_TOP", "RECOMMENDATIONS_VERSION", "recommendation", "week_over_week"]

# The layout of a stored recommendation (see the module docstring).
RECOMMENDATIONS_VERSION: Final = 2
# Recommended pools listed per metric (price, hazard): a profile recommends up to a dozen
# pools; the three that moved most are what a reader acts on, the rest is in the pool table.
POOL_CHANGES_TOP: Final = 3


def recommendation(p: ProfileReport) -> dict[str, Any]:
    """What next week's report compares against (JSON-able)."""
    cost = p.cost
    return {
        "cloud": p.cloud,
        "region": p.region,
        "nodepool": p.nodepool,
        "available": p.available,
        "instance_types": list(p.instance_types),
        "zones": list(p.zones),
        "pools": [
            {
                "instance_type": r.key.instance_type,
                "zone_id": r.key.zone_id,
                "nodes": r.nodes,
                "price": r.price,
                "effective_cost": r.effective_cost,
                "hazard": r.hazard,
            }
            for r in p.pools
        ],
        "cost": None
        if cost is None
        else {"spot": cost.spot, "effective": cost.effective, "on_demand": cost.on_demand},
        "spot_pays_off": p.spot_pays_off,
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _stored_pools(
    p: ProfileReport, entry: Mapping[str, Any]
) -> dict[PoolKey, Mapping[str, Any]] | None:
    """Last week's pools by key; None when the document kept no pools (before version 1)."""
    pools = entry.get("pools")
    if not isinstance(pools, list):
        return None
    cloud, region = str(entry.get("cloud", p.cloud)), str(entry.get("region", p.region))
    out: dict[PoolKey, Mapping[str, Any]] = {}
    for pool in pools:
        if isinstance(pool, Mapping) and isinstance(pool.get("instance_type"), str):
            key = PoolKey(cloud, region, str(pool.get("zone_id") or ""), pool["instance_type"])
            out[key] = pool
    return out


def _moves(p: ProfileReport, before: Mapping[PoolKey, Mapping[str, Any]]) -> list[NodeMove]:
    old = {k: int(_number(v.get("nodes")) or 0) for k, v in before.items()}
    new = {r.key: r.nodes for r in p.pools}
    moves = [
        NodeMove(k, old.get(k, 0), new.get(k, 0))
        for k in sorted(old.keys() | new.keys())
        if old.get(k, 0) != new.get(k, 0)
    ]
    # The largest shifts first: they are the weight / override edits that matter.
    moves.sort(key=lambda m: (-abs(m.after - m.before), m.key))
    return moves


def _pool_changes(
    p: ProfileReport, before: Mapping[PoolKey, Mapping[str, Any]]
) -> tuple[tuple[PoolChange, ...], bool]:
    """Per metric, the still-recommended pools that moved most (a pool that held is left out:
    the renderers say when none moved), and whether last week recorded hazards."""
    kept = [r for r in p.pools if r.key in before]
    out: list[PoolChange] = []
    hazard_recorded = any(_number(before[r.key].get("hazard")) is not None for r in kept)
    for metric in ("price", "hazard") if hazard_recorded else ("price",):
        changes = [
            PoolChange(
                r.key, metric, Compared(_number(before[r.key].get(metric)), getattr(r, metric))
            )
            for r in kept
        ]

        def size(c: PoolChange) -> float:
            change = c.value.change
            return -1.0 if change is None else abs(change)

        moved = [c for c in changes if c.value.change]
        out.extend(sorted(moved, key=lambda c: (-size(c), c.key))[:POOL_CHANGES_TOP])
    return tuple(out), hazard_recorded


def week_over_week(p: ProfileReport, entry: Mapping[str, Any] | None) -> WeekOverWeek | None:
    """The numbers against last week's entry; None when there is no entry to compare with or
    the profile has no recommendation this week."""
    if entry is None or not p.available:
        return None
    before = _stored_pools(p, entry)
    cost = entry.get("cost")
    old_cost = cost if isinstance(cost, Mapping) else {}
    now = p.cost
    pools, hazard_recorded = _pool_changes(p, before or {})
    return WeekOverWeek(
        split_recorded=before is not None,
        moves=tuple(_moves(p, before)) if before is not None else (),
        nodes_before=sum(int(_number(v.get("nodes")) or 0) for v in (before or {}).values()),
        nodes_after=sum(r.nodes for r in p.pools),
        cost_recorded=isinstance(cost, Mapping),
        spot=Compared(_number(old_cost.get("effective")), now.effective if now else None),
        on_demand=Compared(_number(old_cost.get("on_demand")), now.on_demand if now else None),
        pools=pools,
        kept=sum(1 for r in p.pools if r.key in (before or {})),
        hazard_recorded=hazard_recorded,
        verdict_recorded="spot_pays_off" in entry,
        verdict_before=(
            entry["spot_pays_off"] if isinstance(entry.get("spot_pays_off"), bool) else None
        ),
        verdict_after=p.spot_pays_off,
    )
