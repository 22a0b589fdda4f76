"""The weekly report as one self-contained HTML5 page: inline CSS, inline SVG charts, no
scripts, no external resources; every piece of text escaped.

Section order and wording follow `outputs.report.markdown`, which renders the same `Report`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Final

from outputs.report.sections import (
    EMPTY_WEEK,
    NO_COMPARISON,
    SIMULATED_BANNER,
    change_heading,
    cost_rows,
    diff_lines,
    fallback_rows,
    fleet_rows,
    mover_rows,
    pool_rows,
    source_rows,
    summary_rows,
    week_line,
    week_rows,
)
from outputs.report.svg import heat_map_svg, price_chart_svg
from selector.outputs.report_model import ProfileReport, Report

__all__ = ["render_html"]

STYLE: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #0072B2; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f4f8; }
.banner { padding: .8rem 1rem; border-radius: 4px; margin: 1rem 0; font-weight: 600; }
.simulated { background: #fff3cd; border: 2px solid #d39e00; color: #5c4400; }
.empty { background: #eef; border: 1px solid #99c; }
.note { color: #555; font-style: italic; }
.meta { color: #555; }
svg.chart { display: block; margin: .6rem 0; max-width: 100%; height: auto; }
svg.chart text { font-family: inherit; }
"""
# Cells holding one formatted number ($1,234.56, 12.3 %, 0.041/h, 12.5 h) align right.
_NUMBER: Final = re.compile(r"[−+]?\$?[\d,.]+(?: ?%|/h| h)?")


def _cell(value: str, tag: str = "td") -> str:
    numeric = _NUMBER.fullmatch(value) is not None
    cls = ' class="num"' if numeric and tag == "td" else ""
    return f"<{tag}{cls}>{escape(value)}</{tag}>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(_cell(h, "th") for h in headers)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _p(text: str, cls: str | None = None) -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<p{attr}>{escape(text)}</p>"


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def _profile(report: Report, p: ProfileReport) -> str:
    out = [f'<section class="profile" id="profile-{escape(p.name)}">']
    out.append(f"<h2>Profile {escape(p.name)}</h2>")
    out.append(_p(f"{p.cloud.upper()} {p.region} · NodePool base name {p.nodepool}", "meta"))
    if not p.available:
        out.append(_p(f"No recommendation: {p.note or 'no data'}.", "note"))
    else:
        out.append("<h3>Recommendation</h3>")
        out.append(_p(f"Instance types: {', '.join(p.instance_types)}"))
        out.append(_p(f"Zones: {', '.join(p.zones) or 'regional'}"))
        out.append(_table(*pool_rows(p)))
        if p.verdict:
            out.append(_p(p.verdict, "note"))
        out.append(f"<h3>{escape(change_heading(report))}</h3>")
        lines = diff_lines(p)
        out.append(_list(lines) if lines else _p(NO_COMPARISON, "note"))
        headers, rows = week_rows(p)
        if rows:
            out.append(_table(headers, rows))
        out.append("<h3>Weekly cost estimate</h3>")
        out.append(_table(*cost_rows(p)))
        out.append("<h3>Price trend of the recommended pools</h3>")
        if any(s.points for s in p.prices):
            title = f"Spot price of {p.name}'s recommended pools, {report.week} ($/h)"
            out.append(price_chart_svg(p.prices, start=report.start, end=report.cut, title=title))
        else:
            out.append(_p("No spot price of these pools in this week.", "note"))
        out.append("<h3>Interruption hazard by type and zone</h3>")
        if any(c.hazard is not None for c in p.heat):
            title = f"Hazard of {p.name}'s recommended types per zone (interruptions/h)"
            out.append(heat_map_svg(p.heat, title=title))
        else:
            out.append(_p("No hazard estimate for these types in this week.", "note"))
        out.append("<h3>Movers of the week</h3>")
        headers, rows = mover_rows(p)
        out.append(_table(headers, rows) if rows else _p("No pool moved by 1 % or more.", "note"))
    out.append("<h3>Fallback accounting</h3>")
    headers, rows, summary = fallback_rows(p)
    out.append(_p(summary))
    if rows:
        out.append(_table(headers, rows))
    out.append("</section>")
    return "\n".join(out)


def render_html(report: Report) -> str:
    """The page; simulated data carries a banner on top, an empty week says so per section."""
    title = f"spotsel weekly report {report.week}"
    body = [f"<h1>{escape(title)}</h1>", _p(week_line(report), "meta")]
    if report.simulated:
        body.append(f'<div class="banner simulated" role="note">{escape(SIMULATED_BANNER)}</div>')
    body.extend(_p(note, "note") for note in report.notes)
    if not report.has_data:
        body.append(f'<div class="banner empty" role="note">{escape(EMPTY_WEEK)}</div>')
    if report.profiles:
        body.append('<section id="summary"><h2>Summary</h2>')
        body.append(_table(*summary_rows(report)))
        body.append("</section>")
    body.extend(_profile(report, p) for p in report.profiles)
    body.append('<section id="fleet"><h2>Fleet events</h2>')
    headers, rows = fleet_rows(report)
    body.append(_table(headers, rows) if rows else _p("No fleet events in this week.", "note"))
    body.append("</section>")
    body.append('<section id="freshness"><h2>Data freshness and collector health</h2>')
    headers, rows = source_rows(report)
    body.append(
        _table(headers, rows) if rows else _p("No collection runs up to this week.", "note")
    )
    body.append("</section>")
    page = "\n".join(body)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{page}\n</body>\n</html>\n"
    )
