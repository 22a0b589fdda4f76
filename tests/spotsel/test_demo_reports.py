"""`spotsel demo` writes two simulated weeks of reports: this week's compares with last week's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from core.clock import utcnow
from core.db import make_engine
from core.reports import list_weeks, load_week
from core.settings import Settings
from core.weeks import IsoWeek
from spotsel.cli import app
from spotsel.commands.demo_weeks import LAST_WEEK_MARKET_TIMES, last_week_times
from spotsel.state import AppState

runner = CliRunner()


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def test_last_weeks_market_times_span_last_week() -> None:
    now = utcnow()
    times = last_week_times(now)
    last_week = IsoWeek.containing(now).previous()
    assert len(times) == len(LAST_WEEK_MARKET_TIMES)
    assert times == sorted(times), "oldest first: the current market is collected last"
    assert all(last_week.contains(t) for t in times)
    assert times[0] == last_week.start
    # The week's recommendation is ranked at its end: the last market is at most an hour older.
    assert last_week.end - times[-1] <= timedelta(hours=1)


@pytest.mark.slow
def test_demo_writes_this_weeks_report_compared_with_last_weeks(settings: Settings) -> None:
    result = _invoke(settings, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    this_week = IsoWeek.containing(utcnow())
    last_week = this_week.previous()
    folder = settings.data_dir / "demo-output"
    html, markdown = folder / "report.html", folder / "report.md"
    past = folder / "reports" / str(last_week)
    for path in (html, markdown, past / "report.html", past / "report.md"):
        assert path.is_file(), path
        assert f"  {path}" in result.stdout, "the demo lists the report files"

    engine: Engine = make_engine(settings.database_url)
    try:
        assert [s.week for s in list_weeks(engine)] == [str(this_week), str(last_week)]
        stored = load_week(engine, week=str(this_week))
        assert stored is not None
        assert stored.simulated
        assert stored.recommendations, "last week's report had pools to recommend"
    finally:
        engine.dispose()
    text = markdown.read_text(encoding="utf-8")
    assert text == stored.markdown
    assert "Simulated market" in text
    section = text.split("### Change since last week", 1)[1].split("\n### ", 1)[0]
    assert section.strip(), "the week-over-week section has content"
    assert "no earlier report" not in section.lower()
    assert "<svg" in html.read_text(encoding="utf-8"), "the charts are drawn"
