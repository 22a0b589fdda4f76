"""The weekly report store: save replaces a week whole, load reads it back, list pages newest
first; on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from core.errors import ConfigError
from core.reports import count_weeks, list_weeks, load_week, save_week


def _save(
    engine: Engine, week: str, *, at: datetime, tag: str = "a", simulated: bool = False
) -> None:
    save_week(
        engine,
        week=week,
        generated_at=at,
        simulated=simulated,
        recommendations={"gpu-training": {"types": [f"g5.xlarge-{tag}"], "zones": ["use1-az1"]}},
        html=f"<!DOCTYPE html><p>{tag}</p>",
        markdown=f"# {tag}\n",
    )


def test_a_saved_week_reads_back_whole(engine: Engine, now: datetime) -> None:
    _save(engine, "2026-W48", at=now, tag="first", simulated=True)
    stored = load_week(engine, week="2026-W48")
    assert stored is not None
    assert stored.week == "2026-W48"
    assert stored.generated_at == now
    assert stored.generated_at.tzinfo is not None
    assert stored.simulated is True
    assert stored.recommendations == {
        "gpu-training": {"types": ["g5.xlarge-first"], "zones": ["use1-az1"]}
    }
    assert stored.html == "<!DOCTYPE html><p>first</p>"
    assert stored.markdown == "# first\n"


def test_saving_a_week_again_replaces_it(engine: Engine, now: datetime) -> None:
    _save(engine, "2026-W48", at=now, tag="first", simulated=True)
    _save(engine, "2026-W48", at=now + timedelta(hours=1), tag="second")
    assert count_weeks(engine) == 1
    stored = load_week(engine, week="2026-W48")
    assert stored is not None
    assert (stored.generated_at, stored.simulated) == (now + timedelta(hours=1), False)
    assert stored.recommendations["gpu-training"]["types"] == ["g5.xlarge-second"]
    assert stored.markdown == "# second\n"


def test_an_unknown_week_is_none(engine: Engine) -> None:
    assert load_week(engine, week="2026-W01") is None


def test_weeks_are_canonical(engine: Engine, now: datetime) -> None:
    """People type "2026-w48"; it is the same week as "2026-W48", stored once."""
    _save(engine, "2026-w48", at=now)
    _save(engine, "2026-W48", at=now, tag="b")
    assert [s.week for s in list_weeks(engine)] == ["2026-W48"]
    assert load_week(engine, week="2026-w48") is not None


@pytest.mark.parametrize(
    "week",
    [
        pytest.param("2026-48", id="no W"),
        pytest.param("2026-W54", id="no such week"),
        pytest.param("2026-W48; DROP TABLE weekly_reports", id="trailing junk"),
    ],
)
def test_a_malformed_week_is_refused_before_writing(
    engine: Engine, now: datetime, week: str
) -> None:
    with pytest.raises(ConfigError, match="week"):
        _save(engine, week, at=now)
    with pytest.raises(ConfigError):
        load_week(engine, week=week)
    assert count_weeks(engine) == 0


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="naive"):
        _save(engine, "2026-W48", at=datetime(2026, 11, 30, 6))
    assert count_weeks(engine) == 0


def test_list_is_newest_week_first_and_pages_by_week(engine: Engine, now: datetime) -> None:
    # Saved out of order, across a year boundary: the list follows the weeks, not the saves.
    for week in ("2026-W01", "2025-W52", "2026-W48", "2026-W02"):
        _save(engine, week, at=now)
    summaries = list_weeks(engine)
    assert [s.week for s in summaries] == ["2026-W48", "2026-W02", "2026-W01", "2025-W52"]
    first = summaries[0]
    assert first.html_chars == len("<!DOCTYPE html><p>a</p>")
    assert first.markdown_chars == len("# a\n")
    page = list_weeks(engine, limit=2)
    assert [s.week for s in page] == ["2026-W48", "2026-W02"]
    rest = list_weeks(engine, limit=2, before=page[-1].week)
    assert [s.week for s in rest] == ["2026-W01", "2025-W52"]
    assert list_weeks(engine, limit=2, before=rest[-1].week) == []
    assert count_weeks(engine) == 4


def test_generated_at_is_utc(engine: Engine) -> None:
    elsewhere = datetime(2026, 11, 30, 8, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    _save(engine, "2026-W49", at=elsewhere)
    stored = load_week(engine, week="2026-W49")
    assert stored is not None
    assert stored.generated_at == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert stored.generated_at.utcoffset() == timedelta(0)
