"""The weekly recommendations report: read the week from the store, rank every profile at the
week's end, build the `Report` (pure, `selector.outputs.report`) and render it as one
self-contained HTML page and as Markdown.

`generate_report` is the one entry point (the CLI, the scheduler and the demo call it); the
caller stores `ReportDocuments.recommendations` so next week's report can diff against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from core.clock import as_utc
from core.pool_reader import SIMULATED_SOURCES, load_pool_index
from core.report_inputs import load_on_demand_prices, load_price_series, load_week_inputs
from core.weeks import IsoWeek
from outputs.generate import rank_profile
from outputs.report.html import render_html
from outputs.report.markdown import render_markdown
from selector import PoolIndex, Ranking, rank
from selector.discounts import NO_DISCOUNTS, OnDemandDiscounts
from selector.errors import SelectorError
from selector.outputs import OutputProfile
from selector.outputs.report import ProfileRankings, build_report, wide_requirements
from selector.outputs.report_model import Report
from selector.requirements import with_default_discounts

__all__ = ["ReportDocuments", "build_week_report", "generate_report", "render_html",
           "render_markdown"]  # fmt: skip


@dataclass(frozen=True)
class ReportDocuments:
    """One week's report as rendered, and the recommendation next week compares against."""

    week: str  # "2026-W48"
    html: str  # one self-contained file
    markdown: str
    recommendations: dict[str, Any]  # JSON-able: per profile the recommended pools
    simulated: bool


def generate_report(
    engine: Engine,
    *,
    week: IsoWeek,
    profiles: Sequence[OutputProfile],
    now: datetime,
    previous: Mapping[str, Any] | None,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
) -> ReportDocuments:
    """The report of `week` as of `now` (a running week is read up to `now`); `previous` is
    last week's stored `recommendations` (None: the diff says there is nothing to compare)."""
    report = build_week_report(
        engine, week=week, profiles=profiles, now=now, previous=previous, discounts=discounts
    )
    return ReportDocuments(
        week=report.week,
        html=render_html(report),
        markdown=render_markdown(report),
        recommendations=report.recommendations,
        simulated=report.simulated,
    )


def build_week_report(
    engine: Engine,
    *,
    week: IsoWeek,
    profiles: Sequence[OutputProfile],
    now: datetime,
    previous: Mapping[str, Any] | None,
    discounts: OnDemandDiscounts = NO_DISCOUNTS,
) -> Report:
    """The `Report` value behind the documents (what the content tests read)."""
    now = as_utc(now)
    cut = min(week.end, now)
    inputs = load_week_inputs(engine, week=week, cut=cut)
    rankings: list[ProfileRankings] = []
    notes: tuple[str, ...] = ()
    if inputs.has_data:
        at_end = load_pool_index(engine, now=cut)
        if cut < now:
            at_end, filled = _with_later_on_demand(at_end, load_on_demand_prices(engine))
            if filled:
                notes = (
                    f"On-demand list prices of {filled:,} pools were first stored after the "
                    "week's end; the prices stored now stand in for them (the store keeps the "
                    "last known list price only).",
                )
        at_start = load_pool_index(engine, now=week.start)
        rankings = [
            _rank(profile, at_start, at_end, start=week.start, cut=cut, discounts=discounts)
            for profile in profiles
        ]
        keys = [
            p.key
            for r in rankings
            if r.spot is not None
            for p in r.spot.pools
            if p.capacity_type == "spot"
        ]
        prices = load_price_series(engine, pools=keys, start=week.start, cut=cut)
        inputs = replace(inputs, prices=prices)
    else:
        rankings = [ProfileRankings(profile, None) for profile in profiles]
    report = build_report(inputs, rankings, previous=previous, generated_at=now)
    return replace(report, notes=report.notes + notes)


def _with_later_on_demand(
    index: PoolIndex, prices: Mapping[tuple[str, str, str], tuple[float, datetime, str]]
) -> tuple[PoolIndex, int]:
    """The index with on-demand prices that were stored only later filled in, and how many.

    Each collection moves an on-demand row's ``observed_at`` forward, so a week in the past
    may see none of them; list prices change seldom, so the current one is the best estimate.
    """
    records, filled = [], 0
    for record in index.records:
        key = (record.key.cloud, record.key.region, record.key.instance_type)
        later = prices.get(key)
        if record.on_demand_price is not None or not record.on_demand_offered or later is None:
            records.append(record)
            continue
        price, at, source = later
        sources = tuple(sorted({*record.sources, source}))
        records.append(
            replace(
                record,
                on_demand_price=price,
                on_demand_at=at,
                on_demand_source=source,
                sources=sources,
                simulated=record.simulated or source in SIMULATED_SOURCES,
            )
        )
        filled += 1
    if not filled:
        return index, 0
    return PoolIndex.build(records, built_at=index.built_at), filled


def _rank(
    profile: OutputProfile,
    at_start: PoolIndex,
    at_end: PoolIndex,
    *,
    start: datetime,
    cut: datetime,
    discounts: OnDemandDiscounts,
) -> ProfileRankings:
    """The profile's recommendation at the cut, and its wide rankings at both ends; a ranking
    the data cannot answer (a region or GPU model not in the store then) becomes a note."""
    try:
        spot = rank_profile(at_end, profile, capacity_type="spot", now=cut, discounts=discounts)
    except SelectorError as exc:
        return ProfileRankings(profile, None, note=str(exc))
    wide = wide_requirements(with_default_discounts(profile.requirements, discounts))
    return ProfileRankings(
        profile,
        spot,
        start=_try_rank(at_start, wide, start),
        end=_try_rank(at_end, wide, cut),
    )


def _try_rank(index: PoolIndex, requirements: Any, now: datetime) -> Ranking | None:
    if index.size == 0:
        return None
    try:
        return rank(index, requirements, now=now)
    except SelectorError:
        return None  # e.g. the region was not collected yet at the week's start: no movers
