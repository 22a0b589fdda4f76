"""Presentation of a ranking for people: a table that reads at 100 columns, or `--wide`.

What an answer rests on comes first: a banner when any pool is simulated, a note when simulated
pools were left out. Then the table: columns whose value every row shares (cloud and region,
arch, market) move into the caption, flags and signal ages are explained under the table, and
so is the order the rows are in. `--wide` prints every field as a column instead.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Final

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from selector import RankedPool, Ranking
from selector.capacity import (
    CAPACITY_TTL_HOURS,
    ICE_HALF_LIFE_HOURS,
    ICE_PENALTY_PER_EVENT,
    ICE_TTL_HOURS,
    NEUTRAL_CAPACITY,
    REGIONAL_DISCOUNT,
    ZONE_PREMIUM_THRESHOLD,
)
from selector.cost import lost_hours
from selector.explain import VOLATILITY_FLAG_CV
from selector.hazard import INTERRUPTION_TTL_HOURS
from selector.ordering import describe_ordering
from spotsel.render import format_age

__all__ = ["FLAG_HELP", "fleet_lines", "print_ranking"]

BAR_WIDTH = 16
# How many exclusion reasons to list before summarising the rest.
SHOWN_EXCLUSIONS = 8

# What each flag of a ranked pool means, in the words printed under the table.
FLAG_HELP: Final[dict[str, str]] = {
    "no-interruption-signal": "no interruption signal; a cautious default λ is assumed",
    "stale-interruption": (
        f"interruption signal older than {INTERRUPTION_TTL_HOURS / 24:g} d; its upper bound widens"
    ),
    "fleet-evidence": (
        "λ updated with your own fleet's interruptions and instance-hours (Gamma–Poisson: the "
        "bucket's λ is the prior; the lines below give before → after)"
    ),
    "final-checkpoint-misses-notice": (
        "final checkpoint does not fit the notice window; half a checkpoint interval is lost"
    ),
    "volatile-price": f"price moved more than {VOLATILITY_FLAG_CV:.0%} (7-day variation)",
    "no-on-demand-price": "no on-demand price known, so no savings figure",
    "old-on-demand-price": "on-demand list price older than the price age limit",
    "derived-on-demand-price": (
        "on-demand price derived from the Spot Advisor's savings (spot / (1 − savings)), "
        "not a price list"
    ),
    "regional-pool": (
        "priced per region (public feed): the zone is left open to the provisioner, and no "
        "zone-level signal applies"
    ),
    "no-capacity-signal": f"no capacity score; a neutral {NEUTRAL_CAPACITY:g} is assumed",
    "stale-capacity": f"capacity score older than {CAPACITY_TTL_HOURS:g} h; it decays to neutral",
    "regional-capacity": f"capacity score is regional, not per zone (× {REGIONAL_DISCOUNT:g})",
    "recent-capacity-errors": (
        "your fleet's insufficient-capacity errors lower the capacity "
        f"(× {ICE_PENALTY_PER_EVENT:g} each, halving every {ICE_HALF_LIFE_HOURS:g} h, "
        f"forgotten after {ICE_TTL_HOURS:g} h)"
    ),
    "zone-price-premium": (
        f"spot price over {ZONE_PREMIUM_THRESHOLD:g}× its type's median zone: a busy zone, "
        "capacity lowered"
    ),
    "no-zone-signal": (
        "nothing zone-level (zonal score, a price or volatility unlike its type's other zones) "
        "sets this zone apart: among them it is placed by zone ID"
    ),
}


def print_ranking(console: Console, ranking: Ranking, *, wide: bool = False) -> None:
    """Banner, table, and what the reader needs to trust it: order, ages, flags, exclusions."""
    _print_provenance(console, ranking)
    if not ranking.pools:
        console.print(Text("No pool matches the request.", style="yellow"))
    elif wide:
        table = _wide_table(ranking)
        # Everything, at its natural width: the terminal wraps it or a pager scrolls it.
        narrow = console.width
        console.width = max(narrow, _natural_width(table))
        try:
            console.print(table)
        finally:
            console.width = narrow
        console.print(
            "Bars: $ per useful hour against the best on-demand price "
            "(green λ < 0.02/h, yellow < 0.1/h, red higher; blue = on-demand)."
        )
    else:
        console.print(_caption(ranking))
        table, columns = _table(ranking, console)
        console.print(table)
        console.print(_legend(ranking, columns))
    if ranking.pools:
        console.print(_order_rule(ranking))
        for note in ranking.notes:
            console.print(Text(f"Listed: {note}.", style="yellow"))
        console.print(_ages(ranking))
        if not wide:
            for line in _flag_lines(ranking.pools):
                console.print(line)
        for line in fleet_lines(ranking.pools):
            console.print(line)
    discounts = _discount_line(ranking)
    if discounts:
        console.print(discounts)
    verdict = ranking.verdict
    style = {True: "green", False: "red"}.get(verdict.spot_pays_off, "yellow")  # type: ignore[arg-type]
    console.print(Text(verdict.message, style=style))
    for unmet in ranking.unmet:
        console.print(Text(f"Constraint not met: {unmet.message}", style="yellow"))
    if ranking.exclusions:
        shown = ranking.exclusions[:SHOWN_EXCLUSIONS]
        reasons = "; ".join(f"{e.count:,} pools: {e.reason}" for e in shown)
        rest = sum(e.count for e in ranking.exclusions[SHOWN_EXCLUSIONS:])
        console.print(f"Left out: {reasons}" + (f"; {rest:,} more" if rest else ""))


def _print_provenance(console: Console, ranking: Ranking) -> None:
    """First lines: whether the answer rests on simulated data, or left simulated data out."""
    if ranking.simulated:
        console.print(
            Text(
                "SIMULATED DATA: this ranking rests on simulated pools (sources: "
                f"{', '.join(ranking.sources)}); not for a real cluster.",
                style="bold black on yellow",
            )
        )
    if ranking.simulated_excluded:
        console.print(
            Text(
                f"Real data only: {ranking.simulated_excluded:,} matching pools rest on simulated "
                "data and are left out (--data any mixes them in).",
                style="yellow",
            )
        )


# --- the 100-column table --------------------------------------------------------------------


def _shared(pools: Iterable[RankedPool], value: Callable[[RankedPool], str]) -> str | None:
    """The value every pool has in common, or None when they differ."""
    values = {value(p) for p in pools}
    return values.pop() if len(values) == 1 else None


def _place(p: RankedPool) -> str:
    return f"{p.key.cloud} {p.key.region}"


def _gpu(p: RankedPool) -> str:
    if not p.gpu_count:
        return "—"
    memory = f" {p.gpu_memory_gib:g}G" if p.gpu_memory_gib else ""
    return f"{p.gpu_count}×{p.gpu_model}{memory}"


def _shape(p: RankedPool) -> str:
    return f"{p.vcpus}/{p.memory_gib:g}"


def _zone(p: RankedPool) -> str:
    return p.key.zone_id or "(regional)"


Column = tuple[str, str, Callable[[RankedPool], str]]


def _columns(ranking: Ranking) -> list[Column]:
    """(header, justify, cell) of the default table; shared values go to the caption."""
    pools = ranking.pools
    cols: list[Column] = [("#", "right", lambda p: str(p.rank))]
    if _shared(pools, lambda p: p.key.cloud) is None:
        cols.append(("cloud", "left", lambda p: p.key.cloud))
    # Zone IDs name their region on every cloud (use1-az4, us-east4-c, eastus-1).
    cols += [("zone", "left", _zone), ("instance", "left", lambda p: p.key.instance_type)]
    if _shared(pools, lambda p: p.arch) is None:
        cols.append(("arch", "left", lambda p: p.arch))
    if _shared(pools, lambda p: p.capacity_type) is None:
        cols.append(("market", "left", lambda p: p.capacity_type))
    cols.append(("nodes", "right", lambda p: str(p.nodes)))
    if any(p.gpu_count for p in pools):
        cols.append(("GPU", "left", _gpu))
    else:
        cols.append(("vCPU/GiB", "right", _shape))
    cols += [
        ("$/h", "right", lambda p: f"{p.price:.4f}"),
        ("$ per\nuseful h", "right", lambda p: f"{p.effective_cost:.4f}"),
        ("λ/h", "right", lambda p: f"{p.hazard.rate:.3f}"),
        ("capacity", "right", lambda p: f"{p.capacity:.2f}"),
    ]
    return cols


def _caption(ranking: Ranking) -> str:
    pools = ranking.pools
    shared = [
        value
        for value in (
            _shared(pools, _place),
            _shared(pools, lambda p: p.arch),
            _shared(pools, lambda p: p.capacity_type),
        )
        if value is not None
    ]
    where = f" — all {', '.join(shared)}" if shared else ""
    return (
        f"{len(pools)} pools, {len(ranking.instance_types)} instance types{where} "
        f"(strategy {ranking.strategy}; {ranking.candidates:,} of "
        f"{ranking.snapshot_size:,} pools eligible)"
    )


# Columns added, in this order, only while the table still fits the console.
OPTIONAL_COLUMNS: Final[tuple[Column, ...]] = (
    ("saves", "right", lambda p: "—" if p.savings is None else f"{p.savings:.0%}"),
    (
        "age p/i/c",
        "left",
        lambda p: "/".join(
            _short_age(x) for x in (p.ages.spot_price, p.ages.interruption, p.ages.capacity)
        ),
    ),
)


def _short_age(seconds: float | None) -> str:
    """``58m``, ``23h``, ``5d``, ``2y``: an age in at most four characters."""
    if seconds is None:
        return "—"
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


# Names that may wrap when a table cannot fit; every other cell keeps its full width.
FOLDABLE: Final = frozenset({"zone", "instance", "GPU"})


def _width(header: str) -> int:
    return max(cell_len(line) for line in header.splitlines())


def _build(ranking: Ranking, columns: list[Column]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    rows = [[cell(p) for _, _, cell in columns] for p in ranking.pools]
    for i, (header, justify, _) in enumerate(columns):
        fold = header in FOLDABLE
        table.add_column(
            header,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=not fold,
            overflow="fold" if fold else "ellipsis",
            min_width=None if fold else max(_width(header), *(cell_len(r[i]) for r in rows)),
        )
    for p, row in zip(ranking.pools, rows, strict=True):
        table.add_row(*row, style="blue" if p.capacity_type == "on-demand" else None)
    return table


def _natural_width(table: Table) -> int:
    """Cells the table takes when nothing squeezes it (rich's measure ignores collapsed padding)."""
    probe = Console(width=10_000, file=io.StringIO(), color_system=None)
    with probe.capture() as captured:
        probe.print(table)
    return max((cell_len(line) for line in captured.get().splitlines()), default=0)


def _table(ranking: Ranking, console: Console) -> tuple[Table, list[Column]]:
    """The essential columns, plus the optional ones that still fit the console's width."""
    columns = _columns(ranking)
    table = _build(ranking, columns)
    for extra in OPTIONAL_COLUMNS:
        wider = _build(ranking, [*columns, extra])
        if _natural_width(wider) > console.width:
            break
        columns, table = [*columns, extra], wider
    return table, columns


def _legend(ranking: Ranking, columns: list[Column]) -> str:
    pools = ranking.pools
    parts = []
    if _shared(pools, _place) is None:
        parts.append("zone = zone ID, which names its region (--wide shows the region)")
    if _shared(pools, lambda p: p.capacity_type) is None:
        parts.append("market = spot or on-demand (on-demand rows in blue)")
    parts.append(f"nodes = suggested split of the {ranking.requirements.nodes} node(s)")
    if any(p.gpu_count for p in pools):
        parts.append("GPU = count × model, memory per GPU")
    else:
        parts.append("vCPU/GiB = vCPUs / memory")
    parts += [
        "$ per useful h = $/h ÷ (1 − λ·L)",
        "λ/h = expected interruptions per instance-hour",
        "capacity = chance a launch succeeds now (0–1)",
    ]
    shown = {header for header, _, _ in columns}
    if "saves" in shown:
        discounted = " (discounted, below)" if ranking.requirements.on_demand_discounts else ""
        parts.append(f"saves = against the on-demand price{discounted}")
    if "age p/i/c" in shown:
        parts.append("age p/i/c = age of the spot price / interruption signal / capacity score")
    return f"Columns: {'; '.join(parts)}. --wide shows every field."


# --- under the table ---------------------------------------------------------------------------


def _order_rule(ranking: Ranking) -> str:
    """One caption under the table: the row order (`Ranking.ordering`) and the diversification."""
    req = ranking.requirements
    ordering = ranking.ordering or describe_ordering(req)
    rule = ordering.caption.removeprefix("Rows: ").rstrip(".")
    if ordering.rule == "effective-cost":
        clouds = sorted({p.key.cloud for p in ranking.pools})
        lost = ", ".join(f"{lost_hours(c, req):.2g} h on {c}" for c in clouds)
        rule += f" (L = hours lost per interruption: {lost})"
    return (
        f"Order: {rule}. The list is diversified (at least {req.min_instance_types} instance "
        f"types, at most {req.max_share_per_type:.0%} of the nodes per type and "
        f"{req.max_share_per_zone:.0%} per zone), so a better pool may give way to another "
        "type or zone."
    )


def _oldest(ages: Iterable[float | None]) -> str:
    known = [a for a in ages if a is not None]
    return format_age(max(known)) if known else "none"


def _ages(ranking: Ranking) -> str:
    pools = ranking.pools
    req = ranking.requirements
    return (
        "Signal ages, oldest in this list: spot price "
        f"{_oldest(p.ages.spot_price for p in pools)}, on-demand price "
        f"{_oldest(p.ages.on_demand_price for p in pools)}, interruption "
        f"{_oldest(p.ages.interruption for p in pools)}, capacity "
        f"{_oldest(p.ages.capacity for p in pools)}, own fleet "
        f"{_oldest(p.ages.fleet for p in pools)}. Prices older than "
        f"{req.max_price_age_hours:g} h are left out; interruption signals older than "
        f"{INTERRUPTION_TTL_HOURS / 24:g} d and capacity scores older than "
        f"{CAPACITY_TTL_HOURS:g} h count as stale (flagged, trusted less)."
    )


def _ranks(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` → ``#1–3, #5``."""
    runs: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return ", ".join(f"#{a}" if a == b else f"#{a}–{b}" for a, b in runs)


def _flag_lines(pools: Iterable[RankedPool]) -> list[str]:
    by_flag: dict[str, list[int]] = {}
    for p in pools:
        for flag in p.flags:
            by_flag.setdefault(flag, []).append(p.rank)
    return [
        f"Flag {flag} ({_ranks(ranks)}): {FLAG_HELP.get(flag, flag)}."
        for flag, ranks in by_flag.items()
    ]


def fleet_lines(pools: Iterable[RankedPool]) -> list[str]:
    """One line per pool whose own fleet evidence moved it: "Fleet #2: 3 interruptions in 41
    instance-hours: λ 0.07 → 0.11/h; …"."""
    return [
        f"Fleet #{p.rank} {p.key.instance_type} {_zone(p)}: {'; '.join(p.fleet.notes)}."
        for p in pools
        if p.fleet is not None and p.fleet.notes
    ]


# --- --wide ----------------------------------------------------------------------------------


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


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _on_demand(p: RankedPool) -> str:
    """The on-demand price the user pays; with a discount, the list price beside it."""
    if p.on_demand_discount <= 0 or p.on_demand_list_price is None:
        return _money(p.on_demand_price)
    return (
        f"{_money(p.on_demand_price)} (list {p.on_demand_list_price:.4f} "
        f"−{p.on_demand_discount:.0%})"
    )


# Instance types named in the discount line; the rest are counted.
SHOWN_DISCOUNTED_TYPES: Final = 4


def _discount_line(ranking: Ranking) -> str | None:
    """Under the table when an on-demand discount applies: the rules and list → your price."""
    rules = ranking.requirements.on_demand_discounts
    if not rules:
        return None
    seen: dict[str, RankedPool] = {}
    for p in ranking.pools:
        if p.on_demand_discount > 0 and p.on_demand_list_price is not None:
            seen.setdefault(p.key.instance_type, p)
    shown = [
        f"{t} {p.on_demand_list_price:.4f} → {_money(p.on_demand_price)}"
        for t, p in list(seen.items())[:SHOWN_DISCOUNTED_TYPES]
        if p.on_demand_list_price is not None
    ]
    more = len(seen) - len(shown)
    prices = f" ({', '.join(shown)}{f', {more} more' if more > 0 else ''} $/h)" if shown else ""
    return (
        f"On-demand at your price, list × (1 − discount): {rules.describe()}{prices}. "
        "Savings, on-demand rows and the verdict use the discounted price."
    )


def _wide_table(ranking: Ranking) -> Table:
    reference = ranking.verdict.best_on_demand_price or max(
        (p.effective_cost for p in ranking.pools), default=0.0
    )
    table = Table(title=_caption(ranking), title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (
        ("#", "right"), ("cloud", "left"), ("region", "left"), ("zone", "left"),
        ("instance", "left"), ("family", "left"), ("arch", "left"), ("market", "left"),
        ("nodes", "right"), ("vCPU", "right"), ("GiB", "right"), ("GPU", "left"),
        ("$/h", "right"), ("on-demand $/h", "right"), ("saves", "right"),
        ("$/useful h", "right"), ("useful", "right"), ("λ/h", "right"),
        ("λ 90% interval", "right"), ("λ prior", "right"), ("λ from", "left"),
        ("capacity", "right"), ("capacity before ICE", "right"),
        ("capacity from", "left"), ("zone $ vs type", "right"), ("7d price CV", "right"),
        ("cost vs best on-demand", "left"),
        ("ages price/od/intr/cap/fleet", "left"), ("flags", "left"), ("sources", "left"),
    ):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for p in ranking.pools:
        a = p.ages
        hazard = p.hazard
        origin = (
            hazard.source if hazard.source == hazard.kind else f"{hazard.source} as {hazard.kind}"
        )
        table.add_row(
            str(p.rank),
            p.key.cloud,
            p.key.region,
            _zone(p),
            p.key.instance_type,
            p.family,
            p.arch,
            p.capacity_type,
            str(p.nodes),
            str(p.vcpus),
            f"{p.memory_gib:g}",
            _gpu(p),
            f"{p.price:.4f}",
            _on_demand(p),
            "—" if p.savings is None else f"{p.savings:.0%}",
            f"{p.effective_cost:.4f}",
            f"{p.useful_fraction:.1%}",
            f"{hazard.rate:.4f}",
            f"{hazard.low:.4f}–{hazard.high:.4f}",
            "—" if p.hazard_prior is None else f"{p.hazard_prior:.4f}",
            origin + (f" {hazard.label}" if hazard.label else ""),
            f"{p.capacity:.2f}",
            "—" if p.fleet is None else f"{p.fleet.capacity_before_errors:.2f}",
            p.capacity_basis + (f" {p.capacity_raw}" if p.capacity_raw else ""),
            "—" if p.zone_price_ratio is None else f"{p.zone_price_ratio:.3f}×",
            "—" if p.price_volatility is None else f"{p.price_volatility:.1%}",
            _bar(p.effective_cost, reference, _risk_style(p)),
            "/".join(
                format_age(x)
                for x in (a.spot_price, a.on_demand_price, a.interruption, a.capacity, a.fleet)
            ),
            ", ".join(p.flags),
            ", ".join(p.sources),
        )
    return table
