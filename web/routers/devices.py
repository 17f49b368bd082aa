"""Gateways og enheder: gateways with connection and last contact; devices with pairing
status (assigned, active or silent), battery and last contact."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.roles import Permission
from api.routers.citizens import list_citizens
from api.routers.devices_gateways import list_devices, list_gateways
from web.context import PageDep, render

router = APIRouter()


@router.get("/enheder", response_class=HTMLResponse)
async def devices_page(page: PageDep) -> HTMLResponse:
    caller, database = page.caller, page.database
    gateways = await list_gateways(caller, database)
    devices = await list_devices(request=page.request, caller=caller, database=database)
    names: dict[int, str] = {}
    if caller.principal.can(Permission.CITIZENS_READ):
        citizens = await list_citizens(caller=caller, database=database)
        names = {c.id: f"{c.given_name} {c.family_name}" for c in citizens.items}
    return render(
        page.request, "devices.html", page=page, gateways=gateways.items, devices=devices.items, names=names
    )
