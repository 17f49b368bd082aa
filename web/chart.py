"""The citizen page's chart: systolic, diastolic and pulse over time, thresholds drawn.

Server-rendered SVG (no script, no chart library): each series a line with points, each
threshold a dashed line in its level's colour, the time axis in the citizen's local days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 960, 360  # the tablet's and desktop's chart
NARROW_WIDTH, NARROW_HEIGHT = 420, 300  # a phone's: drawn apart, so its text stays legible
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 40
SERIES_COLOURS = {"systolic": "#b3261e", "diastolic": "#1f5fad", "pulse_rate": "#4d4d4d"}
LIMIT_COLOURS = {"warn": "#8a5a00", "alert": "#b3261e"}


@dataclass(frozen=True)
class ChartPoint:
    at: datetime
    systolic: float | None
    diastolic: float | None
    pulse_rate: float | None
    implausible: bool


@dataclass(frozen=True)
class Limits:
    warn_high: float
    alert_high: float
    warn_low: float
    alert_low: float


def bp_chart(
    points: Sequence[ChartPoint],
    limits: Mapping[str, Limits],
    *,
    start: datetime,
    end: datetime,
    timezone: str,
    label: str,
    series_names: Mapping[str, str],
    limit_names: Mapping[str, str],
    width: int = WIDTH,
    height: int = HEIGHT,
    css_class: str = "chart",
) -> str:
    zone = ZoneInfo(timezone)
    day_tick_every = 5 if width >= WIDTH else 10
    span = max((end - start).total_seconds(), 1.0)
    values = [v for p in points for v in (p.systolic, p.diastolic, p.pulse_rate) if v is not None]
    shown_limits = [lim.warn_high for lim in limits.values()] + [lim.alert_high for lim in limits.values()]
    low = min([40.0, *values]) - 5
    high = max([170.0, *values, *shown_limits]) + 5
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * (at - start).total_seconds() / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="{css_class}" '
            f'role="img" aria-label="{escape(label)}">'
        ),
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#555"/>',
    ]
    for tick in range(int(low // 20 + 1) * 20, int(high), 20):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#e6e6e6"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="12">{tick}</text>'
        )
    first_day, last_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    for offset in range(1, (last_day - first_day).days + 1):
        midnight = datetime.combine(first_day + timedelta(days=offset), time.min, tzinfo=zone)
        if offset % day_tick_every:
            continue
        parts.append(
            f'<line x1="{x(midnight):.1f}" x2="{x(midnight):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
            'stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{x(midnight):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" font-size="12">'
            f"{midnight:%d.%m}</text>"
        )
    for metric, lim in limits.items():
        colour = SERIES_COLOURS.get(metric, "#333")
        for kind, value in (("warn", lim.warn_high), ("alert", lim.alert_high)):
            if not low < value < high:
                continue
            name = f"{series_names.get(metric, metric)} {limit_names[kind]} {value:g}"
            dash = "6 4" if kind == "warn" else "2 3"
            parts.append(
                f'<line class="limit {kind} {metric}" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" '
                f'y2="{y(value):.1f}" stroke="{LIMIT_COLOURS[kind]}" stroke-width="1.5" '
                f'stroke-dasharray="{dash}">'
                f"<title>{escape(name)}</title></line>"
            )
            parts.append(
                f'<text x="{LEFT + plot_w - 4}" y="{y(value) - 3:.1f}" text-anchor="end" font-size="11" '
                f'fill="{colour}">{escape(name)}</text>'
            )
    ordered = sorted(points, key=lambda p: p.at)
    getters: dict[str, Callable[[ChartPoint], float | None]] = {
        "systolic": lambda p: p.systolic,
        "diastolic": lambda p: p.diastolic,
        "pulse_rate": lambda p: p.pulse_rate,
    }
    for metric, value_of in getters.items():
        colour = SERIES_COLOURS[metric]
        used = [(p, v) for p in ordered if (v := value_of(p)) is not None and not p.implausible]
        if len(used) > 1:
            path = " ".join(f"{x(p.at):.1f},{y(v):.1f}" for p, v in used)
            stroke = "1" if metric == "pulse_rate" else "2"
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"/>')
        for p in ordered:
            point_value = value_of(p)
            if point_value is None:
                continue
            fill = "none" if p.implausible else colour
            label = series_names.get(metric, metric)
            title = f"{p.at.astimezone(zone):%d.%m %H:%M} {label} {point_value:.0f}"
            parts.append(
                f'<circle class="point {metric}" cx="{x(p.at):.1f}" cy="{y(point_value):.1f}" r="3.5" '
                f'fill="{fill}" '
                f'stroke="{colour}"><title>{escape(title)}</title></circle>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
