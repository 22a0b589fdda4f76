"""`spotsel report` and the scheduler's weekly report job, over the real report builder, on
both engines: the week chosen, the previous week compared with, files and store agreeing, and
nothing left behind by a bad week or a failed save."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from core.db import make_engine
from core.errors import ConfigError, DatabaseError
from core.reports import count_weeks, list_weeks, load_week, save_week
from core.settings import Settings
from core.weeks import IsoWeek
from spotsel.cli import app
from spotsel.commands import report as report_module
from spotsel.commands.report import LAST_WEEK, REPORT_HTML, REPORT_MARKDOWN, resolve_week
from spotsel.commands.scheduler import report_task
from spotsel.state import AppState

runner = CliRunner()
# Thursday of 2026-W48 (23-29 November): "now" for the commands under test.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# Market times close to each report's cut (W47's end, NOW), so the prices are fresh there.
IN_W47 = "2026-11-22T23:00:00+00:00"
IN_W48 = "2026-11-26T11:00:00+00:00"


def _invoke(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(report_module, "utcnow", lambda: NOW)
    return NOW


@pytest.fixture
def store(settings: Settings) -> Engine:
    """A migrated, empty store behind ``settings``."""
    result = _invoke(settings, "db", "upgrade")
    assert result.exit_code == 0, result.output
    return make_engine(settings.database_url)


def _collect(settings: Settings, as_of: str) -> None:
    result = _invoke(settings, "collect", "sim", "--seed", "7", "--as-of", as_of)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_two_weeks_the_second_compares_with_the_first(
    settings: Settings, store: Engine, fixed_now: datetime, tmp_path: Path
) -> None:
    _collect(settings, IN_W47)
    _collect(settings, IN_W48)
    first = _invoke(settings, "report", "--week", "2026-W47", "--out", str(tmp_path / "w47"))
    assert first.exit_code == 0, first.output
    assert "compared with nothing (2026-W46 not stored)" in first.stderr
    assert "SIMULATED" in first.stderr

    second = _invoke(settings, "report", "--out", str(tmp_path / "now"))  # default: this week
    assert second.exit_code == 0, second.output
    assert "report 2026-W48: 2026-11-23 00:00 to 2026-11-26 12:00 UTC (so far)" in second.stderr
    assert "compared with 2026-W47" in second.stderr
    assert f"wrote {tmp_path / 'now' / REPORT_HTML}" in second.stdout
    assert "recorded week 2026-W48" in second.stdout

    assert [s.week for s in list_weeks(store)] == ["2026-W48", "2026-W47"]
    stored = load_week(store, week="2026-W48")
    assert stored is not None
    assert stored.generated_at == NOW
    assert stored.simulated is True
    assert stored.recommendations, "what next week compares with"
    assert (tmp_path / "now" / REPORT_HTML).read_text(encoding="utf-8") == stored.html
    assert (tmp_path / "now" / REPORT_MARKDOWN).read_text(encoding="utf-8") == stored.markdown
    assert "2026-W48" in stored.markdown
    assert sorted(p.name for p in (tmp_path / "now").iterdir()) == [REPORT_HTML, REPORT_MARKDOWN]
    assert oct((tmp_path / "now" / REPORT_HTML).stat().st_mode & 0o777) == "0o644"
    store.dispose()


@pytest.mark.parametrize(
    ("week", "message"),
    [
        pytest.param("2026-48", "week must look like 2026-W48", id="no W"),
        pytest.param("2026-W60", "weeks 1..53, not 60", id="no such week"),
        pytest.param("2026-W49", "week 2026-W49 has not begun", id="a week still to come"),
    ],
)
def test_a_bad_week_is_refused_and_nothing_is_written(
    settings: Settings, store: Engine, fixed_now: datetime, tmp_path: Path, week: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _invoke(settings, "report", "--week", week, "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    assert count_weeks(store) == 0
    store.dispose()


def test_a_failed_save_leaves_no_files(
    settings: Settings,
    store: Engine,
    fixed_now: datetime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The files are renamed into place only after the week is recorded."""
    out = tmp_path / "out"
    out.mkdir()
    (out / REPORT_HTML).write_text("last week's", encoding="utf-8")

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise DatabaseError("the database went away")

    monkeypatch.setattr(report_module, "save_week", refuse)
    with pytest.raises(DatabaseError):
        _invoke(settings, "report", "--week", "2026-W48", "--out", str(out))
    assert [p.name for p in out.iterdir()] == [REPORT_HTML], "no temporary file is left"
    assert (out / REPORT_HTML).read_text(encoding="utf-8") == "last week's", "untouched"
    store.dispose()


