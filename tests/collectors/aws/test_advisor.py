"""Spot Advisor: the real snapshots, malformed documents, conditional GET and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from collectors import get_source
from collectors.aws.advisor import parse_advisor
from collectors.base import CollectContext
from collectors.runner import run_source
from core.errors import SourceDataError, SpotselError
from core.pool_reader import load_pool_records
from core.settings import Settings
from core.store import persist_run
from core.summary import source_statuses
from core.tables import CollectionRun, InterruptionRate
from spotsel.cli import app
from spotsel.state import AppState
from tests.factories import make_offering, make_result, make_type

URL = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"
LAST_MODIFIED = datetime(2025, 6, 28, 9, 0, tzinfo=UTC)


def _path(shared_data: Path, day: str) -> Path:
    return shared_data / "aws-spot-advisor" / f"spot-advisor-data_{day}.json"


def _linux_cells(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, int]]]:
    return [
        (region, itype, cell)
        for region, by_os in doc["spot_advisor"].items()
        for itype, cell in by_os.get("Linux", {}).items()
    ]


@pytest.mark.parametrize("day", ["2025-06-28", "2021-02-10"])
def test_every_linux_row_of_the_real_snapshots(shared_data: Path, day: str, now: datetime) -> None:
    raw = _path(shared_data, day).read_bytes()
    cells = _linux_cells(json.loads(raw))
    rows = parse_advisor(raw, observed_at=now)
    assert len(rows) == len(cells)
    labels = {r["index"]: r["label"] for r in json.loads(raw)["ranges"]}
    by_key = {(r["region"], r["instance_type"]): r for r in rows}
    for region, itype, cell in cells:
        row = by_key[(region, itype)]
        assert (row["bucket"], row["label"], row["savings_pct"]) == (
            cell["r"],
            labels[cell["r"]],
            cell["s"],
        )
    assert all(r["zone_id"] == "" and r["source"] == "aws-advisor" for r in rows)


def test_negative_and_zero_savings_are_kept(shared_data: Path, now: datetime) -> None:
    rows = parse_advisor(_path(shared_data, "2025-06-28").read_bytes(), observed_at=now)
    p5 = next(
        r for r in rows if (r["region"], r["instance_type"]) == ("ca-central-1", "p5.48xlarge")
    )
    assert (p5["savings_pct"], p5["label"]) == (-62.0, "<5%")
    assert any(r["savings_pct"] == 0 for r in rows)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<html>Access Denied</html>", "not JSON"),
        (b"[]", "top level"),
        (json.dumps({"spot_advisor": {"us-east-1": {"Linux": {}}}}).encode(), "'ranges'"),
        (json.dumps({"ranges": [{"index": 0, "label": "<5%"}]}).encode(), "'spot_advisor'"),
        (
            json.dumps(
                {
                    "ranges": [{"index": 0, "label": "<5%"}],
                    "spot_advisor": {"us-east-1": {"Linux": {"m5.large": {"s": 70, "r": 7}}}},
                }
            ).encode(),
            "not an index",
        ),
        (
            json.dumps(
                {
                    "ranges": [{"index": 0, "label": "<5%"}],
                    "spot_advisor": {"us-east-1": {"Linux": {"m5.large": {"s": "70", "r": 0}}}},
                }
            ).encode(),
            "expected a number",
        ),
        (
            json.dumps(
                {
                    "ranges": [{"index": 0, "label": "<5%"}],
                    "spot_advisor": {"us-east-1": {"Windows": {"m5.large": {"s": 70, "r": 0}}}},
                }
            ).encode(),
            "no Linux rows",
        ),
    ],
)
def test_malformed_documents_are_one_clear_error(
    document: bytes, reason: str, now: datetime
) -> None:
    with pytest.raises(SourceDataError, match=reason) as caught:
        parse_advisor(document, observed_at=now)
    assert "\n" not in str(caught.value)


def _advisor_doc(
    region: str = "us-east-1", itype: str = "g5.xlarge", s: Any = 70, r: Any = 0
) -> bytes:
    """A valid document plus one cell; allow_nan: JSON feeds may carry NaN and Infinity."""
    ranges = [{"index": 0, "label": "<5%"}] + ([{"index": r, "label": ">20%"}] if r else [])
    cells = {"us-east-1": {"Linux": {"m5.large": {"s": 60, "r": 0}}}}
    cells.setdefault(region, {"Linux": {}})["Linux"][itype] = {"s": s, "r": r}
    return json.dumps({"ranges": ranges, "spot_advisor": cells}, allow_nan=True).encode()


# The values of the issue: each would fail PostgreSQL mid-write and slip into SQLite.
BAD_VALUES = [
    pytest.param({"region": "r" * 65}, "region 'r", id="65-character region"),
    pytest.param({"itype": "t" * 129}, "instance_type 't", id="129-character type name"),
    pytest.param({"itype": "m5\x00.large"}, "control character", id="NUL byte in a type name"),
    pytest.param({"r": 2**63}, "bucket 9223372036854775808 is outside", id="bucket 2^63"),
    pytest.param({"s": float("nan")}, r"\.s is nan, expected a finite number", id="NaN savings"),
    pytest.param({"s": float("inf")}, r"\.s is inf, expected a finite number", id="inf savings"),
    pytest.param({"s": 10**400}, r"\.s is 1000.*, expected a finite number", id="huge savings"),
]


@pytest.mark.parametrize(("cell", "reason"), BAD_VALUES)
def test_a_value_the_store_cannot_hold_refuses_the_document(
    cell: dict[str, Any], reason: str, now: datetime
) -> None:
    document = _advisor_doc(**cell)
    with pytest.raises(SourceDataError, match=reason) as caught:
        parse_advisor(document, observed_at=now)
    message = str(caught.value)
    assert message.startswith("the Spot Advisor document is malformed: spot_advisor[")
    assert "\n" not in message
    assert len(message) < 300, "values are quoted cut short"


@pytest.mark.parametrize(("cell", "reason"), BAD_VALUES)
def test_a_bad_value_fails_the_run_and_writes_nothing(
    engine: Engine, settings: Settings, now: datetime, cell: dict[str, Any], reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_advisor_doc(**cell))

    with pytest.raises(SourceDataError, match=reason):
        run_source(engine, get_source("aws-advisor"), _ctx(settings, now, handler))
    assert _count(engine) == 0, "not even the valid m5.large row"
    with Session(engine) as session:
        [run] = session.scalars(select(CollectionRun)).all()
    assert (run.status, run.rows_written, run.error_class) == ("failed", 0, "SourceDataError")


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(InterruptionRate)) or 0)


def _ctx(settings: Settings, now: datetime, handler: Any, **options: Any) -> CollectContext:
    return CollectContext(
        settings=settings,
        now=now,
        options=options,
        http_client_factory=lambda: httpx.Client(transport=httpx.MockTransport(handler)),
    )


def test_malformed_feed_writes_nothing(engine: Engine, settings: Settings, now: datetime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"ranges": [], "spot_advisor": {}}')

    with pytest.raises(SourceDataError):
        run_source(engine, get_source("aws-advisor"), _ctx(settings, now, handler))
    assert _count(engine) == 0
    with Session(engine) as session:
        [run] = session.scalars(select(CollectionRun)).all()
    assert (run.status, run.error_class) == ("failed", "SourceDataError")


def test_http_error_is_one_line(engine: Engine, settings: Settings, now: datetime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=b"Slow Down")

    with pytest.raises(SpotselError, match="HTTP 503") as caught:
        run_source(engine, get_source("aws-advisor"), _ctx(settings, now, handler))
    assert "\n" not in str(caught.value)
    assert _count(engine) == 0


def test_conditional_get_with_etag(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    body = _path(shared_data, "2025-06-28").read_bytes()
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        headers = {"ETag": '"v1"', "Last-Modified": format_datetime(LAST_MODIFIED, usegmt=True)}
        return httpx.Response(200, content=body, headers=headers)

    source = get_source("aws-advisor")
    first = run_source(engine, source, _ctx(settings, now, handler))
    loaded = _count(engine)
    assert loaded == len(_linux_cells(json.loads(body)))
    assert first.data_as_of == LAST_MODIFIED, "rows carry the document's Last-Modified"
    second = run_source(engine, source, _ctx(settings, now, handler))
    assert seen == [None, '"v1"']
    assert (second.status, second.rows_new) == ("ok", 0), "304: a success that adds nothing"
    assert _count(engine) == loaded
    # A store that lost the document must not be starved by the remembered ETag.
    with Session(engine) as session, session.begin():
        session.execute(delete(InterruptionRate))
    third = run_source(engine, source, _ctx(settings, now, handler))
    assert seen[-1] is None
    assert third.rows_new == loaded


def test_cli_loads_a_saved_copy_and_status_shows_it(settings: Settings, shared_data: Path) -> None:
    path = _path(shared_data, "2025-06-28")
    expected = len(_linux_cells(json.loads(path.read_bytes())))
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(
            app, list(args), obj=AppState(settings=settings), catch_exceptions=False
        )

    assert invoke("db", "upgrade").exit_code == 0
    load = ("collect", "aws-advisor", "--source-url", path.as_uri(), "--as-of", "2025-06-28")
    first = invoke(*load)
    assert first.exit_code == 0, first.output
    again = invoke(*load)
    assert again.exit_code == 0, again.output
    assert "0 new" in again.stdout, "the same file twice writes no duplicates"
    status = invoke("status", "--output", "json")
    assert status.exit_code == 0, status.output
    doc = json.loads(status.stdout)
    [advisor] = [s for s in doc["sources"] if s["source"] == "aws-advisor"]
    assert advisor["simulated"] is False
    assert advisor["last_run"]["status"] == "ok"
    assert advisor["last_run"]["rows_written"] == expected
    assert advisor["runs"] == 2
    assert advisor["data_as_of"] == "2025-06-28T00:00:00+00:00", "dated by --as-of, not mtime"


def test_cli_refuses_an_undated_file_before_a_run_is_recorded(
    settings: Settings, shared_data: Path
) -> None:
    from core.errors import ConfigError

    runner = CliRunner()
    state = AppState(settings=settings)
    runner.invoke(app, ["db", "upgrade"], obj=state, catch_exceptions=False)
    url = _path(shared_data, "2025-06-28").as_uri()
    with pytest.raises(ConfigError, match="carries no date of its own: give --as-of") as caught:
        runner.invoke(
            app, ["collect", "aws-advisor", "--source-url", url], obj=state, catch_exceptions=False
        )
    assert "\n" not in str(caught.value)
    with Session(state.engine()) as session:
        assert session.scalar(select(func.count()).select_from(CollectionRun)) == 0


def test_an_undated_file_from_the_settings_is_a_failed_run(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    """The scheduler path (no --as-of): a clear failed run, no rows dated by an mtime."""
    url = _path(shared_data, "2025-06-28").as_uri()
    scheduled = settings.model_copy(update={"aws_advisor_url": url})
    with pytest.raises(SpotselError, match="no date of its own"):
        run_source(engine, get_source("aws-advisor"), CollectContext(settings=scheduled, now=now))
    assert _count(engine) == 0
    with Session(engine) as session:
        [run] = session.scalars(select(CollectionRun)).all()
    assert (run.status, run.error_class) == ("failed", "ConfigError")


def _load_file(
    engine: Engine, settings: Settings, now: datetime, path: Path, as_of: datetime
) -> CollectionRun:
    ctx = CollectContext(
        settings=settings, now=now, options={"source_url": path.as_uri(), "as_of": as_of}
    )
    return run_source(engine, get_source("aws-advisor"), ctx)


def _in_force(engine: Engine, now: datetime, types: list[str]) -> dict[str, str | None]:
    """The advisor label in force per us-east-1 type, read the way the ranking reads it."""
    rows = {
        "instance_types": [
            make_type(name=t, family=t.split(".")[0], size=t.split(".")[1]) for t in types
        ],
        "offerings": [make_offering(instance_type=t) for t in types],
    }
    persist_run(engine, make_result(rows))
    with Session(engine) as session:
        return {
            r.key.instance_type: r.interruption_label for r in load_pool_records(session, now=now)
        }


def test_an_older_snapshot_loaded_later_never_overwrites_newer_data(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    newer, older = _path(shared_data, "2025-06-28"), _path(shared_data, "2021-02-10")
    # (Both copies here share one mtime: dated by mtime, the older merged into the newer.)
    labels = {
        day: {
            itype: label
            for (region, itype, label) in _labels(_path(shared_data, day))
            if region == "us-east-1"
        }
        for day in ("2025-06-28", "2021-02-10")
    }
    changed = sorted(
        t
        for t in labels["2025-06-28"]
        if labels["2021-02-10"].get(t, labels["2025-06-28"][t]) != labels["2025-06-28"][t]
    )
    assert len(changed) > 20, "the two snapshots disagree on many us-east-1 types"
    first = _load_file(engine, settings, now, newer, datetime(2025, 6, 28, tzinfo=UTC))
    second = _load_file(engine, settings, now, older, datetime(2021, 2, 10, tzinfo=UTC))
    assert second.rows_new == second.rows_written, "the older rows are added, not merged"
    assert first.data_as_of == datetime(2025, 6, 28, tzinfo=UTC)
    in_force = _in_force(engine, now, changed)
    assert in_force == {t: labels["2025-06-28"][t] for t in changed}, "2025 values stay in force"
    with Session(engine) as session:
        [status] = [s for s in source_statuses(session) if s.source == "aws-advisor"]
    assert status.data_as_of == datetime(2025, 6, 28, tzinfo=UTC)


def _labels(path: Path) -> list[tuple[str, str, str]]:
    doc = json.loads(path.read_bytes())
    names = {r["index"]: r["label"] for r in doc["ranges"]}
    return [(region, itype, names[cell["r"]]) for region, itype, cell in _linux_cells(doc)]


def test_as_of_overrides_last_modified(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    body = _path(shared_data, "2025-06-28").read_bytes()
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match"))
        headers = {"ETag": '"v1"', "Last-Modified": format_datetime(LAST_MODIFIED, usegmt=True)}
        return httpx.Response(200, content=body, headers=headers)

    source = get_source("aws-advisor")
    run_source(engine, source, _ctx(settings, now, handler))
    as_of = datetime(2025, 6, 1, tzinfo=UTC)
    run = run_source(engine, source, _ctx(settings, now, handler, as_of=as_of))
    assert run.data_as_of == as_of
    assert seen == [None, None], "a given date fetches the document whole"


def test_cli_missing_file_is_a_config_error(settings: Settings, tmp_path: Path) -> None:
    from core.errors import ConfigError

    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"], obj=AppState(settings=settings), catch_exceptions=False)
    with pytest.raises(ConfigError, match="does not exist"):
        runner.invoke(
            app,
            ["collect", "aws-advisor", "--source-url", (tmp_path / "nope.json").as_uri()],
            obj=AppState(settings=settings),
            catch_exceptions=False,
        )
