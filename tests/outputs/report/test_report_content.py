"""What the weekly report says about a controlled week (tests/outputs/report/dataset.py), on
both engines: the movers, the diff against last week, fallback accounting, the fleet and
collector sections, the simulated label, and an empty week."""

from __future__ import annotations

import copy
import html
import re
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from core.tables import OnDemandPrice
from core.weeks import IsoWeek
from outputs.report import ReportDocuments, build_week_report, generate_report
from outputs.report.sections import EMPTY_WEEK, NO_COMPARISON, SIMULATED_BANNER
from selector import PoolKey
from selector.outputs.report_model import Report
from tests.outputs.report import dataset as ds


def _report(engine: Engine, previous: dict[str, Any] | None = None) -> Report:
    return build_week_report(
        engine, week=ds.WEEK, profiles=[ds.profile()], now=ds.REPORT_NOW, previous=previous
    )


def _docs(engine: Engine, *, week: IsoWeek = ds.WEEK, previous: Any = None) -> ReportDocuments:
    return generate_report(
        engine, week=week, profiles=[ds.profile()], now=ds.REPORT_NOW, previous=previous
    )


@pytest.fixture
def week_engine(engine: Engine) -> Engine:
    ds.load_week(engine)
    return engine


def test_a_pool_whose_price_doubled_is_among_the_movers(week_engine: Engine) -> None:
    [profile] = _report(week_engine).profiles
    prices = [m for m in profile.movers if m.metric == "price"]
    assert prices, "no price movers"
    top = prices[0]
    assert top.key == ds.DOUBLED  # the largest move comes first
    assert top.after == pytest.approx(2 * top.before)
    assert top.change == pytest.approx(1.0)
    # The pools that moved 2 % are listed after it, and nothing that moved less than 1 %.
    assert all(abs(m.change) >= 0.01 for m in profile.movers)
    docs = _docs(week_engine)
    row = f"g6.xlarge in {ds.DOUBLED.zone_id}"
    for text in (docs.html, docs.markdown):
        assert row in text
        assert "+100.0 %" in text


def test_the_hazard_mover_is_the_bucket_that_rose(week_engine: Engine) -> None:
    [profile] = _report(week_engine).profiles
    hazard = [m for m in profile.movers if m.metric == "hazard"]
    rose = {m.key for m in hazard if m.after > m.before}
    fell = {m.key for m in hazard if m.after < m.before}
    assert rose == {PoolKey("aws", ds.REGION, z, "g4dn.xlarge") for z in ds.ZONES}
    # The profile's spot node ran all week in g5.xlarge / use1-az1 without an interruption: the
    # fleet's own evidence lowered that pool's λ.
    assert fell == {ds.SPOT_NODE_POOL}


def test_a_type_removed_from_the_recommendation_appears_in_the_diff(week_engine: Engine) -> None:
    first = _docs(week_engine)
    previous = copy.deepcopy(first.recommendations)
    previous["week"] = str(ds.WEEK.previous())
    entry = previous["profiles"][ds.PROFILE_NAME]
    assert "p3.2xlarge" not in entry["instance_types"]
    entry["instance_types"].append("p3.2xlarge")
    entry["zones"].append("use1-az9")
    [profile] = _report(week_engine, previous).profiles
    assert profile.diff.compared
    assert profile.diff.removed_types == ("p3.2xlarge",)
    assert profile.diff.added_types == ()
    assert profile.diff.removed_zones == ("use1-az9",)
    docs = _docs(week_engine, previous=previous)
    for text in (docs.html, docs.markdown):
        assert "Instance types removed: p3.2xlarge" in text
        assert "Change since last week (2026-W47)" in text
        assert (
            f"NodePool {ds.PROFILE_NAME}-spot: remove p3.2xlarge from "
            "node.kubernetes.io/instance-type"
        ) in text
        assert NO_COMPARISON not in text


def test_the_same_recommendation_twice_is_unchanged(week_engine: Engine) -> None:
    first = _docs(week_engine)
    [profile] = _report(week_engine, first.recommendations).profiles
    assert profile.diff.unchanged
    assert _docs(week_engine, previous=first.recommendations).recommendations == (
        first.recommendations
    )


def test_no_previous_report_says_so(week_engine: Engine) -> None:
    docs = _docs(week_engine)
    assert NO_COMPARISON in docs.html
    assert NO_COMPARISON in docs.markdown
    # Nor can a malformed stored recommendation be compared with.
    assert NO_COMPARISON in _docs(week_engine, previous={"profiles": "garbage"}).markdown


def test_recommendations_hold_the_recommended_pools(week_engine: Engine) -> None:
    docs = _docs(week_engine)
    entry = docs.recommendations["profiles"][ds.PROFILE_NAME]
    assert docs.recommendations["week"] == "2026-W48"
    assert set(entry["instance_types"]) <= set(ds.TYPES)
    assert len(entry["instance_types"]) >= 2  # min_instance_types
    assert set(entry["zones"]) <= set(ds.ZONES)
    assert sum(p["nodes"] for p in entry["pools"]) == 4
    assert not docs.simulated


