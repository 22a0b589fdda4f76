"""``GET /v1/reports`` (the stored weeks, newest first) and ``GET /v1/reports/{week}`` (one
week's report: HTML, or Markdown for ``Accept: text/markdown``).

The reports are written by `spotsel report`, the scheduler's weekly job and `spotsel demo`
(`core.reports`); the API only reads them. A report built from simulated data says so in its
first lines and in the ``X-Spotsel-Simulated`` header.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ReadAuth, ServicesDep
from api.errors import ApiError, InvalidCursorError, NotFoundError
from api.pagination import (
    DEFAULT_LIMIT,
    MAX_CURSOR_CHARS,
    MAX_LIMIT,
    ResultPage,
    decode_cursor,
    encode_cursor,
)
from api.routes import answers
from api.schemas import Page
from core.errors import ConfigError
from core.reports import count_weeks, list_weeks, load_week
from core.weeks import IsoWeek

__all__ = ["InvalidWeekError", "ReportItem", "ReportNotFoundError", "router", "wants_markdown"]

router = APIRouter(prefix="/v1", tags=["reports"])

HTML_TYPE: Final = "text/html; charset=utf-8"
MARKDOWN_TYPE: Final = "text/markdown; charset=utf-8"
SIMULATED_HEADER: Final = "X-Spotsel-Simulated"
# The report is one self-contained page: inline styles and SVG, no script, nothing fetched. The
# browser is told so, so a page that ever reached out (or carried a script) would be stopped.
HTML_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# Longer than any "YYYY-Www" with room for a typo, short enough to quote back in an error.
MAX_WEEK_CHARS: Final = 16


class InvalidWeekError(ApiError):
    status = 400
    code = "invalid_week"


class ReportNotFoundError(NotFoundError):
    code = "report_not_found"


class ReportItem(BaseModel):
    """One stored week (the documents themselves at `url`)."""

    week: str = Field(description="ISO week, e.g. 2026-W48 (Monday 00:00 UTC to next Monday)")
    generated_at: datetime
    simulated: bool = Field(description="built from the simulated market")
    html_chars: int
    markdown_chars: int
    url: str = Field(description="the report; `Accept: text/markdown` for Markdown")


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}")
    cursor: Annotated[str, Field(max_length=MAX_CURSOR_CHARS)] | None = Field(
        None, description="`next_cursor` of the previous page"
    )


def _page(services: ServicesDep, *, limit: int, cursor: str | None) -> ResultPage:
    before = None
    if cursor is not None:
        (before,) = decode_cursor(cursor, parts=1)
        try:
            IsoWeek.parse(before)
        except ConfigError:
            raise InvalidCursorError("cursor does not belong to this listing") from None
    rows = list_weeks(services.engine, limit=limit + 1, before=before)
    items = [{**asdict(row), "url": f"/v1/reports/{row.week}"} for row in rows[:limit]]
    more = len(rows) > limit
    return ResultPage(
        items=items,
        total=count_weeks(services.engine),
        next_cursor=encode_cursor((rows[limit - 1].week,)) if more else None,
    )


def wants_markdown(accept: str | None) -> bool:
    """Whether ``Accept`` prefers text/markdown to text/html (q-values honoured; a tie, a
    wildcard or no header gets HTML)."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    markdown = weights.get("text/markdown", 0.0)
    return markdown > 0 and markdown > weights.get("text/html", 0.0)


@router.get("/reports", response_model=Page[ReportItem], responses=answers(400, 422, 503))
def reports(
    request: Request,
    query: Annotated[ReportQuery, Query()],
    services: ServicesDep,
    _: ReadAuth,
) -> Page[ReportItem]:
    """The stored weekly reports, newest week first."""
    page = _page(services, limit=query.limit, cursor=query.cursor)
    return Page[ReportItem].of(page, limit=query.limit, url=request.url)


@router.get(
    "/reports/{week}",
    response_class=Response,
    responses={
        200: {
            "description": "the report: one self-contained HTML page, or Markdown",
            "content": {"text/html": {}, "text/markdown": {}},
        },
        **answers(400, 404, 422, 503),
    },
)
def report(
    services: ServicesDep,
    _: ReadAuth,
    week: Annotated[str, Path(max_length=MAX_WEEK_CHARS, description="e.g. 2026-W48")],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """One week's report: HTML by default, Markdown for `Accept: text/markdown`."""
    try:
        stored = load_week(services.engine, week=week)
    except ConfigError as exc:
        raise InvalidWeekError(str(exc)) from None
    if stored is None:
        raise ReportNotFoundError(f"no report for week {IsoWeek.parse(week)} is stored")
    markdown = wants_markdown(accept)
    headers = {
        "Vary": "Accept",
        "X-Content-Type-Options": "nosniff",
        SIMULATED_HEADER: str(stored.simulated).lower(),
    }
    if not markdown:
        headers["Content-Security-Policy"] = HTML_POLICY
    return Response(
        content=stored.markdown if markdown else stored.html,
        media_type=MARKDOWN_TYPE if markdown else HTML_TYPE,
        headers=headers,
    )
