"""GET /v1/reports and /v1/reports/{week}: the stored weeks, newest first and paged; one week
as HTML or (Accept: text/markdown) Markdown; stable error bodies; read scope; both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.routes.reports import wants_markdown
from core.reports import save_week
from core.settings import Settings
from tests.api.conftest import KEYS, auth, build_app

GENERATED = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
WEEKS = ("2025-W52", "2026-W47", "2026-W01", "2026-W48")  # saved out of order


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    for n, week in enumerate(WEEKS):
        save_week(
            engine,
            week=week,
            generated_at=GENERATED + timedelta(days=n),
            simulated=week == "2026-W48",
            recommendations={"gpu-trainer": {"types": ["g5.xlarge"]}},
            html=f"<!DOCTYPE html><title>{week}</title>",
            markdown=f"# spotsel weekly report {week}\n",
        )
    with TestClient(build_app(engine, settings.model_copy(update={"api_keys": KEYS}))) as c:
        yield c


def test_the_list_is_newest_week_first_and_pages(client: TestClient) -> None:
    first = client.get("/v1/reports", params={"limit": 3}, headers=auth())
    assert first.status_code == 200, first.text
    body = first.json()
    assert [i["week"] for i in body["items"]] == ["2026-W48", "2026-W47", "2026-W01"]
    assert body["total"] == len(WEEKS)
    newest = body["items"][0]
    assert newest["simulated"] is True
    assert newest["url"] == "/v1/reports/2026-W48"
    assert newest["markdown_chars"] == len("# spotsel weekly report 2026-W48\n")
    assert datetime.fromisoformat(newest["generated_at"]) == GENERATED + timedelta(days=3)
    assert body["next"].startswith("/v1/reports?")
    rest = client.get(body["next"], headers=auth()).json()
    assert [i["week"] for i in rest["items"]] == ["2025-W52"]
    assert rest["next_cursor"] is None
    assert rest["next"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not-base64!", id="not ours"),
        pytest.param("WyJhIiwiYiJd", id="a cursor of a two-part key"),
        pytest.param("WyJ4Il0", id="one part, not a week"),
    ],
)
def test_a_foreign_cursor_is_400(client: TestClient, cursor: str) -> None:
    answer = client.get("/v1/reports", params={"cursor": cursor}, headers=auth())
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_cursor"


def test_a_week_is_html_by_default(client: TestClient) -> None:
    answer = client.get("/v1/reports/2026-W47", headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.text == "<!DOCTYPE html><title>2026-W47</title>"
    assert answer.headers["x-spotsel-simulated"] == "false"
    assert answer.headers["vary"] == "Accept"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy, "no script, nothing fetched"
    assert "script-src" not in policy


def test_markdown_when_asked(client: TestClient) -> None:
    answer = client.get("/v1/reports/2026-w48", headers={**auth(), "Accept": "text/markdown"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
    assert answer.text == "# spotsel weekly report 2026-W48\n"
    assert answer.headers["x-spotsel-simulated"] == "true", "simulated data is labelled"


@pytest.mark.parametrize(
    ("accept", "markdown"),
    [
        pytest.param(None, False, id="no header"),
        pytest.param("*/*", False, id="anything"),
        pytest.param("text/markdown", True, id="markdown"),
        pytest.param("text/html, text/markdown;q=0.5", False, id="html preferred"),
        pytest.param("text/html;q=0.4, text/markdown;q=0.9", True, id="markdown preferred"),
        pytest.param("text/markdown;q=0", False, id="markdown refused"),
        pytest.param("text/markdown;q=x", False, id="a broken weight counts as 0"),
    ],
)
def test_accept_negotiation(accept: str | None, markdown: bool) -> None:
    assert wants_markdown(accept) is markdown


def test_an_unknown_week_is_a_stable_404(client: TestClient) -> None:
    answer = client.get("/v1/reports/2026-W02", headers=auth())
    assert answer.status_code == 404
    body = answer.json()
    assert body["error"] == "report_not_found"
    assert "2026-W02" in body["detail"]


@pytest.mark.parametrize("week", ["2026-48", "2026-W54", "latest"])
def test_a_malformed_week_is_400(client: TestClient, week: str) -> None:
    answer = client.get(f"/v1/reports/{week}", headers=auth())
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_week"


def test_a_key_is_needed(client: TestClient) -> None:
    assert client.get("/v1/reports").status_code == 401
    assert client.get("/v1/reports/2026-W48").status_code == 401
