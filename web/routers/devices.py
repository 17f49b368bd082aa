"""Gateways og enheder: gateways with connection, last contact and enrolment; devices with
pairing status (assigned, active or silent), battery, last contact and bound gateway.

Admins also enrol a gateway (*Tilmeld gateway*: broker account, one-time code shown once)
and revoke one (*Tilbagekald*, with a confirm step and a reason). Both call the same service
functions as the API's endpoints (``api.enrollment.service``), inside one transaction, so the
broker step, the database rows and the audit row are exactly the API's. Other roles see no
form, and a post from them is refused at the server (403) with a ``denied`` audit row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import audit
from api.audit import Action
from api.enrollment import service
from api.enrollment.broker import BrokerAdminFactory
from api.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from api.roles import Permission, role_refusal
from api.routers.citizens import list_citizens
from api.routers.devices_gateways import list_devices, list_gateways
from api.routers.enrollment import DEFAULT_CA_PATH
from homevitals.contract.models import GATEWAY_ID_PATTERN
from web.context import FormPageDep, Page, PageDep, render

router = APIRouter()

GatewayIdPath = Annotated[str, Path(pattern=GATEWAY_ID_PATTERN)]
DESCRIPTION_MAX = 100
REASON_MAX = 500
_GATEWAY_ID = re.compile(GATEWAY_ID_PATTERN)
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]*$")

# Enrolment state of each shown gateway: the gateway's own columns and its newest code.
# Codes and quarantine counts hold no citizen's data (quarantined readings are never
# attributed), so this read adds no audit row beyond list_gateways' own.
_ENROLMENT = """
SELECT g.gateway_id, g.enrolled_at, g.enrolled_by, g.revoked_at, g.revoked_by,
       c.created_at AS code_created_at, c.expires_at AS code_expires_at, c.redeemed_at AS code_redeemed_at,
       c.cancelled_at AS code_cancelled_at, c.expires_at < now() AS code_expired,
       (SELECT count(*) FROM readings r
        WHERE r.gateway_id = g.gateway_id AND r.quarantine_reason IS NOT NULL) AS quarantined
FROM gateways g
LEFT JOIN LATERAL (
  SELECT created_at, expires_at, redeemed_at, cancelled_at FROM enrollment_codes
  WHERE gateway_id = g.gateway_id ORDER BY id DESC LIMIT 1
) c ON true
WHERE g.gateway_id = ANY(%s)
"""


@dataclass(frozen=True)
class Enrolment:
    """What the page says about a gateway's enrolment (``state`` picks the words)."""

    state: str  # not_enrolled | pending | expired | enrolled | revoked
    enrolled_at: datetime | None
    enrolled_by: str | None
    revoked_at: datetime | None
    revoked_by: str | None
    expires_at: datetime | None
    redeemed_at: datetime | None
    quarantined: int

    @property
    def revocable(self) -> bool:
        return self.state in ("pending", "expired", "enrolled")


