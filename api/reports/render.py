"""The home-BP report as a printable HTML page (inline SVG chart) and as a PDF (matplotlib).

Both show every reading of the period (used ones filled, left-out ones hollow and grey),
the 135/85 mmHg home thresholds as dashed lines and the systolic/diastolic means as solid
lines, then the statistics, the classification and the warnings.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from api.reports.home_bp import HomeBpReport, ReportReading, Stats, local_day_bounds

SYSTOLIC_COLOUR = "#c0392b"
DIASTOLIC_COLOUR = "#2c6fbb"
EXCLUDED_COLOUR = "#9a9a9a"
# matplotlib's object API is used without pyplot, but its font and text caches are shared.
_MATPLOTLIB = threading.Lock()
CLASSIFICATION_TEXT = {
    "elevated": "Elevated: mean home BP at or above 135/85 mmHg",
    "not_elevated": "Not elevated: mean home BP below 135/85 mmHg",
    "no_data": "No valid readings: no classification",
}


@dataclass(frozen=True)
class ReportSubject:
    """Who the report is about and for whom it was made (printed in the header)."""

    citizen_id: int
    name: str
    cpr: str | None
    organisation: str
    generated_at: datetime
    generated_by: str


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _stats_rows(report: HomeBpReport) -> list[tuple[str, Stats]]:
    return [("All sessions", report.overall), ("Morning", report.morning), ("Evening", report.evening)]


# -- HTML ------------------------------------------------------------------------------------
_WIDTH, _HEIGHT = 920, 380
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 16, 48


def _y_range(readings: Sequence[ReportReading]) -> tuple[float, float]:
    values = [v for r in readings for v in (r.systolic, r.diastolic) if v is not None]
    low = min([60.0, *values]) - 10
    high = max([170.0, *values]) + 10
    return low, high


def svg_chart(report: HomeBpReport) -> str:
    """An inline SVG of every reading against time, with threshold and mean lines."""
    t0, t1 = local_day_bounds(report.start, report.end, report.timezone)
    span = (t1 - t0).total_seconds()
    low, high = _y_range(report.readings)
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM

    def x(at: datetime) -> float:
        return _LEFT + plot_w * (at - t0).total_seconds() / span

    def y(value: float) -> float:
        return _TOP + plot_h * (1 - (value - low) / (high - low))

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="100%" '
            'role="img" aria-label="Home blood pressure readings">'
        ),
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#444"/>',
    ]
    for tick in range(int(low // 20 + 1) * 20, int(high), 20):
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#e4e4e4"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>'
        )
    day = report.start
    while day <= report.end:
        at = local_day_bounds(day, day, report.timezone)[0]
        parts.append(
            f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" stroke="#e4e4e4"/>'
        )
        parts.append(
            f'<text x="{x(at + timedelta(hours=12)):.1f}" y="{_TOP + plot_h + 16}" '
            f'text-anchor="middle" font-size="11">{day:%a %d %b}</text>'
        )
        day += timedelta(days=1)
    parts.append(
        f'<text x="14" y="{_TOP + plot_h / 2:.0f}" font-size="11" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2:.0f})" text-anchor="middle">mmHg</text>'
    )

    def hline(value: float | None, colour: str, dash: str, label: str) -> None:
        if value is None:
            return
        parts.append(
            f'<line class="{escape(label.split(maxsplit=1)[0].lower())}" x1="{_LEFT}" x2="{_LEFT + plot_w}" '
            f'y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{colour}" stroke-width="1.5" '
            f'stroke-dasharray="{dash}"><title>{escape(label)}</title></line>'
        )
        parts.append(
            f'<text x="{_LEFT + plot_w - 4}" y="{y(value) - 4:.1f}" text-anchor="end" '
            f'font-size="10" fill="{colour}">{escape(label)}</text>'
        )

    hline(report.threshold_systolic, SYSTOLIC_COLOUR, "6 4", f"Threshold {report.threshold_systolic:.0f}")
    hline(report.threshold_diastolic, DIASTOLIC_COLOUR, "6 4", f"Threshold {report.threshold_diastolic:.0f}")
    hline(
        report.overall.systolic_mean,
        SYSTOLIC_COLOUR,
        "",
        f"Mean systolic {_fmt(report.overall.systolic_mean, 1)}",
    )
    hline(
        report.overall.diastolic_mean,
        DIASTOLIC_COLOUR,
        "",
        f"Mean diastolic {_fmt(report.overall.diastolic_mean, 1)}",
    )

    for r in report.readings:
        for value, colour, name in (
            (r.systolic, SYSTOLIC_COLOUR, "systolic"),
            (r.diastolic, DIASTOLIC_COLOUR, "diastolic"),
        ):
            if value is None:
                continue
            fill = colour if r.used else "none"
            stroke = colour if r.used else EXCLUDED_COLOUR
            note = "" if r.used else f" (left out: {r.excluded})"
            parts.append(
                f'<circle class="reading {name}" cx="{x(r.local_time):.1f}" cy="{y(value):.1f}" r="3.5" '
                f'fill="{fill}" stroke="{stroke}"><title>{r.local_time:%Y-%m-%d %H:%M} {name} '
                f"{value:.0f}{escape(note)}</title></circle>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.elevated { color: #a00; font-weight: bold; }
.warning { color: #8a4b00; }
.excluded td { color: #595959; }
.scroll { overflow-x: auto; }
svg { max-width: 100%; height: auto; }
@media (max-width: 640px) { body { margin: 0.6em; } }
@media print { body { margin: 0.5cm; } .pagebreak { page-break-before: always; } }
"""


