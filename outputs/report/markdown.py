"""The weekly report as Markdown: the HTML page's sections as headings and tables, its charts
as short text summaries (a price line's start, end, low and high; the heat map as a table).
"""

from __future__ import annotations

from collections.abc import Sequence

from outputs.report.sections import (
    EMPTY_WEEK,
    NO_COMPARISON,
    SIMULATED_BANNER,
    change_heading,
    cost_rows,
    diff_lines,
    fallback_rows,
    fleet_rows,
    heat_rows,
    mover_rows,
    pool_rows,
    price_summary,
    source_rows,
    summary_rows,
    week_line,
    week_rows,
)
from selector.outputs.report_model import ProfileReport, Report

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    """A table cell: pipes would end the cell, newlines the row."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---" for _ in headers) + "|")
    out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return [*out, ""]


def _profile(report: Report, p: ProfileReport) -> list[str]:
    out = [f"## Profile {p.name}", "", f"{p.cloud.upper()} {p.region} · NodePool base name "
           f"{p.nodepool}", ""]  # fmt: skip
    if not p.available:
        out += [f"_No recommendation: {p.note or 'no data'}._", ""]
    else:
        out += ["### Recommendation", ""]
        out += [f"Instance types: {', '.join(p.instance_types)}  ", ""]
        out += [f"Zones: {', '.join(p.zones) or 'regional'}", ""]
        out += _table(*pool_rows(p))
        if p.verdict:
            out += [f"_{p.verdict}_", ""]
        out += [f"### {change_heading(report)}", ""]
        lines = diff_lines(p)
        out += [f"- {line}" for line in lines] if lines else [f"_{NO_COMPARISON}_"]
        out += [""]
        headers, rows = week_rows(p)
        if rows:
            out += _table(headers, rows)
        out += ["### Weekly cost estimate", "", *_table(*cost_rows(p))]
        out += ["### Price trend of the recommended pools", ""]
        summary = price_summary(p.prices)
        no_prices = "_No spot price of these pools in this week._"
        out += [f"- {line}" for line in summary] if summary else [no_prices]
        out += ["", "### Interruption hazard by type and zone (interruptions/h)", ""]
        if any(c.hazard is not None for c in p.heat):
            out += _table(*heat_rows(p))
        else:
            out += ["_No hazard estimate for these types in this week._", ""]
        out += ["### Movers of the week", ""]
        headers, rows = mover_rows(p)
        out += _table(headers, rows) if rows else ["_No pool moved by 1 % or more._", ""]
    out += ["### Fallback accounting", ""]
    headers, rows, summary_line = fallback_rows(p)
    out += [summary_line, ""]
    if rows:
        out += _table(headers, rows)
    return out


def render_markdown(report: Report) -> str:
    out = [f"# spotsel weekly report {report.week}", "", week_line(report), ""]
    if report.simulated:
        out += [f"> **{SIMULATED_BANNER}**", ""]
    for note in report.notes:
        out += [f"_{note}_", ""]
    if not report.has_data:
        out += [f"> {EMPTY_WEEK}", ""]
    if report.profiles:
        out += ["## Summary", "", *_table(*summary_rows(report))]
    for p in report.profiles:
        out += _profile(report, p)
    out += ["## Fleet events", ""]
    headers, rows = fleet_rows(report)
    out += _table(headers, rows) if rows else ["_No fleet events in this week._", ""]
    out += ["## Data freshness and collector health", ""]
    headers, rows = source_rows(report)
    out += _table(headers, rows) if rows else ["_No collection runs up to this week._", ""]
    return "\n".join(out).rstrip() + "\n"
