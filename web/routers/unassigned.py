"""Ikke tildelte målinger: give a device's user slot to a citizen from a date, readings too.

Two API calls, as an API client makes them: create the assignment, then hand it the
unassigned readings it covers (the SQL function ``assign_unassigned_readings``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.routers.assignments import AssignmentCreate, create_assignment
from api.routers.citizens import get_citizen, list_citizens
from api.routers.readings import AssignReadings, UnassignedReadingOut, assign_unassigned, list_unassigned
from web.context import DISPLAY_TIMEZONE, FormPageDep, PageDep, render

router = APIRouter()
UNASSIGNED_SHOWN = 500


@dataclass
class SlotGroup:
    device_id: int
    user_slot: int
    address: str
    # Quarantined readings (another gateway's, or a revoked one's) are shown apart, with the
    # reason, and cannot be assigned: an admin re-binds the device first (docs/deployment.md).
    quarantine_reason: str | None = None
    gateway_id: str | None = None
    readings: list[UnassignedReadingOut] = field(default_factory=list)

    @property
    def first(self) -> datetime:
        return min(r.measured_at for r in self.readings)


@router.get("/ikke-tildelte", response_class=HTMLResponse)
async def unassigned_page(
    page: PageDep, done: str | None = None, karantaene: str | None = None
) -> HTMLResponse:
    """``?karantaene=gw-0042``: only the readings quarantined that came through that gateway
    (the link from Gateways og enheder)."""
    readings = await list_unassigned(
        caller=page.caller,
        database=page.database,
        limit=UNASSIGNED_SHOWN,
        quarantined=True if karantaene else None,
    )
    groups: dict[tuple[int, int, str | None, str | None], SlotGroup] = {}
    for r in readings.items:
        if karantaene and r.gateway_id != karantaene:
            continue
        slot = r.user_slot if r.user_slot is not None else 1
        via = r.gateway_id if r.quarantine_reason else None
        groups.setdefault(
            (r.device_id, slot, r.quarantine_reason, via),
            SlotGroup(r.device_id, slot, r.device_address, r.quarantine_reason, via),
        ).readings.append(r)
    citizens = await list_citizens(caller=page.caller, database=page.database, active=True)
    return render(
        page.request,
        "unassigned.html",
        page=page,
        groups=list(groups.values()),
        citizens=citizens.items,
        done=done,
        zone=ZoneInfo(DISPLAY_TIMEZONE),
        quarantine_gateway=karantaene,
    )


@router.post("/ikke-tildelte/tildel")
async def assign(
    page: FormPageDep,
    device_id: Annotated[int, Form(ge=1)],
    user_slot: Annotated[int, Form(ge=0, le=255)],
    citizen_id: Annotated[int, Form(ge=1)],
    from_date: Annotated[date, Form()],
) -> Response:
    citizen = await get_citizen(citizen_id, page.caller, page.database)
    valid_from = datetime.combine(from_date, time.min, tzinfo=ZoneInfo(citizen.timezone))
    try:
        body = AssignmentCreate(
            device_id=device_id, user_slot=user_slot, citizen_id=citizen_id, valid_from=valid_from
        )
    except ValidationError as error:
        return render(
            page.request,
            "error.html",
            page=page,
            status_code=422,
            message_key="error.422",
            detail=error.errors()[0]["msg"],
        )
    assignment = await create_assignment(body, Response(), page.caller, page.database)
    assigned = await assign_unassigned(
        AssignReadings(assignment_id=assignment.id), page.caller, page.database
    )
    root = page.request.scope.get("root_path", "")
    done = quote(f"{citizen.given_name} {citizen.family_name}|{assigned.assigned}")
    return RedirectResponse(f"{root}/ikke-tildelte?done={done}", status_code=303)