def test_fallback_accounting_counts_the_on_demand_hours(week_engine: Engine) -> None:
    [profile] = _report(week_engine).profiles
    fallback = profile.fallback
    assert fallback is not None
    assert fallback.requested == "spot"
    assert fallback.nodes == 2  # the other workload's node is not the profile's
    assert fallback.fallback_hours == pytest.approx(ds.FALLBACK_HOURS)
    hours = {a.capacity_type: a.hours for a in fallback.accounts}
    assert hours["spot"] == pytest.approx(7 * 24.0)  # launched before the week, still running
    assert fallback.spot_share == pytest.approx(168 / (168 + ds.FALLBACK_HOURS))
    # Spot pools beat on-demand on effective cost here, so the work can go back.
    assert fallback.back_to_spot
    assert all(c.effective_cost < c.on_demand_price for c in fallback.back_to_spot)
    docs = _docs(week_engine)
    for text in (docs.html, docs.markdown):
        assert "12.0 h on on-demand fallback" in text
        assert "Spot pools that could take the work back now" in text


def test_fleet_section_counts_the_weeks_events_per_pool(week_engine: Engine) -> None:
    report = _report(week_engine)
    by_pool = {e.key: e for e in report.fleet}
    # Three interruptions inside the week; the one two days before it is not counted.
    assert by_pool[ds.INTERRUPTED].interruptions == 3
    md = _docs(week_engine).markdown
    fleet = md.split("## Fleet events", 1)[1]
    assert re.search(r"g4dn\.xlarge in use1-az1 \| 3 \|", fleet)


def test_collector_health_lists_the_weeks_runs(week_engine: Engine) -> None:
    report = _report(week_engine)
    test = next(s for s in report.sources if s.source == "test")
    assert (test.runs, test.ok, test.failed) == (2, 2, 0)
    assert test.newest_success is not None
    assert ds.WEEK.contains(test.newest_success)
    md = _docs(week_engine).markdown
    assert "## Data freshness and collector health" in md
    assert "stale" in md  # the newest success (mid-week) is days old at the week's end


def test_real_data_carries_no_simulated_banner(week_engine: Engine) -> None:
    docs = _docs(week_engine)
    assert html.escape(SIMULATED_BANNER) not in docs.html
    assert SIMULATED_BANNER not in docs.markdown


def test_simulated_data_says_so_in_both_documents(engine: Engine) -> None:
    ds.load_week(engine, source="sim")
    docs = _docs(engine)
    assert docs.simulated
    assert docs.recommendations["simulated"] is True
    banner = html.escape(SIMULATED_BANNER)
    assert banner in docs.html
    assert SIMULATED_BANNER in docs.markdown
    assert docs.html.index(banner) < docs.html.index("<h2>")  # on top


def test_an_empty_week_says_so_and_draws_no_chart(week_engine: Engine) -> None:
    empty = IsoWeek.parse("2026-W10")
    docs = _docs(week_engine, week=empty)
    assert docs.week == "2026-W10"
    assert "<svg" not in docs.html
    for text in (docs.html, docs.markdown):
        assert EMPTY_WEEK in text
        assert "No recommendation: no data was collected in this week" in text
        assert "No fleet events in this week" in text
    assert docs.recommendations["profiles"][ds.PROFILE_NAME]["available"] is False
    # A full week draws both charts.
    full = _docs(week_engine).html
    assert full.count('<svg class="chart price-chart"') == 1
    assert full.count('<svg class="chart heat-map"') == 1


def test_a_running_week_is_read_up_to_now(week_engine: Engine) -> None:
    mid_report = build_week_report(
        week_engine, week=ds.WEEK, profiles=[ds.profile()], now=ds.MID, previous=None
    )
    assert mid_report.cut == ds.MID
    assert not mid_report.complete
    [profile] = mid_report.profiles
    # Read up to MID: the fallback node ended before MID, so all of its 12 h count; the spot
    # node, still running, counts from the week's start up to MID.
    assert profile.fallback is not None
    hours = {a.capacity_type: a.hours for a in profile.fallback.accounts}
    assert hours["spot"] == pytest.approx((ds.MID - ds.START).total_seconds() / 3600)
    assert profile.fallback.fallback_hours == pytest.approx(ds.FALLBACK_HOURS)


def test_on_demand_prices_stored_only_after_the_week_stand_in(week_engine: Engine) -> None:
    # A later collection moves every on-demand row's observed_at past the week's end (the table
    # keeps the last known list price only).
    with Session(week_engine) as session, session.begin():
        session.execute(update(OnDemandPrice).values(observed_at=ds.REPORT_NOW))
    report = _report(week_engine)
    [profile] = report.profiles
    assert profile.cost is not None
    assert profile.cost.on_demand == pytest.approx(4 * ds.TYPES["g4dn.xlarge"][4] * 168)
    [note] = report.notes
    assert "On-demand list prices of 9 pools were first stored after the week's end" in note
    assert note in _docs(week_engine).markdown
    # Read at the week's end itself, nothing later exists to stand in.
    at_end = build_week_report(
        week_engine, week=ds.WEEK, profiles=[ds.profile()], now=ds.END, previous=None
    )
    assert at_end.notes == ()
    assert at_end.profiles[0].cost is not None
    assert at_end.profiles[0].cost.on_demand is None
