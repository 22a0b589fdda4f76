"""Presentation of a ranking: a rich table with a cost-and-risk chart, verdict and exclusions."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from selector import RankedPool, Ranking
from spotsel.render import format_age

__all__ = ["print_ranking"]

BAR_WIDTH = 16
# How many exclusion reasons to list before summarising the rest.
SHOWN_EXCLUSIONS = 8


def _bar(value: float, scale: float, style: str) -> Text:
    """A horizontal bar: the effective cost against the on-demand reference."""
    filled = 0 if scale <= 0 else round(min(value / scale, 1.0) * BAR_WIDTH)
    return Text("█" * filled + "·" * (BAR_WIDTH - filled), style=style)


def _risk_style(pool: RankedPool) -> str:
    if pool.capacity_type == "on-demand":
        return "blue"
    if pool.hazard.rate < 0.02:
        return "green"
    return "yellow" if pool.hazard.rate < 0.1 else "red"


def _gpu(pool: RankedPool) -> str:
    if not pool.gpu_count:
        return "—"
    memory = f" {pool.gpu_memory_gib:g}G" if pool.gpu_memory_gib else ""
    return f"{pool.gpu_count}×{pool.gpu_model}{memory}"


def print_ranking(console: Console, ranking: Ranking) -> None:
    verdict = ranking.verdict
    reference = verdict.best_on_demand_price or max(
        (p.effective_cost for p in ranking.pools), default=0.0
    )
    table = Table(
        title=(
            f"{len(ranking.pools)} pools, {len(ranking.instance_types)} instance types "
            f"(strategy {ranking.strategy}; {ranking.candidates:,} of "
            f"{ranking.snapshot_size:,} pools eligible)"
        ),
        title_justify="left",
    )
    for column, justify in (
        ("#", "right"), ("pool", "left"), ("type", "left"), ("cap.", "left"),
        ("nodes", "right"), ("GPU", "left"), ("$/h", "right"), ("save", "right"),
        ("λ/h", "right"), ("capacity", "right"), ("$/useful h", "right"),
        ("cost vs best on-demand", "left"), ("ages p/i/c", "left"), ("flags", "left"),
    ):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for p in ranking.pools:
        ages = p.ages
        table.add_row(
            str(p.rank),
            f"{p.key.cloud} {p.key.region} {p.key.zone_id}",
            p.key.instance_type,
            "spot" if p.capacity_type == "spot" else "on-dem.",
            str(p.nodes),
            _gpu(p),
            f"{p.price:.4f}",
            "—" if p.savings is None else f"{p.savings:.0%}",
            f"{p.hazard.rate:.3f}",
            f"{p.capacity:.2f}",
            f"{p.effective_cost:.4f}",
            _bar(p.effective_cost, reference, _risk_style(p)),
            "/".join(format_age(a) for a in (ages.spot_price, ages.interruption, ages.capacity)),
            ", ".join(p.flags),
        )
    console.print(table)
    console.print(
        "Bars: effective cost per useful hour against the best on-demand price "
        "(green λ < 0.02/h, yellow < 0.1/h, red higher; blue = on-demand)."
    )
    style = {True: "green", False: "red"}.get(verdict.spot_pays_off, "yellow")  # type: ignore[arg-type]
    console.print(Text(verdict.message, style=style))
    for unmet in ranking.unmet:
        console.print(Text(f"constraint not met: {unmet.message}", style="yellow"))
    if ranking.exclusions:
        shown = ranking.exclusions[:SHOWN_EXCLUSIONS]
        reasons = "; ".join(f"{e.count:,} pools: {e.reason}" for e in shown)
        rest = sum(e.count for e in ranking.exclusions[SHOWN_EXCLUSIONS:])
        console.print(f"Excluded: {reasons}" + (f"; {rest:,} more" if rest else ""))
