"""The weekly report's read path: the price in force sampled hourly, the week's window, the
sources' health, node lifetimes; both engines."""

from __future__ import annotations

from datetime import timedelta

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
