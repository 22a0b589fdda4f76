"""Inline SVG charts of the weekly report: price trend lines and the hazard heat map.

Plain SVG strings with every text escaped, axes and units on the chart itself, no scripts and
no external references, so the report opens offline as one file. Callers draw a chart only
when it has data; an empty chart is never drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Final

from outputs.report import fmt
from selector.outputs.report_model import HeatCell, PriceSeries

__all__ = ["LINE_COLOURS", "heat_map_svg", "price_chart_svg"]

# Okabe-Ito: eight colours told apart with any colour vision deficiency.
LINE_COLOURS: Final = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)  # fmt: skip
WIDTH: Final = 760
HEIGHT: Final = 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 40, 20, 50
Y_TICKS: Final = 5
LEGEND_ROW: Final = 18
# Heat map geometry and colour ramp: white (no risk) to a deep red at the map's largest λ.
CELL_W, CELL_H = 110, 30
LABEL_W: Final = 150
RAMP_STEPS: Final = 5
_LOW_RGB: Final = (255, 255, 255)
_HIGH_RGB: Final = (180, 30, 30)
EMPTY_CELL: Final = "#e0e0e0"
# Cell labels turn white past this share of the ramp, where black text on red gets hard to read.
LIGHT_TEXT_FROM: Final = 0.6


def _text(
    x: float, y: float, body: str, *, anchor: str = "start", size: int = 12, light: bool = False
) -> str:
    fill = "#fff" if light else "#222"
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
        f"{escape(body)}</text>"
    )


def _day_ticks(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(days=1)
    ticks = []
    while first <= end:
        ticks.append(first)
        first += timedelta(days=1)
    return ticks


def price_chart_svg(
    series: Sequence[PriceSeries], *, start: datetime, end: datetime, title: str
) -> str:
    """Spot price in force over the week, one line per pool, $/h against the date (UTC)."""
    drawn = [s for s in series if s.points]
    values = [p.price for s in drawn for p in s.points]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or max(hi * 0.1, 0.01)  # flat lines still get a visible band
    lo, hi = max(lo - pad, 0.0), hi + pad
    span = max((end - start).total_seconds(), 1.0)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(at: datetime) -> float:
        return MARGIN_LEFT + plot_w * (at - start).total_seconds() / span

    def y(price: float) -> float:
        return MARGIN_TOP + plot_h * (1 - (price - lo) / (hi - lo))

    legend_h = LEGEND_ROW * len(drawn) + 10
    parts = [
        f'<svg class="chart price-chart" role="img" '
        f'width="{WIDTH}" height="{HEIGHT + legend_h}" viewBox="0 0 {WIDTH} {HEIGHT + legend_h}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="#fafafa" stroke="#999"/>',
    ]
    for i in range(Y_TICKS + 1):
        price = lo + (hi - lo) * i / Y_TICKS
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{y(price):.1f}" '
            f'y2="{y(price):.1f}" stroke="#ddd"/>'
        )
        parts.append(_text(MARGIN_LEFT - 6, y(price) + 4, f"${price:,.4f}", anchor="end", size=11))
    for tick in _day_ticks(start, end):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{MARGIN_TOP}" '
            f'y2="{MARGIN_TOP + plot_h}" stroke="#eee"/>'
        )
        parts.append(_text(x(tick), MARGIN_TOP + plot_h + 16, fmt.date(tick), anchor="middle"))
    parts.append(_text(14, MARGIN_TOP + plot_h / 2, "$/h", anchor="middle"))
    parts.append(
        _text(MARGIN_LEFT + plot_w / 2, HEIGHT - 8, "date (UTC)", anchor="middle", size=11)
    )
    for i, s in enumerate(drawn):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        path = " ".join(f"{x(p.at):.1f},{y(p.price):.1f}" for p in s.points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        ly = HEIGHT + LEGEND_ROW * i + 4
        parts.append(f'<rect x="{MARGIN_LEFT}" y="{ly}" width="14" height="10" fill="{colour}"/>')
        label = f"{s.key.instance_type} {s.key.zone_id or 'regional'}: " + (
            f"{fmt.per_hour(s.points[0].price)} → {fmt.per_hour(s.points[-1].price)}"
        )
        parts.append(_text(MARGIN_LEFT + 20, ly + 10, label, size=11))
    parts.append("</svg>")
    return "\n".join(parts)


def _ramp(fraction: float) -> str:
    f = min(max(fraction, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * f) for lo, hi in zip(_LOW_RGB, _HIGH_RGB, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map_svg(cells: Sequence[HeatCell], *, title: str) -> str:
    """λ (interruptions per instance-hour) per instance type × zone, with a colour legend."""
    types = list(dict.fromkeys(c.instance_type for c in cells))
    zones = list(dict.fromkeys(c.zone_id for c in cells))
    top = max((c.hazard for c in cells if c.hazard is not None), default=0.0) or 1.0
    header_h, legend_h = 30, 60
    width = LABEL_W + CELL_W * max(len(zones), RAMP_STEPS) + 20
    height = header_h + CELL_H * len(types) + legend_h
    parts = [
        f'<svg class="chart heat-map" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for j, zone in enumerate(zones):
        parts.append(
            _text(LABEL_W + CELL_W * (j + 0.5), header_h - 10, zone or "regional", anchor="middle")
        )
    lookup = {(c.instance_type, c.zone_id): c.hazard for c in cells}
    for i, itype in enumerate(types):
        row_y = header_h + CELL_H * i
        parts.append(_text(LABEL_W - 8, row_y + CELL_H / 2 + 4, itype, anchor="end"))
        for j, zone in enumerate(zones):
            value = lookup.get((itype, zone))
            fill = EMPTY_CELL if value is None else _ramp(value / top)
            parts.append(
                f'<rect x="{LABEL_W + CELL_W * j}" y="{row_y}" width="{CELL_W}" '
                f'height="{CELL_H}" fill="{fill}" stroke="#fff"/>'
            )
            parts.append(
                _text(
                    LABEL_W + CELL_W * (j + 0.5),
                    row_y + CELL_H / 2 + 4,
                    fmt.hazard(value) if value is not None else "no pool",
                    anchor="middle",
                    size=11,
                    light=value is not None and value / top > LIGHT_TEXT_FROM,
                )
            )
    legend_y = header_h + CELL_H * len(types) + 12
    parts.append(_text(LABEL_W - 8, legend_y + 14, "interruptions/h", anchor="end", size=11))
    for k in range(RAMP_STEPS):
        value = top * k / (RAMP_STEPS - 1)
        parts.append(
            f'<rect x="{LABEL_W + CELL_W * k}" y="{legend_y}" width="{CELL_W}" height="18" '
            f'fill="{_ramp(value / top)}" stroke="#999"/>'
        )
        parts.append(
            _text(LABEL_W + CELL_W * (k + 0.5), legend_y + 32, f"{value:.3g}", anchor="middle")
        )
    parts.append("</svg>")
    return "\n".join(parts)
