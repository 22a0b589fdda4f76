"""How the rows of a ranking are ordered, in words and as keys, and why rank 1 may not be
the verdict's best spot pool.

The rows follow the strategy's sort keys (`selector.strategies`), which are not always the
cost column the table shows: under `effective-cost` with a tie band (`cost_tie_band` > 0, off
by default), costs within the band count as equal and λ decides, so a row can cost a little
more than the one below it. The ranking says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selector.pools import PoolKey
from selector.requirements import Requirements
from selector.strategies import PRICE_CAPACITY_THRESHOLD, SIMILAR_COST_TOLERANCE

__all__ = ["Ordering", "describe_ordering", "rank_one_note", "tie_band"]

# Keys after the strategy's own, in every strategy (see `selector.strategies`).
_TIE_KEYS = ("zone_price_ratio", "price_volatility", "pool_key", "spot_before_on_demand")


@dataclass(frozen=True, slots=True)
class Ordering:
    """The row order: the strategy's sort keys, most significant first, and one caption."""

    rule: str  # the strategy
    keys: tuple[str, ...]  # "-x" = descending
    caption: str
    tie_band: float | None = None  # effective-cost: costs within this fraction tie

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "keys": list(self.keys),
            "caption": self.caption,
            "tie_band": self.tie_band,
        }


def tie_band(req: Requirements) -> float:
    """The request's effective-cost tie band (`cost_tie_band`), else the default."""
    return float(getattr(req, "cost_tie_band", SIMILAR_COST_TOLERANCE))


def describe_ordering(req: Requirements) -> Ordering:
    """The order of `rank(…, req)` rows, for the table's caption and the JSON answer."""
    strategy = req.strategy
    if strategy == "price":
        return Ordering(strategy, ("price", *_TIE_KEYS), "Rows: cheapest $/h first.")
    if strategy == "capacity":
        return Ordering(
            strategy,
            ("-capacity", "effective_cost", *_TIE_KEYS),
            "Rows: highest capacity first, then lowest $ per useful hour.",
        )
    if strategy == "price-capacity":
        return Ordering(
            strategy,
            (f"capacity>={PRICE_CAPACITY_THRESHOLD:g}", "price", "-capacity", *_TIE_KEYS),
            f"Rows: pools with capacity ≥ {PRICE_CAPACITY_THRESHOLD:g} first, cheapest $/h "
            "first within each group, then higher capacity.",
        )
    band = tie_band(req)
    if band == 0.0:
        return Ordering(
            strategy,
            ("effective_cost", "hazard_rate", "-capacity", *_TIE_KEYS),
            "Rows: lowest $ per useful hour first; equal costs by lower λ, then higher "
            "capacity, then the zone signals.",
            tie_band=band,
        )
    return Ordering(
        strategy,
        ("effective_cost_band", "hazard_rate", "-capacity", "effective_cost", *_TIE_KEYS),
        f"Rows: $ per useful hour in {band:.0%} bands from the cheapest (cost_tie_band), then "
        f"lower λ, then higher capacity, then the exact cost: a row may cost up to {band:.0%} "
        "more than the one below it.",
        tie_band=band,
    )


def rank_one_note(
    req: Requirements,
    *,
    best_spot: PoolKey | None,
    best_effective: float | None,
    best_rate: float | None,
    first: PoolKey,
    first_spot: bool,
    first_price: float,
    first_effective: float,
    first_rate: float,
    first_capacity: float,
) -> str | None:
    """Why rank 1 is not the verdict's best spot pool (least effective cost), or None."""
    if best_spot is None or best_effective is None or (first_spot and first == best_spot):
        return None
    name = f"{'spot' if first_spot else 'on-demand'} {first.instance_type} in {first.zone_id}"
    best = f"{best_spot.instance_type} in {best_spot.zone_id}"
    strategy = req.strategy
    if strategy == "price":
        why = f"strategy=price orders by $/h ({first_price:.4f} $/h) rather than per useful hour"
    elif strategy == "capacity":
        why = f"strategy=capacity orders by capacity first ({first_capacity:.2f})"
    elif strategy == "price-capacity":
        why = (
            f"strategy=price-capacity puts pools with capacity ≥ {PRICE_CAPACITY_THRESHOLD:g} "
            f"first (capacity {first_capacity:.2f}, {first_price:.4f} $/h)"
        )
    elif first_effective < best_effective:
        why = f"it costs less per useful hour ({first_effective:.4f} vs {best_effective:.4f})"
    elif first_effective <= best_effective * (1.0 + tie_band(req)):
        lam = (
            f"lower λ ({first_rate:.3g} vs {best_rate:.3g}/h)"
            if best_rate is not None and first_rate < best_rate
            else "λ no worse, then capacity and the zone signals decide"
        )
        why = (
            f"its {first_effective:.4f} $/useful-h is within the {tie_band(req):.0%} tie band "
            f"(cost_tie_band) of the cheapest {best_effective:.4f} and it has {lam}"
        )
    else:
        why = "the diversification constraints put the best spot pool's place to other pools"
    return f"Rank 1 is {name}, not the best spot pool {best}: {why}."
