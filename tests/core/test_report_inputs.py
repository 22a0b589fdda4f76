"""The weekly report's read path: the price in force sampled hourly, the week's window, the
sources' health, node lifetimes; both engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from core.report_inputs import load_price_series, load_week_inputs
from core.store import persist_run
from core.weeks import IsoWeek
from selector import PoolKey
from tests.factories import make_offering, make_result, make_spot_price, make_type

WEEK = IsoWeek.parse("2026-W48")
POOL = PoolKey("aws", "us-east-1", "use1-az1", "g5.xlarge")


def _prices(engine: Engine, *changes: tuple[timedelta, float]) -> None:
    rows = [make_spot_price(ts=WEEK.start + at, price_usd_per_hour=p) for at, p in changes]
    tables = {"instance_types": [make_type()], "offerings": [make_offering()], "spot_prices": rows}
    persist_run(engine, make_result(tables))


def test_the_price_in_force_is_the_last_change_at_or_before_each_hour(engine: Engine) -> None:
    _prices(
        engine,
        (timedelta(days=-2), 0.40),  # in force when the week starts
        (timedelta(hours=10, minutes=30), 0.50),  # shows from the 11:00 point on
        (timedelta(hours=11), 0.60),  # a change exactly on the hour counts at that hour
    )
    cut = WEEK.start + timedelta(hours=12)
    [series] = load_price_series(engine, pools=[POOL], start=WEEK.start, cut=cut)
    by_hour = {int((p.at - WEEK.start).total_seconds() // 3600): p.price for p in series.points}
    assert len(by_hour) == 13  # 00:00 .. 12:00 inclusive
    assert by_hour[0] == by_hour[10] == pytest.approx(0.40)
    assert by_hour[11] == pytest.approx(0.60)
    assert by_hour[12] == pytest.approx(0.60)


def test_a_pool_priced_only_after_the_start_has_points_from_its_first_price(engine: Engine) -> None:
    _prices(engine, (timedelta(hours=5), 0.3))
    [series] = load_price_series(
        engine, pools=[POOL], start=WEEK.start, cut=WEEK.start + timedelta(hours=8)
    )
    assert series.points[0].at == WEEK.start + timedelta(hours=5)
    assert len(series.points) == 4
    [unknown] = load_price_series(
        engine, pools=[PoolKey("aws", "us-east-1", "use1-az9", "x")], start=WEEK.start,
        cut=WEEK.end,
    )  # fmt: skip
    assert unknown.points == ()


def test_a_week_without_runs_prices_or_events_has_no_data(engine: Engine) -> None:
    _prices(engine, (timedelta(days=-30), 0.4))  # a price change a month before the week ...
    empty = load_week_inputs(engine, week=WEEK, cut=WEEK.end)
    # ... and the factories' run at 2026-11-28: inside W48, so W48 has data, W47 has none.
    assert empty.has_data
    before = load_week_inputs(engine, week=WEEK.previous(), cut=WEEK.end)
    assert not before.has_data
    assert before.cut == WEEK.previous().end  # never read past the week's end
    assert before.sources == ()  # the source's first run came after that week
    [this_week] = empty.sources
    assert (this_week.source, this_week.runs, this_week.ok) == ("test", 1, 1)
    assert this_week.newest_success is not None


def test_a_source_without_a_run_this_week_keeps_its_newest_success(engine: Engine) -> None:
    _prices(engine, (timedelta(days=-30), 0.4))  # one run, on 2026-11-28 (W48)
    later = load_week_inputs(engine, week=WEEK.next(), cut=WEEK.next().end)
    [source] = later.sources
    assert source.runs == 0
    assert source.last_status is None
    assert source.newest_success is not None
    assert WEEK.contains(source.newest_success)


def _sim_run(engine: Engine, *, as_of: datetime, started_at: datetime) -> None:
    """A simulated run of the market at ``as_of``, run at ``started_at`` (``--as-of``)."""
    rows = {
        "instance_types": [make_type(observed_at=as_of)],
        "offerings": [make_offering(first_seen=as_of, last_seen=as_of)],
        "spot_prices": [make_spot_price(ts=as_of, observed_at=as_of)],
    }
    run = replace(
        make_result(rows, source="sim"),
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=5),
    )
    persist_run(engine, run)


def test_a_run_is_placed_in_the_week_its_data_is_as_of_not_when_it_ran(engine: Engine) -> None:
    last, this = WEEK.previous(), WEEK
    ran = this.start + timedelta(days=2)  # every run below ran this week
    for offset in (timedelta(hours=1), timedelta(days=3)):
        _sim_run(engine, as_of=last.start + offset, started_at=ran + offset)
    _sim_run(engine, as_of=ran, started_at=ran)  # the market of now
    # A run that wrote nothing has no data_as_of: it stays where it started.
    failed = make_result({"spot_prices": []}, source="sim", regions=("us-east-1",))
    persist_run(engine, replace(failed, started_at=ran, finished_at=ran + timedelta(seconds=1)))

    past = load_week_inputs(engine, week=last, cut=last.end)
    assert past.has_data
    [sim] = past.sources
    assert (sim.source, sim.simulated) == ("sim", True)
    assert (sim.runs, sim.ok, sim.failed, sim.last_status) == (2, 2, 0, "ok")
    # The runs finished after the week's end: their success counts on their data's clock.
    assert sim.newest_success == last.start + timedelta(days=3, seconds=5)
    assert sim.data_as_of == last.start + timedelta(days=3)

    current = load_week_inputs(engine, week=this, cut=this.end)
    [sim_now] = current.sources
    assert (sim_now.runs, sim_now.ok, sim_now.failed) == (2, 1, 1)
    assert sim_now.last_status == "failed"  # newest by placement; the id breaks the tie
    assert sim_now.newest_success == ran + timedelta(seconds=5)  # finished before the cut
    assert sim_now.data_as_of == ran

    # Before any data: the week before last sees no source, though every run started later.
    assert load_week_inputs(engine, week=last.previous(), cut=last.previous().end).sources == ()