def _enrolment(row: dict[str, Any]) -> Enrolment:
    if row["revoked_at"] is not None:
        state = "revoked"
    elif row["enrolled_at"] is None:
        state = "not_enrolled"  # registered (or first heard) before enrolment existed
    elif row["code_redeemed_at"] is not None or row["code_created_at"] is None:
        state = "enrolled"  # code used, or enrolled with a bundle file and no code
    elif row["code_cancelled_at"] is None and not row["code_expired"]:
        state = "pending"
    else:
        state = "expired"
    return Enrolment(
        state=state,
        enrolled_at=row["enrolled_at"],
        enrolled_by=row["enrolled_by"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        expires_at=row["code_expires_at"],
        redeemed_at=row["code_redeemed_at"],
        quarantined=row["quarantined"],
    )


async def _enrolments(page: Page, gateway_ids: list[str]) -> dict[str, Enrolment]:
    if not gateway_ids:
        return {}
    async with page.database.transaction() as conn:
        rows = await (await conn.execute(_ENROLMENT, (gateway_ids,))).fetchall()
    return {r["gateway_id"]: _enrolment(r) for r in rows}


def _may_enrol(page: Page) -> bool:
    return page.caller.principal.can(Permission.GATEWAYS_ENROLL)


async def _refuse(page: Page, action: Action, resource: str) -> NoReturn:
    """403 for a role without gateways:enroll, with a committed ``denied`` audit row.

    The API's own endpoints answer 403 without a row (the refusal names no citizen); the web
    page records it, so a forged form post from a nurse's session is visible in the log."""
    async with page.database.transaction() as conn:
        await audit.record(
            conn,
            page.caller,
            action,
            resource,
            outcome="denied",
            details={"via": "web", "reason": "role lacks gateways:enroll"},
        )
    raise Forbidden(role_refusal(page.caller.principal, Permission.GATEWAYS_ENROLL))


def _broker(page: Page) -> BrokerAdminFactory | None:
    factory: BrokerAdminFactory | None = getattr(page.request.app.state, "broker_admin", None)
    return factory


def _policy(page: Page) -> service.EnrollmentPolicy:
    policy: service.EnrollmentPolicy = page.request.app.state.enrollment_policy
    return policy


def _hub_url(page: Page) -> str:
    """The hub's address for ``join --hub``: API_PUBLIC_BASE_URL, else the one the browser used."""
    configured: str | None = page.request.app.state.settings.public_base_url
    url = page.request.url
    return (configured or f"{url.scheme}://{url.netloc}").rstrip("/")


def _problem(
    page: Page, status_code: int, message_key: str, gateway_id: str, detail: str | None
) -> HTMLResponse:
    """The gateway form's refusals, in words an admin can act on (nothing was changed)."""
    return render(
        page.request,
        "devices_problem.html",
        page=page,
        status_code=status_code,
        message_key=message_key,
        gateway_id=gateway_id,
        detail=detail,
    )


@router.get("/enheder", response_class=HTMLResponse)
async def devices_page(page: PageDep, done: str | None = None) -> HTMLResponse:
    caller, database = page.caller, page.database
    gateways = await list_gateways(caller, database)
    devices = await list_devices(request=page.request, caller=caller, database=database)
    names: dict[int, str] = {}
    if caller.principal.can(Permission.CITIZENS_READ):
        citizens = await list_citizens(caller=caller, database=database)
        names = {c.id: f"{c.given_name} {c.family_name}" for c in citizens.items}
    enrolments = await _enrolments(page, [g.gateway_id for g in gateways.items])
    return render(
        page.request,
        "devices.html",
        page=page,
        gateways=gateways.items,
        devices=devices.items,
        names=names,
        enrolments=enrolments,
        may_enrol=_may_enrol(page),
        sees_unassigned=caller.principal.can(Permission.UNASSIGNED_READ),
        done=done,
        id_pattern=GATEWAY_ID_PATTERN.strip("^$"),
    )


@router.post("/enheder/tilmeld", response_class=HTMLResponse)
async def enrol(
    page: FormPageDep,
    gateway_id: Annotated[str, Form(max_length=64)],
    description: Annotated[str, Form(max_length=DESCRIPTION_MAX)] = "",
) -> HTMLResponse:
    gateway_id = gateway_id.strip().lower()
    valid = bool(_GATEWAY_ID.match(gateway_id))
    if not _may_enrol(page):
        await _refuse(page, Action.CREATE, f"gateways/{gateway_id}/enrollment" if valid else "gateways")
    if not valid:
        return _problem(page, 422, "enrol.bad_id", gateway_id, None)
    label = description.strip() or None
    if label is not None and not _PRINTABLE.match(label):
        return _problem(page, 422, "enrol.bad_description", gateway_id, None)
    try:
        async with page.database.transaction() as conn:
            enrollment = await service.enroll(
                conn,
                _broker(page),
                _policy(page),
                gateway_id=gateway_id,
                description=label,
                caller=page.caller,
            )
    except Conflict as error:
        return _problem(page, 409, "enrol.conflict", gateway_id, error.detail)
    except ServiceUnavailable as error:  # no broker admin configured, or the broker did not answer
        return _problem(page, 503, "broker.unavailable", gateway_id, error.detail)
    ca_file = DEFAULT_CA_PATH if enrollment.bundle.mqtt_ca_pem else None
    return render(
        page.request,
        "devices_enrolled.html",
        page=page,
        status_code=201,
        enrollment=enrollment,
        config_toml=enrollment.bundle.to_toml(ca_file=ca_file),
        hub_url=_hub_url(page),
    )


@router.get("/enheder/{gateway_id}/tilbagekald", response_class=HTMLResponse)
async def confirm_revoke(gateway_id: GatewayIdPath, page: PageDep) -> HTMLResponse:
    if not _may_enrol(page):
        await _refuse(page, Action.READ, f"gateways/{gateway_id}/revoke")
    enrolment = (await _enrolments(page, [gateway_id])).get(gateway_id)
    if enrolment is None:
        raise NotFound("gateway", gateway_id)
    return render(
        page.request, "devices_revoke.html", page=page, gateway_id=gateway_id, enrolment=enrolment, error=None
    )


@router.post("/enheder/{gateway_id}/tilbagekald", response_model=None)
async def revoke(
    gateway_id: GatewayIdPath,
    page: FormPageDep,
    reason: Annotated[str, Form(max_length=REASON_MAX)] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if not _may_enrol(page):
        await _refuse(page, Action.UPDATE, f"gateways/{gateway_id}/revoke")
    why = reason.strip()
    if not why or confirm != gateway_id or not _PRINTABLE.match(why):
        enrolment = (await _enrolments(page, [gateway_id])).get(gateway_id)
        if enrolment is None:
            raise NotFound("gateway", gateway_id)
        error = "revoke.need_reason" if not why or not _PRINTABLE.match(why) else "revoke.need_confirm"
        return render(
            page.request,
            "devices_revoke.html",
            page=page,
            status_code=422,
            gateway_id=gateway_id,
            enrolment=enrolment,
            error=error,
            reason=why,
        )
    try:
        async with page.database.transaction() as conn:
            await service.revoke(conn, _broker(page), gateway_id=gateway_id, caller=page.caller, reason=why)
    except ServiceUnavailable as error:
        return _problem(page, 503, "broker.unavailable", gateway_id, error.detail)
    root = page.request.scope.get("root_path", "")
    return RedirectResponse(f"{root}/enheder?done=revoked-{gateway_id}", status_code=303)
