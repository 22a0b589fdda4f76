"""`spotsel demo` writes two simulated weeks of reports: this week's compares with last week's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from core.clock import utcnow
from core.db import make_engine
from core.reports import list_weeks, load_week
from core.settings import Settings
from core.weeks import IsoWeek
from outputs.report import fmt
from spotsel.cli import app
from spotsel.commands.demo_weeks import LAST_WEEK_MARKET_TIMES, last_week_times
from spotsel.state import AppState

runner = CliRunner()
# The demo's clock in the slow test. The simulated market is a pure function of seed, pool and
# time, so whether this week's recommendation differs from last week's depends on "now" (an hour
# after last week's end it never does); at this hour, with the default seed, cpu-batch's
# recommendation drops types, so the week-over-week section has changes to show.
DEMO_NOW = datetime(2026, 12, 1, 5, 10, tzinfo=UTC)
# Where the demo path reads the clock (modules bound to core.clock.utcnow at import, and
# core.clock itself for the imports inside functions).
CLOCK_USERS = ("core.clock", "spotsel.commands.demo", "spotsel.commands.collect")
# The diff lines of the "Change since last week" section (outputs.report.sections), with the
# recommendation field each one compares and its direction.
CHANGE_LINES = (
    ("Instance types added", "instance_types", +1),
    ("Instance types removed", "instance_types", -1),
    ("Zones added", "zones", +1),
    ("Zones removed", "zones", -1),
)


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


@pytest.fixture
def demo_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    for module in CLOCK_USERS:
        monkeypatch.setattr(f"{module}.utcnow", lambda: DEMO_NOW)
    return DEMO_NOW


def _listed(section: str, label: str) -> set[str]:
    """The names a diff line lists ("- Zones added: a, b"); none without the line."""
    prefix = f"- {label}: "
    lines = [line for line in section.splitlines() if line.startswith(prefix)]
    assert len(lines) <= 1, lines
    return set(lines[0].removeprefix(prefix).split(", ")) if lines else set()


def _changes(markdown: str, profile: str) -> str:
    """The "Change since last week" section of one profile."""
    block = markdown.split(f"## Profile {profile}\n", 1)[1].split("\n## ", 1)[0]
    return block.split("### Change since last week", 1)[1].split("\n### ", 1)[0]


@pytest.mark.slow
def test_demo_writes_this_weeks_report_compared_with_last_weeks(
    settings: Settings, demo_now: datetime
) -> None:
    result = _invoke(settings, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    this_week = IsoWeek.containing(demo_now)
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
        previous = load_week(engine, week=str(last_week))
        assert stored is not None
        assert previous is not None
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
    # Each profile's diff lines say what the two stored recommendations differ by, and at least
    # one profile changed: an empty diff everywhere fails here.
    before, after = previous.recommendations["profiles"], stored.recommendations["profiles"]
    changes = 0
    for name, now_rec in after.items():
        section = _changes(text, name)
        for label, field, direction in CHANGE_LINES:
            old, new = set(before[name][field]), set(now_rec[field])
            expected = new - old if direction > 0 else old - new
            assert _listed(section, label) == expected, (name, label)
            changes += len(expected)
    assert changes >= 1, "the week-over-week section lists at least one added or removed type/zone"
    # The numbers against last week: a comparison table per profile recommended both weeks, its
    # cost row carrying both stored weekly costs; an empty table everywhere fails here.
    rows = 0
    for name, now_rec in after.items():
        if not (now_rec["available"] and before[name]["available"]):
            continue
        table = [line for line in _changes(text, name).splitlines() if line.startswith("| ")]
        rows += len(table[1:])  # below the header row
        old, new = before[name]["cost"]["effective"], now_rec["cost"]["effective"]
        cost = f"| weekly cost, spot (effective) | {fmt.money(old)} | {fmt.money(new)} |"
        assert any(line.startswith(cost) for line in table), (name, table)
    assert rows >= 1, "the week-over-week section has at least one comparison row"
    assert "<svg" in html.read_text(encoding="utf-8"), "the charts are drawn"
