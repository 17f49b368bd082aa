"""The home blood-pressure report: JSON, a printable HTML page, and a PDF."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api import audit
from api.access import authorize_citizen
from api.audit import Action
from api.context import Caller, CallerDep, DatabaseDep
from api.pagination import IdPath
from api.problems import NOT_FOUND
from api.reports.home_bp import BpReading, HomeBpReport, home_bp_report, local_day_bounds
from api.reports.render import ReportSubject, render_html, render_pdf
from api.roles import Permission

router = APIRouter(tags=["reports"])

EndParam = Annotated[
    date | None,
    Query(
        ge=date(1900, 1, 1),
        le=date(9999, 1, 1),
        description="Last day of the period, in the citizen's local time (default: today).",
    ),
]
# The printable page is self-contained: one inline stylesheet and an inline SVG chart (whose
# elements carry style attributes), no scripts, nothing fetched.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
DaysParam = Annotated[int, Query(ge=2, le=31, description="Days in the period; ESH asks for 7 (at least 3).")]


async def _report(
    database: DatabaseDep,
    caller: Caller,
    citizen_id: int,
    *,
    end: date | None,
    days: int,
    action: Action,
    resource: str,
) -> tuple[HomeBpReport, dict[str, Any]]:
    async with database.transaction() as conn:
        citizen = await authorize_citizen(
            conn, caller, citizen_id, Permission.CLINICAL_READ, action=action, resource=resource
        )
        timezone = citizen["timezone"]
        last_day = end or datetime.now(ZoneInfo(timezone)).date()
        first_day = last_day - timedelta(days=days - 1)
        start_at, end_at = local_day_bounds(first_day, last_day, timezone)
        rows = await (
            await conn.execute(
                "SELECT reading_id, measured_at, systolic, diastolic, pulse_rate, implausible, "
                "implausible_reasons, invalid_values, status FROM readings "
                "WHERE citizen_id = %s AND kind = 'blood_pressure' "
                "AND measured_at >= %s AND measured_at < %s "
                "ORDER BY measured_at",
                (citizen_id, start_at, end_at),
            )
        ).fetchall()
        await audit.record(
            conn,
            caller,
            action,
            resource,
            citizen_id=citizen_id,
            details={"end": last_day.isoformat(), "days": days},
        )
    readings = [
        BpReading(
            reading_id=str(r["reading_id"]),
            measured_at=r["measured_at"],
            systolic=r["systolic"],
            diastolic=r["diastolic"],
            pulse_rate=r["pulse_rate"],
            implausible=r["implausible"],
            implausible_reasons=tuple(r["implausible_reasons"]),
            invalid_values=tuple(r["invalid_values"]),
            status=r["status"],
        )
        for r in rows
    ]
    return home_bp_report(readings, end=last_day, days=days, timezone=timezone), citizen


def _subject(request: Request, caller: Caller, citizen: dict[str, Any]) -> ReportSubject:
    return ReportSubject(
        citizen_id=citizen["id"],
        name=f"{citizen['given_name']} {citizen['family_name']}",
        cpr=citizen["cpr"] if caller.principal.can(Permission.CPR_READ) else None,
        organisation=request.app.state.settings.organisation,
        generated_at=datetime.now(UTC).astimezone(ZoneInfo(citizen["timezone"])),
        generated_by=caller.principal.sub,
    )


@router.get(
    "/citizens/{citizen_id}/reports/home-bp",
    response_model=HomeBpReport,
    responses=NOT_FOUND,
    summary="Home blood-pressure report (ESH protocol)",
)
async def home_bp(
    citizen_id: IdPath, caller: CallerDep, database: DatabaseDep, end: EndParam = None, days: DaysParam = 7
) -> HomeBpReport:
    report, _ = await _report(
        database,
        caller,
        citizen_id,
        end=end,
        days=days,
        action=Action.READ,
        resource=f"citizens/{citizen_id}/reports/home-bp",
    )
    return report


@router.get(
    "/citizens/{citizen_id}/reports/home-bp.html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **NOT_FOUND},
    summary="Home blood-pressure report as a printable HTML page",
)
async def home_bp_html(
    *,
    citizen_id: IdPath,
    request: Request,
    caller: CallerDep,
    database: DatabaseDep,
    end: EndParam = None,
    days: DaysParam = 7,
) -> HTMLResponse:
    report, citizen = await _report(
        database,
        caller,
        citizen_id,
        end=end,
        days=days,
        action=Action.EXPORT,
        resource=f"citizens/{citizen_id}/reports/home-bp.html",
    )
    return HTMLResponse(
        render_html(report, _subject(request, caller, citizen)),
        headers={"Cache-Control": "no-store", "Content-Security-Policy": REPORT_POLICY},
    )


@router.get(
    "/citizens/{citizen_id}/reports/home-bp.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        **NOT_FOUND,
    },
    summary="Home blood-pressure report as a PDF",
)
async def home_bp_pdf(
    *,
    citizen_id: IdPath,
    request: Request,
    caller: CallerDep,
    database: DatabaseDep,
    end: EndParam = None,
    days: DaysParam = 7,
) -> Response:
    report, citizen = await _report(
        database,
        caller,
        citizen_id,
        end=end,
        days=days,
        action=Action.EXPORT,
        resource=f"citizens/{citizen_id}/reports/home-bp.pdf",
    )
    subject = _subject(request, caller, citizen)
    # matplotlib is CPU-bound and synchronous: keep it off the event loop.
    pdf = await anyio.to_thread.run_sync(render_pdf, report, subject)
    filename = f"home-bp-{citizen_id}-{report.end}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )
