"""`spotsel events import`: a file or stdin in, the report out, replays change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.fleet_events import EventDataError
from core.settings import Settings
from core.tables import CollectionRun, FleetEvent
from spotsel.cli import app
from spotsel.state import AppState

runner = CliRunner()


def _invoke(settings: Settings, *args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), input=stdin)


def _events(n: int) -> list[dict[str, Any]]:
    return [
        {"cloud": "aws", "region": "us-east-1", "zone_id": "use1-az1",
         "instance_type": "g4dn.xlarge", "kind": "interruption",
         "occurred_at": f"2026-11-27T{i:02d}:00:00Z", "instance_hours": 1.5}
        for i in range(n)
    ]  # fmt: skip


def _count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_import_a_file_then_replay_it_from_stdin(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(_events(5)))
    first = _invoke(settings, "events", "import", str(path), "--output", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["accepted"] == 5
    again = _invoke(settings, "events", "import", "-", stdin=path.read_text())
    assert again.exit_code == 0, again.output
    assert "accepted 0, duplicates 5" in again.stdout
    assert _count(engine, FleetEvent) == 5
    assert _count(engine, CollectionRun) == 1, "only the first import changed anything"


def test_another_source_is_another_dedup_scope(engine: Engine, settings: Settings) -> None:
    text = json.dumps(_events(2))
    for source in ("cluster-a", "cluster-b"):
        result = _invoke(settings, "events", "import", "-", "--source", source, stdin=text)
        assert result.exit_code == 0, result.output
    with Session(engine) as session:
        assert (
            sorted(session.scalars(select(FleetEvent.source)))
            == ["cluster-a"] * 2 + ["cluster-b"] * 2
        )


def test_a_file_with_no_usable_event_is_one_line_and_writes_nothing(
    engine: Engine, settings: Settings
) -> None:
    bad = [dict(_events(1)[0], kind="reboot"), dict(_events(1)[0], occurred_at="yesterday")]
    # `spotsel.cli.main` prints it as one line and exits 1 (tests/spotsel/test_bad_input.py).
    with pytest.raises(
        EventDataError, match=r"^document 0: kind 'reboot' .* \(and 1 more refused\)$"
    ):
        runner.invoke(app, ["events", "import", "-"], obj=AppState(settings=settings),
                      input=json.dumps(bad), catch_exceptions=False)  # fmt: skip
    assert _count(engine, FleetEvent) + _count(engine, CollectionRun) == 0
