"""`spotsel demo`: it loads the market, ranks, writes the outputs and two simulated weeks of
reports (this week's compared with last week's), and running it again changes nothing.

The demo takes seconds, so the tests share two runs per engine (`demo_runs`, once per module):
what the first run left (its output, the files, the store) is kept before the second runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from core.clock import utcnow
from core.db import make_engine, temporary_schema
from core.pool_reader import load_pool_index
from core.reports import StoredReport, list_weeks, load_week
from core.settings import Settings
from core.weeks import IsoWeek
from outputs.report import fmt
from spotsel import state
from spotsel.cli import app
from spotsel.commands.demo_weeks import LAST_WEEK_MARKET_TIMES, last_week_times
from spotsel.state import AppState
from tests.conftest import POSTGRES_URL, _backends

runner = CliRunner()
# The demo's clock. The simulated market is a pure function of seed, pool and time, so whether
# this week's recommendation differs from last week's depends on "now" (an hour after last
# week's end it never does); at this hour, with the default seed, cpu-batch's recommendation
# drops types, so the week-over-week section has changes to show.
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


def _invoke(settings: Settings, *args: str) -> Result:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def _totals(settings: Settings) -> dict[str, int]:
    result = _invoke(settings, "status", "--output", "json")
    assert result.exit_code == 0, result.output
    totals: dict[str, int] = json.loads(result.stdout)["totals"]
    return totals


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "demo_backend" in metafunc.fixturenames:
        metafunc.parametrize("demo_backend", _backends(metafunc.config), scope="module")


@dataclass(frozen=True)
class DemoRuns:
    """Two `spotsel demo` runs on one empty database, and what the first one left."""

    settings: Settings
    first: Result  # `demo --no-serve`
    pool_loads: int  # pool index loads during the first run
    first_totals: dict[str, int]  # `status` totals after the first run
    folder: Path  # the demo's output folder (its default)
    first_files: Path  # a copy of the folder as the first run left it
    first_reports: dict[str, StoredReport]  # the stored weeks after the first run
    second: Result  # `demo`, without a terminal
    second_totals: dict[str, int]


@pytest.fixture(scope="module")
def demo_runs(
    demo_backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[DemoRuns]:
    tmp = tmp_path_factory.mktemp("demo")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        if demo_backend == "sqlite":
            url = f"sqlite:///{tmp / 'spotsel.db'}"
        else:
            request.getfixturevalue("postgres_admin")  # reachable, or a clear failure
            url = stack.enter_context(temporary_schema(POSTGRES_URL))
        settings = Settings(database_url=url, data_dir=tmp / "data")
        for module in CLOCK_USERS:
            patch.setattr(f"{module}.utcnow", lambda: DEMO_NOW)
        loads: list[object] = []

        def counted(*args: Any, **kwargs: Any) -> Any:
            loads.append(args)
            return load_pool_index(*args, **kwargs)

        patch.setattr(state, "load_pool_index", counted)
        first = _invoke(settings, "demo", "--no-serve")
        assert first.exit_code == 0, first.output
        pool_loads = len(loads)
        folder = settings.data_dir / "demo-output"
        first_files = shutil.copytree(folder, tmp / "first-run-output")
        engine = make_engine(url)
        try:
            weeks = [summary.week for summary in list_weeks(engine)]
            stored = {week: load_week(engine, week=week) for week in weeks}
        finally:
            engine.dispose()
        first_totals = _totals(settings)
        second = _invoke(settings, "demo")  # no terminal: a script never blocks on the server
        yield DemoRuns(
            settings=settings,
            first=first,
            pool_loads=pool_loads,
            first_totals=first_totals,
            folder=folder,
            first_files=first_files,
            first_reports={week: report for week, report in stored.items() if report},
            second=second,
            second_totals=_totals(settings),
        )


def test_demo_loads_the_market_and_is_repeatable(demo_runs: DemoRuns) -> None:
    first = demo_runs.first
    assert demo_runs.pool_loads == 1, (
        "the ranking, the NodePools and the Fleet request share one load"
    )
    assert "simulated" in first.stdout
    assert "spot pays off" in first.stdout, "the demo ranks the seed scenario with a verdict"
    assert "curl -s -X POST http://127.0.0.1:8080/v1/recommendations" in first.stdout
    outputs = demo_runs.first_files
    nodepools = sorted((outputs / "nodepools").glob("*.nodepools.yaml"))
    assert nodepools, "the demo writes the NodePools of the example profiles"
    spot_pools = [
        doc
        for path in nodepools
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "NodePool" and doc["metadata"]["name"].endswith("-spot")
    ]
    assert spot_pools
    for pool in spot_pools:
        taints = pool["spec"]["template"]["spec"]["taints"]
        assert {"key": "spot", "value": "true", "effect": "NoSchedule"} in taints
    fleet = json.loads((outputs / "fleet-request.json").read_text())
    assert fleet["SpotOptions"]["AllocationStrategy"] in {
        "price-capacity-optimized",
        "capacity-optimized-prioritized",
    }
    totals = demo_runs.first_totals
    assert totals["instance_types"] > 100
    assert totals["pools"] > 2_000
    second = demo_runs.second
    assert second.exit_code == 0, second.output
    assert "Serve it: spotsel serve --no-auth" in second.stdout
    assert "0 new" in second.stdout
    assert demo_runs.second_totals == totals, "running the demo twice changes no counts"


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
def test_demo_writes_this_weeks_report_compared_with_last_weeks(demo_runs: DemoRuns) -> None:
    result = demo_runs.first
    this_week = IsoWeek.containing(DEMO_NOW)
    last_week = this_week.previous()
    folder, files = demo_runs.folder, demo_runs.first_files
    reports = [Path("report.html"), Path("report.md")]
    reports += [Path("reports", str(last_week), name.name) for name in reports]
    for path in reports:
        assert (files / path).is_file(), path
        assert f"  {folder / path}" in result.stdout, "the demo lists the report files"
    html, markdown = files / "report.html", files / "report.md"

    assert list(demo_runs.first_reports) == [str(this_week), str(last_week)]
    stored = demo_runs.first_reports[str(this_week)]
    previous = demo_runs.first_reports[str(last_week)]
    assert stored.simulated
    assert stored.recommendations, "last week's report had pools to recommend"
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