def test_an_empty_store_still_reports_its_week(
    settings: Settings, store: Engine, fixed_now: datetime, tmp_path: Path
) -> None:
    result = _invoke(settings, "report", "--week", "2026-w47", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    stored = load_week(store, week="2026-W47")
    assert stored is not None
    assert stored.simulated is False, "no simulated data: no simulated label"
    assert (tmp_path / REPORT_MARKDOWN).read_text(encoding="utf-8") == stored.markdown
    store.dispose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, "2026-W48", id="default: the week now falls in"),
        pytest.param("2026-W48", "2026-W48", id="the current week"),
        pytest.param("2025-W01", "2025-W01", id="an old week"),
        pytest.param("last", "2026-W47", id="last: the previous complete week"),
        pytest.param(" Last ", "2026-W47", id="last, as people type it"),
    ],
)
def test_resolve_week(text: str | None, expected: str) -> None:
    assert str(resolve_week(text, now=NOW)) == expected


def test_last_week_crosses_the_iso_year_and_is_never_the_running_week() -> None:
    # Monday 2027-01-04 00:00 starts 2027-W01; the week before is 2026's 53rd.
    new_year = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)
    assert str(resolve_week("last", now=new_year)) == "2026-W53"
    assert str(resolve_week("last", now=new_year - timedelta(microseconds=1))) == "2026-W52"
    last = resolve_week(LAST_WEEK, now=NOW)
    assert last.end <= NOW, "a complete week"
    assert last.next() == IsoWeek.containing(NOW)


def test_week_last_reports_and_records_the_previous_week(
    settings: Settings, store: Engine, fixed_now: datetime, tmp_path: Path
) -> None:
    result = _invoke(settings, "report", "--week", "last", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert [s.week for s in list_weeks(store)] == ["2026-W47"]
    assert "recorded week 2026-W47" in result.stdout
    assert (tmp_path / REPORT_MARKDOWN).is_file()
    store.dispose()


# --- the scheduler's weekly job -------------------------------------------------------------

MONDAY_EARLY = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # W49, before Monday 06:00
TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # W49, after it


def _save(engine: Engine, week: str, generated_at: datetime) -> None:
    save_week(
        engine,
        week=week,
        generated_at=generated_at,
        simulated=True,
        recommendations={},
        html="<!DOCTYPE html>",
        markdown="#",
    )


def test_the_job_reports_the_week_that_ended(
    settings: Settings, store: Engine, tmp_path: Path
) -> None:
    task = report_task(store, settings.model_copy(update={"report_dir": tmp_path}))
    assert task is not None
    assert task.cron.text == "0 6 * * 1", "Mondays 06:00 UTC by default"
    outcome = task.run(TUESDAY)
    assert outcome.startswith("week 2026-W48 recorded (compared with nothing stored)")
    stored = load_week(store, week="2026-W48")
    assert stored is not None
    assert stored.generated_at == TUESDAY
    assert (tmp_path / "2026-W48" / REPORT_HTML).read_text(encoding="utf-8") == stored.html
    store.dispose()


def test_an_empty_schedule_turns_the_job_off(settings: Settings, store: Engine) -> None:
    assert report_task(store, settings.model_copy(update={"report_schedule": ""})) is None
    store.dispose()


def test_a_missed_firing_is_made_up_only_when_it_matters(settings: Settings, store: Engine) -> None:
    task = report_task(store, settings)
    assert task is not None
    assert not task.missed(TUESDAY), "a fresh store: no data of last week, no empty report"
    _collect(settings, IN_W48)
    assert task.missed(TUESDAY), "Monday 06:00 passed, W48 has data and no report"
    assert not task.missed(MONDAY_EARLY), "the firing is still to come"
    _save(store, "2026-W48", datetime(2026, 11, 27, tzinfo=UTC))
    assert task.missed(TUESDAY), "a report made during W48 is not the complete week"
    _save(store, "2026-W48", IsoWeek.parse("2026-W48").end + timedelta(hours=6))
    assert not task.missed(TUESDAY), "the complete week is stored"
    store.dispose()