def render_html(report: HomeBpReport, subject: ReportSubject) -> str:
    rows = "".join(
        f"<tr><td>{label}</td><td>{s.count}</td><td>{_fmt(s.systolic_mean, 1)}</td>"
        f"<td>{_fmt(s.systolic_sd, 1)}</td><td>{_fmt(s.diastolic_mean, 1)}</td>"
        f"<td>{_fmt(s.diastolic_sd, 1)}</td><td>{_fmt(s.pulse_mean, 0)}</td></tr>"
        for label, s in _stats_rows(report)
    )
    warnings = (
        "".join(f'<li class="{w.severity}">{escape(w.message)}</li>' for w in report.warnings)
        or "<li>none</li>"
    )
    readings = "".join(
        f'<tr class="{"used" if r.used else "excluded"}"><td>{r.local_time:%Y-%m-%d %H:%M}</td>'
        f"<td>{escape(str(r.session or '-'))}</td><td>{_fmt(r.systolic)}</td><td>{_fmt(r.diastolic)}</td>"
        f"<td>{_fmt(r.pulse_rate)}</td><td>{'yes' if r.used else escape(str(r.excluded))}</td>"
        f"<td>{escape(', '.join(r.flags + r.implausible_reasons))}</td></tr>"
        for r in report.readings
    )
    cls = report.classification
    caution = "" if report.meets_protocol_minimum else " (below the protocol minimum: interpret with caution)"
    identity = f"CPR {escape(subject.cpr)} · " if subject.cpr else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Home blood pressure report: {escape(subject.name)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Home blood pressure report</h1>
<p><strong>{escape(subject.name)}</strong> · {identity}citizen {subject.citizen_id}<br>
Period {report.start} to {report.end} ({report.days} days, {escape(report.timezone)}) ·
first monitoring day discarded: {report.discarded_day or "-"}<br>
{escape(subject.organisation)} · generated {subject.generated_at:%Y-%m-%d %H:%M %Z}
by {escape(subject.generated_by)}</p>
<p class="{cls}">{CLASSIFICATION_TEXT[cls]}{caution}</p>
{svg_chart(report)}
<div class="scroll" tabindex="0"><table><thead><tr><th>Readings</th><th>n</th><th>Systolic mean</th>
<th>SD</th><th>Diastolic mean</th><th>SD</th><th>Pulse</th></tr></thead><tbody>{rows}</tbody></table></div>
<h2>Warnings</h2><ul>{warnings}</ul>
<h2 class="pagebreak">All readings</h2>
<div class="scroll" tabindex="0"><table><thead><tr><th>Local time</th><th>Session</th><th>Sys</th><th>Dia</th>
<th>Pulse</th><th>Used</th><th>Flags</th></tr></thead><tbody>{readings}</tbody></table></div>
<p><small>Protocol: ESH 2021 practice guidelines (Stergiou et al., J Hypertens 2021;39:1293-1302);
home threshold 135/85 mmHg (ESH 2023). See docs/home-bp-report.md.</small></p>
</body></html>
"""


# -- PDF ------------------------------------------------------------------------------------
def render_pdf(report: HomeBpReport, subject: ReportSubject) -> bytes:
    """An A4 PDF: header, chart, statistics and warnings; then the table of readings."""
    # Imported here: matplotlib takes a while to load and only this endpoint needs it.
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    buffer = io.BytesIO()
    metadata = {"Title": f"Home blood pressure report: {subject.name}", "Creator": "homevitals"}
    with _MATPLOTLIB, PdfPages(buffer, metadata=metadata) as pdf:
        figure = Figure(figsize=(8.27, 11.69))
        _pdf_summary_page(figure, report, subject)
        pdf.savefig(figure)
        for chunk_start in range(0, len(report.readings), 45):
            page = Figure(figsize=(8.27, 11.69))
            _pdf_readings_page(page, report.readings[chunk_start : chunk_start + 45])
            pdf.savefig(page)
    return buffer.getvalue()


def _pdf_summary_page(figure: object, report: HomeBpReport, subject: ReportSubject) -> None:
    from matplotlib.dates import date2num  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    assert isinstance(figure, Figure)  # noqa: S101 - typed loosely to keep matplotlib lazy
    identity = f"CPR {subject.cpr} · " if subject.cpr else ""
    caution = "" if report.meets_protocol_minimum else " (below protocol minimum)"
    lines = [
        (f"{subject.name}", 14, "bold"),
        (f"{identity}citizen {subject.citizen_id} · {subject.organisation}", 9, "normal"),
        (
            (
                f"Period {report.start} to {report.end} ({report.days} days, {report.timezone}); "
                f"discarded first day: {report.discarded_day or '-'}"
            ),
            9,
            "normal",
        ),
        (CLASSIFICATION_TEXT[report.classification] + caution, 11, "bold"),
    ]
    figure.text(0.07, 0.96, "Home blood pressure report", fontsize=16, weight="bold")
    for i, (text, size, weight) in enumerate(lines):
        figure.text(0.07, 0.93 - i * 0.022, text, fontsize=size, weight=weight)

    axes = figure.add_axes((0.09, 0.52, 0.86, 0.3))
    # Naive local wall-clock times: matplotlib would label aware datetimes in UTC.
    bounds = local_day_bounds(report.start, report.end, report.timezone)
    t0, t1 = (date2num(t.replace(tzinfo=None)) for t in bounds)  # type: ignore[no-untyped-call]
    for column, colour, name in (
        ("systolic", SYSTOLIC_COLOUR, "Systolic"),
        ("diastolic", DIASTOLIC_COLOUR, "Diastolic"),
    ):
        for used in (True, False):
            points = [
                (r.local_time.replace(tzinfo=None), getattr(r, column))
                for r in report.readings
                if r.used is used and getattr(r, column) is not None
            ]
            if not points:
                continue
            xs = [date2num(at) for at, _ in points]  # type: ignore[no-untyped-call]
            ys = [value for _, value in points]
            if used:
                axes.scatter(xs, ys, s=18, color=colour, label=name)
            else:
                axes.scatter(xs, ys, s=18, facecolors="none", edgecolors=EXCLUDED_COLOUR)
    axes.xaxis_date()
    axes.axhline(
        report.threshold_systolic,
        color=SYSTOLIC_COLOUR,
        linestyle="--",
        linewidth=1,
        label=f"Threshold {report.threshold_systolic:.0f}/{report.threshold_diastolic:.0f}",
    )
    axes.axhline(report.threshold_diastolic, color=DIASTOLIC_COLOUR, linestyle="--", linewidth=1)
    if report.overall.systolic_mean is not None:
        axes.axhline(
            report.overall.systolic_mean,
            color=SYSTOLIC_COLOUR,
            linewidth=1.2,
            label=f"Mean {report.overall.systolic_mean:.1f}",
        )
    if report.overall.diastolic_mean is not None:
        axes.axhline(
            report.overall.diastolic_mean,
            color=DIASTOLIC_COLOUR,
            linewidth=1.2,
            label=f"Mean {report.overall.diastolic_mean:.1f}",
        )
    axes.set_xlim(t0, t1)
    low, high = _y_range(report.readings)
    axes.set_ylim(low, high)
    axes.set_ylabel("mmHg")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", ncols=3)
    for tick in axes.get_xticklabels():
        tick.set_fontsize(7)

    table_rows = [
        [
            label,
            str(s.count),
            _fmt(s.systolic_mean, 1),
            _fmt(s.systolic_sd, 1),
            _fmt(s.diastolic_mean, 1),
            _fmt(s.diastolic_sd, 1),
            _fmt(s.pulse_mean),
        ]
        for label, s in _stats_rows(report)
    ]
    table_axes = figure.add_axes((0.07, 0.36, 0.86, 0.1))
    table_axes.axis("off")
    table = table_axes.table(
        cellText=table_rows, colLabels=["", "n", "Sys mean", "SD", "Dia mean", "SD", "Pulse"], loc="center"
    )
    table.set_fontsize(8)
    figure.text(0.07, 0.33, "Warnings", fontsize=11, weight="bold")
    for i, warning in enumerate(report.warnings[:12] or []):
        figure.text(0.07, 0.31 - i * 0.02, f"- {warning.message}"[:140], fontsize=7.5)
    figure.text(
        0.07,
        0.03,
        f"Generated {subject.generated_at:%Y-%m-%d %H:%M %Z} by {subject.generated_by}. "
        "Protocol: ESH 2021 practice guidelines; home threshold 135/85 mmHg (ESH 2023).",
        fontsize=7,
    )


def _pdf_readings_page(figure: object, readings: Sequence[ReportReading]) -> None:
    from matplotlib.figure import Figure  # noqa: PLC0415

    assert isinstance(figure, Figure)  # noqa: S101
    figure.text(0.07, 0.96, "All readings", fontsize=12, weight="bold")
    header = f"{'Local time':<17} {'Session':<8} {'Sys':>4} {'Dia':>4} {'Pulse':>5}  {'Used':<16} Flags"
    lines = [header] + [
        f"{r.local_time:%Y-%m-%d %H:%M} {r.session or '-'!s:<8} {_fmt(r.systolic):>4} {_fmt(r.diastolic):>4} "
        f"{_fmt(r.pulse_rate):>5}  {('yes' if r.used else str(r.excluded)):<16} {', '.join(r.flags)}"
        for r in readings
    ]
    figure.text(0.07, 0.93, "\n".join(lines), fontsize=7.5, family="monospace", va="top")
