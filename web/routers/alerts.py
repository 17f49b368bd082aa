"""Alarmer: open and acknowledged alerts; acknowledge or resolve with a note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.pagination import IdPath
from api.routers.alerts import AlertAction, acknowledge_alert, list_alerts, resolve_alert
from api.routers.citizens import list_citizens
from web.context import FormPageDep, PageDep, render

router = APIRouter()
RECENTLY_RESOLVED = 10


@router.get("/alarmer", response_class=HTMLResponse)
async def alerts_page(page: PageDep, borger: int | None = None, done: str | None = None) -> HTMLResponse:
    caller, database = page.caller, page.database
    unresolved = await list_alerts(
        caller=caller, database=database, citizen_id=borger, state=["open", "acknowledged"]
    )
    resolved = await list_alerts(
        caller=caller, database=database, citizen_id=borger, state=["resolved"], limit=RECENTLY_RESOLVED
    )
    citizens = await list_citizens(caller=caller, database=database)
    names = {c.id: f"{c.given_name} {c.family_name}" for c in citizens.items}
    return render(
        page.request,
        "alerts.html",
        page=page,
        unresolved=unresolved.items,
        resolved=resolved.items,
        names=names,
        done=done,
    )


async def _act(page: FormPageDep, alert_id: int, note: str, resolve: bool) -> Response:
    try:
        body = AlertAction(note=note.strip() or None)
    except ValidationError as error:
        return render(
            page.request,
            "error.html",
            page=page,
            status_code=422,
            message_key="error.422",
            detail=error.errors()[0]["msg"],
        )
    action = resolve_alert if resolve else acknowledge_alert
    alert = await action(alert_id, page.caller, page.database, body)
    root = page.request.scope.get("root_path", "")
    done = "resolve" if resolve else "ack"
    return RedirectResponse(f"{root}/alarmer?done={done}-{alert.id}", status_code=303)


@router.post("/alarmer/{alert_id}/kvitter")
async def acknowledge(
    alert_id: IdPath, page: FormPageDep, note: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    return await _act(page, alert_id, note, resolve=False)


@router.post("/alarmer/{alert_id}/afslut")
async def resolve(
    alert_id: IdPath, page: FormPageDep, note: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    return await _act(page, alert_id, note, resolve=True)
