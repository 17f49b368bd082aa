"""Borger: one citizen's chart, readings with flags, alerts, devices and the home-BP report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from api.context import Caller
from api.db import Database
from api.pagination import IdPath
from api.reports.home_bp import MIN_DAYS, MIN_READINGS
from api.roles import Permission
from api.routers.alerts import list_alerts
from api.routers.citizens import get_citizen
from api.routers.devices_gateways import list_devices
from api.routers.readings import list_readings
from api.routers.reports import home_bp, home_bp_html, home_bp_pdf
from api.routers.thresholds import get_thresholds
from homevitals.contract.models import Kind
from web.chart import NARROW_HEIGHT, NARROW_WIDTH, ChartPoint, Limits, bp_chart
from web.context import Page, PageDep, render
from web.levels import BP_METRICS, reading_level

router = APIRouter()
CHART_DAYS = 30
REPORT_DAYS = 7  # the ESH home protocol's week, as the report links use
READINGS_SHOWN = 500
# The API's report page carries its own inline CSS.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


async def recent_readings(
    database: Database, caller: Caller, citizen_id: int, *, days: int, limit: int = READINGS_SHOWN
) -> list[dict[str, Any]]:
    """Blood-pressure readings of the last ``days`` days, newest first (the API's read, audited)."""
    response = await list_readings(
        citizen_id=citizen_id,
        caller=caller,
        database=database,
        start=datetime.now(UTC) - timedelta(days=days),
        kind=Kind.BLOOD_PRESSURE,
        limit=limit,
    )
    items: list[dict[str, Any]] = json.loads(bytes(response.body))["items"]
    for item in items:
        item["measured_at"] = datetime.fromisoformat(item["measured_at"])
    return items


def reading_flags(reading: dict[str, Any]) -> list[str]:
    flags = []
    if reading["implausible"]:
        flags.append("flag.implausible")
    if reading["time_source"] == "device_corrected":
        flags.append("flag.clock_corrected")
    elif reading["time_source"] == "gateway":
        flags.append("flag.gateway_time")
    if reading["clock_in_future"]:
        flags.append("flag.clock_in_future")
    if reading.get("citizen_id", 1) is None:
        flags.append("flag.unassigned")
    status = reading.get("status") or {}
    flags += [
        f"flag.{name}"
        for name in ("body_movement", "cuff_fit_loose", "irregular_pulse", "improper_position")
        if status.get(name)
    ]
    return flags


async def citizen_devices(page: Page, citizen_id: int) -> list[Any]:
    if not page.caller.principal.can(Permission.DEVICES_READ):
        return []
    devices = await list_devices(request=page.request, caller=page.caller, database=page.database)
    return [d for d in devices.items if any(a.citizen_id == citizen_id for a in d.assignments)]


@router.get("/borger/{citizen_id}", response_class=HTMLResponse)
async def citizen_page(citizen_id: IdPath, page: PageDep) -> HTMLResponse:
    caller, database = page.caller, page.database
    citizen = await get_citizen(citizen_id, caller, database)
    readings = await recent_readings(database, caller, citizen_id, days=CHART_DAYS)
    thresholds = await get_thresholds(citizen_id, caller, database)
    by_metric = {t.metric: t for t in thresholds.thresholds}
    alerts = await list_alerts(caller=caller, database=database, citizen_id=citizen_id, limit=20)
    report = await home_bp(citizen_id, caller, database, end=None, days=REPORT_DAYS)
    devices = await citizen_devices(page, citizen_id)
    now = datetime.now(UTC)
    chart_args: dict[str, Any] = {
        "points": [
            ChartPoint(r["measured_at"], r["systolic"], r["diastolic"], r["pulse_rate"], r["implausible"])
            for r in readings
        ],
        "limits": {
            m: Limits(
                by_metric[m].warn_high, by_metric[m].alert_high, by_metric[m].warn_low, by_metric[m].alert_low
            )
            for m in ("systolic", "diastolic")
            if m in by_metric
        },
        "start": now - timedelta(days=CHART_DAYS),
        "end": now,
        "timezone": citizen.timezone,
        "label": page.t("citizen.chart_label"),
        "series_names": {m: page.t(f"legend.{'pulse' if m == 'pulse_rate' else m}") for m in BP_METRICS},
        "limit_names": {"warn": page.t("legend.warn"), "alert": page.t("legend.alert")},
    }
    # Two drawings of one chart: CSS shows the narrow one on a phone, where the wide one's
    # text would shrink to a third.
    chart = bp_chart(**chart_args, css_class="chart wide") + bp_chart(
        **chart_args, width=NARROW_WIDTH, height=NARROW_HEIGHT, css_class="chart narrow"
    )
    rows = [(r, reading_level(r, by_metric), reading_flags(r)) for r in readings]
    return render(
        page.request,
        "citizen.html",
        page=page,
        citizen=citizen,
        chart=chart,
        rows=rows,
        alerts=alerts.items,
        devices=devices,
        report=report,
        min_readings=MIN_READINGS,
        min_days=MIN_DAYS,
        thresholds=[by_metric[m] for m in BP_METRICS if m in by_metric],
    )


@router.get("/borger/{citizen_id}/rapport.html", response_class=HTMLResponse)
async def report_html(citizen_id: IdPath, page: PageDep) -> Response:
    response = await home_bp_html(
        citizen_id=citizen_id, request=page.request, caller=page.caller, database=page.database
    )
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@router.get("/borger/{citizen_id}/rapport.pdf")
async def report_pdf(citizen_id: IdPath, page: PageDep) -> Response:
    return await home_bp_pdf(
        citizen_id=citizen_id, request=page.request, caller=page.caller, database=page.database
    )
