"""The demo's weekly report in a real browser (Debian `chromium`, headless): the page is drawn
(not blank), logs nothing to the console, and its SVG charts survive parsing.

Chromium is given no network: no proxy, and every host name resolves to nothing, so a page that
reached for a CDN would fail to draw it. Console messages reach stderr through
``--enable-logging=stderr`` as ``...:CONSOLE:<line>] "<message>"``; the report has no script, so
any console line is a fault. Guard tests show both checks fail on a page built to fail them.

Without chromium the tests are skipped locally; on CI (``CI=true``, where `.ci/run` installs it)
they fail instead. SQLite only: this is about rendering, the store has its own tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from core import migrate
from core.clock import utcnow
from core.settings import Settings
from spotsel.commands.collect import run_collection
from spotsel.commands.demo_weeks import collect_last_week, write_demo_reports
from spotsel.commands.outputs import example_profiles
from spotsel.state import AppState
from tests.outputs.report.png import PageStats, page_stats, read_png

pytestmark = pytest.mark.slow

WINDOW: Final = (1280, 2000)
# A loaded CI machine starts a browser slowly; a hung one must not hang the suite.
BROWSER_TIMEOUT_SECONDS: Final = 120
CONSOLE_LINE: Final = re.compile(r":CONSOLE[:(]\d*\)?\] (.*)")
# A drawn report page: some ink (text, tables, chart lines) on at least 1 % of the viewport,
# brightness that varies, and more colours than a flat page's anti-aliased text has.
MIN_INK_SHARE: Final = 0.01
MIN_LUMINANCE_STD: Final = 5.0
MIN_COLOURS: Final = 16


def _chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):  # set by CI systems (CI=true); there a missing browser is a failure
        pytest.fail("chromium is missing on CI: .ci/run installs the Debian package")
    pytest.skip("chromium is not installed (Debian: apt-get install chromium)")


@dataclass(frozen=True)
class BrowserRun:
    stdout: str
    console: list[str]  # console messages, as logged


def _browse(page: Path, profile: Path, *extra: str) -> BrowserRun:
    args = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-proxy-server",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.resolve().as_uri(),
    ]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_SECONDS, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [m.group(1) for m in CONSOLE_LINE.finditer(done.stderr)]
    return BrowserRun(done.stdout, console)


def _screenshot(page: Path, tmp: Path) -> tuple[BrowserRun, PageStats]:
    shot = tmp / f"{page.stem}.png"
    run = _browse(
        page, tmp / "profile", f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}"
    )
    image = read_png(shot)
    assert (image.width, image.height) == WINDOW
    return run, page_stats(image)


def _drawn(stats: PageStats) -> bool:
    return (
        stats.ink_share >= MIN_INK_SHARE
        and stats.luminance_std >= MIN_LUMINANCE_STD
        and stats.colours >= MIN_COLOURS
    )


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This week's report of the demo's two simulated weeks, built as `spotsel demo` builds it."""
    _chromium()  # skip (or fail on CI) before the market is built
    tmp = tmp_path_factory.mktemp("report")
    settings = Settings(database_url=f"sqlite:///{tmp / 'store.db'}", data_dir=tmp / "data")
    state = AppState(settings=settings)
    engine = state.engine()
    migrate.upgrade(engine)
    now = utcnow()
    collect_last_week(state, seed=None, scale=None, now=now)
    run_collection(state, "sim", {})
    with example_profiles() as profiles:
        written = write_demo_reports(state, tmp / "out", profiles_file=profiles, now=utcnow())
    engine.dispose()
    assert tmp / "out" / "report.html" in written
    return tmp / "out" / "report.html"


def test_the_checks_catch_a_console_error_and_a_blank_page(tmp_path: Path) -> None:
    """Guard: a page with nothing to show and a console.error fails both checks."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head>'
        '<body><script>console.error("deliberate failure 42")</script></body></html>',
        encoding="utf-8",
    )
    run, stats = _screenshot(page, tmp_path)
    assert any("deliberate failure 42" in line for line in run.console), run.console
    assert not _drawn(stats), stats


def test_the_report_is_drawn_and_logs_nothing(report_page: Path, tmp_path: Path) -> None:
    run, stats = _screenshot(report_page, tmp_path)
    assert run.console == [], "the report logs nothing to the console"
    assert _drawn(stats), stats


def test_the_charts_survive_in_the_browsers_dom(report_page: Path, tmp_path: Path) -> None:
    source = report_page.read_text(encoding="utf-8")
    run = _browse(report_page, tmp_path / "profile", "--dump-dom")
    assert run.console == []
    charts = source.count("<svg")
    assert charts > 0, "the demo's report draws charts"
    assert run.stdout.count("<svg") == charts, "every chart is still an <svg> after parsing"
    assert "</svg>" in run.stdout
    assert "$/h" in run.stdout, "the price chart is labelled with its unit"
