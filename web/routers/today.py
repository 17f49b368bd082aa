"""I dag: the citizens of my team who need attention, most worrying first."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.roles import Permission, Role
from web.context import PageDep, render
from web.overview import care_overview

router = APIRouter()


@router.get("/")
async def home(page: PageDep) -> Response:
    """Each role's start page: citizens their own view, admins the fleet, staff I dag."""
    root = page.request.scope.get("root_path", "")
    principal = page.caller.principal
    if principal.role is Role.CITIZEN:
        return RedirectResponse(f"{root}/mig", status_code=303)
    if not principal.can(Permission.CLINICAL_READ):
        return RedirectResponse(f"{root}/enheder", status_code=303)
    return RedirectResponse(f"{root}/i-dag", status_code=303)


@router.get("/i-dag", response_class=HTMLResponse)
async def today(page: PageDep) -> Response:
    if page.caller.principal.role is Role.CITIZEN:  # a citizen's own view is /mig
        return RedirectResponse(f"{page.request.scope.get('root_path', '')}/mig", status_code=303)
    rows = await care_overview(page.database, page.caller)
    return render(page.request, "today.html", page=page, rows=rows)
