"""The weekly report's wording and tables as plain strings, shared by both renderers.

Each function returns headers and rows (or lines) of already formatted text, so the HTML and
the Markdown say the same thing and differ only in markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from outputs.report import fmt
from selector.outputs.report_model import (
    Compared,
    PriceSeries,
    ProfileReport,
    Report,
    WeekOverWeek,
)

__all__ = [
    "EMPTY_WEEK",
    "NOT_RECORDED",
    "NO_COMPARISON",
    "SAME_SPLIT",
    "SIMULATED_BANNER",
    "STALE_AFTER_HOURS",
    "change_heading",
    "cost_rows",
    "diff_lines",
    "fallback_rows",
    "fleet_rows",
    "heat_rows",
    "mover_rows",
    "pool_rows",
    "price_summary",
    "source_rows",
    "summary_rows",
    "week_line",
    "week_rows",
]

SIMULATED_BANNER: Final = (
    "Simulated market: this report rests on simulated data (source 'sim'), not on real cloud "
    "prices or capacity. Do not act on it."
)
EMPTY_WEEK: Final = "No data was collected in this week: nothing to report."
NO_COMPARISON: Final = "No earlier report to compare with."
NOT_RECORDED: Final = "not recorded last week"
SAME_SPLIT: Final = "Same node split as last week."
_VERDICTS: Final = {True: "spot pays off", False: "use on-demand", None: "undecided"}
# A source whose newest success is older than this at the report's cut is flagged stale: the
# least frequent scheduled source (gcp) runs every 6 h, so a day without a success means
# several runs in a row failed or never ran.
STALE_AFTER_HOURS: Final = 24.0
# Rows of the fleet table: the pools with the most interruptions come first.
FLEET_ROWS: Final = 20
_METRIC_UNITS: Final = {"price": "$/h", "hazard": "interruptions/h", "capacity": "score 0–1"}

Table = tuple[list[str], list[list[str]]]


def week_line(report: Report) -> str:
    span = f"{fmt.when(report.start)} to {fmt.when(report.end)}"
    cut = "" if report.complete else f"; week still running, data up to {fmt.when(report.cut)}"
    return f"Week {report.week}: {span}{cut}. Generated {fmt.when(report.generated_at)}."


def _pool(p_type: str, zone: str) -> str:
    return f"{p_type} in {zone or 'regional'}"


def change_heading(report: Report) -> str:
    week = f" ({report.compared_with})" if report.compared_with else ""
    return f"Change since last week{week}"


def pool_rows(p: ProfileReport) -> Table:
    headers = ["instance type", "zone", "nodes", "spot price", "effective cost", "hazard"]
    rows = [
        [
            r.key.instance_type,
            r.key.zone_id or "regional",
            str(r.nodes),
            fmt.per_hour(r.price),
            fmt.per_hour(r.effective_cost),
            fmt.hazard(r.hazard),
        ]
        for r in p.pools
    ]
    return headers, rows


def diff_lines(p: ProfileReport) -> list[str]:
    """What changed against last week's recommendation; [] = nothing to compare with."""
    d = p.diff
    if not d.compared:
        return []
    if d.unchanged:
        return [
            "Unchanged: the same instance types and zones as last week.",
            *_split_line(d.numbers),
        ]
    lines = []
    if d.added_types:
        lines.append(f"Instance types added: {', '.join(d.added_types)}")
    if d.removed_types:
        lines.append(f"Instance types removed: {', '.join(d.removed_types)}")
    if d.added_zones:
        lines.append(f"Zones added: {', '.join(d.added_zones)}")
    if d.removed_zones:
        lines.append(f"Zones removed: {', '.join(d.removed_zones)}")
    return lines + [f"Change: {c}" for c in d.changes] + _split_line(d.numbers)


def _split_line(n: WeekOverWeek | None) -> list[str]:
    if n is None:
        return []
    if not n.split_recorded:
        return [f"Node split: {NOT_RECORDED}."]
    if not n.moves:
        return [SAME_SPLIT]
    return [f"Node split changed in {len(n.moves)} pools (nodes per pool below)."]


def _compared(label: str, value: Compared, show: Callable[[float | None], str]) -> list[str]:
    before = NOT_RECORDED if value.before is None else show(value.before)
    return [label, before, show(value.after), fmt.signed_pct(value.change)]


