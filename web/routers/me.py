"""The citizen's own view: latest readings, the week's home mean explained, today's
morning and evening measurements, and who has looked at their data (Min Log)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.errors import Forbidden
from api.reports.home_bp import Session, bp_session
from api.routers.audit_log import access_log
from api.routers.citizens import get_citizen
from api.routers.reports import home_bp
from web.context import PageDep, render
from web.routers.citizen import recent_readings

router = APIRouter()
LAST_SHOWN = 6
MIN_LOG_SHOWN = 50
# What an audit row's resource was, in words a citizen knows (Min Log): first match wins.
RESOURCE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^citizens/\d+/readings$"), "minlog.readings"),
    (re.compile(r"^citizens/\d+/thresholds$"), "minlog.thresholds"),
    (re.compile(r"^citizens/\d+/reports/"), "minlog.report"),
    (re.compile(r"^citizens/\d+/access-log$"), "minlog.log"),
    (re.compile(r"^citizens(/\d+)?$"), "minlog.record"),
    (re.compile(r"^care-overview$"), "minlog.overview"),
    (re.compile(r"^alerts"), "minlog.alerts"),
    (re.compile(r"^(devices|gateways|assignments)"), "minlog.devices"),
    (re.compile(r"^fhir/"), "minlog.fhir"),
)


def resource_words(resource: str) -> str | None:
    """The Min Log key for an audit row's resource, or None (then the resource is shown)."""
    return next((key for pattern, key in RESOURCE_WORDS if pattern.search(resource)), None)


@router.get("/mig", response_class=HTMLResponse)
async def my_page(page: PageDep) -> HTMLResponse:
    citizen_id = page.caller.principal.citizen_id
    if citizen_id is None:
        raise Forbidden("this page is a citizen's own view; staff open a citizen under /borger/{id}")
    caller, database = page.caller, page.database
    citizen = await get_citizen(citizen_id, caller, database)
    readings = await recent_readings(database, caller, citizen_id, days=8, limit=50)
    report = await home_bp(citizen_id, caller, database, end=None, days=7)
    log = await access_log(citizen_id=citizen_id, caller=caller, database=database, limit=MIN_LOG_SHOWN)
    zone = ZoneInfo(citizen.timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    sessions_today = {
        bp_session(r["measured_at"], zone)
        for r in readings
        if r["measured_at"].astimezone(zone).date() == today and not r["implausible"]
    }
    return render(
        page.request,
        "me.html",
        page=page,
        citizen=citizen,
        last=readings[:LAST_SHOWN],
        report=report,
        morning_done=Session.MORNING in sessions_today,
        evening_done=Session.EVENING in sessions_today,
        log=[(entry, resource_words(entry.resource)) for entry in log.items],
    )