def _node_change(before: int, after: int) -> str:
    if before == 0:
        return f"added, +{after}"
    if after == 0:
        return f"dropped, −{before}"
    return f"moved, {'+' if after > before else '−'}{abs(after - before)}"


def week_rows(p: ProfileReport) -> Table:
    """Last week against now in numbers: nodes per pool, weekly cost, the recommended pools'
    price and hazard, the verdict; [] rows = nothing to compare with."""
    headers = ["compared", "last week", "now", "change"]
    n = p.diff.numbers
    if n is None:
        return headers, []
    rows = [
        [f"nodes in {_pool(m.key.instance_type, m.key.zone_id)}", str(m.before), str(m.after),
         _node_change(m.before, m.after)]
        for m in n.moves
    ]  # fmt: skip
    if not n.split_recorded:
        rows.append(["node split", NOT_RECORDED, f"{n.nodes_after} nodes", fmt.MISSING])
    for label, value in (("weekly cost, spot (effective)", n.spot),
                         ("weekly cost, on-demand", n.on_demand)):  # fmt: skip
        row = _compared(label, value, fmt.money)
        if not n.cost_recorded:
            row[1] = NOT_RECORDED
        elif value.before is not None and value.after is not None:
            row[3] = f"{fmt.signed_money(value.after - value.before)} ({row[3]})"
        rows.append(row)
    show = {"price": fmt.per_hour, "hazard": fmt.hazard}
    for c in n.pools:
        label = f"{'spot price' if c.metric == 'price' else 'hazard'}, "
        rows.append(
            _compared(label + _pool(c.key.instance_type, c.key.zone_id), c.value, show[c.metric])
        )
    for metric, name in (("price", "spot price"), ("hazard", "hazard")):
        if metric == "hazard" and not n.hazard_recorded:
            rows.append(["hazard of the recommended pools", NOT_RECORDED, "", fmt.MISSING])
        elif n.kept and not any(c.metric == metric for c in n.pools):
            label = f"{name} of the {n.kept} pools still recommended"
            rows.append([label, "same", "same", "unchanged"])
    if not n.verdict_recorded:
        rows.append(["verdict", NOT_RECORDED, _VERDICTS[n.verdict_after], fmt.MISSING])
    elif n.verdict_before != n.verdict_after:
        rows.append(["verdict", _VERDICTS[n.verdict_before], _VERDICTS[n.verdict_after], "flipped"])
    return headers, rows


def cost_rows(p: ProfileReport) -> Table:
    headers = ["", "per week", "basis"]
    c = p.cost
    if c is None:
        return headers, []
    basis = f"{c.nodes} nodes × {c.hours:,.0f} h"
    return headers, [
        ["spot (list)", fmt.money(c.spot), f"{basis} × spot price"],
        ["spot (effective)", fmt.money(c.effective), f"{basis} × effective cost per useful hour"],
        ["on-demand", fmt.money(c.on_demand), f"{basis} × best on-demand price"],
        ["savings", fmt.pct(c.savings), "1 − effective / on-demand"],
    ]


def mover_rows(p: ProfileReport) -> Table:
    headers = ["metric", "pool", "start of week", "end of week", "change"]
    rows = []
    for m in p.movers:
        if m.metric == "price":
            before, after = fmt.per_hour(m.before), fmt.per_hour(m.after)
        elif m.metric == "hazard":
            before, after = fmt.hazard(m.before), fmt.hazard(m.after)
        else:
            before, after = f"{m.before:.2f}", f"{m.after:.2f}"
        metric = f"{m.metric} ({_METRIC_UNITS[m.metric]})"
        pool = _pool(m.key.instance_type, m.key.zone_id)
        rows.append([metric, pool, before, after, fmt.signed_pct(m.change)])
    return headers, rows


def fallback_rows(p: ProfileReport) -> tuple[list[str], list[list[str]], str]:
    """The per-capacity-type node-hours, a one-line summary, and the pools back to spot."""
    headers = ["realized capacity type", "nodes", "node-hours"]
    f = p.fallback
    if f is None:
        return headers, [], "No fleet records for this profile in this week."
    if not f.nodes:
        summary = (
            f"Requested {f.requested}. No node of NodePools {p.nodepool}-spot or "
            f"{p.nodepool}-on-demand was seen in this week."
        )
    else:
        summary = (
            f"Requested {f.requested}; {f.nodes} nodes ran, {fmt.pct(f.spot_share)} of the "
            f"node-hours on spot; {fmt.hours(f.fallback_hours)} on on-demand fallback."
        )
    rows = [[a.capacity_type, str(a.nodes), fmt.hours(a.hours)] for a in f.accounts]
    if f.back_to_spot and f.fallback_hours > 0:
        pools = "; ".join(
            f"{_pool(c.key.instance_type, c.key.zone_id)} at {fmt.per_hour(c.effective_cost)} "
            f"effective vs {fmt.per_hour(c.on_demand_price)} on-demand"
            for c in f.back_to_spot
        )
        summary += f" Spot pools that could take the work back now: {pools}."
    elif f.fallback_hours > 0:
        summary += " No spot pool beats on-demand on effective cost now."
    return headers, rows, summary


def fleet_rows(report: Report) -> Table:
    headers = ["pool", "interruptions", "rebalance", "insufficient capacity", "instance-hours"]
    events = sorted(
        report.fleet, key=lambda e: (-e.interruptions, -e.capacity_errors, -e.rebalances, e.key)
    )
    rows = [
        [
            f"{e.key.cloud} {e.key.region} {_pool(e.key.instance_type, e.key.zone_id)}",
            f"{e.interruptions:,}",
            f"{e.rebalances:,}",
            f"{e.capacity_errors:,}",
            fmt.hours(e.instance_hours),
        ]
        for e in events[:FLEET_ROWS]
    ]
    return headers, rows


def source_rows(report: Report) -> Table:
    headers = ["source", "runs", "ok", "partial", "failed", "newest success", "age", "last"]
    rows = []
    for s in report.sources:
        age = report.cut - s.newest_success if s.newest_success else None
        stale = age is None or age.total_seconds() > STALE_AFTER_HOURS * 3600
        age_text = fmt.age(age) if age is not None else fmt.MISSING
        last = s.last_status or "no run this week"
        if s.last_error:
            last += f": {s.last_error[:120]}"
        name = s.source + (" (simulated)" if s.simulated else "")
        rows.append(
            [
                name,
                f"{s.runs:,}",
                f"{s.ok:,}",
                f"{s.partial:,}",
                f"{s.failed:,}",
                fmt.when(s.newest_success),
                age_text + (" — stale" if stale else ""),
                last,
            ]
        )
    return headers, rows


def price_summary(series: tuple[PriceSeries, ...]) -> list[str]:
    """The price chart in words: start, end, low and high of each line."""
    lines = []
    for s in series:
        if not s.points:
            continue
        prices = [pt.price for pt in s.points]
        first, last = prices[0], prices[-1]
        change = last / first - 1 if first > 0 else None
        lines.append(
            f"{_pool(s.key.instance_type, s.key.zone_id)}: {fmt.per_hour(first)} → "
            f"{fmt.per_hour(last)} ({fmt.signed_pct(change)}), low {fmt.per_hour(min(prices))}, "
            f"high {fmt.per_hour(max(prices))}"
        )
    return lines


def heat_rows(p: ProfileReport) -> Table:
    """The heat map as a table: types down, zones across, λ in interruptions/h."""
    zones = list(dict.fromkeys(c.zone_id for c in p.heat))
    types = list(dict.fromkeys(c.instance_type for c in p.heat))
    value = {(c.instance_type, c.zone_id): c.hazard for c in p.heat}
    headers = ["instance type"] + [z or "regional" for z in zones]
    rows = [[t] + [fmt.hazard(value.get((t, z))) for z in zones] for t in types]
    return headers, rows


def summary_rows(report: Report) -> Table:
    headers = ["profile", "recommended types", "spot / week", "on-demand / week", "savings"]
    rows = []
    for p in report.profiles:
        cost = p.cost
        rows.append(
            [
                p.name,
                ", ".join(p.instance_types) or fmt.MISSING,
                fmt.money(cost.spot if cost else None),
                fmt.money(cost.on_demand if cost else None),
                fmt.pct(cost.savings if cost else None),
            ]
        )
    return headers, rows
